"""Training on ratings: reading the training (and test) file, ID maps, the split, the context the
models condition on, and scoring a trained run.

The split is made while reading, because the item graph and the ID maps are built from the
training ratings only; it is a function of the file and the seed, so a resumed run makes the same.
Validation and test ratings of a user or an item with no training rating (cold start) get no
score from the model: they are scored by the known user's (else item's) mean rating, as
``gnn predict`` scores them, counted, and marked in ``test_predictions.csv``. Early stopping and
the per-epoch curves look at the other pairs only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from gnncli.domains.base import Dataset, inputs_label
from gnncli.domains.ratings import DEFAULT_KNN, DEFAULT_MIN_COMMON, GRAPH_MODELS, MODEL_PARAMS, SIGNAL_MODELS
from gnncli.domains.ratings.data import RatingContext, RatingLoader, split_ratings
from gnncli.domains.ratings.features import read_side_features
from gnncli.domains.ratings.reader import RatingTable, drop_duplicates, join_tables, read_ratings
from gnncli.errors import InputError, UsageError

#: Training pairs scored each epoch for the learning curve's train RMSE (a fixed sample).
CURVE_TRAIN_SAMPLE = 10_000
#: The graph models train each user's pairs on an item graph built without that user's ratings:
#: users fall in this many folds, and fold g's graph is built from the other folds' ratings
#: (a training rating would otherwise sit in the graph that predicts it; a test rating never does).
#: Validation, test and prediction use the graph of all training ratings.
GRAPH_FOLDS = 2


@dataclass
class RatingArrays:
    """Every rating read (training file, then test file): IDs as text, indices into the ID maps
    (-1 for a user or item with no training rating), ratings, and where each row came from."""

    user_id: np.ndarray
    item_id: np.ndarray
    users: np.ndarray
    items: np.ndarray
    ratings: np.ndarray
    where: list

    def __len__(self) -> int:
        return len(self.ratings)


class RatingsDataset(Dataset):
    """Ratings with a fixed split (``extra["split"]``) and the context built from its training part."""

    @property
    def context(self) -> RatingContext:
        return self.extra["context"]

    def __len__(self) -> int:
        return len(self.pack)

    def where(self, index: int) -> str:
        return self.pack.where[int(index)]

    def known(self, indices) -> np.ndarray:
        """``indices`` less the ratings of cold-start users or items."""
        idx = np.asarray(indices, np.int64)
        return idx[(self.pack.users[idx] >= 0) & (self.pack.items[idx] >= 0)]

    def pairs(self, indices, *, batch_size: int = 1024, part: int = 1, shuffle=False, generator=None,
              folds: bool = False) -> RatingLoader:
        idx = self.known(indices)
        edge = self.extra["edge_of_row"][idx]
        return RatingLoader(self.context, self.pack.users[idx], self.pack.items[idx], self.pack.ratings[idx],
                            batch_size=batch_size, shuffle=shuffle, generator=generator,
                            signals=self.extra["signals"], part=np.full(len(idx), part), edge=edge, folds=folds)

    def loader(self, indices, *, batch_size: int = 256):
        """Pairs at ``indices``; the validation pairs also bring the test pairs and a fixed sample
        of training pairs, tagged by part, so that every epoch records train and test RMSE for the
        learning curve (early stopping and model selection look at the validation pairs only)."""
        train, val, test = self.extra["split"]
        idx = np.asarray(indices, np.int64)
        if not np.array_equal(idx, val):
            return self.pairs(idx, batch_size=max(batch_size, 1024))
        rng = np.random.default_rng(0)
        sample = train if len(train) <= CURVE_TRAIN_SAMPLE else np.sort(rng.choice(train, CURVE_TRAIN_SAMPLE, replace=False))
        rows = np.concatenate([self.known(val), self.known(test)])
        parts = np.concatenate([np.full(len(self.known(val)), 1), np.full(len(self.known(test)), 2)])
        return _Chained([
            RatingLoader(self.context, self.pack.users[rows], self.pack.items[rows], self.pack.ratings[rows],
                         batch_size=max(batch_size, 1024), signals=self.extra["signals"], part=parts,
                         edge=np.full(len(rows), -1)),
            self.pairs(sample, batch_size=max(batch_size, 1024), part=0, folds=True),
        ])

    def train_loader(self, indices, *, batch_size: int, seed: int, epoch: int):
        import torch

        gen = torch.Generator().manual_seed(seed * 100_003 + epoch)
        return self.pairs(indices, batch_size=batch_size, part=0, shuffle=True, generator=gen, folds=True)

    def row_table(self, indices) -> pd.DataFrame:
        idx = np.asarray(indices, np.int64)
        return pd.DataFrame({"user": self.pack.user_id[idx], "item": self.pack.item_id[idx]})


class _Chained:
    """Loaders one after another."""

    def __init__(self, loaders: list) -> None:
        self.loaders = loaders

    def __len__(self) -> int:
        return sum(len(loader) for loader in self.loaders)

    def __iter__(self):
        for loader in self.loaders:
            yield from loader


def _read(paths: str | list[str], options: dict, fmt: str | None) -> RatingTable:
    """The ratings of one file, or of several one after another; a (user, item) pair rated more
    than once keeps its last rating."""
    paths = [paths] if isinstance(paths, str) else paths
    tables = [read_ratings(path, user_col=options.get("user_col"), item_col=options.get("item_col"),
                           rating_col=options.get("rating_col"), time_col=options.get("time_col"), fmt=fmt)
              for path in paths]
    return drop_duplicates(join_tables(tables, inputs_label(paths)))


def prepare(domain, opts, reporter) -> RatingsDataset:
    options = opts.options
    paths = opts.input_paths()
    if not paths:
        raise UsageError("gnn train for ratings needs a file of ratings")
    if "-" in paths:
        raise UsageError("-: ratings are read from a file, not standard input")
    source = inputs_label(paths)
    model = opts.model.name
    if model not in MODEL_PARAMS:  # the message-passing encoders fit any graph input, but ratings are not graphs of their own
        raise UsageError(f"--model {model}: not a model for ratings input (choose from {', '.join(MODEL_PARAMS)})")
    knn = options.get("knn")
    if knn is not None and knn < 1:
        raise UsageError(f"--knn {knn}: must be at least 1")
    min_common = options.get("min_common")
    if min_common is not None and min_common < 1:
        raise UsageError(f"--min-common {min_common}: must be at least 1")
    for name, value in (("--knn", knn), ("--min-common", min_common)):
        if value is not None and model not in GRAPH_MODELS:
            raise UsageError(f"{name}: the {model} model uses no item graph")
    for who in ("user", "item"):
        if options.get(f"{who}_features") and model != "gcmc":
            raise UsageError(f"--{who}-features: only the gcmc model reads side features (not {model}); "
                             "add --model gcmc")
    test_file = options.get("test_file")
    if test_file and opts.split != "random":
        raise UsageError(f"--test gives the test ratings; --split {opts.split} does not apply with it")
    sizes = opts.split_sizes
    if len(sizes) != 3 or any(s < 0 for s in sizes) or abs(sum(sizes) - 1) > 1e-6:
        raise UsageError(f"--split-sizes {','.join(map(str, sizes))}: give three fractions that sum to 1")

    bar = reporter.start("reading ratings", 1)
    table = _read(paths, options, opts.fmt)
    warnings, counts = [], {"rows": len(table) + table.duplicates, "duplicates": table.duplicates}
    if table.duplicates:
        warnings.append(f"{source}: {table.duplicates} repeated (user, item) pairs; kept the last rating of each")
    tables = [table]
    if test_file:
        test = _read(test_file, options, opts.fmt)
        counts["test_rows"] = len(test) + test.duplicates
        if test.duplicates:
            warnings.append(f"{test_file}: {test.duplicates} repeated (user, item) pairs; kept the last rating of each")
        tables.append(test)
    reporter.finish(bar)
    user_id = np.concatenate([t.user for t in tables])
    item_id = np.concatenate([t.item for t in tables])
    ratings = np.concatenate([t.rating for t in tables])
    where = [t.where(i) for t in tables for i in range(len(t))]
    timestamps = table.timestamp if not test_file else None

    train, val, test_rows = split_ratings(
        opts.split, len(ratings), sizes, opts.loop.seed, users=user_id, timestamps=timestamps,
        given_test=len(tables[1]) if test_file else 0, source=source,
    )
    if len(train) == 0 or len(val) == 0:
        raise InputError(f"{source}: {len(table)} ratings are too few for this split "
                         f"(train {len(train)}, validation {len(val)}); both need at least one")
    if model == "gcmc" and gcmc_params(opts.model.params)["messages"] == "apart" and opts.loop.batch_size >= len(train):
        raise UsageError(f"--model-param messages=apart takes each batch's ratings out of the message graph: "
                         f"--batch-size {opts.loop.batch_size} must be below the {len(train)} training ratings (e.g. 8000)")
    raw = {"source": source, "model": model, "knn": knn, "min_common": min_common, "options": options,
           "test_file": test_file, "columns": {k: v for k, v in table.columns.items() if table.header},
           "user_id": user_id, "item_id": item_id, "ratings": ratings, "where": where,
           "counts": counts, "warnings": warnings}
    return _dataset(raw, train, val, test_rows, reporter)


def _dataset(raw: dict, train: np.ndarray, val: np.ndarray, test_rows: np.ndarray, reporter) -> RatingsDataset:
    """The dataset of the ratings read (``raw``) split into ``train``, ``val`` and ``test_rows``:
    ID maps, cold-start counts and the context, all from the training rows."""
    source, model, knn, min_common, options = (raw[k] for k in ("source", "model", "knn", "min_common", "options"))
    test_file, user_id, item_id, ratings, where = (raw[k] for k in ("test_file", "user_id", "item_id", "ratings", "where"))
    counts, warnings = dict(raw["counts"]), list(raw["warnings"])
    user_ids = pd.unique(user_id[train])
    item_ids = pd.unique(item_id[train])
    user_index = pd.Index(user_ids)
    item_index = pd.Index(item_ids)
    users = user_index.get_indexer(user_id)
    items = item_index.get_indexer(item_id)
    arrays = RatingArrays(user_id, item_id, users.astype(np.int64), items.astype(np.int64), ratings, where)

    cold = {}
    for name, rows in (("validation", val), ("test", test_rows)):
        unknown = rows[(users[rows] < 0) | (items[rows] < 0)]
        cold[name] = len(unknown)
        if len(unknown):
            first = int(unknown[0])
            what = f"user '{user_id[first]}'" if users[first] < 0 else f"item '{item_id[first]}'"
            warnings.append(f"{len(unknown)} {name} ratings are of users or items with no training rating and are "
                            f"scored by the user's (or item's) mean rating (first: {where[first]}: {what})")
    counts.update(users=len(user_ids), items=len(item_ids), cold_val=cold["validation"], cold_test=cold["test"])

    bar = reporter.start("item graph" if model in GRAPH_MODELS else "rating matrix", 1)
    levels = np.unique(ratings[train])
    context = RatingContext.build(users[train], items[train], ratings[train], len(user_ids), len(item_ids),
                                  knn=(knn or DEFAULT_KNN) if model in GRAPH_MODELS else None, levels=levels,
                                  min_common=min_common or DEFAULT_MIN_COMMON,
                                  folds=GRAPH_FOLDS if model in GRAPH_MODELS else 0)
    reporter.finish(bar)
    side_files = {}
    for who, ids in (("user", user_ids), ("item", item_ids)):
        path = options.get(f"{who}_features")
        if path:
            side = read_side_features(path, ids, who)
            setattr(context, f"{who}_side", side.matrix)
            warnings.extend(side.notes(path, who))
            side_files[who] = {"file": path, "features": side.names}
    edge_of_row = np.full(len(ratings), -1, np.int64)
    edge_of_row[train] = np.arange(len(train))
    run_config = {
        "users": [str(u) for u in user_ids], "items": [str(i) for i in item_ids], "columns": raw["columns"],
        "knn": (knn or DEFAULT_KNN) if model in GRAPH_MODELS else None,
        "min_common": (min_common or DEFAULT_MIN_COMMON) if model in GRAPH_MODELS else None,
        "graph_edges": int(context.shift.nnz) if context.shift is not None else None,
        "test_file": test_file, "side_features": side_files,
    }
    return RatingsDataset(
        source, arrays, ["rating"], "rating", unit="ratings", counts=counts, warnings=warnings,
        extra={"split": (train, val, test_rows), "context": context, "signals": model in SIGNAL_MODELS,
               "edge_of_row": edge_of_row, "run_config": run_config, "levels": levels, "raw": raw},
    )


#: Models refit by default (``--refit``): once early stopping has picked the epoch count, each
#: member trains again from scratch on the training and validation ratings together.
REFIT_MODELS = ("kernel-ae",)


def refit_data(data: RatingsDataset, opts) -> RatingsDataset | None:
    """The ratings to refit on (``--refit``, on by default for :data:`REFIT_MODELS`): the training
    and validation ratings together train, with ID maps and context built from both; the test
    ratings stay as they were. None: no refit."""
    refit = opts.options.get("refit")
    if not (refit if refit is not None else opts.model.name in REFIT_MODELS):
        return None
    train, val, test = data.extra["split"]
    from gnncli.progress import Reporter

    out = _dataset(data.extra["raw"], np.sort(np.concatenate([train, val])), np.zeros(0, np.int64), test, Reporter())
    out.extra["refit"] = {"train": int(len(train)), "val": int(len(val))}
    return out


def make_task(data: RatingsDataset, opts):
    from gnncli.domains.ratings.task import RatingTask

    train = data.extra["split"][0]
    r = data.pack.ratings[train]
    objective = "levels" if opts.model.name == "gcmc" else "mse"
    try:
        return RatingTask(float(r.mean()), float(r.std()), float(r.min()), float(r.max()),
                          [float(v) for v in data.extra["levels"]], objective, opts.monitor or "rmse")
    except ValueError as exc:
        raise UsageError(f"--metric {exc}") from None


#: GC-MC's settings for new runs, unless given with --model-param: the paper's full-batch recipe
#: (every training rating carries messages, dropout per rating level, leaky ReLU, no weight
#: average), which scored u1.test at 0.91 where mini-batches with supervision edges kept apart
#: scored 0.94 (README, "Ratings: MovieLens 100k").
GCMC_DEFAULTS = {"messages": "all", "level_dropout": True, "activation": "leaky", "ema": 0.0}
#: The kernelized autoencoder's settings for new runs, unless given with --model-param: two
#: members averaged, predictions from the weights' moving average (tuned on the validation cut of
#: u1.base; benchmarks/README.md, "Ratings: MovieLens 100k").
KERNEL_AE_DEFAULTS = {"members": 2, "ema": 0.98}


def gcmc_params(params: dict) -> dict:
    """GC-MC's --model-param values with :data:`GCMC_DEFAULTS` filled in."""
    return {**GCMC_DEFAULTS, **params}


def model_config(data: RatingsDataset, model):
    from gnncli.models import ModelConfig

    allowed = MODEL_PARAMS.get(model.name, ())
    for key in model.params:
        if key not in allowed:
            raise UsageError(f"--model-param {key}: not a parameter of {model.name} "
                             f"({'choose from ' + ', '.join(allowed) if allowed else 'it takes none'})")
    train = data.extra["split"][0]
    r = data.pack.ratings[train]
    ctx = data.context
    filled = {"n_users": ctx.n_users, "n_items": ctx.n_items, "levels": len(data.extra["levels"]),
              "mean": float(r.mean()), "std": float(r.std()) or 1.0, "high": float(r.max()),
              "ratings": int(len(train))}
    for who in ("user", "item"):
        side = getattr(ctx, f"{who}_side")
        if side is not None:
            filled[f"{who}_features"] = int(side.shape[1])
    out = len(data.extra["levels"]) if model.name == "gcmc" else 1
    try:
        given = (gcmc_params(model.params) if model.name == "gcmc"
                 else {**KERNEL_AE_DEFAULTS, **model.params} if model.name == "kernel-ae" else model.params)
        return ModelConfig.from_dict({**model.to_dict(), "in_channels": 2, "out_channels": out, "level": "graph",
                                      "params": {**given, **filled}})
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def evaluate(domain, ctx) -> dict:
    """Save the context beside the models, score the members on train, validation and test
    ratings, write ``test_predictions.csv`` and the plots; return the summary."""
    from gnncli.domains.ratings.task import score
    from gnncli.io import atomic_open, save_tensors
    from gnncli.runs import load_run
    from gnncli.train.loop import resolve_device

    data, opts = ctx.data, ctx.opts
    save_tensors(ctx.run / "ratings.pt", data.context.state())
    trained = load_run(ctx.run)
    device = resolve_device(opts.loop.device)
    train, val, test = data.extra["split"]
    task = ctx.task
    summary_parts = {}
    test_pred = None
    for name, rows in (("train", train), ("val", val), ("test", test)):
        rows = np.asarray(rows, np.int64)
        known = data.known(rows)
        loader = data.pairs(known, batch_size=2048, folds=name == "train")  # training pairs as trained
        preds = [task.outputs(model.to(device), loader, device)[0] for model in trained.models] if len(known) else []
        pred = np.full(len(rows), np.nan)
        is_known = np.isin(rows, known)
        if len(known):
            pred[is_known] = np.mean(preds, axis=0)
        cold = ~is_known  # cold start: scored by the known user's (or item's) mean, as gnn predict does
        pred[cold] = np.clip(data.context.cold_scores(data.pack.users[rows[cold]], data.pack.items[rows[cold]]),
                             task.low, task.high)
        y = data.pack.ratings[rows]
        summary_parts[name] = score(y, pred) if len(rows) else {"rmse": float("nan"), "mae": float("nan")}
        if name == "test":
            std = None
            if len(preds) > 1:
                std = np.full(len(rows), np.nan)
                std[is_known] = np.std(preds, axis=0)
            test_pred = (pred, std)
    rows_out = data.row_table(test)
    rows_out["rating"] = data.pack.ratings[test]
    pred, std = test_pred
    rows_out["rating_pred"] = pred
    if std is not None:
        rows_out["rating_std"] = std
    rows_out["error"] = [_cold_reason(data, int(r)) for r in test]
    with atomic_open(ctx.run / "test_predictions.csv", "w", newline="") as handle:
        rows_out.to_csv(handle, index=False, float_format="%.6g")
    if opts.plots:
        _plots(ctx.run)
    counts = {**data.counts, "train": len(train), "val": len(val), "test": len(test)}
    summary = {
        "run": str(ctx.run), "kind": domain.name, "task": "rating", "targets": ["rating"], "model": opts.model.name,
        "members": len(ctx.splits), "split": "test file" if opts.options.get("test_file") else opts.split,
        "unit": "ratings", "ratings": counts, "train": summary_parts["train"], "val": summary_parts["val"],
        "test": summary_parts["test"],
    }
    refit = data.extra.get("refit")
    if refit is not None:  # the validation ratings trained the refit: their scores are early stopping's
        picked = [s for s in (ctx.selection or []) if s is not None]
        counts.update(train=refit["train"], val=refit["val"], refit=len(train))
        summary["val"] = {k: float(np.mean([s.get(k, np.nan) for s in picked])) if picked else float("nan")
                          for k in ("rmse", "mae")}
        summary["refit"] = {"ratings": len(train), "epochs": [int(s["epoch"]) for s in picked]}
    return summary


def _cold_reason(data: RatingsDataset, row: int) -> str:
    user, item = data.pack.users[row], data.pack.items[row]
    if user < 0 and item < 0:
        return (f"cold start: user '{data.pack.user_id[row]}' and item '{data.pack.item_id[row]}' have no training "
                "rating; scored by the mean rating")
    if user < 0:
        return f"cold start: user '{data.pack.user_id[row]}' has no training rating; scored by the item's mean"
    if item < 0:
        return f"cold start: item '{data.pack.item_id[row]}' has no training rating; scored by the user's mean"
    return ""


def _plots(run) -> None:
    """``learning_curve.png`` (training loss, validation RMSE) and ``rmse_curve.png`` (train,
    validation and test RMSE per epoch)."""
    from gnncli.io import atomic_path
    from gnncli.train import plots

    history = pd.read_csv(run / "metrics.csv")
    if "stage" in history:  # the refit's epochs have no validation: the curves are early stopping's
        history = history[history["stage"] != "refit"]
    plots.learning_curve(history, "rmse", run / "learning_curve.png")
    plt = plots._pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    several = history["member"].nunique() > 1
    for member, rows in history.groupby("member"):
        tag = f" (member {member})" if several else ""
        for col, label in (("val_train_rmse", "train"), ("val_rmse", "validation"), ("val_test_rmse", "test")):
            if col in rows:
                ax.plot(rows["epoch"], rows[col], label=label + tag)
    ax.set(xlabel="epoch", ylabel="RMSE", title="RMSE per epoch")
    ax.legend(fontsize=7)
    with atomic_path(run / "rmse_curve.png") as tmp:
        fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight")
    plt.close(fig)
