"""Kinds of input: the :class:`Domain` interface and the registry every command dispatches through.

A domain (molecules, proteins, ratings, wireless channels, or one a test defines) knows how to

* recognise its input: by extension, by content (:meth:`Domain.sniff`), or a folder of its files;
  ``--kind`` overrides the guess;
* read and featurize it into a :class:`Dataset` (:meth:`Domain.prepare`);
* name its tasks (``--task`` is a string the domain checks) and build the task object, whose
  metrics it names itself (:meth:`Domain.make_task`, :meth:`Domain.load_task`);
* split it (:meth:`Domain.split`; random, k-fold and a column of labels come for free);
* fill in its model's dimensions (:meth:`Domain.model_config`);
* score a trained run on its test rows and write the test predictions and plots
  (:meth:`Domain.evaluate`);
* run predict and embed over new input (:meth:`Domain.infer`, or :meth:`Domain.predict` and
  :meth:`Domain.embed` wholesale);
* contribute its own command-line options (:class:`DomainOption`), shown in a help panel of their own.

Adding a kind of input is one package that subclasses :class:`Domain`, plus one
:func:`register_domain` line (in :mod:`gnncli.kinds`, the registry of kinds, which this module
re-exports). This module imports neither torch nor
pandas, so that ``gnn --help`` can list every domain's options instantly.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, ClassVar

from gnncli.errors import InputError, UsageError
from gnncli.kinds import KINDS, all_domains, get_domain, register_domain

__all__ = ["DOMAINS", "Dataset", "Domain", "DomainOption", "all_domains", "check_options", "expand_inputs",
           "get_domain", "inputs_label", "register_domain", "resolve_domain"]

#: Every registered kind of input, by name (``--kind`` choices; :data:`gnncli.kinds.KINDS`).
DOMAINS = KINDS

Split = tuple  # (train, val, test) index arrays


def _suffix(path: str) -> str:
    name = path.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    return os.path.splitext(name)[1]


def _has_glob(text: str) -> bool:
    return any(ch in text for ch in "*?[")


def expand_inputs(paths: Sequence[str]) -> list[str]:
    """``paths`` with every glob pattern that names no file itself (``'data/*.pdb'``, quoted so
    that gnn sees it) replaced by the files and folders it matches, sorted; order kept otherwise.

    Raises :class:`~gnncli.errors.InputError` naming a pattern that matches nothing or a path that
    does not exist; ``-`` (stdin) may only come alone (:class:`~gnncli.errors.UsageError`).
    """
    import glob

    out: list[str] = []
    for given in paths:
        given = str(given)
        if given == "-" or Path(given).exists():
            out.append(given)
        elif _has_glob(given):
            matched = sorted(glob.glob(given))
            if not matched:
                raise InputError(f"{given}: no file matches")
            out.extend(matched)
        else:
            raise InputError(f"{given}: file not found")
    if "-" in out and len(out) > 1:
        raise UsageError("-: standard input cannot be read together with other inputs; give files only")
    return out


def inputs_label(paths: Sequence[str]) -> str:
    """How messages name several inputs: ``a.csv``, ``a.csv, b.csv``, ``a.csv, b.csv and 3 more``."""
    paths = [str(p) for p in paths]
    if len(paths) <= 2:
        return ", ".join(paths)
    return f"{paths[0]}, {paths[1]} and {len(paths) - 2} more"


def resolve_domain(path: str | Sequence[str] | None, kind: str | None = None) -> Domain:
    """The kind of input ``path`` is: ``kind`` if given, else recognised from the path.

    No path (``gnn train`` alone) and stdin (``-``) are the first domain that accepts them. A file
    is claimed by extension and by content (content wins; a tie goes to the first registered); a
    folder only by a domain whose :meth:`Domain.sniff` recognises it.

    ``path`` may be a list of inputs (already expanded, :func:`expand_inputs`): each is
    recognised, and all must be of one kind; several need a kind whose
    :attr:`Domain.many_inputs` is True. Either is a :class:`~gnncli.errors.UsageError`.
    """
    if path is not None and not isinstance(path, str):
        paths = [str(p) for p in path]
        if len(paths) <= 1:
            return resolve_domain(paths[0] if paths else None, kind)
        if kind:
            domain = get_domain(kind)
        else:
            found = [(p, resolve_domain(p)) for p in paths]
            domain = found[0][1]
            other = next(((p, d) for p, d in found if d.name != domain.name), None)
            if other is not None:
                raise UsageError(f"{other[0]}: {other[1].name} input, but {found[0][0]} is {domain.name}; "
                                 f"give inputs of one kind (or say --kind)")
        if not domain.many_inputs:
            raise UsageError(f"several inputs: the {domain.name} kind reads one")
        return domain
    if kind:
        return get_domain(kind)
    domains = all_domains()
    if path is None:
        for domain in domains:
            if domain.default_input() is not None:
                return domain
        raise UsageError("no input given (name a file, or a --kind that generates its data)")
    if path == "-":
        for domain in domains:
            if domain.reads_stdin:
                return domain
        raise UsageError("-: no kind of input reads standard input")
    p = Path(path)
    if not p.exists():
        raise InputError(f"{path}: file not found")
    if p.is_dir():
        for domain in domains:
            if domain.folders and domain.sniff(path):
                return domain
        raise InputError(f"{path}: is a folder, expected a file (or a folder of "
                         f"{' or '.join(d.folders for d in domains if d.folders) or 'inputs'}; say --kind)")
    best, best_score = None, 0
    suffix = _suffix(path)
    for domain in domains:
        sniffed = domain.sniff(path)
        score = (2 if sniffed is True else float(sniffed or 0)) or (1 if suffix in domain.extensions else 0)
        if score > best_score:
            best, best_score = domain, score
    if best is None:
        known = sorted({ext for d in domains for ext in d.extensions})
        raise InputError(f"{path}: unknown file type '{suffix or Path(path).name}' "
                         f"(expected {', '.join(known)}; or say --kind or --format)")
    return best


# ------------------------------------------------------------------------------- options


@dataclass(frozen=True)
class DomainOption:
    """A command-line option that one kind of input contributes to some commands.

    ``name`` is the keyword the domain receives (``smiles_col``); the flag is ``--smiles-col``
    unless ``flags`` says otherwise. A value of None means "not given": the domain applies its own
    default, and an option given for another kind of input is a usage error.
    """

    name: str
    type: type = str
    help: str = ""
    flags: tuple[str, ...] = ()
    multiple: bool = False
    commands: tuple[str, ...] = ("train", "predict", "embed")
    metavar: str | None = None

    @property
    def flag(self) -> str:
        return self.flags[0] if self.flags else "--" + self.name.replace("_", "-")


def check_options(domain: Domain, options: dict[str, Any], command: str) -> dict[str, Any]:
    """The options given (not None) for ``command``; a usage error for one that is not ``domain``'s."""
    given = {k: v for k, v in options.items() if v is not None and v != [] and v != ()}
    mine = {o.name: o for o in domain.options if command in o.commands}
    for name in given:
        if name in mine:
            continue
        owners = [d for d in all_domains() if d is not domain and any(o.name == name for o in d.options)]
        flag = next((o.flag for d in [domain, *owners] for o in d.options if o.name == name), "--" + name.replace("_", "-"))
        if owners:
            raise UsageError(f"{flag} is an option for {' and '.join(d.name for d in owners)} input, "
                             f"and this input is {domain.name}")
        raise UsageError(f"{flag} is not an option of gnn {command} for {domain.name} input")
    return given


# ------------------------------------------------------------------------------- data


@dataclass
class Dataset:
    """What a domain read for training: items (graphs) with targets, and how to load them.

    ``pack`` holds the usable items in order (a :class:`~gnncli.domains.pack.GraphPack` with ``y``
    and ``y_mask`` at the graph or node level); a domain whose data is not a pack, or is generated
    on the fly, overrides :meth:`loader` and :meth:`train_loader`.

    Attributes:
        source: the input as the user named it.
        pack: the items.
        targets: target names, in output order.
        task_type: what the domain's task is (``regression``, ``classification``, ...).
        unit: what an item is called in messages and in the summary (``molecules``).
        counts: what the summary reports of the input (``rows``, ``invalid``, ...).
        warnings: one line each, for the user.
        extra: anything else the domain keeps for itself (the file's rows, a featurizer spec).
        steps_per_epoch: batches per epoch when :meth:`train_loader` generates data without end
            (None: the loader has a length).
    """

    source: str
    pack: Any
    targets: list[str]
    task_type: str
    unit: str = "items"
    counts: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    steps_per_epoch: int | None = None

    def __len__(self) -> int:
        return len(self.pack)

    def loader(self, indices, *, batch_size: int = 256):
        """Batches of the items at ``indices``, in order (validation and test)."""
        from gnncli.domains.pack import PackLoader

        return PackLoader(self.pack, batch_size=batch_size, indices=indices)

    def train_loader(self, indices, *, batch_size: int, seed: int, epoch: int):
        """Shuffled batches of the training items for one epoch, seeded by ``seed`` and ``epoch``
        so that a resumed run sees the same order as an uninterrupted one. Under torchrun, this
        process's share of them (:func:`~gnncli.train.distributed.shard`)."""
        import torch

        from gnncli.domains.pack import PackLoader
        from gnncli.train.distributed import shard

        gen = torch.Generator().manual_seed(seed * 100_003 + epoch)
        share = shard(indices, seed=seed, epoch=epoch)
        return PackLoader(self.pack, batch_size=batch_size, shuffle=True, generator=gen, indices=share)

    def where(self, index: int) -> str:
        """Where item ``index`` came from, for messages (``file: line N``)."""
        return f"{self.source}: item {index + 1}"

    def column(self, name: str):
        """The values of input column ``name`` for every item (for ``--split-col``), or None if the
        input has no such column."""
        return None

    def row_table(self, indices):
        """Identifying columns of the items at ``indices`` (a DataFrame), for test predictions."""
        import pandas as pd

        return pd.DataFrame({"item": [int(i) for i in indices]})


# ------------------------------------------------------------------------------- the interface


class Domain:
    """One kind of input. Subclasses set the class attributes and override what differs.

    The defaults fit graph property prediction over a :class:`Dataset` of packed graphs with a
    :class:`~gnncli.tasks.GraphPropertyTask` (per graph or per node), as molecules and protein
    properties use; a domain with another shape of data or task overrides the methods below.
    """

    #: ``--kind`` name, and the title of its help panel.
    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    #: file extensions it claims (lower case, without ``.gz``).
    extensions: ClassVar[tuple[str, ...]] = ()
    #: what a folder of its inputs holds ("structures"), or "" if it reads no folders.
    folders: ClassVar[str] = ""
    #: whether ``gnn train`` and ``gnn benchmark`` take several inputs (files, folders, globs) of
    #: this kind as one dataset, in order (:attr:`api.TrainOptions.inputs`); False for a kind
    #: that reads exactly one (several are then a usage error).
    many_inputs: ClassVar[bool] = True
    reads_stdin: ClassVar[bool] = False
    #: ``--format`` names it reads (from :data:`gnncli.formats.FORMATS`).
    formats: ClassVar[tuple[str, ...]] = ()
    #: ``--task`` values (besides ``auto``), ``--split`` values, and the default ``--model``.
    tasks: ClassVar[tuple[str, ...]] = ()
    splits: ClassVar[tuple[str, ...]] = ("random", "kfold", "column")
    default_model: ClassVar[str] = "dmpnn"
    #: the default ``--model`` of a task, where it is not :attr:`default_model`.
    task_models: ClassVar[dict[str, str]] = {}
    #: whether the message-passing encoders registered for any kind (``domains=None``) fit its
    #: input: False for a kind whose items are not graphs with node features (rating pairs).
    graph_encoders: ClassVar[bool] = True
    #: the options it adds to commands.
    options: ClassVar[tuple[DomainOption, ...]] = ()
    #: whether it trains data-parallel under torchrun (each process on its share of the training
    #: items, see :mod:`gnncli.train.distributed`): False for a kind whose every step sees its
    #: whole input (the rating graph), which ``gnn train`` under torchrun then refuses.
    data_parallel: ClassVar[bool] = True

    # -- recognising input ---------------------------------------------------------------------
    def sniff(self, path: str) -> bool | float:
        """Whether the file or folder ``path`` looks like this kind of input by its content. True
        counts 2 (content beats an extension, which counts 1); a domain whose content test is
        stricter than another's may return a higher number (a square numeric matrix is channel
        gains before it is three columns of ratings)."""
        return False

    def default_input(self) -> str | None:
        """What ``gnn train`` trains on with no input (a bundled file), or None if it needs one."""
        return None

    def check_task(self, task: str) -> None:
        if task != "auto" and task not in self.tasks:
            raise UsageError(f"--task {task}: not a task for {self.name} input (choose from auto, {', '.join(self.tasks)})")

    def model_for(self, task: str) -> str:
        """The model ``gnn train`` trains for ``task`` when ``--model`` is not given."""
        return self.task_models.get(task, self.default_model)

    def settle_task(self, inputs: list[str], task: str, targets: list[str], options: dict) -> str:
        """The task ``--task auto`` will mean for ``inputs``, where a look at them without
        reading them says (so that the task's own default model and recipe apply); else ``task``."""
        return task

    def check_split(self, split: str) -> None:
        if split not in self.splits:
            raise UsageError(f"--split {split}: not a split for {self.name} input (choose from {', '.join(self.splits)})")

    # -- training ------------------------------------------------------------------------------
    def prepare(self, opts, reporter, *, featurizer: Any = None) -> Dataset:
        """Read, check and featurize the training input named by ``opts`` (``api.TrainOptions``);
        ``featurizer`` is a saved run's (when resuming), else the domain's default."""
        raise NotImplementedError(f"{self.name}: training is not supported")

    def split(self, opts, data: Dataset) -> list[Split]:
        """One (train, val, test) split per member: k-fold gives one per fold and member."""
        import numpy as np

        from gnncli.train.splits import column_split, kfold_splits, random_split

        n = len(data)
        if opts.split == "kfold":
            if opts.folds < 2:
                raise UsageError(f"--folds {opts.folds}: k-fold needs at least 2 folds")
            if n < 3 * opts.folds:
                raise InputError(f"{data.source}: {n} usable {data.unit} are too few for {opts.folds}-fold cross-validation")
            return [s for s in kfold_splits(n, opts.folds, opts.loop.seed) for _ in range(max(1, opts.ensemble))]
        if opts.split == "column":
            if not opts.split_col:
                raise UsageError("--split column needs --split-col COLUMN")
            values = data.column(opts.split_col)
            if values is None:
                raise InputError(f"{data.source}: no split column '{opts.split_col}'")
            try:
                split = column_split(values)
            except ValueError as exc:
                row = int(str(exc).split(":")[0].split()[1])
                raise InputError(f"{data.where(row)}: {str(exc).split(': ', 1)[1]}") from None
        else:
            sizes = opts.split_sizes
            if len(sizes) != 3 or any(s < 0 for s in sizes) or abs(sum(sizes) - 1) > 1e-6:
                raise UsageError(f"--split-sizes {','.join(map(str, sizes))}: give three fractions that sum to 1")
            if opts.split == "random":
                split = random_split(n, sizes, opts.loop.seed)
            else:
                split = self.custom_split(opts.split, data, sizes, opts.loop.seed)
        train, val, test = (np.asarray(s, np.int64) for s in split)
        needs_test = len(test) > 0 if opts.split == "column" else opts.split_sizes[2] > 0
        if len(train) < 1 or len(val) < 1 or (needs_test and len(test) < 1):
            raise InputError(
                f"{data.source}: {n} usable {data.unit} are too few for this split "
                f"(train {len(train)}, validation {len(val)}, test {len(test)}); every part needs at least one"
            )
        return [(train, val, test)] * max(1, opts.ensemble)

    def refit_data(self, data: Dataset, opts) -> Dataset | None:
        """The data to train every member again on, once early stopping has picked its epoch
        count: its training rows are the first pass's training and validation rows together (the
        run then saves the refit members, for that many epochs each, with this data's model
        dimensions and task). None (the default): no refit, the first pass's members are the run's."""
        return None

    def custom_split(self, name: str, data: Dataset, sizes: Sequence[float], seed: int) -> Split:
        """A split of this domain's own (``scaffold`` for molecules)."""
        raise UsageError(f"--split {name}: not a split for {self.name} input")

    def make_task(self, data: Dataset, opts, train_rows):
        """The task a member trains on, with anything fitted on its training rows (target scaling)."""
        import numpy as np

        from gnncli.tasks import GraphPropertyTask
        from gnncli.train.scaler import TargetScaler

        y, mask = data.pack.y.numpy().astype(float), data.pack.y_mask.numpy()
        if data.task_type == "regression":
            if data.pack.target_level == "node":  # rows of a node task are graphs: scale over their nodes
                nodes = _node_rows(data.pack, train_rows)
                scaler = TargetScaler.fit(y[nodes], mask[nodes])
            else:
                scaler = TargetScaler.fit(y[np.asarray(train_rows)], mask[np.asarray(train_rows)])
        else:
            scaler = TargetScaler.identity(y.shape[1])
        try:
            return GraphPropertyTask(data.task_type, data.targets, scaler, opts.monitor or "")
        except ValueError as exc:
            raise UsageError(f"--metric {exc}") from None

    def load_task(self, config: dict):
        """The task of a saved run, from its ``config.json``."""
        from gnncli.tasks import GraphPropertyTask

        return GraphPropertyTask.from_config(config["task"])

    def load_featurizer(self, config: dict) -> Any:
        """The featurizer of a saved run (None for domains without one)."""
        return None

    def model_config(self, data: Dataset, model):
        """``model`` (a :class:`~gnncli.models.ModelConfig`) with the dimensions of ``data`` filled in."""
        from gnncli.models import ModelConfig

        pack = data.pack
        return ModelConfig.from_dict({
            **model.to_dict(), "in_channels": int(pack.x.size(1)),
            "edge_dim": int(pack.edge_attr.size(1)) if pack.edge_attr is not None else 0,
            "out_channels": len(data.targets), "level": pack.target_level or model.level,
        })

    def prepare_model(self, model, data: Dataset, train_rows) -> None:
        """Fit what ``model`` standardizes of its inputs on the training items ``train_rows``, before
        a member trains: by default the per-item ``features`` of the pack, for a model with graph
        features (see :class:`~gnncli.models.model.GraphModel`), and the node features of the
        training graphs, for a model that standardizes them (``logreg``)."""
        pack = getattr(data, "pack", None)
        if pack is None:
            return
        import torch

        rows = torch.as_tensor(train_rows, dtype=torch.long)
        fit = getattr(model, "fit_feature_scaling", None)
        if fit is not None and "features" in getattr(pack, "graph", {}):
            fit(pack.graph["features"][rows])
        fit_nodes = getattr(model, "fit_node_scaling", None)  # a model on node features alone (logreg)
        if fit_nodes is not None and pack.x is not None:
            fit_nodes(pack.subset(rows).x)

    def check_transfer(self, source_config: dict, data: Dataset) -> None:
        """Raise :class:`~gnncli.errors.InputError` unless an encoder trained on the run described
        by ``source_config`` can read ``data`` (``gnn train --from``): by default, the featurizers
        must be the same."""
        if source_config.get("featurizer") != self.featurizer_spec(data):
            raise InputError(f"the run was trained with featurizer {source_config.get('featurizer')}, "
                             f"and this input gives {self.featurizer_spec(data)}")

    def upgrade_config(self, config: dict, from_format: int) -> dict:
        """A run's ``config.json`` of an earlier format, with this domain's entries where this
        release keeps them (the generic part is already moved)."""
        return config

    def run_config(self, data: Dataset) -> dict:
        """What ``config.json`` records of this domain's input (its ``domain`` entry)."""
        return {}

    def featurizer_spec(self, data: Dataset) -> dict | None:
        """The featurizer spec saved in ``config.json`` (checked when the run is loaded)."""
        return None

    def evaluate(self, ctx) -> dict:
        """Score the trained members on the test rows, write test predictions and plots; return the
        summary (see :func:`gnncli.train.evaluate.evaluate_property_run`)."""
        from gnncli.train.evaluate import evaluate_property_run

        return evaluate_property_run(self, ctx)

    # -- inference -----------------------------------------------------------------------------
    def infer(self, run, inputs: list[str], *, options: dict, settings, embed: bool = False) -> Iterator[tuple]:
        """Outputs for every chunk of ``inputs``, in input order: ``(frame, outputs, valid, errors)``,
        where ``frame`` is the chunk's rows (a DataFrame), ``outputs`` is ``[members, n_valid, T]``
        (or ``[n_valid, hidden]`` embeddings of member ``settings.member``), ``valid`` the positions
        in the chunk that have outputs and ``errors`` maps every other position to its reason."""
        raise NotImplementedError(f"{self.name}: prediction is not supported")

    def streams_rows(self) -> bool:
        """Whether this kind streams predictions row by row (overrides :meth:`infer`): only those
        write a table of input rows, and only those can be sharded (``gnn predict --shard``)."""
        return type(self).infer is not Domain.infer

    def predict(self, run, inputs: list[str], out: str | IO[str] | None, *, options: dict, settings, reporter) -> dict:
        """Write predictions to ``out`` (a path, a text stream, or None for stdout) and return counts
        for the summary line: by default CSV rows in input order (see
        :func:`gnncli.inference.predict_table`). A domain that writes something else (a folder of
        arrays, per-residue rows) treats ``out`` as it documents; ``rows``/``predicted``/``invalid``
        in the counts give the usual summary line, and ``predicted == 0`` a failing exit code."""
        from gnncli.inference import predict_table

        return predict_table(self, run, inputs, out, options=options, settings=settings, reporter=reporter)

    def embed(self, run, inputs: list[str], out_path: str, *, options: dict, settings, reporter) -> dict:
        """Write one learned vector per input row (see :func:`gnncli.inference.embed_table`)."""
        from gnncli.inference import embed_table

        return embed_table(self, run, inputs, out_path, options=options, settings=settings, reporter=reporter)


def _node_rows(pack, graph_rows):
    """The node positions of the graphs at ``graph_rows``."""
    import numpy as np

    ptr = pack.node_ptr.numpy()
    rows = np.asarray(graph_rows, np.int64)
    return np.concatenate([np.arange(ptr[g], ptr[g + 1]) for g in rows]) if len(rows) else np.zeros(0, np.int64)
