"""Molecules: SMILES in CSV/TSV/``.smi``, SDF records, or stdin; property prediction and screening.

* :mod:`~gnncli.domains.molecules.reader`: files to :class:`MoleculeFrame` chunks, and featurizing
  them (in worker processes, cached on disk) into packed graphs;
* :mod:`~gnncli.domains.molecules.inference`: the fused featurize-and-predict pipeline of
  ``gnn predict`` and ``gnn embed``;
* this module: the :class:`MoleculesDomain` that the commands dispatch to.

Importing this module is cheap (no torch, RDKit or pandas); the reader's functions
(``read_molecules``, ``iter_molecules``, ``featurize_frame``, ...) are importable from here too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gnncli.domains.base import Dataset, Domain, DomainOption
from gnncli.errors import InputError

#: The molecule dataset shipped with the package: what ``gnn train`` with no data trains on.
BUNDLED_DATA = Path(__file__).resolve().parent.parent.parent / "data" / "molecules.csv"

_READER_NAMES = (
    "FORMATS", "SMILES", "Featurizer", "MoleculeFrame", "cache_dir", "default_workers", "detect_format",
    "featurize_frame", "file_cache_key", "find_smiles_column", "iter_molecules", "read_molecules",
)


def __getattr__(name: str):
    if name in _READER_NAMES:
        from gnncli.domains.molecules import reader

        return getattr(reader, name)
    raise AttributeError(f"module 'gnncli.domains.molecules' has no attribute '{name}'")


class MoleculeDataset(Dataset):
    """Molecules of one file (or several read as one) with targets; ``extra`` holds the rows read
    (``mol_frame``) and the row position of each usable molecule (``rows``)."""

    def where(self, index: int) -> str:
        return self.extra["mol_frame"].where(int(self.extra["rows"][index]))

    def column(self, name: str):
        frame = self.extra["mol_frame"].frame
        return frame[name].to_numpy()[self.extra["rows"]] if name in frame.columns else None

    def smiles(self, indices) -> list[str]:
        smiles = self.extra["mol_frame"].smiles
        return [smiles[int(self.extra["rows"][i])] for i in indices]

    def row_table(self, indices):
        """The file row of each item and what it was read from (its SMILES; every molecule,
        reaction and descriptor column for rows of several)."""
        import pandas as pd

        mf = self.extra["mol_frame"]
        rows = self.extra["rows"][indices]
        columns = getattr(self.extra.get("featurizer"), "input_columns", None) or [mf.smiles_col]
        table = {"row": rows + 0}
        for column in columns:
            values = mf.frame[column].to_numpy()
            table[column] = [values[i] for i in rows]
        return pd.DataFrame(table)


class MoleculesDomain(Domain):
    """Molecules from SMILES (CSV/TSV/``.smi``) or SDF: whole-molecule regression, classification
    (binary, multi-label, multiclass) and mean-variance regression; several molecules or
    reactions per row, with descriptor columns, computed features, bounds and sample weights."""

    name = "molecules"
    title = "Molecules (CSV/TSV/.smi/SDF)"
    extensions = (".csv", ".tsv", ".tab", ".smi", ".smiles", ".ism", ".txt", ".sdf", ".sd", ".mol")
    reads_stdin = True
    formats = ("csv", "tsv", "smi", "sdf")
    tasks = ("regression", "classification", "multiclass", "regression-mve")
    splits = ("random", "scaffold", "kfold", "column")
    default_model = "dmpnn"
    options = (
        DomainOption("smiles_col", str, "SMILES column (default: found by name, else by content). Repeat it for several molecules per row (--smiles-col solute --smiles-col solvent): each is encoded by the shared encoder, read out on its own, and the vectors are joined before the head. At predict time it renames the run's columns, in order.", metavar="COLUMN", multiple=True),
        DomainOption("reaction_col", str, "Column of atom-mapped reaction SMILES (reactants>agents>products), encoded as a condensed graph of reaction; repeatable, and may be given with --smiles-col (a reaction and its solvent). A SMILES column found to hold reactions is read as one, with a note.", metavar="COLUMN", multiple=True),
        DomainOption("reaction_mode", str, "How a reaction's atoms and bonds combine their reactant and product features: reac_diff (default: reactant, product - reactant), reac_prod or prod_diff.", metavar="MODE", commands=("train",)),
        DomainOption("descriptor_col", str, "Numeric column of per-molecule descriptors (e.g. temperature), appended to the learned vector before the head, standardized on the training rows; repeatable. At predict time it renames the run's columns, in order.", metavar="COLUMN", multiple=True),
        DomainOption("molecule_features", str, "Features RDKit computes for every molecule, appended like descriptors: morgan (count fingerprint, radius 2, 2048 bits), morgan_binary, rdkit2d (every RDKit 2D descriptor); repeatable.", metavar="NAME", multiple=True, commands=("train",)),
        DomainOption("weight_col", str, "Column of per-row weights (non-negative numbers) for the training loss.", metavar="COLUMN", commands=("train",)),
        DomainOption("max_atoms", int, "Largest molecule read, in atoms (default 1000); a larger one, or a SMILES over 16 characters per allowed atom, is skipped when training and marked in the error column when predicting.", metavar="N"),
    )

    def sniff(self, path: str) -> bool:
        """A CSV/TSV whose SMILES column can be found (by name, or by its first rows parsing)."""
        from gnncli.domains.base import _suffix

        if _suffix(path) not in (".csv", ".tsv", ".tab"):
            return False
        try:
            import pandas as pd

            from gnncli.domains.molecules.reader import find_smiles_column

            sep = "," if _suffix(path) == ".csv" else "\t"
            head = pd.read_csv(path, sep=sep, dtype=str, nrows=20, keep_default_na=False, na_values=[""])
            head.columns = [str(c) for c in head.columns]
            find_smiles_column(head, path)
            return True
        except Exception:  # any reason it cannot be read as a molecule table: not ours by content
            return False

    def default_input(self) -> str | None:
        return str(BUNDLED_DATA)

    # -- training ------------------------------------------------------------------------------
    def prepare(self, opts, reporter, *, featurizer=None) -> MoleculeDataset:
        import numpy as np
        import torch

        from gnncli.domains.molecules.columns import choose_inputs, parse_weights
        from gnncli.domains.base import inputs_label
        from gnncli.domains.molecules.reader import (attach_positions, detect_format, featurize_frame, file_cache_key,
                                                     read_molecule_files)
        from gnncli.domains.tables import infer_task, parse_targets, target_columns
        from gnncli.models import model_needs

        options = opts.options
        max_atoms = _max_atoms(options)
        paths = opts.input_paths() or [str(BUNDLED_DATA)]
        source = inputs_label(paths)
        smiles_cols, reaction_cols = _as_list(options.get("smiles_col")), _as_list(options.get("reaction_col"))
        first = (smiles_cols or reaction_cols or [None])[0]
        mf = read_molecule_files(paths, smiles_col=first, fmt=opts.fmt)
        notes: list[str] = []
        weight_col = options.get("weight_col")
        featurizer, exclude = choose_inputs(mf, options, notes, featurizer,
                                            others={c for c in (opts.split_col, weight_col) if c} | set(opts.targets or []))
        targets = target_columns(mf.frame, opts.targets, exclude | ({weight_col} if weight_col else set()), source, bounds=True)
        y, mask, side = parse_targets(mf.frame, targets, mf.where, source, bounds=True)
        weights = parse_weights(mf, weight_col) if weight_col else None
        fmt = "+".join(dict.fromkeys(detect_format(path, opts.fmt) for path in paths))
        key = file_cache_key(paths, mf.smiles_col, featurizer, fmt, max_atoms) if opts.cache else None
        bar = reporter.start("featurizing", len(mf))
        pack, valid, errors = featurize_frame(
            mf, featurizer, workers=opts.workers, cache_key=key, progress=lambda n: reporter.advance(bar, n),
            max_atoms=max_atoms,
        )
        if "pos" in model_needs(opts.model.name):  # a model on 3D coordinates: SDF conformers
            if mf.positions is None:
                raise InputError(f"{source}: --model {opts.model.name} reads 3D coordinates, which only SDF records with a "
                                 f"3D conformer carry (this input is {fmt}); choose another --model")
            pack, valid, errors = attach_positions(pack, valid, errors, mf.positions)
        warnings = list(notes)
        if errors:
            first_bad = min(errors)
            warnings.append(f"skipped {len(errors)} of {len(mf)} molecules that could not be used "
                            f"(first: {mf.where(first_bad)}: {errors[first_bad]})")
        if len(valid) == 0:
            first_bad = min(errors) if errors else 0
            raise InputError(f"{source}: no valid molecules (first: {mf.where(first_bad)}: {errors.get(first_bad, 'empty')})")
        y, mask, side = y[valid], mask[valid], side[valid]
        labelled = mask.any(axis=1)
        n_unlabelled = int((~labelled).sum())
        if n_unlabelled:
            warnings.append(f"skipped {n_unlabelled} molecules with no target value")
            keep = np.flatnonzero(labelled)
            pack, valid, y, mask, side = pack.subset(keep), valid[keep], y[keep], mask[keep], side[keep]
        bounded = bool((side != 0).any())
        if bounded:
            if opts.task not in ("auto", "regression"):
                raise InputError(f"{source}: target values such as '<x' or '>x' are bounds, which only --task regression "
                                 f"fits (this run asks for {opts.task})")
            task_type = "regression"
            warnings.append(f"{int((side != 0).sum())} target values are bounds (<x or >x): the loss penalizes a "
                            "prediction only on their wrong side, and metrics use the exact values")
        else:
            task_type = infer_task(y, mask, opts.task, targets, source, warnings, tasks=self.tasks)
        extra_graph = {}
        classes = None
        if task_type == "multiclass":
            classes = sorted({float(v) for t in range(y.shape[1]) for v in np.unique(y[mask[:, t], t])})
            y = np.searchsorted(np.asarray(classes), y) * mask  # class indices (0 where missing)
            classes = [int(c) for c in classes]
        if bounded:
            extra_graph["y_bound"] = torch.as_tensor(side, dtype=torch.int8)
        if weights is not None:
            extra_graph["weight"] = torch.as_tensor(weights[valid], dtype=torch.float32)
        pack = pack.with_targets(torch.as_tensor(y, dtype=torch.float32), torch.as_tensor(mask))
        if extra_graph:
            pack = pack.with_attrs(graph=extra_graph)
        return MoleculeDataset(
            source, pack, targets, task_type, unit="molecules",
            counts={"rows": len(mf), "invalid": len(errors), "unlabelled": n_unlabelled}, warnings=warnings,
            extra={"mol_frame": mf, "rows": valid, "featurizer": featurizer, "classes": classes},
        )

    def custom_split(self, name: str, data: MoleculeDataset, sizes, seed: int):
        if name != "scaffold":
            return super().custom_split(name, data, sizes, seed)
        from gnncli.domains.molecules.scaffolds import scaffold_split

        return scaffold_split(data.smiles(range(len(data))), sizes, seed)

    def make_task(self, data: MoleculeDataset, opts, train_rows):
        if data.task_type in ("regression", "classification"):
            return super().make_task(data, opts, train_rows)
        import numpy as np

        from gnncli.errors import UsageError
        from gnncli.tasks import GraphPropertyTask
        from gnncli.train.scaler import TargetScaler

        y, mask = data.pack.y.numpy().astype(float), data.pack.y_mask.numpy()
        rows = np.asarray(train_rows)
        scaler = TargetScaler.fit(y[rows], mask[rows]) if data.task_type == "regression-mve" else TargetScaler.identity(y.shape[1])
        try:
            return GraphPropertyTask.create(data.task_type, data.targets, scaler, opts.monitor or "",
                                            classes=data.extra.get("classes"))
        except ValueError as exc:
            raise UsageError(f"--metric {exc}") from None

    def model_config(self, data: MoleculeDataset, model):
        from gnncli.models import ModelConfig

        config = super().model_config(data, model).to_dict()
        featurizer = data.extra["featurizer"]
        width = len(data.targets)
        if data.task_type == "multiclass":
            width *= len(data.extra["classes"])
        elif data.task_type == "regression-mve":
            width *= 2
        config.update(out_channels=width, parts=getattr(featurizer, "parts", 1),
                      graph_features=getattr(featurizer, "feature_dim", 0))
        return ModelConfig.from_dict(config)

    def prepare_model(self, model, data: MoleculeDataset, train_rows) -> None:
        """Standardize descriptors and RDKit descriptors on the training rows; fingerprint bits and
        counts are fed as they are."""
        super().prepare_model(model, data, train_rows)
        columns = getattr(data.extra["featurizer"], "fingerprint_columns", lambda: [])()
        if columns and hasattr(model, "feature_mean"):
            import torch

            with torch.no_grad():
                model.feature_mean[columns] = 0.0
                model.feature_std[columns] = 1.0

    def featurizer_spec(self, data: MoleculeDataset) -> dict:
        return data.extra["featurizer"].spec

    def check_transfer(self, source_config: dict, data: MoleculeDataset) -> None:
        """The encoder reads atoms and bonds: the graph featurizer must be the same (a run with
        other descriptors, components or computed features is fine, as the head is new)."""
        def graph(spec: dict | None) -> dict | None:
            return spec.get("graph", spec) if isinstance(spec, dict) and spec.get("name") == "gnn-rows" else spec

        theirs, ours = graph(source_config.get("featurizer")), graph(self.featurizer_spec(data))
        if theirs != ours:
            raise InputError(f"the run's encoder reads atoms and bonds featurized as {theirs}, and this input's are "
                             f"featurized as {ours} (a reaction and a molecule run cannot share an encoder)")

    def run_config(self, data: MoleculeDataset) -> dict:
        featurizer = data.extra["featurizer"]
        config = {"smiles_col": data.extra["mol_frame"].smiles_col}
        if hasattr(featurizer, "input_columns"):
            config.update(columns=list(featurizer.columns), descriptor_cols=list(featurizer.descriptors))
        return config

    def upgrade_config(self, config: dict, from_format: int) -> dict:
        if from_format == 1:  # format 1 kept the SMILES column at the top level
            config["domain"] = {**config.get("domain", {}), "smiles_col": config.pop("smiles_col", None)}
        return config

    def load_featurizer(self, config: dict) -> Any:
        from gnncli.featurizers.molecule import MoleculeFeaturizer

        spec = config["featurizer"]
        if isinstance(spec, dict) and spec.get("name") == "gnn-rows":
            from gnncli.domains.molecules.rows import RowFeaturizer

            domain = config.get("domain", {})
            return RowFeaturizer.from_spec(spec, domain.get("columns"), domain.get("descriptor_cols"))
        return MoleculeFeaturizer.from_spec(spec)

    # -- inference -----------------------------------------------------------------------------
    def infer(self, run, inputs: list[str], *, options: dict, settings, embed: bool = False):
        from gnncli.domains.molecules.columns import inference_featurizer
        from gnncli.domains.molecules.inference import infer

        featurizer, smiles_col = inference_featurizer(run.featurizer, options)
        return infer(run, inputs, smiles_col=smiles_col, fmt=settings.fmt,
                     chunk_size=settings.chunk_size, workers=settings.workers, device=settings.device,
                     embed=embed, member=settings.member, batch_size=settings.batch_size,
                     max_atoms=_max_atoms(options), featurizer=featurizer)


def _as_list(value) -> list[str]:
    """An option that takes one or several columns (saved runs hold a string or a list)."""
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _max_atoms(options: dict) -> int:
    from gnncli.errors import UsageError
    from gnncli.featurizers.molecule import DEFAULT_MAX_ATOMS

    value = options.get("max_atoms")
    if value is None:
        return DEFAULT_MAX_ATOMS
    if value < 1:
        raise UsageError(f"--max-atoms {value}: must be at least 1")
    return int(value)
