"""What ``gnn train`` was asked to do: :class:`TrainOptions`, saved in every run folder.

A low module of its own (data only, nothing trained here), so that :mod:`gnncli.api` and the
modules it calls (:mod:`gnncli.train.members`, :mod:`gnncli.train.search`) share it without
importing each other. ``gnncli.api.TrainOptions`` is the same class.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

from gnncli.models.config import ModelConfig
from gnncli.train.loop import LoopConfig

__all__ = ["TrainOptions"]


@dataclass
class TrainOptions:
    """What ``gnn train`` was asked to do (saved in ``config.json`` so a run can resume).

    ``data`` is the input (None: the kind's default); with several, ``inputs`` holds them all in
    order (``data`` being the first), read as one dataset; None means just ``data``, as in run
    folders written before several inputs were taken. :meth:`input_paths` gives them either way.

    ``kind`` names the kind of input (None: recognised from ``data``); ``options`` holds that
    kind's own options by name (:class:`~gnncli.domains.base.DomainOption`). ``model.name``
    None takes the kind's default model.

    ``init_from`` names a trained run whose encoder each member starts from (transfer learning;
    the encoder's settings are that run's), and ``freeze_encoder`` keeps it as it is. ``search``
    > 0 first tries that many settings of hidden size, depth, dropout, learning rate and batch
    size on the validation rows (:mod:`gnncli.train.search`) and trains the best.
    """

    data: str | None = None
    kind: str | None = None
    targets: list[str] | None = None
    fmt: str | None = None
    task: str = "auto"
    monitor: str | None = None
    split: str = "random"
    split_sizes: tuple[float, float, float] = (0.8, 0.1, 0.1)
    folds: int = 5
    split_col: str | None = None
    ensemble: int = 1
    model: ModelConfig = field(default_factory=ModelConfig)
    loop: LoopConfig = field(default_factory=LoopConfig)
    workers: int | None = None
    cache: bool = True
    plots: bool = True
    out: str | None = None
    init_from: str | None = None
    freeze_encoder: bool = False
    search: int = 0
    options: dict[str, Any] = field(default_factory=dict)
    inputs: list[str] | None = None

    def input_paths(self) -> list[str]:
        """Every input, in order: ``inputs``, else ``[data]``, else none (the kind's default input)."""
        if self.inputs:
            return list(self.inputs)
        return [self.data] if self.data is not None else []

    def with_inputs(self, paths: list[str]) -> TrainOptions:
        """These options reading ``paths`` (``data`` the first, ``inputs`` all of them when several)."""
        paths = [str(p) for p in paths]
        return replace(self, data=paths[0] if paths else None, inputs=paths if len(paths) > 1 else None)

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("model", "loop")}
        d["split_sizes"] = list(self.split_sizes)
        d["options"] = dict(self.options)
        d["inputs"] = list(self.inputs) if self.inputs else None
        d["model"], d["loop"] = self.model.to_dict(), self.loop.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict) -> TrainOptions:
        d = dict(d)
        options = dict(d.pop("options", None) or {})
        model, loop = ModelConfig.from_dict(d.pop("model")), LoopConfig.from_dict(d.pop("loop"))
        d["split_sizes"] = tuple(d["split_sizes"])
        known = {f.name for f in fields(cls)}
        # Run format 1 kept the kind's options among the common ones: what is not common is the kind's.
        options.update({k: v for k, v in d.items() if k not in known and v is not None})
        return cls(model=model, loop=loop, options=options, **{k: v for k, v in d.items() if k in known})
