"""Metrics over targets with missing labels: each target is scored on its labelled rows only.

All functions take numpy arrays ``y_true``, ``y_pred`` and ``mask`` of shape [N, T] and return
one value per target (NaN where a target cannot be scored, e.g. a single class).
"""

from __future__ import annotations

import numpy as np

#: Metrics of real-valued predictions, and of probabilities against 0/1 labels.
REGRESSION = ("rmse", "mae", "r2")
CLASSIFICATION = ("roc_auc", "pr_auc", "accuracy", "mcc")
#: Per-target RMSE / MAE in units of each target's training-set standard deviation, averaged over
#: targets (what multi-target regression selects models on): ``scaled_<metric>`` for these.
SCALABLE = ("rmse", "mae")
#: Whether a larger value of each metric is better.
HIGHER_IS_BETTER = {"rmse": False, "mae": False, "r2": True, "roc_auc": True, "pr_auc": True, "accuracy": True, "mcc": True,
                    **{f"scaled_{m}": False for m in SCALABLE}}


def _per_target(fn, y_true: np.ndarray, y_pred: np.ndarray, mask: np.ndarray) -> np.ndarray:
    out = np.full(y_true.shape[1], np.nan)
    for t in range(y_true.shape[1]):
        m = mask[:, t].astype(bool)
        if m.any():
            out[t] = fn(y_true[m, t], y_pred[m, t])
    return out


def rmse(y_true, y_pred, mask):
    return _per_target(lambda a, b: float(np.sqrt(np.mean((a - b) ** 2))), y_true, y_pred, mask)


def mae(y_true, y_pred, mask):
    return _per_target(lambda a, b: float(np.mean(np.abs(a - b))), y_true, y_pred, mask)


def _r2(a: np.ndarray, b: np.ndarray) -> float:
    ss_tot = float(np.sum((a - a.mean()) ** 2))
    return float("nan") if ss_tot == 0 else 1.0 - float(np.sum((a - b) ** 2)) / ss_tot


def r2(y_true, y_pred, mask):
    return _per_target(_r2, y_true, y_pred, mask)


def rankdata(values: np.ndarray) -> np.ndarray:
    """1-based ranks, ties given their average rank (as ``scipy.stats.rankdata``; numpy only,
    so that importing metrics stays fast)."""
    order = np.argsort(values, kind="mergesort")
    sorted_values = values[order]
    starts = np.flatnonzero(np.r_[True, sorted_values[1:] != sorted_values[:-1]])
    ends = np.r_[starts[1:], len(values)]
    average = (starts + ends + 1) / 2.0  # mean of 1-based positions start+1 .. end
    ranks = np.empty(len(values))
    ranks[order] = np.repeat(average, ends - starts)
    return ranks


def _roc_auc(a: np.ndarray, p: np.ndarray) -> float:
    pos = a > 0.5
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(p)  # ties get average ranks (the Mann-Whitney statistic)
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def roc_auc(y_true, y_prob, mask):
    return _per_target(_roc_auc, y_true, y_prob, mask)


def _average_precision(a: np.ndarray, p: np.ndarray) -> float:
    pos = a > 0.5
    if not pos.any() or pos.all():
        return float("nan")
    order = np.argsort(-p, kind="mergesort")
    hits = pos[order]
    tp = np.cumsum(hits)
    precision = tp / np.arange(1, len(hits) + 1)
    return float(np.sum(precision[hits]) / hits.sum())


def pr_auc(y_true, y_prob, mask):
    return _per_target(_average_precision, y_true, y_prob, mask)


def accuracy(y_true, y_prob, mask):
    return _per_target(lambda a, p: float(np.mean((p >= 0.5) == (a > 0.5))), y_true, y_prob, mask)


def _mcc(a: np.ndarray, p: np.ndarray) -> float:
    t, q = a > 0.5, p >= 0.5
    tp, tn = float(np.sum(t & q)), float(np.sum(~t & ~q))
    fp, fn = float(np.sum(~t & q)), float(np.sum(t & ~q))
    denom = np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    return 0.0 if denom == 0 else (tp * tn - fp * fn) / denom


def mcc(y_true, y_prob, mask):
    return _per_target(_mcc, y_true, y_prob, mask)


METRICS = {"rmse": rmse, "mae": mae, "r2": r2, "roc_auc": roc_auc, "pr_auc": pr_auc, "accuracy": accuracy, "mcc": mcc}


def score(metrics: tuple[str, ...], y_true: np.ndarray, y_pred: np.ndarray, mask: np.ndarray, names: list[str],
          scale: np.ndarray | None = None) -> dict:
    """Each of ``metrics`` (names in :data:`METRICS`): the mean over targets under its name, and
    ``name/target`` each when there are several targets.

    With ``scale`` (each target's standard deviation), also ``scaled_rmse`` and ``scaled_mae``.
    """
    out: dict[str, float] = {}
    per_target = {}
    for metric in metrics:
        per_target[metric] = values = METRICS[metric](y_true, y_pred, mask)
        out[metric] = _finite_mean(values)
        if len(names) > 1:
            for name, value in zip(names, values):
                out[f"{metric}/{name}"] = float(value)
    if scale is not None:
        for metric in SCALABLE:
            out[f"scaled_{metric}"] = _finite_mean(per_target[metric] / scale)
    return out


def _finite_mean(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else float("nan")
