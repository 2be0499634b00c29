"""Multiclass classification: a softmax over the classes of each target, cross-entropy loss.

The model gives ``T * C`` logits per graph (``C`` classes for each of ``T`` targets); the labels
``y`` [N, T] are class indices into :attr:`MulticlassTask.classes`, the class values as they
were written in the input (``0, 1, 2``, or ``1, 2, 3, 5``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gnncli.tasks.property import GraphPropertyTask
from gnncli.train.metrics import HIGHER_IS_BETTER, MULTICLASS, multiclass_scores


@dataclass
class MulticlassTask(GraphPropertyTask):
    """One class out of ``C`` per graph and target (Chemprop's ``multiclass``).

    Args:
        classes: the class values, in the order of the model's outputs (labels are indices into it).
        monitor: ``roc_auc`` by default (one vs rest, macro-averaged); also ``accuracy``,
            ``macro_f1`` and ``cross_entropy``.

    Shapes:
        model output: [N, T * C] logits; :meth:`transform_output`: [N, T * C] probabilities,
        target-major (every class of the first target, then the second's).
    """

    classes: list = field(default_factory=list)
    types = ("multiclass",)

    @classmethod
    def build(cls, task_type: str, targets: list[str], scaler, monitor: str = "", **extra) -> MulticlassTask:
        return cls(task_type, targets, scaler, monitor, classes=list(extra["classes"]))

    def __post_init__(self) -> None:
        if len(self.classes) < 2:
            raise ValueError("multiclass needs at least two classes")
        super().__post_init__()

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def out_channels(self) -> int:
        return len(self.targets) * self.num_classes

    def class_names(self) -> list[str]:
        return [f"{c:g}" if isinstance(c, float) else str(c) for c in self.classes]

    def columns(self) -> list[str]:
        return [f"{t}_class_{c}" for t in self.targets for c in self.class_names()]

    def default_monitor(self) -> str:
        return "roc_auc"

    def metrics(self) -> dict[str, bool]:
        return {name: HIGHER_IS_BETTER[name] for name in MULTICLASS}

    def to_config(self) -> dict:
        return {**super().to_config(), "classes": list(self.classes)}

    def loss(self, output: Tensor, batch) -> Tensor:
        mask = batch.y_mask
        labels = torch.where(mask, batch.y, torch.zeros_like(batch.y)).long()
        logits = output.view(output.size(0), len(self.targets), self.num_classes)
        per = F.cross_entropy(logits.reshape(-1, self.num_classes), labels.reshape(-1), reduction="none")
        return self.reduce(per.view_as(labels).to(output.dtype), mask, batch)

    def transform_output(self, output: Tensor) -> Tensor:
        logits = output.view(output.size(0), len(self.targets), self.num_classes)
        return torch.softmax(logits, dim=-1).reshape(output.size(0), -1)

    def align(self, model: nn.Module, reference: GraphPropertyTask) -> None:
        return  # probabilities need no rescaling

    def score(self, y: np.ndarray, preds: np.ndarray, mask: np.ndarray) -> dict[str, float]:
        probs = preds.reshape(len(preds), len(self.targets), self.num_classes)
        return multiclass_scores(y, probs, mask, self.targets)

    def score_spread(self, y, preds, stds, mask) -> dict[str, float]:
        return {}

    def test_columns(self, y, preds, stds, mask, several: bool) -> dict[str, np.ndarray]:
        """Per target: the true class, the most probable class, and every class's probability."""
        values = np.asarray(self.classes, dtype=object)
        probs = preds.reshape(len(preds), len(self.targets), self.num_classes)
        columns: dict[str, np.ndarray] = {}
        for t, name in enumerate(self.targets):
            true = np.full(len(y), None, dtype=object)
            true[mask[:, t]] = values[y[mask[:, t], t].astype(np.int64)]
            columns[f"{name}_true"] = true
            columns[f"{name}_pred"] = values[probs[:, t].argmax(1)] if len(probs) else np.zeros(0, object)
            for c, label in enumerate(self.class_names()):
                columns[f"{name}_class_{label}"] = probs[:, t, c]
                if several:
                    columns[f"{name}_class_{label}_std"] = stds.reshape(probs.shape)[:, t, c]
        return columns

    def test_plots(self, y, preds, mask, folder) -> None:
        from gnncli.tasks.plots import confusion

        probs = preds.reshape(len(preds), len(self.targets), self.num_classes)
        confusion(y, probs, mask, self.targets, self.class_names(), folder / "confusion.png")
