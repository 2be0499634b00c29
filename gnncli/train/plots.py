"""PNG plots for a run folder: learning curve, parity plot (regression), ROC curve (classification)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from gnncli.io import atomic_path


def _pyplot():
    """matplotlib, imported on first use (it costs a second at start-up) and never opening a window."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight")
    _pyplot().close(fig)


def learning_curve(history: pd.DataFrame, monitor: str, path: Path) -> None:
    """Training loss and the validation metric per epoch, one line per member."""
    fig, (ax1, ax2) = _pyplot().subplots(1, 2, figsize=(10, 4))
    for member, rows in history.groupby("member"):
        label = f"member {member}" if history["member"].nunique() > 1 else None
        ax1.plot(rows["epoch"], rows["train_loss"], label=label)
        col = f"val_{monitor}"
        if col in rows:
            ax2.plot(rows["epoch"], rows[col], label=label)
    ax1.set(xlabel="epoch", ylabel="training loss", title="Training loss")
    ax2.set(xlabel="epoch", ylabel=monitor, title=f"Validation {monitor}")
    if history["member"].nunique() > 1:
        ax1.legend(fontsize=7)
    _save(fig, path)


def _grid(n: int):
    cols = min(n, 4)
    rows = (n + cols - 1) // cols
    fig, axes = _pyplot().subplots(rows, cols, figsize=(4 * cols, 4 * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.axis("off")
    return fig, axes.flat


def parity(y: np.ndarray, pred: np.ndarray, mask: np.ndarray, names: list[str], path: Path) -> None:
    """Predicted against measured, one panel per target, with RMSE in the title."""
    fig, axes = _grid(len(names))
    for t, (name, ax) in enumerate(zip(names, axes)):
        m = mask[:, t].astype(bool)
        a, b = y[m, t], pred[m, t]
        ax.scatter(a, b, s=8, alpha=0.6)
        lo, hi = (min(a.min(), b.min()), max(a.max(), b.max())) if m.any() else (0, 1)
        ax.plot([lo, hi], [lo, hi], "k--", lw=1)
        rmse = float(np.sqrt(np.mean((a - b) ** 2))) if m.any() else float("nan")
        ax.set(xlabel=f"measured {name}", ylabel=f"predicted {name}", title=f"{name}: test RMSE {rmse:.3f}")
    _save(fig, path)


#: Curves drawn on one ROC axis: as many as :func:`distinct_colors` has colours.
MAX_ROC_CURVES = 20


def distinct_colors(n: int) -> list[tuple[float, float, float]]:
    """``n`` colours, all different while ``n <= 20``: the ten of ``tab10`` (matplotlib's
    default cycle), then the ten lighter shades of ``tab20``; repeated beyond 20."""
    tab20 = _pyplot().get_cmap("tab20").colors
    palette = list(tab20[0::2]) + list(tab20[1::2])
    return [palette[i % len(palette)] for i in range(n)]


def roc_figure(y: np.ndarray, prob: np.ndarray, mask: np.ndarray, names: list[str]):
    """The figure of :func:`roc`: one curve per target (at most :data:`MAX_ROC_CURVES`),
    each in its own colour, the second ten dashed so they differ from the first ten in
    line style too."""
    from gnncli.train.metrics import _roc_auc

    fig, ax = _pyplot().subplots(figsize=(5, 5))
    shown = names[:MAX_ROC_CURVES]
    for t, (name, colour) in enumerate(zip(shown, distinct_colors(len(shown)))):
        m = mask[:, t].astype(bool)
        a, p = y[m, t] > 0.5, prob[m, t]
        if a.all() or not a.any():
            continue
        order = np.argsort(-p, kind="mergesort")
        tpr = np.concatenate([[0], np.cumsum(a[order]) / a.sum()])
        fpr = np.concatenate([[0], np.cumsum(~a[order]) / (~a).sum()])
        style = "-" if t < 10 else "--"
        ax.plot(fpr, tpr, style, color=colour, label=f"{name} (AUC {_roc_auc(a.astype(float), p):.3f})")
    ax.plot([0, 1], [0, 1], "k:", lw=1)
    title = "Test ROC" if len(names) <= MAX_ROC_CURVES else f"Test ROC (first {MAX_ROC_CURVES} of {len(names)} targets)"
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title=title)
    ax.legend(fontsize=7, loc="lower right")
    return fig


def roc(y: np.ndarray, prob: np.ndarray, mask: np.ndarray, names: list[str], path: Path) -> None:
    """ROC curves, one per target in a colour of its own (:func:`roc_figure`), as a PNG."""
    _save(roc_figure(y, prob, mask, names), path)
