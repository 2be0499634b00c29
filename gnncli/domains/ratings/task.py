"""Predicting ratings: the task the training loop runs for every ratings model.

Two kinds of model output: a score per pair (``objective="mse"``; standardized by the training
ratings' mean and standard deviation, squared error at the target item alone) or logits over the
rating levels (``objective="levels"``, GC-MC; cross-entropy, and the prediction is the expected
rating under the softmax). Predictions are clipped to the range of the training ratings.

Batches may carry pairs from several parts of the data (``batch.part``: 0 train, 1 validation,
2 test): :meth:`RatingTask.evaluate` scores the validation pairs as ``rmse``/``mae`` (what early
stopping watches) and reports the others as ``train_rmse``/``test_rmse``, for the learning curve.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

OBJECTIVES = ("mse", "levels")
PARTS = {0: "train_", 1: "", 2: "test_"}


class RatingTask:
    monitor = "rmse"
    higher_is_better = False
    targets = ["rating"]

    def __init__(self, mean: float, std: float, low: float, high: float, levels: list[float] | None = None,
                 objective: str = "mse", monitor: str = "rmse") -> None:
        if objective not in OBJECTIVES:
            raise ValueError(f"unknown objective '{objective}'")
        if monitor not in self.metrics():
            raise ValueError(f"{monitor} does not fit a rating task (choose from {', '.join(self.metrics())})")
        self.mean, self.std, self.low, self.high = float(mean), float(std) or 1.0, float(low), float(high)
        self.levels = [float(v) for v in (levels or [])]
        self.objective = objective
        self.monitor = monitor
        self._levels = torch.tensor(self.levels, dtype=torch.float32)

    def metrics(self) -> dict[str, bool]:
        return {"rmse": False, "mae": False}

    def to_config(self) -> dict:
        return {"type": "rating", "mean": self.mean, "std": self.std, "low": self.low, "high": self.high,
                "levels": self.levels, "objective": self.objective, "monitor": self.monitor}

    @classmethod
    def from_config(cls, config: dict) -> RatingTask:
        return cls(config["mean"], config["std"], config["low"], config["high"], config.get("levels"),
                   config.get("objective", "mse"), config.get("monitor", "rmse"))

    # -- training --------------------------------------------------------------------------------
    def loss(self, output: Tensor, batch) -> Tensor:
        if self.objective == "levels":
            target = torch.searchsorted(self._levels.to(output.device), batch.y.contiguous())
            return F.cross_entropy(output, target.clamp(max=len(self.levels) - 1))
        y = (batch.y - self.mean) / self.std
        loss = F.mse_loss(output.reshape(-1), y)
        penalty = getattr(batch, "penalty", None)  # set by a model that regularizes itself (kernel-ae)
        return loss if penalty is None else loss + penalty

    def transform_output(self, output: Tensor) -> Tensor:
        """Model output -> predicted rating [B, 1], clipped to the training ratings' range."""
        if self.objective == "levels":
            rating = torch.softmax(output, dim=-1) @ self._levels.to(output.device)
        else:
            rating = output.reshape(-1) * self.std + self.mean
        return rating.clamp(self.low, self.high).unsqueeze(-1)

    # -- evaluating ------------------------------------------------------------------------------
    def outputs(self, model: nn.Module, loader: Iterable, device) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Predicted ratings [N], true ratings [N] and parts [N] over ``loader``, in order."""
        model.eval()
        preds, ys, parts = [], [], []
        with torch.inference_mode():
            for batch in loader:
                batch = batch.to(device)
                preds.append(self.transform_output(model(batch).float())[:, 0].cpu())
                ys.append(batch.y.cpu())
                parts.append(batch.part.cpu() if batch.part is not None else torch.ones(batch.num_items, dtype=torch.long))
        if not preds:
            return np.zeros(0), np.zeros(0), np.zeros(0, np.int64)
        return torch.cat(preds).double().numpy(), torch.cat(ys).double().numpy(), torch.cat(parts).numpy()

    def evaluate(self, model: nn.Module, loader, device) -> dict[str, float]:
        pred, y, part = self.outputs(model, loader, device)
        out: dict[str, float] = {}
        for p, prefix in PARTS.items():
            sel = part == p
            if p == 1 or sel.any():
                out.update({f"{prefix}{k}": v for k, v in score(y[sel], pred[sel]).items()})
        val = part == 1
        out["loss"] = float(np.mean(((pred[val] - y[val]) / self.std) ** 2)) if val.any() else float("nan")
        return out


def score(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """RMSE and MAE of predicted ratings (NaN for no pairs)."""
    if len(y) == 0:
        return {"rmse": float("nan"), "mae": float("nan")}
    err = pred - y
    return {"rmse": float(np.sqrt(np.mean(err**2))), "mae": float(np.mean(np.abs(err)))}
