"""Tasks: what the training loop is generic over (data to loss, outputs to metrics).

:class:`GraphPropertyTask` covers regression and binary classification and builds the others by
type (:meth:`GraphPropertyTask.create`): :class:`MulticlassTask` and :class:`MeanVarianceTask`.
"""

from gnncli.tasks.base import StatefulTask, Task, task_state
from gnncli.tasks.property import ALL_TASK_TYPES, GraphPropertyTask

__all__ = ["ALL_TASK_TYPES", "GraphPropertyTask", "MeanVarianceTask", "MulticlassTask", "StatefulTask", "Task",
           "task_state"]


def __getattr__(name: str):
    if name == "MulticlassTask":
        from gnncli.tasks.multiclass import MulticlassTask

        return MulticlassTask
    if name == "MeanVarianceTask":
        from gnncli.tasks.mve import MeanVarianceTask

        return MeanVarianceTask
    raise AttributeError(f"module 'gnncli.tasks' has no attribute '{name}'")
