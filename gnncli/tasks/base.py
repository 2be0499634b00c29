"""The interface the training loop needs from a task.

A task says how to compute a loss from a batch and the model's output, which metrics it reports,
and how to score a model on a loader. Nothing here assumes a target column: a task whose loss is
a Lagrangian of the outputs (wireless power allocation) implements the same methods, and one that
carries state (dual variables) exposes it through ``state_dict``/``load_state_dict``, which the
loop saves in its resumable snapshot and in every member's checkpoint.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, runtime_checkable

import torch
from torch import Tensor, nn


class Task(Protocol):
    #: the metric early stopping and model selection watch
    monitor: str
    higher_is_better: bool

    def metrics(self) -> dict[str, bool]:
        """The metrics :meth:`evaluate` reports, each with whether higher is better (``--metric`` choices)."""

    def loss(self, output: Tensor, batch) -> Tensor:
        """A scalar loss for one batch."""

    def evaluate(self, model: nn.Module, loader: Iterable, device: torch.device) -> dict[str, float]:
        """Metrics of ``model`` over ``loader`` (must include ``monitor`` and ``loss``); targets, if
        any, come from the batches."""

    def to_config(self) -> dict:
        """What rebuilds the task (saved as ``task`` in ``config.json``; the domain reads it back)."""


@runtime_checkable
class StatefulTask(Protocol):
    """A task with state of its own (e.g. dual variables), saved and restored with the model."""

    def state_dict(self) -> dict:
        """Tensors and plain values only (loadable with ``torch.load(weights_only=True)``)."""

    def load_state_dict(self, state: dict) -> None: ...


def task_state(task) -> dict | None:
    """``task``'s state if it has any (see :class:`StatefulTask`), else None."""
    return task.state_dict() if isinstance(task, StatefulTask) else None
