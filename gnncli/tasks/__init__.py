"""Tasks: what the training loop is generic over (data to loss, outputs to metrics).

:class:`GraphPropertyTask` covers regression and binary classification; :class:`MulticlassTask`
and :class:`MeanVarianceTask` build on it. :mod:`gnncli.tasks.registry` names the class of each
task type, and :func:`create_task` builds a task of any type.
"""

from gnncli.tasks.base import StatefulTask, Task, task_state
from gnncli.tasks.property import GraphPropertyTask
from gnncli.tasks.registry import ALL_TASK_TYPES, TASKS, create_task, task_from_config

__all__ = ["ALL_TASK_TYPES", "TASKS", "GraphPropertyTask", "MeanVarianceTask", "MulticlassTask", "StatefulTask", "Task",
           "create_task", "task_from_config", "task_state"]


def __getattr__(name: str):
    if name == "MulticlassTask":
        from gnncli.tasks.multiclass import MulticlassTask

        return MulticlassTask
    if name == "MeanVarianceTask":
        from gnncli.tasks.mve import MeanVarianceTask

        return MeanVarianceTask
    raise AttributeError(f"module 'gnncli.tasks' has no attribute '{name}'")
