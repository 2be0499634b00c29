"""Predicting properties of whole graphs: regression or (multi-label) classification.

Missing labels (``y_mask`` False) are left out of the loss and of every metric. Regression
targets are standardized inside the loss and restored in :meth:`GraphPropertyTask.predict`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gnncli.train.metrics import HIGHER_IS_BETTER, SCALABLE, score
from gnncli.train.scaler import TargetScaler

TASK_TYPES = ("regression", "classification")


@dataclass
class GraphPropertyTask:
    """One prediction per graph and target.

    Args:
        task_type: ``"regression"`` or ``"classification"`` (binary, one or many labels).
        targets: the target names, in output order.
        scaler: target standardization (identity for classification).
        monitor: the validation metric for early stopping (``rmse`` or ``roc_auc`` by default;
            with several regression targets, ``rmse``/``mae`` become ``scaled_rmse``/``scaled_mae``,
            each target's error in units of its training-set standard deviation, averaged).
    """

    task_type: str
    targets: list[str]
    scaler: TargetScaler
    monitor: str = ""

    def __post_init__(self) -> None:
        if self.task_type not in TASK_TYPES:
            raise ValueError(f"unknown task '{self.task_type}'")
        if not self.monitor:
            self.monitor = "rmse" if self.task_type == "regression" else "roc_auc"
        if self.task_type == "regression" and len(self.targets) > 1 and self.monitor in SCALABLE:
            # Averaged in original units, the target with the largest scale would decide alone.
            self.monitor = f"scaled_{self.monitor}"
        self.higher_is_better = HIGHER_IS_BETTER[self.monitor]
        self._mean = torch.as_tensor(self.scaler.mean, dtype=torch.float32)
        self._std = torch.as_tensor(self.scaler.std, dtype=torch.float32)

    def loss(self, output: Tensor, batch) -> Tensor:
        mask = batch.y_mask
        y = torch.where(mask, batch.y, torch.zeros_like(batch.y))
        if self.task_type == "regression":
            y = (y - self._mean.to(y.device)) / self._std.to(y.device)
            per = F.mse_loss(output, y, reduction="none")
        else:
            per = F.binary_cross_entropy_with_logits(output, y, reduction="none")
        return (per * mask).sum() / mask.sum().clamp(min=1)

    def transform_output(self, output: Tensor) -> Tensor:
        """Raw model output -> prediction in the target's units (or a probability)."""
        if self.task_type == "regression":
            return output * self._std.to(output.device) + self._mean.to(output.device)
        return torch.sigmoid(output)

    @torch.inference_mode()
    def predict(self, model: nn.Module, loader: Iterable, device: torch.device) -> tuple[np.ndarray, float]:
        """Predictions [N, T] over ``loader`` in order, and the mean loss (NaN without labels)."""
        model.eval()
        outs, loss_sum, count = [], 0.0, 0
        for batch in loader:
            batch = batch.to(device)
            output = model(batch).float()
            if getattr(batch, "y", None) is not None:
                n = int(batch.y_mask.sum())
                loss_sum += float(self.loss(output, batch)) * n
                count += n
            outs.append(self.transform_output(output).cpu())
        preds = torch.cat(outs).numpy() if outs else np.zeros((0, len(self.targets)), np.float32)
        return preds.astype(np.float64), (loss_sum / count if count else float("nan"))

    def evaluate(self, model: nn.Module, loader, device: torch.device) -> dict[str, float]:
        preds, loss = self.predict(model, loader, device)
        y = loader.pack.y[loader.indices].numpy().astype(np.float64)
        mask = loader.pack.y_mask[loader.indices].numpy()
        metrics = self.score(y, preds, mask)
        metrics["loss"] = loss
        return metrics

    def score(self, y: np.ndarray, preds: np.ndarray, mask: np.ndarray) -> dict[str, float]:
        """Every metric of this task type for predictions ``preds`` [N, T] (original units)."""
        scale = self.scaler.std if self.task_type == "regression" else None
        return score(self.task_type, y, preds, mask, self.targets, scale)
