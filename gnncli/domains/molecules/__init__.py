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
    """Molecules of one file with targets; ``extra`` holds the file's rows (``mol_frame``) and the
    row position of each usable molecule (``rows``)."""

    def where(self, index: int) -> str:
        return self.extra["mol_frame"].where(int(self.extra["rows"][index]))

    def column(self, name: str):
        frame = self.extra["mol_frame"].frame
        return frame[name].to_numpy()[self.extra["rows"]] if name in frame.columns else None

    def smiles(self, indices) -> list[str]:
        smiles = self.extra["mol_frame"].smiles
        return [smiles[int(self.extra["rows"][i])] for i in indices]

    def row_table(self, indices):
        import pandas as pd

        mf = self.extra["mol_frame"]
        rows = self.extra["rows"][indices]
        return pd.DataFrame({"row": rows + 0, mf.smiles_col: [mf.smiles[i] for i in rows]})


class MoleculesDomain(Domain):
    """Molecules from SMILES (CSV/TSV/``.smi``) or SDF: whole-molecule regression and classification."""

    name = "molecules"
    title = "Molecules (CSV/TSV/.smi/SDF)"
    extensions = (".csv", ".tsv", ".tab", ".smi", ".smiles", ".ism", ".txt", ".sdf", ".sd", ".mol")
    reads_stdin = True
    formats = ("csv", "tsv", "smi", "sdf")
    tasks = ("regression", "classification")
    splits = ("random", "scaffold", "kfold", "column")
    default_model = "dmpnn"
    options = (
        DomainOption("smiles_col", str, "SMILES column (default: found by name, else by content).", metavar="COLUMN"),
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

        from gnncli.domains.molecules.reader import detect_format, featurize_frame, file_cache_key, read_molecules
        from gnncli.domains.tables import infer_task, parse_targets, target_columns
        from gnncli.featurizers.molecule import MoleculeFeaturizer

        featurizer = featurizer or MoleculeFeaturizer()
        max_atoms = _max_atoms(opts.options)
        source = opts.data or str(BUNDLED_DATA)
        mf = read_molecules(source, smiles_col=opts.options.get("smiles_col"), fmt=opts.fmt)
        exclude = {mf.smiles_col} | ({opts.split_col} if opts.split_col else set())
        targets = target_columns(mf.frame, opts.targets, exclude, source)
        y, mask = parse_targets(mf.frame, targets, mf.where, source)
        fmt = detect_format(source, opts.fmt)
        key = file_cache_key(source, mf.smiles_col, featurizer, fmt, max_atoms) if opts.cache else None
        bar = reporter.start("featurizing", len(mf))
        pack, valid, errors = featurize_frame(
            mf, featurizer, workers=opts.workers, cache_key=key, progress=lambda n: reporter.advance(bar, n),
            max_atoms=max_atoms,
        )
        warnings = []
        if errors:
            first = min(errors)
            warnings.append(f"skipped {len(errors)} of {len(mf)} molecules that could not be used "
                            f"(first: {mf.where(first)}: {errors[first]})")
        if len(valid) == 0:
            first = min(errors) if errors else 0
            raise InputError(f"{source}: no valid molecules (first: {mf.where(first)}: {errors.get(first, 'empty')})")
        y, mask = y[valid], mask[valid]
        labelled = mask.any(axis=1)
        n_unlabelled = int((~labelled).sum())
        if n_unlabelled:
            warnings.append(f"skipped {n_unlabelled} molecules with no target value")
            keep = np.flatnonzero(labelled)
            pack, valid, y, mask = pack.subset(keep), valid[keep], y[keep], mask[keep]
        task_type = infer_task(y, mask, opts.task, targets, source)
        pack = pack.with_targets(torch.as_tensor(y, dtype=torch.float32), torch.as_tensor(mask))
        return MoleculeDataset(
            source, pack, targets, task_type, unit="molecules",
            counts={"rows": len(mf), "invalid": len(errors), "unlabelled": n_unlabelled}, warnings=warnings,
            extra={"mol_frame": mf, "rows": valid, "featurizer": featurizer},
        )

    def custom_split(self, name: str, data: MoleculeDataset, sizes, seed: int):
        if name != "scaffold":
            return super().custom_split(name, data, sizes, seed)
        from gnncli.domains.molecules.scaffolds import scaffold_split

        return scaffold_split(data.smiles(range(len(data))), sizes, seed)

    def featurizer_spec(self, data: MoleculeDataset) -> dict:
        return data.extra["featurizer"].spec

    def run_config(self, data: MoleculeDataset) -> dict:
        return {"smiles_col": data.extra["mol_frame"].smiles_col}

    def upgrade_config(self, config: dict, from_format: int) -> dict:
        if from_format == 1:  # format 1 kept the SMILES column at the top level
            config["domain"] = {**config.get("domain", {}), "smiles_col": config.pop("smiles_col", None)}
        return config

    def load_featurizer(self, config: dict) -> Any:
        from gnncli.featurizers.molecule import MoleculeFeaturizer

        return MoleculeFeaturizer.from_spec(config["featurizer"])

    # -- inference -----------------------------------------------------------------------------
    def infer(self, run, inputs: list[str], *, options: dict, settings, embed: bool = False):
        from gnncli.domains.molecules.inference import infer

        return infer(run, inputs, smiles_col=options.get("smiles_col"), fmt=settings.fmt,
                     chunk_size=settings.chunk_size, workers=settings.workers, device=settings.device,
                     embed=embed, member=settings.member, batch_size=settings.batch_size,
                     max_atoms=_max_atoms(options))


def _max_atoms(options: dict) -> int:
    from gnncli.errors import UsageError
    from gnncli.featurizers.molecule import DEFAULT_MAX_ATOMS

    value = options.get("max_atoms")
    if value is None:
        return DEFAULT_MAX_ATOMS
    if value < 1:
        raise UsageError(f"--max-atoms {value}: must be at least 1")
    return int(value)
