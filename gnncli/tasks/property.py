"""Predicting properties: regression or (multi-label) classification, per graph or per node.

The task is the same at both levels: the model gives one row of outputs per graph (after a
readout) or per node, and the batch carries ``y`` and ``y_mask`` at that level. Missing labels
(``y_mask`` False) are left out of the loss and of every metric. Regression targets are
standardized inside the loss and restored in :meth:`GraphPropertyTask.transform_output`.

Two optional per-item attributes of the batch change the loss (both at the targets' level):

* ``y_bound`` [N, T] (-1, 0, +1): the label is an upper bound (the true value is below it), exact,
  or a lower bound. A regression loss then penalizes a prediction only on the wrong side of a
  bound (Chemprop's bounded MSE); metrics use the exact labels only.
* ``weight`` [N]: each item's weight in the loss (a weighted mean over the labelled entries).

Other task types build on this one: :class:`~gnncli.tasks.multiclass.MulticlassTask` (softmax
over classes) and :class:`~gnncli.tasks.mve.MeanVarianceTask` (a mean and a variance per
target); :mod:`gnncli.tasks.registry` names the class of each type, and its :func:`~gnncli.tasks.registry.create_task`
and :func:`~gnncli.tasks.registry.task_from_config` pick it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gnncli.train.metrics import CLASSIFICATION, HIGHER_IS_BETTER, REGRESSION, SCALABLE, score, uncertainty_scores
from gnncli.train.scaler import TargetScaler

from gnncli.tasks.registry import ALL_TASK_TYPES

TASK_TYPES = ("regression", "classification")


@dataclass
class GraphPropertyTask:
    """One prediction per graph (or node) and target.

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

    #: the task types this class handles
    types: ClassVar[tuple[str, ...]] = TASK_TYPES

    @classmethod
    def build(cls, task_type: str, targets: list[str], scaler: TargetScaler, monitor: str = "", **extra) -> GraphPropertyTask:
        """This class's task of type ``task_type`` (how :func:`~gnncli.tasks.registry.create_task`
        builds it; a type needing more than these reads ``extra``)."""
        return cls(task_type, targets, scaler, monitor)

    @staticmethod
    def create(task_type: str, targets: list[str], scaler: TargetScaler, monitor: str = "", **extra) -> GraphPropertyTask:
        """The task of type ``task_type`` (any of :data:`ALL_TASK_TYPES`): the class registered for
        it in :mod:`gnncli.tasks.registry` builds it; ``extra`` holds what a type needs besides
        (``classes`` for multiclass)."""
        from gnncli.tasks.registry import create_task

        return create_task(task_type, targets, scaler, monitor, **extra)

    @property
    def out_channels(self) -> int:
        """Model outputs per graph (or node) that this task reads."""
        return len(self.targets)

    def columns(self) -> list[str]:
        """The name of each column of :meth:`transform_output` (prediction columns of ``gnn predict``)."""
        return list(self.targets)

    def __post_init__(self) -> None:
        if self.task_type not in self.types:
            raise ValueError(f"unknown task '{self.task_type}'")
        if not self.monitor:
            self.monitor = self.default_monitor()
        if self.task_type.startswith("regression") and len(self.targets) > 1 and self.monitor in SCALABLE:
            # Averaged in original units, the target with the largest scale would decide alone.
            self.monitor = f"scaled_{self.monitor}"
        if self.monitor not in self.metrics():
            raise ValueError(f"{self.monitor} does not fit a {self.task_type} task "
                             f"(choose from {', '.join(self.metrics())})")
        self.higher_is_better = HIGHER_IS_BETTER[self.monitor]
        self._mean = torch.as_tensor(self.scaler.mean, dtype=torch.float32)
        self._std = torch.as_tensor(self.scaler.std, dtype=torch.float32)

    def default_monitor(self) -> str:
        return "rmse" if self.task_type == "regression" else "roc_auc"

    def metrics(self) -> dict[str, bool]:
        names = (*REGRESSION, *(f"scaled_{m}" for m in SCALABLE)) if self.task_type == "regression" else CLASSIFICATION
        return {name: HIGHER_IS_BETTER[name] for name in names}

    # -- saving ---------------------------------------------------------------------------------
    def to_config(self) -> dict:
        return {"type": self.task_type, "targets": list(self.targets), "scaler": self.scaler.to_dict(),
                "monitor": self.monitor}

    @classmethod
    def from_config(cls, config: dict) -> GraphPropertyTask:
        """The task saved by :meth:`to_config`, of whichever type it is."""
        from gnncli.tasks.registry import task_from_config

        return task_from_config(config)

    # -- training -------------------------------------------------------------------------------
    def loss(self, output: Tensor, batch) -> Tensor:
        mask = batch.y_mask
        y = torch.where(mask, batch.y, torch.zeros_like(batch.y))
        if self.task_type == "regression":
            y = (y - self._mean.to(y.device)) / self._std.to(y.device)
            bound = getattr(batch, "y_bound", None)
            if bound is None:
                per = F.mse_loss(output, y, reduction="none")
            else:  # a bound is missed only by a prediction on its wrong side
                diff = output - y
                missed = (bound == 0) | ((bound < 0) & (diff > 0)) | ((bound > 0) & (diff < 0))
                per = diff.square() * missed
        else:
            per = F.binary_cross_entropy_with_logits(output, y, reduction="none")
        return self.reduce(per, mask, batch)

    @staticmethod
    def reduce(per: Tensor, mask: Tensor, batch) -> Tensor:
        """The mean of the per-entry losses ``per`` [N, T] over labelled entries, each item
        weighted by ``batch.weight`` [N] where the batch has weights."""
        weight = getattr(batch, "weight", None)
        if weight is None:
            return (per * mask).sum() / mask.sum().clamp(min=1)
        w = mask * weight.to(per.dtype).unsqueeze(1)
        return (per * w).sum() / w.sum().clamp(min=1e-12)

    def transform_output(self, output: Tensor) -> Tensor:
        """Raw model output -> prediction in the target's units (or a probability)."""
        if self.task_type == "regression":
            return output * self._std.to(output.device) + self._mean.to(output.device)
        return torch.sigmoid(output)

    def align(self, model: nn.Module, reference: GraphPropertyTask) -> None:
        """Re-express ``model``, trained with this task's target scaling, in ``reference``'s, so
        that members trained on different folds give outputs that mean the same thing."""
        if self.task_type != "regression" or self.scaler is reference.scaler:
            return
        ref = reference.scaler
        model.rescale_output(torch.as_tensor(self.scaler.std / ref.std, dtype=torch.float32),
                             torch.as_tensor((self.scaler.mean - ref.mean) / ref.std, dtype=torch.float32))

    # -- evaluating -----------------------------------------------------------------------------
    def predict(self, model: nn.Module, loader: Iterable, device: torch.device) -> tuple[np.ndarray, float]:
        """Predictions [N, T] over ``loader`` in order, and the mean loss (NaN without labels)."""
        preds, loss, _, _ = self.outputs(model, loader, device)
        return preds, loss

    def outputs(self, model: nn.Module, loader: Iterable, device: torch.device
                ) -> tuple[np.ndarray, float, np.ndarray | None, np.ndarray | None]:
        """Predictions [N, T] over ``loader`` in order, the mean loss, and the batches' targets
        ``y`` [N, T] and ``y_mask`` [N, T] (None without labels)."""
        model.eval()
        outs, ys, masks, loss_sum, count = [], [], [], 0.0, 0
        with torch.inference_mode():
            for batch in loader:
                batch = batch.to(device)
                output = model(batch).float()
                if getattr(batch, "y", None) is not None:
                    n = int(batch.y_mask.sum())
                    loss_sum += float(self.loss(output, batch)) * n
                    count += n
                    ys.append(batch.y.cpu())
                    bound = getattr(batch, "y_bound", None)  # bounds are left out of metrics
                    masks.append((batch.y_mask if bound is None else batch.y_mask & (bound == 0)).cpu())
                outs.append(self.transform_output(output).cpu())
        width = len(self.columns())
        preds = torch.cat(outs).numpy() if outs else np.zeros((0, width), np.float32)
        y = torch.cat(ys).numpy().astype(np.float64) if ys else None
        mask = torch.cat(masks).numpy() if masks else None
        return preds.astype(np.float64), (loss_sum / count if count else float("nan")), y, mask

    def evaluate(self, model: nn.Module, loader, device: torch.device) -> dict[str, float]:
        """Every metric over ``loader``, with the targets taken from its batches."""
        preds, loss, y, mask = self.outputs(model, loader, device)
        metrics = self.score(y, preds, mask) if y is not None else {}
        metrics["loss"] = loss
        return metrics

    def score(self, y: np.ndarray, preds: np.ndarray, mask: np.ndarray) -> dict[str, float]:
        """Every metric of this task type for predictions ``preds`` [N, T] (original units)."""
        scale = self.scaler.std if self.task_type == "regression" else None
        names = REGRESSION if self.task_type == "regression" else CLASSIFICATION
        return score(names, y, preds, mask, self.targets, scale)

    def score_spread(self, y: np.ndarray, preds: np.ndarray, stds: np.ndarray, mask: np.ndarray) -> dict[str, float]:
        """How well an ensemble's spread ``stds`` [N, T] ranks and sizes the errors of ``preds``
        (regression only): its calibration metrics, prefixed ``ensemble_``."""
        if self.task_type != "regression":
            return {}
        scores = uncertainty_scores(y, preds, np.maximum(stds, 1e-12) ** 2, mask, self.targets)
        return {f"ensemble_{k}": v for k, v in scores.items()}

    # -- writing test results -------------------------------------------------------------------
    def test_columns(self, y: np.ndarray, preds: np.ndarray, stds: np.ndarray, mask: np.ndarray,
                     several: bool) -> dict[str, np.ndarray]:
        """Columns of ``test_predictions.csv``: per target its true value (empty where unlabelled),
        its prediction and, for ensembles (``several``), the members' spread."""
        columns = {}
        for t, name in enumerate(self.targets):
            columns[f"{name}_true"] = np.where(mask[:, t], y[:, t], np.nan)
            columns[f"{name}_pred"] = preds[:, t]
            if several:
                columns[f"{name}_std"] = stds[:, t]
        return columns

    def test_plots(self, y: np.ndarray, preds: np.ndarray, mask: np.ndarray, folder) -> None:
        """The plots of the test rows: ``parity.png`` (regression) or ``roc.png``."""
        from gnncli.train import plots

        if self.task_type == "regression":
            plots.parity(y, preds, mask, self.targets, folder / "parity.png")
        else:
            plots.roc(y, preds, mask, self.targets, folder / "roc.png")
