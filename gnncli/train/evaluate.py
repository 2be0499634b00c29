"""Scoring a trained run on its test rows: the default :meth:`Domain.evaluate
<gnncli.domains.base.Domain.evaluate>` for property tasks (per graph or per node).

Ensemble members' test predictions are averaged (their spread kept as ``_std``); with k-fold
cross-validation each fold's members predict that fold's test rows, so every item is predicted
once by models that never saw it. Writes ``test_predictions.csv`` and the plots, and returns the
summary that ``metrics.json`` holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gnncli.io import atomic_open
from gnncli.train.metrics import finite_mean


@dataclass
class RunContext:
    """What evaluating a run needs: its folder, options, data, splits and the run's task; and,
    per member, the epoch early stopping picked and its validation metrics (``selection``; None
    for a member trained before a resume)."""

    run: Path
    opts: Any
    data: Any
    splits: list
    task: Any
    reporter: Any = None
    selection: list | None = None


def member_groups(opts, splits: list) -> list[tuple[tuple, list[int]]]:
    """``(split, member indices)`` per group of members that share a test set (one per fold)."""
    if opts.split == "kfold":
        per_fold = len(splits) // opts.folds
        return [(splits[f * per_fold], list(range(f * per_fold, (f + 1) * per_fold))) for f in range(opts.folds)]
    return [(splits[0], list(range(len(splits))))]


def summary_counts(data, splits: list, n_test: int) -> dict:
    """The summary's counts of items: the input's, and those trained, validated and tested on."""
    return {**data.counts, "train": len(splits[0][0]), "val": len(splits[0][1]), "test": n_test}


def evaluate_property_run(domain, ctx: RunContext) -> dict:
    from gnncli.runs import load_run
    from gnncli.train import plots
    from gnncli.train.loop import resolve_device

    opts, data, task = ctx.opts, ctx.data, ctx.task
    trained = load_run(ctx.run)
    device = resolve_device(opts.loop.device)
    preds, stds, ys, masks, test_rows, val_metrics = [], [], [], [], [], []
    for (_, val_idx, test_idx), members in member_groups(opts, ctx.splits):
        member_preds = []
        for m in members:
            model = trained.models[m].to(device)
            if len(test_idx):
                p, _, y, mask = task.outputs(model, data.loader(test_idx), device)
                member_preds.append(p)
            val_metrics.append(task.evaluate(model, data.loader(val_idx), device))
        if member_preds:
            stack = np.stack(member_preds)
            preds.append(stack.mean(0))
            stds.append(stack.std(0))
            ys.append(y)
            masks.append(mask)
            test_rows.append(np.asarray(test_idx))
    test_rows = np.concatenate(test_rows) if test_rows else np.zeros(0, np.int64)
    test = {}
    several = len(ctx.splits) // (opts.folds if opts.split == "kfold" else 1) > 1
    if preds:
        preds, stds, y, mask = np.concatenate(preds), np.concatenate(stds), np.concatenate(ys), np.concatenate(masks)
        test = task.score(y, preds, mask)
        if several and hasattr(task, "score_spread"):  # how well the members' spread tells the error
            test.update(task.score_spread(y, preds, stds, mask))
    else:
        width = len(task.columns()) if hasattr(task, "columns") else len(data.targets)
        preds = stds = np.zeros((0, width))
        y = np.zeros((0, len(data.targets)))
        mask = np.zeros((0, len(data.targets)), dtype=bool)
    # a metric undefined for every member (one class in validation) stays NaN, without a warning
    val = {k: finite_mean(np.asarray([m[k] for m in val_metrics], float)) for k in val_metrics[0]} if val_metrics else {}
    summary = {
        "run": str(ctx.run), "kind": domain.name, "task": data.task_type, "targets": data.targets,
        "model": opts.model.name, "members": len(ctx.splits), "split": opts.split, "monitor": task.monitor, "unit": data.unit,
        data.unit: summary_counts(data, ctx.splits, len(test_rows)), "val": val, "test": test,
    }
    if opts.split == "kfold":
        summary["folds"] = opts.folds
    table = data.row_table(test_rows)
    if hasattr(task, "test_columns"):  # the task names its columns (class probabilities, variances)
        for name, column in task.test_columns(y, preds, stds, mask, several).items():
            table[name] = column
    else:
        for t, name in enumerate(data.targets):
            table[f"{name}_true"] = np.where(mask[:, t], y[:, t], np.nan)
            table[f"{name}_pred"] = preds[:, t]
            if several:
                table[f"{name}_std"] = stds[:, t]
    with atomic_open(ctx.run / "test_predictions.csv", "w", newline="") as handle:
        table.to_csv(handle, index=False, float_format="%.6g")
    if opts.plots:
        import pandas as pd

        plots.learning_curve(pd.read_csv(ctx.run / "metrics.csv"), task.monitor, ctx.run / "learning_curve.png")
        if len(test_rows) and hasattr(task, "test_plots"):
            task.test_plots(y, preds, mask, ctx.run)
        elif len(test_rows):
            if data.task_type == "regression":
                plots.parity(y, preds, mask, data.targets, ctx.run / "parity.png")
            else:
                plots.roc(y, preds, mask, data.targets, ctx.run / "roc.png")
    return summary
