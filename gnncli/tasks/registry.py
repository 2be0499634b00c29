"""The task types, by name: which class builds each (``"module:Class"``, loaded on first use).

A task type is one registration line below; :func:`create_task` and :func:`task_from_config`
build a task of any registered type, so a base class never imports its subclasses. A class
builds itself with its ``build`` classmethod (``extra`` holds what a type needs besides, e.g.
``classes`` for multiclass).
"""

from __future__ import annotations

from typing import Any

from gnncli.registry import Registry

TASKS = Registry("task type")
TASKS.register("regression", "gnncli.tasks.property:GraphPropertyTask")
TASKS.register("classification", "gnncli.tasks.property:GraphPropertyTask")
TASKS.register("multiclass", "gnncli.tasks.multiclass:MulticlassTask")
TASKS.register("regression-mve", "gnncli.tasks.mve:MeanVarianceTask")

#: Every task type :func:`create_task` builds.
ALL_TASK_TYPES = TASKS.names()


def create_task(task_type: str, targets: list[str], scaler: Any, monitor: str = "", **extra: Any) -> Any:
    """The task of type ``task_type`` (any of :data:`ALL_TASK_TYPES`) over ``targets``, with the
    target scaler ``scaler`` and the early-stopping metric ``monitor`` ("" for the type's default)."""
    if task_type not in TASKS:
        raise ValueError(f"unknown task '{task_type}'")
    return TASKS.get(task_type).build(task_type, targets, scaler, monitor, **extra)


def task_from_config(config: dict) -> Any:
    """The task saved by ``to_config()``, of whichever type it is."""
    from gnncli.train.scaler import TargetScaler

    extra = {k: v for k, v in config.items() if k not in ("type", "targets", "scaler", "monitor")}
    return create_task(config["type"], list(config["targets"]), TargetScaler.from_dict(config["scaler"]),
                       config.get("monitor", ""), **extra)
