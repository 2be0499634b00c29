"""Test plots of the task types beyond regression and binary classification (whose plots are in
:mod:`gnncli.train.plots`): a confusion matrix for multiclass, a calibration curve for MVE."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gnncli.train.plots import _grid, _pyplot, _save
from gnncli.train.metrics import calibration_curve, miscalibration_area


def confusion(y: np.ndarray, probs: np.ndarray, mask: np.ndarray, names: list[str], classes: list[str], path: Path) -> None:
    """Counts of true class (rows) against the most probable class (columns), one panel per target.
    Shapes: ``y`` [N, T] class indices, ``probs`` [N, T, C]."""
    fig, axes = _grid(len(names))
    c = len(classes)
    for t, (name, ax) in enumerate(zip(names, axes)):
        m = mask[:, t].astype(bool)
        counts = np.zeros((c, c), dtype=np.int64)
        np.add.at(counts, (y[m, t].astype(np.int64), probs[m, t].argmax(1)), 1)
        ax.imshow(counts, cmap="Blues")
        for i in range(c):
            for j in range(c):
                ax.text(j, i, str(counts[i, j]), ha="center", va="center", fontsize=8)
        ax.set_xticks(range(c), classes)
        ax.set_yticks(range(c), classes)
        accuracy = np.trace(counts) / max(counts.sum(), 1)
        ax.set(xlabel="predicted class", ylabel="true class", title=f"{name}: test accuracy {accuracy:.3f}")
    _save(fig, path)


def calibration(y: np.ndarray, mean: np.ndarray, var: np.ndarray, mask: np.ndarray, names: list[str], path: Path) -> None:
    """Observed against expected fraction of test errors inside the central intervals of the
    predicted Gaussians, one panel per target, with the miscalibration area in the title."""
    fig, axes = _grid(len(names))
    for t, (name, ax) in enumerate(zip(names, axes)):
        m = mask[:, t].astype(bool)
        error, std = y[m, t] - mean[m, t], np.sqrt(np.maximum(var[m, t], 1e-12))
        expected, observed = calibration_curve(error, std)
        ax.plot(expected, observed, label="model")
        ax.plot([0, 1], [0, 1], "k--", lw=1, label="calibrated")
        ax.fill_between(expected, expected, observed, alpha=0.2)
        ax.set(xlabel="expected fraction inside the interval", ylabel="observed fraction",
               title=f"{name}: miscalibration area {miscalibration_area(error, std):.3f}")
        ax.legend(fontsize=7, loc="lower right")
    _save(fig, path)
