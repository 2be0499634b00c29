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
#: Metrics of class probabilities against integer class labels (one-vs-rest ROC-AUC, macro F1).
MULTICLASS = ("accuracy", "macro_f1", "roc_auc", "cross_entropy")
#: Metrics of a predicted mean and variance: Gaussian negative log-likelihood, the miscalibration
#: area of the central intervals, and the Spearman correlation of |error| with the predicted spread.
UNCERTAINTY = ("nll", "miscalibration_area", "spearman")
#: Whether a larger value of each metric is better.
HIGHER_IS_BETTER = {"rmse": False, "mae": False, "r2": True, "roc_auc": True, "pr_auc": True, "accuracy": True, "mcc": True,
                    "macro_f1": True, "cross_entropy": False, "nll": False, "miscalibration_area": False, "spearman": True,
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


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation of ``a`` and ``b`` (ties at average ranks; NaN if either is constant)."""
    if len(a) < 2:
        return float("nan")
    ra, rb = rankdata(np.asarray(a, float)), rankdata(np.asarray(b, float))
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denom = float(np.sqrt(np.sum(ra**2) * np.sum(rb**2)))
    return float("nan") if denom == 0 else float(np.sum(ra * rb) / denom)


def _z_scores(bins: int) -> np.ndarray:
    """Half-widths, in standard deviations, of the central Gaussian intervals holding 0, 1/bins, ..., 1."""
    from statistics import NormalDist

    normal = NormalDist()
    inner = [normal.inv_cdf(0.5 + p / 2) for p in np.arange(1, bins) / bins]
    return np.array([0.0, *inner, np.inf])


def calibration_curve(error: np.ndarray, std: np.ndarray, bins: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Expected and observed fractions of errors inside the central Gaussian intervals of each
    predicted ``std``: ``(expected [bins + 1], observed [bins + 1])``; a calibrated model has them equal."""
    expected = np.linspace(0, 1, bins + 1)
    ratio = np.abs(error) / np.maximum(std, 1e-12)
    observed = np.array([np.mean(ratio <= z) for z in _z_scores(bins)])
    return expected, observed


def miscalibration_area(error: np.ndarray, std: np.ndarray, bins: int = 100) -> float:
    """The area between the calibration curve and the diagonal (0: calibrated, 0.5 at worst), as
    Chemprop's ``miscalibration_area`` (Tran et al. 2020)."""
    if len(error) == 0:
        return float("nan")
    expected, observed = calibration_curve(error, std, bins)
    gap = np.abs(observed - expected)
    return float(np.sum((gap[1:] + gap[:-1]) / 2 * np.diff(expected)))


def uncertainty_scores(y_true: np.ndarray, mean: np.ndarray, var: np.ndarray, mask: np.ndarray,
                       names: list[str]) -> dict:
    """Calibration of a predicted ``mean`` and ``var`` [N, T] (original units) against ``y_true``:
    ``nll`` (mean Gaussian negative log-likelihood), ``miscalibration_area`` and ``spearman``
    (rank correlation of |error| with the predicted std); per target too when there are several."""
    fns = {
        "nll": lambda a, m, v: float(np.mean(0.5 * (np.log(2 * np.pi * v) + (a - m) ** 2 / v))),
        "miscalibration_area": lambda a, m, v: miscalibration_area(a - m, np.sqrt(v)),
        "spearman": lambda a, m, v: spearman(np.abs(a - m), v),
    }
    out: dict[str, float] = {}
    for metric, fn in fns.items():
        values = np.full(y_true.shape[1], np.nan)
        for t in range(y_true.shape[1]):
            m = mask[:, t].astype(bool)
            if m.any():
                values[t] = fn(y_true[m, t], mean[m, t], np.maximum(var[m, t], 1e-12))
        out[metric] = finite_mean(values)
        if len(names) > 1:
            out.update({f"{metric}/{name}": float(v) for name, v in zip(names, values)})
    return out


def _macro_f1(labels: np.ndarray, predicted: np.ndarray, classes: int) -> float:
    scores = []
    for c in range(classes):
        tp = np.sum((predicted == c) & (labels == c))
        fp = np.sum((predicted == c) & (labels != c))
        fn = np.sum((predicted != c) & (labels == c))
        if tp + fp + fn:
            scores.append(2 * tp / (2 * tp + fp + fn))
    return float(np.mean(scores)) if scores else float("nan")


def _ovr_roc_auc(labels: np.ndarray, probs: np.ndarray) -> float:
    """One-vs-rest ROC-AUC averaged over the classes that are present and absent somewhere."""
    aucs = [_roc_auc((labels == c).astype(float), probs[:, c]) for c in range(probs.shape[1])]
    aucs = [a for a in aucs if np.isfinite(a)]
    return float(np.mean(aucs)) if aucs else float("nan")


def multiclass_scores(y_true: np.ndarray, probs: np.ndarray, mask: np.ndarray, names: list[str]) -> dict:
    """Scores of class probabilities ``probs`` [N, T, C] against class indices ``y_true`` [N, T]:
    ``accuracy``, ``macro_f1`` (F1 per class, averaged over the classes seen), ``roc_auc`` (one
    vs rest, macro-averaged) and ``cross_entropy``; per target too when there are several."""
    fns = {
        "accuracy": lambda a, p: float(np.mean(p.argmax(1) == a)),
        "macro_f1": lambda a, p: _macro_f1(a, p.argmax(1), p.shape[1]),
        "roc_auc": _ovr_roc_auc,
        "cross_entropy": lambda a, p: float(-np.mean(np.log(np.clip(p[np.arange(len(a)), a], 1e-12, 1)))),
    }
    out: dict[str, float] = {}
    for metric, fn in fns.items():
        values = np.full(y_true.shape[1], np.nan)
        for t in range(y_true.shape[1]):
            m = mask[:, t].astype(bool)
            if m.any():
                values[t] = fn(y_true[m, t].astype(np.int64), probs[m, t])
        out[metric] = finite_mean(values)
        if len(names) > 1:
            out.update({f"{metric}/{name}": float(v) for name, v in zip(names, values)})
    return out


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
        out[metric] = finite_mean(values)
        if len(names) > 1:
            for name, value in zip(names, values):
                out[f"{metric}/{name}"] = float(value)
    if scale is not None:
        for metric in SCALABLE:
            out[f"scaled_{metric}"] = finite_mean(per_target[metric] / scale)
    return out


def finite_mean(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else float("nan")
