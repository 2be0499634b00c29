"""The runs of a benchmark: settings (a model with overrides) x seeds, expanded from a grid.

A :class:`RunSpec` is one training run. Its ``run_id`` names it stably (``gin+vn/seed=1``), so
that ``--resume`` can tell which runs are done. Settings come from ``--models`` crossed with
``--grid`` values, or from a suite's list of labelled settings.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import Any

from gnncli.errors import UsageError

#: ``--grid`` keys that set a field of the model config; ``params.NAME`` (or an unknown key)
#: sets a model parameter; these set the training loop.
MODEL_KEYS = ("hidden", "depth", "dropout", "readout", "ffn_layers", "ffn_hidden", "virtual_node")
#: ``--grid`` keys (and suite overrides) that set a training option of the run itself.
OPTION_KEYS = ("task",)
LOOP_KEYS = ("lr", "batch_size", "epochs", "weight_decay", "patience", "warmup")


@dataclass(frozen=True)
class Setting:
    """A model with overrides, as one line of the results table."""

    label: str
    model: str | None
    overrides: dict[str, Any] = field(default_factory=dict)

    def __hash__(self) -> int:
        return hash((self.label, self.model, tuple(sorted(self.overrides.items(), key=str))))


@dataclass(frozen=True)
class RunSpec:
    setting: Setting
    seed: int

    @property
    def run_id(self) -> str:
        return f"{self.setting.label}/seed={self.seed}"

    @property
    def folder(self) -> str:
        """A file-system-safe folder name for the run."""
        return re.sub(r"[^A-Za-z0-9_.=+-]+", "_", self.run_id.replace("/", "__"))


def parse_value(text: str) -> Any:
    """``"128"`` -> 128, ``"0.1"`` -> 0.1, ``"true"`` -> True, anything else stays text."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text.strip()


def parse_grid(items: list[str]) -> dict[str, list[Any]]:
    """``["hidden=128,300", "depth=3,5"]`` -> ``{"hidden": [128, 300], "depth": [3, 5]}``."""
    grid: dict[str, list[Any]] = {}
    for item in items:
        key, sep, values = item.partition("=")
        key = key.strip()
        if not sep or not key or not values.strip():
            raise UsageError(f"--grid {item}: expected NAME=V1,V2,... e.g. --grid hidden=128,300")
        if key in grid:
            raise UsageError(f"--grid {key}: given twice")
        grid[key] = [parse_value(v) for v in values.split(",") if v.strip()]
    return grid


def _label(model: str | None, point: dict[str, Any]) -> str:
    parts = [model or "default"] + [f"{k}={v}" for k, v in point.items()]
    return ",".join(parts)


def expand(models: list[str | None], grid: dict[str, list[Any]], seeds: list[int]) -> list[RunSpec]:
    """Every model crossed with every grid point, each with every seed, settings in order."""
    keys = list(grid)
    points = [dict(zip(keys, combo)) for combo in itertools.product(*(grid[k] for k in keys))] or [{}]
    settings = [Setting(_label(m, p), m, p) for m in models for p in points]
    return specs(settings, seeds)


def specs(settings: list[Setting], seeds: list[int]) -> list[RunSpec]:
    labels = [s.label for s in settings]
    dupes = {label for label in labels if labels.count(label) > 1}
    if dupes:
        raise UsageError(f"two settings share the label {sorted(dupes)[0]!r}")
    return [RunSpec(s, seed) for s in settings for seed in seeds]


def split_overrides(overrides: dict[str, Any]) -> tuple[dict, dict, dict, dict]:
    """``(model fields, model params, loop settings, training options)`` of a setting's overrides
    (loop settings in ``gnn train``'s words: see :func:`gnncli.benchmark.runner.loop_fields`)."""
    model, params, loop, options = {}, {}, {}, {}
    for key, value in overrides.items():
        if key in OPTION_KEYS:
            options[key] = value
        elif key in MODEL_KEYS:
            model[key] = value
        elif key in LOOP_KEYS:
            loop[key] = value
        else:
            params[key.removeprefix("params.")] = value
    return model, params, loop, options
