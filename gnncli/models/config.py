"""What rebuilds a model: :class:`ModelConfig`, saved in every run folder (no torch needed here)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

READOUTS = ("mean", "sum", "max", "vpa", "norm", "attention")
LEVELS = ("graph", "node")  # one output per graph (after a readout) or per node (none)


def model_names(domain: str | None = None) -> tuple[str, ...]:
    """Every registered model name (encoders first), or those fitting the kind of input ``domain``.

    A kind of input may register its models from its own package, so every registered kind is
    loaded first, by name through the registry of kinds (:mod:`gnncli.kinds`; their packages are
    cheap to import): a name is known whether or not a command has touched its kind yet, e.g.
    ``ModelConfig(name=...)`` in a script. This module imports no kind and not :mod:`gnncli.domains`.
    """
    from gnncli.kinds import KINDS, all_domains, get_domain
    from gnncli.models.registry import ENCODERS, MODELS

    all_domains()
    generic = True
    if domain is not None:
        generic = domain not in KINDS or get_domain(domain).graph_encoders

    def fits(entry) -> bool:
        domains = entry.meta.get("domains")
        return domain is None or (generic if domains is None else domain in domains)

    encoders = ENCODERS.names(fits)
    return encoders + tuple(n for n in MODELS.names(fits) if n not in encoders)


#: Loop settings a model's registration may set (``loop={...}``), as ``gnn train`` names them.
#: ``schedule``: ``noam`` warms up from lr/10 to lr and decays to lr/10 by the last epoch;
#: ``constant`` keeps lr throughout (the graph kind's full-batch recipes, as their papers train).
LOOP_DEFAULTS = {"epochs": 50, "batch_size": 64, "lr": 1e-3, "patience": 20, "warmup": 2.0, "weight_decay": 0.0,
                 "schedule": "noam"}


def loop_defaults(name: str, kind: str | None = None, task: str | None = None) -> dict:
    """The training-loop settings ``gnn train`` uses for model ``name`` (of the kind of input
    ``kind``) where the command line sets none: :data:`LOOP_DEFAULTS`, with what the model's
    registration says in ``loop`` (a bipartite autoencoder trained full-graph wants far more
    epochs and larger batches than a molecule GNN), and then what it says for ``task`` (see
    :func:`task_defaults`)."""
    return {**LOOP_DEFAULTS, **model_entry(name, kind).meta.get("loop", {}),
            **task_defaults(name, kind, task).get("loop", {})}


def task_defaults(name: str, kind: str | None = None, task: str | None = None) -> dict:
    """What model ``name``'s registration sets for ``task`` where it trains another recipe than
    its kind's usual one: ``{"model": {"hidden": ..., "dropout": ...}, "loop": {"epochs": ...}}``
    from ``register_model(..., tasks={task: ...})`` (the graph kind's link prediction wants wider
    node vectors and no dropout); empty if none (or ``task`` is None or ``auto``)."""
    if not task or task == "auto":
        return {}
    return model_entry(name, kind).meta.get("tasks", {}).get(task, {})


def model_entry(name: str, kind: str | None = None):
    """The registration that model ``name`` means for the kind of input ``kind``.

    A kind with models of its own may reuse an encoder's name (the graph kind's node-level
    ``gcn`` is not the molecules' graph-level ``gcn``): a model registered for ``kind`` comes
    first, then an encoder of that name, then a model of that name for any kind.
    """
    from gnncli.kinds import all_domains
    from gnncli.models.registry import ENCODERS, MODELS

    if kind is not None:
        all_domains()  # a kind registers its own models when its module loads
    if name in MODELS:
        entry = MODELS.entry(name)
        domains = entry.meta.get("domains")
        if name not in ENCODERS or (kind is not None and domains is not None and kind in domains):
            return entry
    return ENCODERS.entry(name)


def _entry(name: str, kind: str | None = None):
    return model_entry(name, kind)


@dataclass
class ModelConfig:
    """Everything needed to rebuild a model (saved in every run folder's ``config.json``).

    ``name`` is a registered model: an encoder (assembled as ``encoder -> readout -> head`` by
    :class:`~gnncli.models.model.GraphModel`) or a model with its own builder; None means the
    default model of the kind of input, settled when training starts. ``hidden=None``
    takes the model's default (300 unless its registration says otherwise, e.g. 64 for ``mpnn``,
    whose edge network outputs a hidden x hidden matrix per edge); ``depth=None`` and
    ``dropout=None`` likewise (3 and 0 unless the registration says otherwise). ``level="node"`` drops the
    readout: one output per node (binding sites, per-node powers). ``params`` holds a model's
    own hyperparameters (e.g. filter taps), which its builder checks.

    Two settings describe inputs beyond one graph per item, for the ``GraphModel`` assembly:
    ``parts`` > 1 when an item is several graphs (a solute and its solvent: nodes carry a ``part``
    index), each read out on its own and the vectors joined, in part order; ``graph_features``
    the width of per-item features (descriptors: the batch's ``features`` [B, F]) appended to the
    joined vector before the head.

    ``kind`` is the kind of input the model was built for, where the name alone does not say
    (the graph kind's node-level ``gcn`` shares its name with the molecules' encoder; see
    :func:`model_entry`); None for the others, and in every run folder written before it.
    """

    name: str | None = None
    in_channels: int = 0
    edge_dim: int = 0
    out_channels: int = 1
    hidden: int | None = None
    depth: int | None = None
    dropout: float | None = None
    readout: str = "sum"
    ffn_layers: int = 1
    ffn_hidden: int | None = None
    virtual_node: bool = False
    level: str = "graph"
    parts: int = 1
    graph_features: int = 0
    params: dict[str, Any] = field(default_factory=dict)
    kind: str | None = None

    def __post_init__(self) -> None:
        names = model_names()
        if self.name is not None and self.name not in names:
            raise ValueError(f"unknown model '{self.name}' (choose from {', '.join(names)})")
        if self.readout not in READOUTS:
            raise ValueError(f"unknown readout '{self.readout}' (choose from {', '.join(READOUTS)})")
        if self.level not in LEVELS:
            raise ValueError(f"unknown output level '{self.level}' (choose from {', '.join(LEVELS)})")
        for key in ("in_channels", "edge_dim", "out_channels", "depth", "ffn_layers", "graph_features"):
            value = getattr(self, key)
            if key == "depth" and value is None:
                continue
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{key} must be a non-negative integer, got {value!r}")
        for key in ("hidden", "ffn_hidden"):
            value = getattr(self, key)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                raise ValueError(f"{key} must be a positive integer, got {value!r}")
        if not isinstance(self.parts, int) or isinstance(self.parts, bool) or self.parts < 1:
            raise ValueError(f"parts must be a positive integer, got {self.parts!r}")
        if self.dropout is not None and (not isinstance(self.dropout, (int, float)) or not 0 <= self.dropout < 1):
            raise ValueError(f"dropout must be a number in [0, 1), got {self.dropout!r}")
        if not isinstance(self.params, dict):
            raise ValueError(f"params must be a mapping of names to values, got {self.params!r}")
        if self.name is None:  # "the default model of the kind of input": settled by the caller
            return
        defaults = _entry(self.name, self.kind).meta.get("defaults", {})
        if self.hidden is None:
            self.hidden = int(defaults.get("hidden", 300))
        if self.depth is None:
            self.depth = int(defaults.get("depth", 3))
        if self.dropout is None:
            self.dropout = float(defaults.get("dropout", 0.0))
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
