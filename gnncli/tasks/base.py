"""The interface the training loop needs from a task.

A task says how to compute a loss from a batch and the model's output, and how to score a
model on a loader. Nothing here assumes a target column: a task whose loss is a Lagrangian of
the outputs (wireless power allocation) implements the same two methods.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

import torch
from torch import Tensor, nn


class Task(Protocol):
    #: the metric early stopping and model selection watch
    monitor: str
    higher_is_better: bool

    def loss(self, output: Tensor, batch) -> Tensor:
        """A scalar loss for one batch."""

    def evaluate(self, model: nn.Module, loader: Iterable, device: torch.device) -> dict[str, float]:
        """Metrics of ``model`` over ``loader`` (must include ``monitor`` and ``loss``)."""
