"""Programmatic entry points: ``train``, ``resume``, ``predict`` and ``embed`` for molecules.

The CLI is one caller of these; ``gnn benchmark`` and scripts are others. They return plain
dicts of results and never print; progress goes to an optional :class:`~gnncli.progress.Reporter`.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd
import torch

from gnncli.domains.molecules import MoleculeFrame, detect_format, featurize_frame, file_cache_key, read_molecules
from gnncli.domains.pack import GraphPack, PackLoader
from gnncli.errors import CheckpointError, InputError, UsageError
from gnncli.featurizers.molecule import MoleculeFeaturizer
from gnncli.inference import infer
from gnncli.io import atomic_open, load_tensors, read_json, save_tensors, write_json
from gnncli.models import ModelConfig, build_model
from gnncli.progress import Reporter
from gnncli.runs import FORMAT_VERSION, TrainedRun, load_run, model_path, save_member, state_path
from gnncli.tasks import GraphPropertyTask
from gnncli.train import plots
from gnncli.train.loop import LoopConfig, TrainingInterrupted, fit, resolve_device
from gnncli.train.metrics import metric_names
from gnncli.train.scaler import TargetScaler
from gnncli.train.splits import column_split, kfold_splits, random_split, scaffold_split

#: The molecule dataset shipped with the package: what ``gnn train`` with no data trains on.
BUNDLED_DATA = Path(__file__).parent / "data" / "molecules.csv"
_ID_LIKE = ("id", "name", "index", "num", "compound id", "mol_id", "cid")


@dataclass
class TrainOptions:
    """What ``gnn train`` was asked to do (saved in ``config.json`` so a run can resume)."""

    data: str | None = None
    targets: list[str] | None = None
    smiles_col: str | None = None
    fmt: str | None = None
    task: str = "auto"
    monitor: str | None = None
    split: str = "random"
    split_sizes: tuple[float, float, float] = (0.8, 0.1, 0.1)
    folds: int = 5
    split_col: str | None = None
    ensemble: int = 1
    model: ModelConfig = field(default_factory=ModelConfig)
    loop: LoopConfig = field(default_factory=LoopConfig)
    workers: int | None = None
    cache: bool = True
    plots: bool = True
    out: str | None = None

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("model", "loop")}
        d["split_sizes"] = list(self.split_sizes)
        d["model"], d["loop"] = self.model.to_dict(), self.loop.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict) -> TrainOptions:
        d = dict(d)
        model, loop = ModelConfig.from_dict(d.pop("model")), LoopConfig.from_dict(d.pop("loop"))
        d["split_sizes"] = tuple(d["split_sizes"])
        known = {f.name for f in fields(cls)}
        return cls(model=model, loop=loop, **{k: v for k, v in d.items() if k in known})


# ------------------------------------------------------------------------------ preparing data


@dataclass
class Prepared:
    """A molecule file turned into graphs with targets, ready for splitting."""

    source: str
    mol_frame: MoleculeFrame
    pack: GraphPack  # usable molecules only, with y and y_mask
    rows: np.ndarray  # row position in the file of each graph in ``pack``
    targets: list[str]
    task_type: str
    n_rows: int
    n_invalid: int
    n_unlabelled: int
    warnings: list[str]


def _target_columns(mf: MoleculeFrame, requested: list[str] | None, exclude: set[str]) -> list[str]:
    frame, src = mf.frame, mf.source
    if requested:
        missing = [t for t in requested if t not in frame.columns]
        if missing:
            raise InputError(f"{src}: no target column '{missing[0]}' (columns: {', '.join(frame.columns)})")
        return list(requested)
    found = []
    for col in frame.columns:
        if col in exclude or col.strip().lower() in _ID_LIKE:
            continue
        values = frame[col].dropna()
        if len(values) and pd.to_numeric(values, errors="coerce").notna().all():
            found.append(col)
    if not found:
        raise InputError(f"{src}: no numeric target column found (columns: {', '.join(frame.columns)}); name one with --target")
    return found


def _parse_targets(mf: MoleculeFrame, targets: list[str]) -> tuple[np.ndarray, np.ndarray]:
    y = np.zeros((len(mf), len(targets)))
    mask = np.zeros((len(mf), len(targets)), dtype=bool)
    for t, col in enumerate(targets):
        raw = mf.frame[col]
        text = raw.astype("string").str.strip()
        values = pd.to_numeric(text, errors="coerce")
        bad = text.notna() & (text != "") & values.isna()
        if bad.any():
            pos = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(f"{mf.where(pos)}: target '{col}' value '{raw.iloc[pos]}' is not a number")
        arr = values.to_numpy(dtype=float, na_value=np.nan)
        if np.isinf(arr).any():
            pos = int(np.flatnonzero(np.isinf(arr))[0])
            raise InputError(f"{mf.where(pos)}: target '{col}' value '{raw.iloc[pos]}' is not finite")
        if np.isnan(arr).all():
            raise InputError(f"{mf.source}: target '{col}' is empty in every row")
        mask[:, t] = ~np.isnan(arr)
        y[:, t] = np.nan_to_num(arr)
    return y, mask


def _infer_task(y: np.ndarray, mask: np.ndarray, requested: str, targets: list[str], source: str) -> str:
    binary = all(set(np.unique(y[mask[:, t], t])) <= {0.0, 1.0} for t in range(y.shape[1]))
    task = requested if requested != "auto" else ("classification" if binary else "regression")
    if task == "classification":
        for t, name in enumerate(targets):
            values = set(np.unique(y[mask[:, t], t]))
            if not values <= {0.0, 1.0}:
                bad = sorted(values - {0.0, 1.0})[0]
                raise InputError(f"{source}: target '{name}' has value {bad:g}; classification needs 0/1 labels")
            if len(values) < 2:
                raise InputError(
                    f"{source}: target '{name}' has a single class ({int(next(iter(values)))}); a classifier needs both 0 and 1"
                )
    return task


def prepare(opts: TrainOptions, featurizer: MoleculeFeaturizer, reporter: Reporter | None = None) -> Prepared:
    """Read, check and featurize the training file named by ``opts``."""
    reporter = reporter or Reporter()
    source = opts.data or str(BUNDLED_DATA)
    mf = read_molecules(source, smiles_col=opts.smiles_col, fmt=opts.fmt)
    exclude = {mf.smiles_col} | ({opts.split_col} if opts.split_col else set())
    targets = _target_columns(mf, opts.targets, exclude)
    y, mask = _parse_targets(mf, targets)
    key = file_cache_key(source, mf.smiles_col, featurizer, detect_format(source, opts.fmt)) if opts.cache else None
    task = reporter.start("featurizing", len(mf))
    pack, valid, errors = featurize_frame(
        mf, featurizer, workers=opts.workers, cache_key=key, progress=lambda n: reporter.advance(task, n)
    )
    warnings = []
    if errors:
        first = min(errors)
        warnings.append(
            f"skipped {len(errors)} of {len(mf)} molecules that RDKit could not read "
            f"(first: {mf.where(first)}: {errors[first]})"
        )
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
    task_type = _infer_task(y, mask, opts.task, targets, source)
    pack = pack.with_targets(torch.as_tensor(y, dtype=torch.float32), torch.as_tensor(mask))
    return Prepared(source, mf, pack, valid, targets, task_type, len(mf), len(errors), n_unlabelled, warnings)


def make_splits(opts: TrainOptions, prep: Prepared) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """One (train, val, test) split per member (k-fold: one per fold; else the same for all)."""
    n = len(prep.pack)
    if opts.split == "kfold":
        if opts.folds < 2:
            raise UsageError(f"--folds {opts.folds}: k-fold needs at least 2 folds")
        if n < 3 * opts.folds:
            raise InputError(f"{prep.source}: {n} usable molecules are too few for {opts.folds}-fold cross-validation")
        # --ensemble N with k-fold: N members per fold (each fold's test rows get their average).
        return [split for split in kfold_splits(n, opts.folds, opts.loop.seed) for _ in range(max(1, opts.ensemble))]
    if opts.split == "column":
        if not opts.split_col:
            raise UsageError("--split column needs --split-col COLUMN")
        if opts.split_col not in prep.mol_frame.frame.columns:
            raise InputError(f"{prep.source}: no split column '{opts.split_col}'")
        values = prep.mol_frame.frame[opts.split_col].to_numpy()[prep.rows]
        try:
            split = column_split(values)
        except ValueError as exc:
            row = int(str(exc).split(":")[0].split()[1])
            raise InputError(f"{prep.mol_frame.where(int(prep.rows[row]))}: {str(exc).split(': ', 1)[1]}") from None
    else:
        sizes = opts.split_sizes
        if len(sizes) != 3 or any(s < 0 for s in sizes) or abs(sum(sizes) - 1) > 1e-6:
            raise UsageError(f"--split-sizes {','.join(map(str, sizes))}: give three fractions that sum to 1")
        if opts.split == "scaffold":
            smiles = [prep.mol_frame.smiles[i] for i in prep.rows]
            split = scaffold_split(smiles, sizes, opts.loop.seed)
        else:
            split = random_split(n, sizes, opts.loop.seed)
    train, val, test = split
    needs_test = opts.split == "column" and len(test) > 0 or opts.split != "column" and opts.split_sizes[2] > 0
    if len(train) < 1 or len(val) < 1 or (needs_test and len(test) < 1):
        raise InputError(
            f"{prep.source}: {n} usable molecules are too few for this split "
            f"(train {len(train)}, validation {len(val)}, test {len(test)}); every part needs at least one"
        )
    return [split] * max(1, opts.ensemble)


# ------------------------------------------------------------------------------ training


def _new_run_dir(opts: TrainOptions) -> Path:
    if opts.out:
        run = Path(opts.out)
        if run.exists() and any(run.iterdir()):
            raise UsageError(f"{run}: folder exists and is not empty (choose another --out, or continue it with --resume)")
        return run
    stem = Path(opts.data).stem if opts.data else "bundled"
    base = Path("runs") / f"{datetime.now():%Y%m%d-%H%M%S}-{stem}-{opts.model.encoder}"
    run, i = base, 1
    while run.exists():
        run, i = Path(f"{base}-{i}"), i + 1
    return run


def train(opts: TrainOptions, reporter: Reporter | None = None) -> dict:
    """Train on ``opts.data`` (the bundled dataset if None) and write a run folder.

    Returns the summary also written to ``metrics.json``.
    """
    featurizer = MoleculeFeaturizer()
    resolve_device(opts.loop.device)  # fail early on a bad --device
    run = _new_run_dir(opts)
    prep = prepare(opts, featurizer, reporter)
    if opts.monitor and opts.monitor not in metric_names(prep.task_type):
        raise UsageError(f"--metric {opts.monitor} does not fit a {prep.task_type} task "
                         f"(choose from {', '.join(metric_names(prep.task_type))})")
    splits = make_splits(opts, prep)
    run.mkdir(parents=True, exist_ok=True)
    return _train_members(run, opts, prep, splits, featurizer, reporter, started=time.time())


def resume(run_dir: str, reporter: Reporter | None = None, *, device: str | None = None) -> dict:
    """Continue an interrupted ``gnn train`` run from its last saved epoch."""
    run = Path(run_dir)
    config = read_json(run / "config.json")
    if "options" not in config:
        raise CheckpointError(f"{run / 'config.json'}: not a gnn train run")
    opts = TrainOptions.from_dict(config["options"])
    if device:
        opts.loop.device = device
    featurizer = MoleculeFeaturizer.from_spec(config["featurizer"])
    prep = prepare(opts, featurizer, reporter)
    saved = read_json(run / "splits.json")
    splits = [tuple(np.asarray(s[k], np.int64) for k in ("train", "val", "test")) for s in saved]
    return _train_members(run, opts, prep, splits, featurizer, reporter, started=time.time(), resumed=True)


def _fit_scaler(task_type: str, pack: GraphPack, train_idx: np.ndarray) -> TargetScaler:
    y, mask = pack.y.numpy().astype(float), pack.y_mask.numpy()
    if task_type == "regression":
        return TargetScaler.fit(y[train_idx], mask[train_idx])
    return TargetScaler.identity(y.shape[1])


def _train_members(
    run: Path, opts: TrainOptions, prep: Prepared, splits: list, featurizer: MoleculeFeaturizer,
    reporter: Reporter | None, *, started: float, resumed: bool = False,
) -> dict:
    reporter = reporter or Reporter()
    model_config = ModelConfig.from_dict({
        **opts.model.to_dict(), "in_channels": featurizer.atom_dim, "edge_dim": featurizer.bond_dim,
        "out_channels": len(prep.targets),
    })
    # Each member standardizes targets with a scaler fitted on its own training rows (k-fold folds
    # differ), then its output layer is re-expressed in the run's scaler, so that every member's
    # outputs mean the same thing at prediction time. Members sharing one split share one scaler.
    shared = prep.task_type != "regression" or all(np.array_equal(s[0], splits[0][0]) for s in splits)
    scaler = _fit_scaler(prep.task_type, prep.pack, splits[0][0] if shared else
                         np.unique(np.concatenate([s[0] for s in splits])))
    task = GraphPropertyTask(prep.task_type, prep.targets, scaler, opts.monitor or "")
    config = {
        "format": FORMAT_VERSION, "kind": "molecules", "status": "training",
        "featurizer": featurizer.spec, "model": model_config.to_dict(),
        "task": {"type": prep.task_type, "targets": prep.targets, "scaler": scaler.to_dict(), "monitor": task.monitor},
        "members": len(splits), "smiles_col": prep.mol_frame.smiles_col,
        "options": opts.to_dict(), "data": {"path": prep.source, "rows": prep.n_rows, "invalid": prep.n_invalid},
    }
    write_json(run / "config.json", config)
    write_json(run / "splits.json", [
        {k: [int(i) for i in part] for k, part in zip(("train", "val", "test"), s)} for s in splits
    ])
    history_rows: list[dict] = []
    if resumed and (run / "metrics.csv").is_file():
        history_rows = pd.read_csv(run / "metrics.csv").to_dict("records")
    results = []
    for member, (train_idx, val_idx, test_idx) in enumerate(splits):
        done = model_path(run, member).is_file() and not state_path(run, member).is_file()
        if done:
            results.append(None)
            continue
        loop = LoopConfig.from_dict({**opts.loop.to_dict(), "seed": opts.loop.seed + member})
        state = load_tensors(state_path(run, member)) if state_path(run, member).is_file() else None
        epochs_kept = int(state["epoch"]) + 1 if state is not None else 0  # rows past the saved state go
        history_rows = [r for r in history_rows if int(r["member"]) != member or int(r["epoch"]) <= epochs_kept]
        torch.manual_seed(loop.seed)
        model = build_model(model_config)
        label = f"member {member + 1}/{len(splits)}" if len(splits) > 1 else "training"
        bar = reporter.start(label, loop.epochs, completed=(int(state["epoch"]) + 1) if state else 0)

        def make_loader(epoch: int, _train=train_idx, _seed=loop.seed) -> PackLoader:
            gen = torch.Generator().manual_seed(_seed * 100_003 + epoch)
            return PackLoader(prep.pack, batch_size=loop.batch_size, shuffle=True, generator=gen, indices=_train)

        val_loader = PackLoader(prep.pack, batch_size=256, indices=val_idx)

        def on_epoch(record: dict, _member=member, _bar=bar) -> None:
            history_rows.append({"member": _member, **record})
            with atomic_open(run / "metrics.csv", "w", newline="") as handle:
                pd.DataFrame(history_rows).to_csv(handle, index=False)
            shown = record.get(f"val_{task.monitor}", float("nan"))
            reporter.advance(_bar, 1, info=f"loss {record['train_loss']:.4f}  val {task.monitor} {shown:.4f}")

        member_task = task if shared else GraphPropertyTask(
            prep.task_type, prep.targets, _fit_scaler(prep.task_type, prep.pack, train_idx), task.monitor)
        try:
            result = fit(
                model, member_task, make_loader, val_loader, loop, resume=state, on_epoch=on_epoch,
                save_state=lambda s, _m=member: save_tensors(state_path(run, _m), s),
            )
        except TrainingInterrupted as exc:
            if state_path(run, member).is_file():
                raise TrainingInterrupted(f"{exc}; continue with: gnn train --resume {run}") from None
            raise
        best = result.best_state
        if member_task is not task:
            model.load_state_dict(best)
            member_scaler = member_task.scaler
            model.rescale_output(torch.as_tensor(member_scaler.std / scaler.std, dtype=torch.float32),
                                 torch.as_tensor((member_scaler.mean - scaler.mean) / scaler.std, dtype=torch.float32))
            best = model.state_dict()
        save_member(run, member, best)
        state_path(run, member).unlink(missing_ok=True)
        reporter.finish(bar)
        results.append(result)
    if (run / "state").is_dir() and not any((run / "state").iterdir()):
        shutil.rmtree(run / "state")
    summary = _evaluate_run(run, opts, prep, splits, task, reporter)
    summary["time_s"] = round(time.time() - started, 2)
    summary["warnings"] = prep.warnings
    write_json(run / "metrics.json", summary)
    config["status"] = "complete"
    write_json(run / "config.json", config)
    return summary


def _evaluate_run(run: Path, opts: TrainOptions, prep: Prepared, splits: list, task, reporter: Reporter) -> dict:
    trained = load_run(run)
    device = resolve_device(opts.loop.device)
    pack = prep.pack
    y, mask = pack.y.numpy().astype(float), pack.y_mask.numpy()
    n_targets = len(prep.targets)
    kfold = opts.split == "kfold"
    per_fold = len(splits) // opts.folds if kfold else len(splits)
    test_rows = np.concatenate([s[2] for s in splits[::per_fold]]) if kfold else splits[0][2]
    preds = np.zeros((len(test_rows), n_targets))
    stds = np.zeros_like(preds)
    val_metrics = []
    if kfold:
        # Members come fold by fold (``ensemble`` of them each); a fold's test rows get their mean.
        offset = 0
        for fold in range(opts.folds):
            _, val_idx, test_idx = splits[fold * per_fold]
            fold_preds = []
            for model in trained.models[fold * per_fold : (fold + 1) * per_fold]:
                model.to(device)
                fold_preds.append(task.predict(model, PackLoader(pack, batch_size=256, indices=test_idx), device)[0])
                val_metrics.append(task.evaluate(model, PackLoader(pack, batch_size=256, indices=val_idx), device))
            stack = np.stack(fold_preds)
            preds[offset : offset + len(test_idx)] = stack.mean(0)
            stds[offset : offset + len(test_idx)] = stack.std(0)
            offset += len(test_idx)
    else:
        member_preds = []
        for model in trained.models:
            model.to(device)
            loader = PackLoader(pack, batch_size=256, indices=test_rows)
            member_preds.append(task.predict(model, loader, device)[0])
            val_metrics.append(task.evaluate(model, PackLoader(pack, batch_size=256, indices=splits[0][1]), device))
        if len(test_rows):
            stack = np.stack(member_preds)
            preds, stds = stack.mean(0), stack.std(0)
    test = task.score(y[test_rows], preds, mask[test_rows]) if len(test_rows) else {}
    val = {k: float(np.nanmean([m[k] for m in val_metrics])) for k in val_metrics[0]} if val_metrics else {}
    summary = {
        "run": str(run), "task": task.task_type, "targets": prep.targets, "model": opts.model.encoder,
        "members": len(splits), "split": opts.split,
        "molecules": {"rows": prep.n_rows, "invalid": prep.n_invalid, "unlabelled": prep.n_unlabelled,
                      "train": len(splits[0][0]), "val": len(splits[0][1]), "test": len(test_rows)},
        "val": val, "test": test,
    }
    # Test predictions beside the inputs, and the plots.
    mf = prep.mol_frame
    rows = prep.rows[test_rows]
    table = pd.DataFrame({"row": rows + 0, mf.smiles_col: [mf.smiles[i] for i in rows]})
    for t, name in enumerate(prep.targets):
        table[f"{name}_true"] = np.where(mask[test_rows, t], y[test_rows, t], np.nan)
        table[f"{name}_pred"] = preds[:, t]
        if per_fold > 1:
            table[f"{name}_std"] = stds[:, t]
    with atomic_open(run / "test_predictions.csv", "w", newline="") as handle:
        table.to_csv(handle, index=False, float_format="%.6g")
    if opts.plots:
        history = pd.read_csv(run / "metrics.csv")
        plots.learning_curve(history, task.monitor, run / "learning_curve.png")
        if len(test_rows):
            if task.task_type == "regression":
                plots.parity(y[test_rows], preds, mask[test_rows], prep.targets, run / "parity.png")
            else:
                plots.roc(y[test_rows], preds, mask[test_rows], prep.targets, run / "roc.png")
    return summary


# ------------------------------------------------------------------------------ prediction


def _columns(run: TrainedRun, existing: list[str]) -> tuple[list[str], list[str], str]:
    taken = set(existing)
    pred_cols = [t if t not in taken else f"{t}_pred" for t in run.targets]
    std_cols = [f"{c}_std" for c in pred_cols] if len(run.models) > 1 else []
    error_col = "error" if "error" not in taken else "gnn_error"
    return pred_cols, std_cols, error_col


def predict(
    run_dir: str | TrainedRun,
    inputs: list[str],
    out: IO[str],
    *,
    smiles_col: str | None = None,
    fmt: str | None = None,
    batch_size: int = 64,
    chunk_size: int = 10_000,
    workers: int | None = None,
    device: str = "auto",
    top_k: int | None = None,
    sort_by: str | None = None,
    ascending: bool = False,
    reporter: Reporter | None = None,
) -> dict:
    """Stream predictions for ``inputs`` as CSV to ``out``, rows in input order.

    Each output row is the input row plus one column per target (``_std`` columns for
    ensembles) and an ``error`` column, empty unless the row's molecule could not be read.
    With ``top_k``, only the best ``top_k`` rows by ``sort_by`` are written, best first.
    Returns counts: ``rows``, ``predicted``, ``invalid``.
    """
    run = run_dir if isinstance(run_dir, TrainedRun) else load_run(run_dir)
    reporter = reporter or Reporter()
    if top_k is not None and top_k < 1:
        raise UsageError(f"--top-k {top_k}: must be at least 1")
    counts = {"rows": 0, "predicted": 0, "invalid": 0}
    bar = reporter.start("predicting", None)
    header = True
    best: pd.DataFrame | None = None
    sort_col = None
    chunks = infer(run, inputs, smiles_col=smiles_col, fmt=fmt, chunk_size=chunk_size, workers=workers,
                   device=device, batch_size=batch_size)
    for mf, outputs, valid, errors in chunks:
        frame = mf.frame.copy()
        pred_cols, std_cols, error_col = _columns(run, list(frame.columns))
        for t, col in enumerate(pred_cols):
            column = np.full(len(frame), np.nan)
            if outputs is not None:
                column[valid] = outputs[:, :, t].mean(0)
            frame[col] = column
        for t, col in enumerate(std_cols):
            column = np.full(len(frame), np.nan)
            if outputs is not None:
                column[valid] = outputs[:, :, t].std(0)
            frame[col] = column
        err = np.full(len(frame), "", dtype=object)
        for pos, reason in errors.items():
            err[pos] = reason
        frame[error_col] = err
        counts["rows"] += len(frame)
        counts["predicted"] += len(valid)
        counts["invalid"] += len(errors)
        reporter.advance(bar, len(frame), info=f"{counts['rows']:,} rows, {counts['invalid']:,} invalid")
        if top_k is None:
            frame.to_csv(out, header=header, index=False, float_format="%.6g")
            header = False
            continue
        if sort_col is None:
            sort_col = sort_by or pred_cols[0]
            if sort_col not in frame.columns:
                raise UsageError(f"--sort-by {sort_col}: no such column (choose from {', '.join(pred_cols + std_cols)})")
        scored = frame.iloc[valid]
        pool = scored if best is None else pd.concat([best, scored], ignore_index=True)
        best = pool.sort_values(sort_col, ascending=ascending, kind="mergesort").head(top_k)
    if top_k is not None and best is not None:
        best.to_csv(out, index=False, float_format="%.6g")
    elif header and counts["rows"] == 0:
        raise InputError(f"{', '.join(inputs)}: no rows to predict")
    return counts


def embed(
    run_dir: str | TrainedRun,
    inputs: list[str],
    out_path: str,
    *,
    smiles_col: str | None = None,
    fmt: str | None = None,
    member: int = 0,
    batch_size: int = 64,
    chunk_size: int = 10_000,
    workers: int | None = None,
    device: str = "auto",
    reporter: Reporter | None = None,
) -> dict:
    """Write the learned molecule vectors (the readout before the head) for ``inputs``.

    ``.npy``: one row per input row, NaN rows for invalid molecules, and the invalid rows with
    their reasons in ``<out>.errors.csv``. ``.csv``/``.parquet``: the input columns, ``error``,
    then ``emb_0 .. emb_{H-1}``. Returns counts and the vector width.
    """
    from gnncli.outputs import EmbeddingWriter

    run = run_dir if isinstance(run_dir, TrainedRun) else load_run(run_dir)
    if not 0 <= member < len(run.models):
        raise UsageError(f"--member {member}: the run has members 0..{len(run.models) - 1}")
    reporter = reporter or Reporter()
    width = int(run.config["model"]["hidden"])
    counts = {"rows": 0, "embedded": 0, "invalid": 0, "dim": width}
    bar = reporter.start("embedding", None)
    with EmbeddingWriter(out_path, width) as writer:
        chunks = infer(run, inputs, smiles_col=smiles_col, fmt=fmt, chunk_size=chunk_size, workers=workers,
                       device=device, embed=True, member=member, batch_size=batch_size)
        for mf, out, valid, errors in chunks:
            vectors = np.full((len(mf), width), np.nan, dtype=np.float32)
            if out is not None:
                vectors[valid] = out
            err = np.full(len(mf), "", dtype=object)
            for pos, reason in errors.items():
                err[pos] = reason
            writer.write(mf.frame, vectors, err, counts["rows"])
            counts["rows"] += len(mf)
            counts["embedded"] += len(valid)
            counts["invalid"] += len(errors)
            reporter.advance(bar, len(mf), info=f"{counts['rows']:,} rows")
    return counts
