"""Proteins: PDB/mmCIF structures as residue graphs; binding sites per residue, properties per protein.

* :mod:`~gnncli.domains.proteins.reader`: structure files to residue arrays (gemmi), ligand files (RDKit);
* :mod:`~gnncli.domains.proteins.graphs`: residue graphs (sequence, radius, k-NN edges; KD-tree);
* :mod:`~gnncli.domains.proteins.inputs`: files, folders, globs, PDBbind folders and labels CSVs to
  items, featurized in worker processes and cached on disk;
* :mod:`~gnncli.domains.proteins.labels`: binding-site labels from ligand contacts or a CSV;
* :mod:`~gnncli.domains.proteins.pockets`: pockets from residue scores, DCC/DCA success rates;
* :mod:`~gnncli.domains.proteins.task`: the binding-site task (class-weighted or focal loss);
* :mod:`~gnncli.domains.proteins.inference`: per-residue predictions, scored PDB files, pockets, embeddings;
* this module: the :class:`ProteinsDomain` the commands dispatch to (cheap to import).
"""

from __future__ import annotations

from gnncli.domains.base import Dataset, Domain, DomainOption
from gnncli.errors import GnnError, UsageError
from gnncli.models import register_encoder, register_model

register_encoder("rgcn", "gnncli.domains.proteins.rgcn:rgcn", domains=("proteins",), needs=("edge_type",), defaults={"hidden": 64},
                 help="relational GCN over edge types")

#: What ``gnn train STRUCTURES --task binding-site`` trains with when nothing else is said: EGNN
#: (the shared encoder, assembled as any other) of this width and depth, with these loop
#: settings, on featurizer version 2, validated on whole sequence clusters (:data:`GROUP_COL`).
#: ``benchmarks/proteins_heldout.py`` measures exactly this recipe on held-out clusters, and
#: ``tests/domains/test_proteins_heldout.py`` fails when the two part.
EGNN_DEFAULTS = {"hidden": 64, "depth": 4, "dropout": 0.0}
EGNN_LOOP = {"epochs": 80, "batch_size": 4, "patience": 20}
register_model("egnn", "gnncli.models.model:GraphModel", domains=("proteins",), needs=("pos",), defaults=EGNN_DEFAULTS,
               loop=EGNN_LOOP, help="E(n)-equivariant GNN on 3D coordinates; --virtual-node gives VN-EGNN")

#: The column of a labels CSV or a PDBbind folder's index.csv that splits keep whole by default.
GROUP_COL = "seq_cluster"

_TRAIN = ("train",)
_ALL = ("train", "predict", "embed")


class ProteinDataset(Dataset):
    """Protein structures with targets per residue (binding sites) or per protein.

    ``extra`` holds ``items`` (the :class:`~gnncli.domains.proteins.inputs.ProteinItem` of each
    graph), ``residues`` (per graph: chain, resnum, icode, resname, center), ``ligands`` (per
    graph: ligand heavy-atom coordinates), the ``featurizer`` and the read ``settings``.
    """

    def where(self, index: int) -> str:
        return self.extra["items"][index].where

    def column(self, name: str):
        import numpy as np

        items = self.extra["items"]
        if not any(name in it.row for it in items):
            return None
        return np.asarray([it.row.get(name, "") for it in items], dtype=object)

    def row_table(self, indices):
        import pandas as pd

        items, residues = self.extra["items"], self.extra["residues"]
        if self.pack.target_level != "node":
            return pd.DataFrame({"file": [items[int(i)].path for i in indices]})
        parts = []
        for i in indices:
            r = residues[int(i)]
            parts.append(pd.DataFrame({"file": items[int(i)].path, "chain": r["chain"], "resnum": r["resnum"],
                                       "icode": r["icode"], "resname": r["resname"]}))
        if not parts:
            return pd.DataFrame(columns=["file", "chain", "resnum", "icode", "resname"])
        return pd.concat(parts, ignore_index=True)


class ProteinsDomain(Domain):
    """Protein structures: binding sites (per residue) and properties (per protein)."""

    name = "proteins"
    title = "Proteins (PDB/mmCIF structures)"
    extensions = (".pdb", ".ent", ".cif", ".mmcif")
    folders = "structures"
    formats = ("pdb", "cif")
    tasks = ("binding-site", "regression", "classification")
    splits = ("random", "kfold", "column")
    default_model = "egnn"
    options = (
        DomainOption("model_index", int, "Model of multi-model files (NMR), 1-based (default 1).", metavar="N", commands=_ALL),
        DomainOption("chains", str, "Protein chains to read, e.g. A,B (default: all; a missing chain is an error).", metavar="IDS", commands=_ALL),
        DomainOption("structures", str, "Folder where a labels CSV's structure IDs or relative paths are found (default: the CSV's folder).", metavar="DIR", commands=_ALL),
        DomainOption("ligand", str, "Binding sites: only HETATM groups of these names are ligands, e.g. --ligand ATP,HEM.", metavar="NAMES", commands=_TRAIN),
        DomainOption("exclude_het", str, "Binding sites: HETATM names never taken as ligands, replacing the default list of additives (see README).", metavar="NAMES", commands=_TRAIN),
        DomainOption("site_cutoff", float, "Binding sites: a residue is a site when a heavy atom is within this many Angstrom of a ligand heavy atom (default 4.0).", metavar="A", commands=_TRAIN),
        DomainOption("site_labels", str, "Binding sites from a CSV (file, chain, resnum[, icode]) instead of ligands.", metavar="CSV", commands=_TRAIN),
        DomainOption("site_loss", str, "Binding sites: weighted (class-weighted cross-entropy, default) or focal.", metavar="LOSS", commands=_TRAIN),
        DomainOption("group_col", str, "Column (labels CSV, or index.csv of a PDBbind folder) whose groups never straddle a split (default: seq_cluster where every structure has one).", metavar="COLUMN", commands=_TRAIN),
        DomainOption("residue_radius", float, "Residue graph: C-alpha radius edges in Angstrom (default 8; 0: none).", metavar="A", commands=_TRAIN),
        DomainOption("residue_knn", int, "Residue graph: k nearest C-alphas (default 10; 0: none).", metavar="K", commands=_TRAIN),
        DomainOption("residue_seq", int, "Residue graph: sequence edges up to this many residues apart (default 2).", metavar="K", commands=_TRAIN),
        DomainOption("pdb_out", str, "Binding sites: write each structure with residue scores in the B-factor column to this folder.", metavar="DIR", commands=("predict",)),
        DomainOption("pockets", str, "Binding sites: write ranked pocket centres with their residues to this CSV.", metavar="CSV", commands=("predict",)),
        DomainOption("per_residue", bool, "Embed: one vector per residue instead of per protein.", commands=("embed",)),
    )

    # -- recognising input ---------------------------------------------------------------------
    def sniff(self, path: str) -> bool:
        from gnncli.domains.proteins.inputs import looks_like_structures

        return looks_like_structures(path)

    # -- training ------------------------------------------------------------------------------
    def prepare(self, opts, reporter, *, featurizer=None) -> ProteinDataset:
        from gnncli.domains.proteins.training import prepare

        return prepare(self, opts, reporter, featurizer=featurizer)

    def split(self, opts, data):
        from gnncli.domains.proteins.training import default_group_col, group_splits

        given = opts.options.get("group_col")
        group_col = given or default_group_col(opts, data)
        data.extra["split_groups"] = None  # what the run's split kept whole (config.json's domain entry)
        if not group_col:
            return super().split(opts, data)
        try:
            splits = group_splits(opts, data, group_col)
        except GnnError as exc:
            if given:
                raise
            data.warnings.append(f"split by structure, not by {group_col}: {exc}")
            return super().split(opts, data)
        data.extra["split_groups"] = group_col
        return splits

    def make_task(self, data, opts, train_rows):
        if data.task_type != "binding-site":
            return super().make_task(data, opts, train_rows)
        from gnncli.domains.proteins.training import binding_site_task

        return binding_site_task(data, opts, train_rows)

    def load_task(self, config: dict):
        if config["task"].get("kind") == "binding-site":
            from gnncli.domains.proteins.task import BindingSiteTask

            return BindingSiteTask.from_config(config["task"])
        return super().load_task(config)

    def load_featurizer(self, config: dict):
        from gnncli.domains.proteins.featurizer import ResidueFeaturizer

        return ResidueFeaturizer.from_spec(config["featurizer"])

    def featurizer_spec(self, data) -> dict:
        return data.extra["featurizer"].spec

    def run_config(self, data) -> dict:
        s = data.extra["settings"]
        return {"task": data.task_type, "model_index": s.model_index, "chains": list(s.chains or []) or None,
                "site_cutoff": data.extra.get("site_cutoff"), "split_groups": data.extra.get("split_groups")}

    def evaluate(self, ctx) -> dict:
        from gnncli.domains.proteins.training import evaluate

        return evaluate(self, ctx)

    # -- inference -----------------------------------------------------------------------------
    def infer(self, run, inputs, *, options, settings, embed=False):
        from gnncli.domains.proteins.inference import infer

        return infer(run, inputs, options=options, settings=settings, embed=embed)

    def predict(self, run, inputs, out, *, options, settings, reporter) -> dict:
        if run.config["model"].get("level") != "node":
            for name in ("pdb_out", "pockets"):
                if options.get(name):
                    raise UsageError(f"--{name.replace('_', '-')} needs a binding-site run (this run predicts per protein)")
            return super().predict(run, inputs, out, options=options, settings=settings, reporter=reporter)
        from gnncli.domains.proteins.inference import predict_residues

        return predict_residues(run, inputs, out, options=options, settings=settings, reporter=reporter)

    def embed(self, run, inputs, out_path, *, options, settings, reporter) -> dict:
        if options.get("per_residue"):
            from gnncli.domains.proteins.inference import embed_residues

            return embed_residues(run, inputs, out_path, options=options, settings=settings, reporter=reporter)
        return super().embed(run, inputs, out_path, options=options, settings=settings, reporter=reporter)


def read_settings(options: dict, fmt: str | None = None, saved: dict | None = None):
    """The :class:`~gnncli.domains.proteins.inputs.ReadSettings` that ``options`` ask for (a run's
    ``saved`` ``domain`` entry fills in what they leave out)."""
    from gnncli.domains.proteins.inputs import ReadSettings
    from gnncli.formats import check_format

    saved = saved or {}
    model_index = options.get("model_index") or saved.get("model_index") or 1
    if model_index < 1:
        raise UsageError(f"--model-index {model_index}: models are numbered from 1")
    chains = _names(options.get("chains")) or tuple(saved.get("chains") or ()) or None
    exclude = options.get("exclude_het")
    ligand = _names(options.get("ligand"))
    return ReadSettings(model_index, chains, check_format(fmt, ProteinsDomain.formats),
                        _names(exclude) if exclude is not None else None, ligand or None)


def _names(text: str | None) -> tuple[str, ...]:
    if not text:
        return ()
    return tuple(t.strip() for t in text.split(",") if t.strip())


__all__ = ["EGNN_DEFAULTS", "EGNN_LOOP", "GROUP_COL", "ProteinDataset", "ProteinsDomain", "read_settings"]
