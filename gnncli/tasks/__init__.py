"""Tasks: what the training loop is generic over (data to loss, outputs to metrics)."""

from gnncli.tasks.base import Task
from gnncli.tasks.property import GraphPropertyTask

__all__ = ["GraphPropertyTask", "Task"]
