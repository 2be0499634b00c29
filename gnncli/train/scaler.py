"""Standardizing regression targets, with missing labels left out of the statistics."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class TargetScaler:
    """``(y - mean) / std`` per target; ``inverse`` restores the original units."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, y: np.ndarray, mask: np.ndarray) -> TargetScaler:
        """Fit on labelled entries only. Shapes: ``y``, ``mask`` [N, T]."""
        mean = np.zeros(y.shape[1])
        std = np.ones(y.shape[1])
        for t in range(y.shape[1]):
            values = y[mask[:, t].astype(bool), t]
            if values.size:
                mean[t] = values.mean()
                s = values.std()
                std[t] = s if s > 0 else 1.0
        return cls(mean, std)

    @classmethod
    def identity(cls, num_targets: int) -> TargetScaler:
        return cls(np.zeros(num_targets), np.ones(num_targets))

    def transform(self, y: np.ndarray) -> np.ndarray:
        return (y - self.mean) / self.std

    def inverse(self, y: np.ndarray) -> np.ndarray:
        return y * self.std + self.mean

    def inverse_std(self, s: np.ndarray) -> np.ndarray:
        """A spread (e.g. an ensemble's std) back in original units."""
        return s * self.std

    def to_dict(self) -> dict:
        return {"mean": [float(v) for v in self.mean], "std": [float(v) for v in self.std]}

    @classmethod
    def from_dict(cls, data: dict) -> TargetScaler:
        return cls(np.asarray(data["mean"], dtype=float), np.asarray(data["std"], dtype=float))
