"""Programmatic entry points: ``train``, ``resume``, ``predict`` and ``embed``, for every kind of input.

The CLI is one caller of these; ``gnn benchmark`` and scripts are others. They return plain
dicts of results and never print; progress goes to an optional :class:`~gnncli.progress.Reporter`.
What differs between molecules, proteins, ratings and wireless channels is asked of the input's
:class:`~gnncli.domains.base.Domain`, found from the input (or ``kind``) through the registry.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import IO, Any

import numpy as np

from gnncli.domains import Domain, get_domain, resolve_domain
from gnncli.domains.base import check_options, expand_inputs
from gnncli.errors import GnnError, UsageError
from gnncli.inference import InferenceSettings
from gnncli.io import atomic_open, load_tensors, read_json, write_json
from gnncli.models import ModelConfig, model_names
from gnncli.options import TrainOptions
from gnncli.progress import Reporter
from gnncli.runs import TrainedRun, load_run, model_path, state_path, upgrade_config
from gnncli.shards import Shard, shard_scope
from gnncli.train.loop import LoopConfig, resolve_device, resolve_precision
from gnncli.train import distributed
from gnncli.train.members import ENCODER_SETTINGS, check_data_parallel, new_run_dir, source_config, train_members

__all__ = ["LoopConfig", "ModelConfig", "TrainOptions", "embed", "predict", "resume", "resume_point", "train"]


def settle_options(opts: TrainOptions, domain: Domain) -> TrainOptions:
    """``opts`` with the kind and the model settled, every setting checked against the domain."""
    domain.check_task(opts.task)
    domain.check_split(opts.split)
    options = check_options(domain, opts.options, "train")
    name = opts.model.name or domain.model_for(opts.task)
    fits = model_names(domain.name)
    if name not in fits:
        raise UsageError(f"--model {name}: not a model for {domain.name} input (choose from {', '.join(fits)})")
    if opts.ensemble < 1:
        raise UsageError(f"--ensemble {opts.ensemble}: must be at least 1")
    if opts.loop.epochs < 1:
        raise UsageError(f"--epochs {opts.loop.epochs}: must be at least 1")
    if opts.search < 0:
        raise UsageError(f"--search {opts.search}: must be at least 0")
    if opts.freeze_encoder and not opts.init_from:
        raise UsageError("--freeze-encoder needs --from RUN (the run whose encoder is kept)")
    model = ModelConfig.from_dict({**opts.model.to_dict(), "name": name, "kind": opts.model.kind or domain.name})
    if opts.init_from:
        if opts.search:
            raise UsageError("--search and --from do not go together: the encoder's settings are the run's")
        source = source_config(opts.init_from)
        if source.get("kind") != domain.name:
            raise UsageError(f"--from {opts.init_from}: a run on {source.get('kind')} input, and this input is {domain.name}")
        # The encoder is the run's: its settings come with it; the head's are this run's.
        theirs = source["model"]
        model = ModelConfig.from_dict({**model.to_dict(), **{k: theirs[k] for k in ENCODER_SETTINGS if k in theirs}})
    return replace(opts, kind=domain.name, model=model, options=options)


# ------------------------------------------------------------------------------ training


def train(opts: TrainOptions, reporter: Reporter | None = None) -> dict:
    """Train on ``opts.input_paths()`` (the kind's default input if none) and write a run folder.

    Glob patterns among the inputs are expanded here (the run folder records the files); several
    inputs must be of one kind, which must take several (:attr:`~gnncli.domains.base.Domain.many_inputs`).
    Returns the summary also written to ``metrics.json``.
    """
    reporter = reporter or Reporter()
    opts = opts.with_inputs(expand_inputs(opts.input_paths()))
    domain = resolve_domain(opts.input_paths(), opts.kind)
    opts = settle_options(opts, domain)
    check_data_parallel(opts, domain)  # under torchrun: a kind that trains data-parallel
    resolve_precision(opts.loop.precision, resolve_device(opts.loop.device))  # fail early on a bad --device/--precision
    run = new_run_dir(opts)
    with distributed.main_first():  # under torchrun: rank 0 fills the featurization cache, the others read it
        data = domain.prepare(opts, reporter)
    if opts.init_from:
        try:
            domain.check_transfer(source_config(opts.init_from), data)
        except GnnError as exc:
            raise type(exc)(f"--from {opts.init_from}: {exc}") from None
    splits = domain.split(opts, data)
    domain.make_task(data, opts, splits[0][0])  # a --metric that does not fit fails before the run folder exists
    trials = None
    if opts.search:
        from gnncli.train.search import search_settings

        opts, trials = search_settings(opts, domain, data, splits[0], reporter)
    if distributed.is_main():  # under torchrun, rank 0 alone writes the run folder
        run.mkdir(parents=True, exist_ok=True)
    if trials is not None:
        with atomic_open(run / "search.csv", "w", newline="") as handle:
            trials.to_csv(handle, index=False)
    summary = train_members(run, opts, domain, data, splits, reporter, started=time.time())
    if trials is not None:
        best = trials.loc[trials["best"]].iloc[0]
        summary["search"] = {"trials": int(len(trials)), "completed": int((trials["state"] == "COMPLETE").sum()),
                             "best": {k[len("params_"):]: _plain(best[k]) for k in trials.columns if k.startswith("params_")},
                             "best_value": float(best["value"])}
        write_json(run / "metrics.json", summary)
    return summary


def _plain(value):
    return value.item() if hasattr(value, "item") else value


def _train_config(run: Path) -> dict:
    """The ``config.json`` of a ``gnn train`` run folder, upgraded to the current format."""
    config = upgrade_config(read_json(run / "config.json"))
    if "options" not in config:
        from gnncli.errors import CheckpointError

        raise CheckpointError(f"{run / 'config.json'}: not a gnn train run")
    return config


def resume_point(run_dir: str) -> dict:
    """Where an interrupted run stands: ``complete``, and per member still to train its
    ``member`` index, ``epoch`` (finished epochs) and ``epochs`` (planned)."""
    run = Path(run_dir)
    config = _train_config(run)
    epochs = int(config["options"]["loop"]["epochs"])
    members = int(config["members"])
    pending = []
    for member in range(members):
        if model_path(run, member).is_file() and not state_path(run, member).is_file():
            continue
        state = load_tensors(state_path(run, member)) if state_path(run, member).is_file() else None
        pending.append({"member": member, "epoch": int(state["epoch"]) + 1 if state is not None else 0, "epochs": epochs})
    return {"complete": config.get("status") == "complete", "members": members, "pending": pending}


def resume(run_dir: str, reporter: Reporter | None = None, *, device: str | None = None) -> dict:
    """Continue an interrupted ``gnn train`` run from its last saved epoch.

    A run that had finished is left as it is: its summary comes back with a warning saying so.
    """
    reporter = reporter or Reporter()
    run = Path(run_dir)
    config = _train_config(run)
    if config.get("status") == "complete" and (run / "metrics.json").is_file():
        summary = read_json(run / "metrics.json")
        summary["warnings"] = [f"{run}: the run is already complete; nothing to resume"]
        return summary
    opts = TrainOptions.from_dict(config["options"])
    if device:
        opts.loop.device = device
    domain = get_domain(config["kind"])
    data = domain.prepare(opts, reporter, featurizer=domain.load_featurizer(config))
    saved = read_json(run / "splits.json")
    splits = [tuple(np.asarray(s[k], np.int64) for k in ("train", "val", "test")) for s in saved]
    return train_members(run, opts, domain, data, splits, reporter, started=time.time(), resumed=True)


# ------------------------------------------------------------------------------ prediction


def _loaded(run_dir: str | TrainedRun) -> TrainedRun:
    return run_dir if isinstance(run_dir, TrainedRun) else load_run(run_dir)


def predict(
    run_dir: str | TrainedRun, inputs: list[str], out: str | IO[str] | None = None, *, fmt: str | None = None, batch_size: int = 64,
    chunk_size: int = 10_000, workers: int | None = None, device: str = "auto", top_k: int | None = None,
    sort_by: str | None = None, ascending: bool = False, shard: str | Shard | None = None,
    reporter: Reporter | None = None, **options: Any,
) -> dict:
    """Stream predictions for ``inputs`` to ``out`` (a path, a text stream, or None for stdout)
    through the run's kind of input.

    For table-like inputs (molecules): the input rows in order, plus one column per target
    (``_std`` columns for ensembles) and an ``error`` column, empty unless the row could not be
    read; with ``top_k``, only the best ``top_k`` rows by ``sort_by``, best first; with ``shard``
    (``"I/N"``), only every N-th chunk from chunk I-1, after a ``row (shard I/N)`` column
    (see :mod:`gnncli.shards`). ``options`` are the kind's own (its
    :class:`~gnncli.domains.base.DomainOption` names). Returns counts (``rows``, ``predicted``,
    ``invalid``).
    """
    shard = Shard.parse(shard) if shard is not None else None
    run = _loaded(run_dir)
    settings = InferenceSettings(fmt=fmt, batch_size=batch_size, chunk_size=chunk_size, workers=workers, device=device,
                                 top_k=top_k, sort_by=sort_by, ascending=ascending, shard=shard)
    with shard_scope(run.domain, shard):
        return run.domain.predict(run, inputs, out, options=check_options(run.domain, options, "predict"),
                                  settings=settings, reporter=reporter or Reporter())


def embed(
    run_dir: str | TrainedRun, inputs: list[str], out_path: str, *, fmt: str | None = None, member: int = 0,
    batch_size: int = 64, chunk_size: int = 10_000, workers: int | None = None, device: str = "auto",
    reporter: Reporter | None = None, **options: Any,
) -> dict:
    """Write the learned vectors of ``inputs`` (the model's ``embed``, before its head) to ``out_path``.

    For molecules: ``.npy`` (one row per input row, NaN rows for invalid ones, listed with
    reasons in ``<out>.errors.csv``), or ``.csv``/``.parquet`` (input columns, ``error``,
    ``emb_0 .. emb_{H-1}``). Returns counts and the vector width.
    """
    run = _loaded(run_dir)
    settings = InferenceSettings(fmt=fmt, batch_size=batch_size, chunk_size=chunk_size, workers=workers,
                                 device=device, member=member)
    return run.domain.embed(run, inputs, out_path, options=check_options(run.domain, options, "embed"),
                            settings=settings, reporter=reporter or Reporter())
