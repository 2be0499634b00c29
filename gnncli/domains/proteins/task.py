"""The binding-site task: per-residue classification with class weighting or focal loss."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from gnncli.tasks.property import GraphPropertyTask

LOSSES = ("weighted", "focal")


def f1(y: np.ndarray, p: np.ndarray, mask: np.ndarray) -> float:
    """F1 of probabilities ``p`` >= 0.5 against 0/1 labels, over the labelled rows (one target)."""
    m = mask.astype(bool)
    t, q = y[m] > 0.5, p[m] >= 0.5
    tp = float(np.sum(t & q))
    denom = 2 * tp + float(np.sum(~t & q)) + float(np.sum(t & ~q))
    return 2 * tp / denom if denom else 0.0


@dataclass
class BindingSiteTask(GraphPropertyTask):
    """:class:`~gnncli.tasks.property.GraphPropertyTask` for one 0/1 target per residue (``site``),
    with the imbalance between site and other residues handled in the loss.

    Args:
        pos_weight: weight of positive residues in the binary cross-entropy (``weighted``), fitted
            on the training residues as sqrt(negatives / positives); or the focal loss's alpha-free
            weighting uses it the same way.
        loss: ``weighted`` (binary cross-entropy with ``pos_weight``) or ``focal`` (Lin et al. 2017,
            gamma 2, with ``pos_weight`` on positives).
    """

    pos_weight: float = 1.0
    loss_kind: str = "weighted"

    def metrics(self) -> dict[str, bool]:
        return {**super().metrics(), "f1": True}

    def __post_init__(self) -> None:
        if self.monitor == "f1":
            self.monitor, f1_monitor = "roc_auc", True
        else:
            f1_monitor = False
        super().__post_init__()
        if f1_monitor:
            self.monitor, self.higher_is_better = "f1", True

    def to_config(self) -> dict:
        return {**super().to_config(), "kind": "binding-site", "pos_weight": self.pos_weight, "loss": self.loss_kind}

    @classmethod
    def from_config(cls, config: dict) -> BindingSiteTask:
        from gnncli.train.scaler import TargetScaler

        return cls(config["type"], list(config["targets"]), TargetScaler.from_dict(config["scaler"]),
                   config.get("monitor", ""), float(config.get("pos_weight", 1.0)), config.get("loss", "weighted"))

    def loss(self, output: Tensor, batch) -> Tensor:
        mask = batch.y_mask
        y = torch.where(mask, batch.y, torch.zeros_like(batch.y))
        weight = torch.where(y > 0.5, torch.full_like(y, self.pos_weight), torch.ones_like(y))
        bce = F.binary_cross_entropy_with_logits(output, y, reduction="none")
        if self.loss_kind == "focal":
            p = torch.sigmoid(output)
            p_t = torch.where(y > 0.5, p, 1 - p)
            bce = bce * (1 - p_t) ** 2
        per = bce * weight * mask
        return per.sum() / (weight * mask).sum().clamp(min=1)

    def score(self, y: np.ndarray, preds: np.ndarray, mask: np.ndarray) -> dict[str, float]:
        out = super().score(y, preds, mask)
        out["f1"] = f1(y[:, 0], preds[:, 0], mask[:, 0]) if len(y) else float("nan")
        return out


