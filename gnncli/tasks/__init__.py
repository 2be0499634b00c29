"""Tasks: what the training loop is generic over (data to loss, outputs to metrics)."""

from gnncli.tasks.base import StatefulTask, Task, task_state
from gnncli.tasks.property import GraphPropertyTask

__all__ = ["GraphPropertyTask", "StatefulTask", "Task", "task_state"]
