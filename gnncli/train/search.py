"""Hyperparameter search for ``gnn train --search N``: N settings tried on the validation rows,
the best kept.

Optuna's TPE sampler (Bergstra et al. 2011) proposes each setting from the results so far, and
its median pruner stops a trial whose validation metric, at the same epoch, is worse than the
median of the trials before it. Optuna is an optional dependency (``pip install 'gnncli[search]'``),
imported only here. Each trial trains one model on the first split's training rows for the run's
epochs and scores it on its validation rows with the task's monitored metric; the test rows are
never looked at.

Searched: ``hidden`` (the FFN's width follows it), ``depth``, ``dropout``, the peak learning rate
``lr`` (warm-up from and decay to a tenth of it, as the command line sets them) and ``batch_size``.
"""

from __future__ import annotations

import math
from dataclasses import replace

import pandas as pd
import torch

from gnncli.errors import InputError, UsageError

#: The search space: name -> (kind, arguments of Optuna's ``suggest_*``).
SPACE = {
    "hidden": ("int", {"low": 64, "high": 512, "step": 32}),
    "depth": ("int", {"low": 2, "high": 6}),
    "dropout": ("float", {"low": 0.0, "high": 0.4, "step": 0.05}),
    "lr": ("float", {"low": 1e-4, "high": 3e-3, "log": True}),
    "batch_size": ("categorical", {"choices": [16, 32, 64, 128]}),
}


def _optuna():
    try:
        import optuna
    except ImportError:
        raise UsageError("--search needs Optuna, an optional dependency: pip install 'gnncli[search]'") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def apply(opts, params: dict):
    """``opts`` (``api.TrainOptions``) with one setting of :data:`SPACE` applied."""
    model = replace(opts.model, hidden=int(params["hidden"]), ffn_hidden=int(params["hidden"]),
                    depth=int(params["depth"]), dropout=round(float(params["dropout"]), 4))
    lr = float(params["lr"])
    loop = replace(opts.loop, max_lr=lr, init_lr=lr / 10, final_lr=lr / 10, batch_size=int(params["batch_size"]))
    return replace(opts, model=model, loop=loop)


def search_settings(opts, domain, data, split: tuple, reporter) -> tuple:
    """Try ``opts.search`` settings; returns ``opts`` with the best applied and a table of the
    trials (``number``, ``value``, ``state``, ``best``, ``params_<name>``)."""
    from gnncli.models import build_model
    from gnncli.train.loop import fit

    optuna = _optuna()
    train_idx, val_idx, _ = split
    task = domain.make_task(data, opts, train_idx)
    sampler = optuna.samplers.TPESampler(seed=opts.loop.seed)
    pruner = optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=max(1, opts.loop.epochs // 5))
    study = optuna.create_study(direction="maximize" if task.higher_is_better else "minimize", sampler=sampler,
                                pruner=pruner)
    bar = reporter.start("search", opts.search)
    val_loader = data.loader(val_idx, batch_size=256)

    def objective(trial) -> float:
        params = {name: getattr(trial, f"suggest_{kind}")(name, **args) for name, (kind, args) in SPACE.items()}
        tried = apply(opts, params)
        loop = tried.loop
        torch.manual_seed(loop.seed)
        model = build_model(domain.model_config(data, tried.model))
        domain.prepare_model(model, data, train_idx)

        def make_loader(epoch: int):
            return data.train_loader(train_idx, batch_size=loop.batch_size, seed=loop.seed, epoch=epoch)

        def on_epoch(record: dict) -> None:
            value = record.get(f"val_{task.monitor}", float("nan"))
            reporter.update(bar, info=f"trial {trial.number + 1}: epoch {record['epoch']}, val {task.monitor} {value:.4f}")
            if math.isfinite(value):
                trial.report(value, record["epoch"])
                if trial.should_prune():
                    raise optuna.TrialPruned()

        try:
            result = fit(model, task, make_loader, val_loader, loop, on_epoch=on_epoch)
        finally:
            reporter.advance(bar, 1)
        return float(result.best_metrics.get(task.monitor, float("nan")))

    study.optimize(objective, n_trials=opts.search, catch=())
    reporter.finish(bar)
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE and math.isfinite(t.value)]
    if not done:
        raise InputError(f"{data.source}: no search trial gave a validation {task.monitor} (too few validation rows?)")
    best = study.best_trial
    table = study.trials_dataframe(attrs=("number", "value", "state", "params"))
    table["state"] = table["state"].astype(str)
    if "params_dropout" in table:
        table["params_dropout"] = table["params_dropout"].round(4)
    table["number"] = table["number"] + 1
    table.insert(3, "best", table["number"] == best.number + 1)
    return apply(opts, best.params), table
