"""What rebuilds a model: :class:`ModelConfig`, saved in every run folder (no torch needed here)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

READOUTS = ("mean", "sum", "norm", "attention")
LEVELS = ("graph", "node")  # one output per graph (after a readout) or per node (none)


def model_names(domain: str | None = None) -> tuple[str, ...]:
    """Every registered model name (encoders first), or those fitting the kind of input ``domain``.

    A kind of input may register its models from its own module, so every registered kind is
    loaded first (their modules are cheap to import): a name is known whether or not a command
    has touched its kind yet, e.g. ``ModelConfig(name=...)`` in a script.
    """
    from gnncli.domains.base import all_domains
    from gnncli.models import ENCODERS, MODELS

    all_domains()

    def fits(entry) -> bool:
        domains = entry.meta.get("domains")
        return domain is None or domains is None or domain in domains

    return ENCODERS.names(fits) + tuple(n for n in MODELS.names(fits) if n not in ENCODERS)


def _entry(name: str):
    from gnncli.models import ENCODERS, MODELS

    return MODELS.entry(name) if name in MODELS else ENCODERS.entry(name)


@dataclass
class ModelConfig:
    """Everything needed to rebuild a model (saved in every run folder's ``config.json``).

    ``name`` is a registered model: an encoder (assembled as ``encoder -> readout -> head`` by
    :class:`~gnncli.models.model.GraphModel`) or a model with its own builder; None means the
    default model of the kind of input, settled when training starts. ``hidden=None``
    takes the model's default (300 unless its registration says otherwise, e.g. 64 for ``mpnn``,
    whose edge network outputs a hidden x hidden matrix per edge). ``level="node"`` drops the
    readout: one output per node (binding sites, per-node powers). ``params`` holds a model's
    own hyperparameters (e.g. filter taps), which its builder checks.
    """

    name: str | None = None
    in_channels: int = 0
    edge_dim: int = 0
    out_channels: int = 1
    hidden: int | None = None
    depth: int = 3
    dropout: float = 0.0
    readout: str = "sum"
    ffn_layers: int = 1
    ffn_hidden: int | None = None
    virtual_node: bool = False
    level: str = "graph"
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        names = model_names()
        if self.name is not None and self.name not in names:
            raise ValueError(f"unknown model '{self.name}' (choose from {', '.join(names)})")
        if self.readout not in READOUTS:
            raise ValueError(f"unknown readout '{self.readout}' (choose from {', '.join(READOUTS)})")
        if self.level not in LEVELS:
            raise ValueError(f"unknown output level '{self.level}' (choose from {', '.join(LEVELS)})")
        for key in ("in_channels", "edge_dim", "out_channels", "depth", "ffn_layers"):
            value = getattr(self, key)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{key} must be a non-negative integer, got {value!r}")
        for key in ("hidden", "ffn_hidden"):
            value = getattr(self, key)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                raise ValueError(f"{key} must be a positive integer, got {value!r}")
        if not isinstance(self.dropout, (int, float)) or not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be a number in [0, 1), got {self.dropout!r}")
        if not isinstance(self.params, dict):
            raise ValueError(f"params must be a mapping of names to values, got {self.params!r}")
        if self.name is None:  # "the default model of the kind of input": settled by the caller
            return
        if self.hidden is None:
            self.hidden = int(_entry(self.name).meta.get("defaults", {}).get("hidden", 300))
        if self.ffn_hidden is None:
            self.ffn_hidden = self.hidden

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ModelConfig:
        data = dict(data)
        if "encoder" in data and "name" not in data:  # run format 1 named the model 'encoder'
            data["name"] = data.pop("encoder")
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
