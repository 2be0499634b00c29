"""Training the members of a run folder (one per fold or ensemble member), for ``gnn train`` and
``--resume``: the loop of :func:`gnncli.train.loop.fit` per member, the run's ``config.json``,
``splits.json``, ``metrics.csv`` and checkpoints, and the final evaluation; and where a run starts
from another's encoder (``--from``).

Under ``torchrun`` with several processes every process trains every member data-parallel
(:mod:`gnncli.train.distributed`), and rank 0 alone chooses, writes and evaluates the run folder:
the same folder one process writes. The other processes write nothing and return once trained.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch

from gnncli.errors import CheckpointError, UsageError
from gnncli.io import atomic_open, load_tensors, read_json, save_tensors, write_json
from gnncli.models import build_model
from gnncli.progress import Reporter
from gnncli.train import distributed
from gnncli.runs import FORMAT_VERSION, model_path, save_member, state_path, upgrade_config
from gnncli.train.evaluate import RunContext
from gnncli.train.loop import LoopConfig, TrainingInterrupted, fit, precision_name, resolve_device, resolve_precision

if TYPE_CHECKING:
    from gnncli.options import TrainOptions
    from gnncli.domains import Domain


#: What the encoder of a run is built from (``gnn train --from`` takes them from the run).
ENCODER_SETTINGS = ("name", "hidden", "depth", "virtual_node", "params")


def source_config(run_dir: str) -> dict:
    """The ``config.json`` of the run ``--from`` names (a finished run)."""
    path = Path(run_dir) / "config.json"
    if not path.is_file():
        raise CheckpointError(f"--from {run_dir}: not a run folder (no config.json)")
    config = upgrade_config(read_json(path))
    if config.get("status") != "complete" or "model" not in config:
        raise CheckpointError(f"--from {run_dir}: the run is not complete (finish it with gnn train --resume {run_dir})")
    return config


def start_from(model, run_dir: str, member: int, freeze: bool) -> None:
    """Copy the encoder weights of member ``member`` (modulo the run's members) of ``run_dir``
    into ``model``; with ``freeze``, they stay fixed in training."""
    encoder = getattr(model, "encoder", None)
    if encoder is None:
        raise UsageError(f"--from: model {type(model).__name__} has no encoder of its own to start from")
    members = int(source_config(run_dir)["members"])
    file = model_path(Path(run_dir), member % members)
    saved = load_tensors(file)["state_dict"]
    weights = {k[len("encoder."):]: v for k, v in saved.items() if k.startswith("encoder.")}
    ours = encoder.state_dict()
    if set(weights) != set(ours) or any(weights[k].shape != ours[k].shape for k in ours):
        raise CheckpointError(f"{file}: its encoder does not fit this model's (different settings or input widths)")
    encoder.load_state_dict(weights)
    if freeze:
        for param in encoder.parameters():
            param.requires_grad_(False)


def check_data_parallel(opts: TrainOptions, domain: Domain) -> None:
    """Raise :class:`~gnncli.errors.UsageError` if ``gnn train`` was launched by torchrun with
    several processes for what does not train data-parallel: a kind of input whose training is
    not over items (its ``data_parallel`` is False), or a ``--search``."""
    if not distributed.distributed():
        return
    if not getattr(domain, "data_parallel", True):
        raise UsageError(f"{domain.name} input does not train data-parallel: run gnn train without torchrun "
                         "(or with --nproc-per-node 1)")
    if opts.search:
        raise UsageError("--search does not run data-parallel: search in one process, then train the "
                         "settings it found under torchrun")


def new_run_dir(opts: TrainOptions) -> Path:
    """The run folder ``opts.out`` names (which must be empty or new), or a new one under ``runs/``.

    Under torchrun rank 0 chooses it and every process gets rank 0's choice (or its error)."""
    if not distributed.distributed():
        return _new_run_dir(opts)
    run, error = None, None
    if distributed.is_main():
        try:
            run = _new_run_dir(opts)
        except UsageError as exc:
            error = str(exc)
    run, error = distributed.broadcast((run, error))
    if error is not None:
        raise UsageError(error)
    return run


def _new_run_dir(opts: TrainOptions) -> Path:
    if opts.out:
        run = Path(opts.out)
        if run.exists() and any(run.iterdir()):
            raise UsageError(f"{run}: folder exists and is not empty (choose another --out, or continue it with --resume)")
        return run
    stem = "stdin" if opts.data == "-" else Path(opts.data).stem if opts.data else opts.kind or "default"
    base = Path("runs") / f"{datetime.now():%Y%m%d-%H%M%S}-{stem}-{opts.model.name}"
    run, i = base, 1
    while run.exists():
        run, i = Path(f"{base}-{i}"), i + 1
    return run


def train_members(
    run: Path, opts: TrainOptions, domain: Domain, data, splits: list, reporter: Reporter, *,
    started: float, resumed: bool = False,
) -> dict:
    """Train every member of ``run`` still to train (one per split in ``splits``; on ``resumed``,
    those without a finished checkpoint, from their saved state), then evaluate the run through
    ``domain`` and mark it complete. Returns the summary also written to ``metrics.json``.

    Under torchrun every process calls this; rank 0 reads and writes ``run`` and tells the others
    what it read (which members are left, their saved states), the others train alongside it and
    return ``{"rank", "world_size", "run"}`` without waiting for rank 0's evaluation."""
    check_data_parallel(opts, domain)
    main = distributed.is_main()
    if not main:
        reporter = Reporter()
    model_config = domain.model_config(data, opts.model)
    if opts.loop.steps_per_epoch is None and data.steps_per_epoch is not None:  # data generated on the fly
        opts = replace(opts, loop=replace(opts.loop, steps_per_epoch=data.steps_per_epoch))
    # Each member fits what its task needs (target scaling) on its own training rows (k-fold
    # folds differ), then re-expresses its outputs in the run's task, so that every member's
    # outputs mean the same thing at prediction time. Members sharing one split share one task.
    shared = all(np.array_equal(s[0], splits[0][0]) for s in splits)
    fit_rows = splits[0][0] if shared else np.unique(np.concatenate([s[0] for s in splits]))
    task = domain.make_task(data, opts, fit_rows)
    # A kind may refit each member on its training and validation rows together, for the epoch
    # count early stopping picked (Domain.refit_data); the run is then the refit's: its data,
    # model dimensions and task are the ones saved, and the first pass only chose the epochs.
    refit = domain.refit_data(data, opts)
    if refit is not None:
        refit_splits = domain.split(opts, refit)
        refit_shared = all(np.array_equal(s[0], refit_splits[0][0]) for s in refit_splits)
        refit_rows = refit_splits[0][0] if refit_shared else np.unique(np.concatenate([s[0] for s in refit_splits]))
        run_data, run_splits, run_config = refit, refit_splits, domain.model_config(refit, opts.model)
        run_task = domain.make_task(refit, opts, refit_rows)
    else:
        run_data, run_splits, run_config, run_task = data, splits, model_config, task
    config = {
        "format": FORMAT_VERSION, "kind": domain.name, "status": "training",
        "featurizer": domain.featurizer_spec(run_data), "model": run_config.to_dict(), "task": run_task.to_config(),
        "members": len(splits), "domain": domain.run_config(run_data), "options": opts.to_dict(),
        "data": {"path": data.source, **data.counts},
    }
    if distributed.distributed():  # the batches were world_size x batch_size items
        config["processes"] = distributed.world_size()
    if main:
        write_json(run / "config.json", config)
        write_json(run / "splits.json", [
            {k: [int(i) for i in part] for k, part in zip(("train", "val", "test"), s)} for s in splits
        ])
    history_rows: list[dict] = []
    # Each member's best epoch and its validation metrics (None: a member finished before a resume).
    selection: list[dict | None] = [None] * len(splits)
    if main and resumed and (run / "metrics.csv").is_file():
        history_rows = pd.read_csv(run / "metrics.csv").to_dict("records")
    for member, (train_idx, val_idx, _) in enumerate(splits):
        finished = main and model_path(run, member).is_file() and not state_path(run, member).is_file()
        if distributed.broadcast(finished):
            continue  # finished before an interruption
        loop = LoopConfig.from_dict({**opts.loop.to_dict(), "seed": opts.loop.seed + member})
        state = load_tensors(state_path(run, member)) if main and state_path(run, member).is_file() else None
        state = distributed.broadcast(state)  # the run folder may be on rank 0's machine alone
        epochs_kept = int(state["epoch"]) + 1 if state is not None else 0  # rows past the saved state go
        history_rows = [r for r in history_rows if int(r["member"]) != member
                        or (int(r["epoch"]) <= epochs_kept and r.get("stage") != "refit")]
        torch.manual_seed(loop.seed)
        model = build_model(model_config)
        config["precision"] = precision_name(resolve_precision(loop.precision, resolve_device(loop.device), model))
        domain.prepare_model(model, data, train_idx)
        if opts.init_from and state is None:  # a resumed member has its own weights already
            start_from(model, opts.init_from, member, opts.freeze_encoder)
        elif opts.init_from and opts.freeze_encoder:
            for param in model.encoder.parameters():
                param.requires_grad_(False)
        label = f"member {member + 1}/{len(splits)}" if len(splits) > 1 else "training"
        bar = reporter.start(label, loop.epochs, completed=epochs_kept)
        member_task = task if shared else domain.make_task(data, opts, train_idx)

        def make_loader(epoch: int, _train=train_idx, _seed=loop.seed, _batch=loop.batch_size):
            return data.train_loader(_train, batch_size=_batch, seed=_seed, epoch=epoch)

        def write_history(row: dict) -> None:
            history_rows.append(row)
            with atomic_open(run / "metrics.csv", "w", newline="") as handle:
                pd.DataFrame(history_rows).to_csv(handle, index=False)

        def on_epoch(record: dict, _member=member, _bar=bar, _task=member_task) -> None:
            write_history({"member": _member, **record})
            shown = record.get(f"val_{_task.monitor}", float("nan"))
            reporter.advance(_bar, 1, info=f"loss {record['train_loss']:.4f}  val {_task.monitor} {shown:.4f}")

        try:
            result = fit(
                model, member_task, make_loader, data.loader(val_idx, batch_size=256), loop, resume=state,
                on_epoch=on_epoch if main else None,
                save_state=(lambda s, _m=member: save_tensors(state_path(run, _m), s)) if main else None,
            )
        except TrainingInterrupted as exc:
            if main and state_path(run, member).is_file():
                raise TrainingInterrupted(f"{exc}; continue with: gnn train --resume {run}") from None
            raise
        selection[member] = {"epoch": result.best_epoch, **result.best_metrics}
        if refit is not None:
            reporter.finish(bar)
            model, member_task, result = _refit_member(
                run, domain, refit, refit_splits[member][0], run_config, run_task if refit_shared else None, opts,
                loop, max(1, result.best_epoch), member, label, reporter,
                (lambda row, _m=member: write_history({"member": _m, "stage": "refit", **row})) if main else None)
        if not main:
            continue
        best = result.best_state
        if member_task is not run_task and hasattr(member_task, "align"):
            model.load_state_dict(best)
            member_task.align(model, run_task)
            best = model.state_dict()
        save_member(run, member, best, result.task_state)
        state_path(run, member).unlink(missing_ok=True)
        reporter.finish(bar)
    if not main:
        return {"rank": distributed.rank(), "world_size": distributed.world_size(), "run": str(run)}
    if (run / "state").is_dir() and not any((run / "state").iterdir()):
        shutil.rmtree(run / "state")
    summary = domain.evaluate(RunContext(run, opts, run_data, run_splits, run_task, reporter, selection))
    if "precision" in config:  # the training steps' arithmetic, as resolved on this machine
        summary["precision"] = config["precision"]
    summary["time_s"] = round(time.time() - started, 2)
    summary["warnings"] = list(run_data.warnings)
    write_json(run / "metrics.json", summary)
    config["status"] = "complete"
    write_json(run / "config.json", config)
    return summary


def _refit_member(run: Path, domain: Domain, data, train_idx, model_config, task, opts: TrainOptions, loop: LoopConfig,
                  epochs: int, member: int, label: str, reporter: Reporter, on_epoch=None) -> tuple:
    """Member ``member`` trained again from a fresh start on ``train_idx`` of the refit ``data``
    (its training and validation rows) for ``epochs`` epochs, without validation; ``task`` is
    the run's (None: the member's own, fitted on ``train_idx``). Returns the model, its task and
    the :class:`~gnncli.train.loop.FitResult` whose state is the last epoch's."""
    task = task if task is not None else domain.make_task(data, opts, train_idx)
    torch.manual_seed(loop.seed)
    model = build_model(model_config)
    domain.prepare_model(model, data, train_idx)
    if opts.init_from:  # from the --from run's encoder again, as the first pass started
        start_from(model, opts.init_from, member, opts.freeze_encoder)
    bar = reporter.start(f"{label}: refit on all {len(train_idx)} training {data.unit}", epochs)

    def make_loader(epoch: int, _seed=loop.seed, _batch=loop.batch_size):
        return data.train_loader(train_idx, batch_size=_batch, seed=_seed, epoch=epoch)

    def record(row: dict) -> None:
        if on_epoch is not None:
            on_epoch(row)
        reporter.advance(bar, 1, info=f"loss {row['train_loss']:.4f}")

    try:
        result = fit(model, task, make_loader, None, replace(loop, epochs=epochs, patience=None), on_epoch=record)
    except TrainingInterrupted:
        again = (f"; continue with: gnn train --resume {run} (the refit starts again)"
                 if state_path(run, member).is_file() else "; nothing of the refit was saved")
        raise TrainingInterrupted(f"interrupted while refitting member {member + 1}{again}") from None
    reporter.finish(bar)
    return model, task, result
