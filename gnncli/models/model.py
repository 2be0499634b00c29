"""Assemble ``encoder -> readout -> head`` from a config; every encoder is registered by name.

Adding an encoder is one function decorated with ``@register_encoder("name")``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, fields

import torch
from torch import Tensor, nn
from torch_geometric.data import Batch
from torch_geometric.nn import GATv2Conv, GCNConv, GINConv, GINEConv, NNConv, SAGEConv
from torch_geometric.nn.aggr import AttentionalAggregation, MeanAggregation, SumAggregation

from gnncli.models.names import ENCODER_NAMES, LEVELS, READOUTS  # noqa: F401  (READOUTS re-exported)
from gnncli.nn import DMPNNEncoder, VirtualNode

ENCODERS: dict[str, Callable[..., nn.Module]] = {}


def register_encoder(name: str) -> Callable:
    def deco(builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        ENCODERS[name] = builder
        return builder

    return deco


@dataclass
class ModelConfig:
    """Everything needed to rebuild a model (saved in every run folder's ``config.json``).

    ``hidden=None`` takes the encoder's default (300; 64 for ``mpnn``, whose edge network
    outputs a hidden x hidden matrix per edge). ``level="node"`` drops the readout: one output
    per node (binding sites, per-node powers) from the same encoder and head.
    """

    encoder: str = "dmpnn"
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

    def __post_init__(self) -> None:
        if self.encoder not in ENCODERS:
            raise ValueError(f"unknown model '{self.encoder}' (choose from {', '.join(ENCODERS)})")
        if self.readout not in READOUTS:
            raise ValueError(f"unknown readout '{self.readout}' (choose from {', '.join(READOUTS)})")
        if self.level not in LEVELS:
            raise ValueError(f"unknown output level '{self.level}' (choose from {', '.join(LEVELS)})")
        if self.hidden is None:
            self.hidden = 64 if self.encoder == "mpnn" else 300
        if self.ffn_hidden is None:
            self.ffn_hidden = self.hidden

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ModelConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


class ConvEncoder(nn.Module):
    """A stack of PyG convolutions with residual connections, LayerNorm and ReLU.

    Args:
        make_conv: ``make_conv(hidden) -> MessagePassing``, called once per layer.
        uses_edges (bool): whether the conv takes ``edge_attr`` as its third argument.

    Shapes:
        input: ``x`` [N, in_channels], ``edge_index`` [2, E], ``edge_attr`` [E, edge_dim], ``batch`` [N].
        output: node states [N, hidden].
    """

    def __init__(
        self, make_conv: Callable[[int], nn.Module], *, in_channels: int, hidden: int, depth: int,
        dropout: float, virtual_node: bool, uses_edges: bool,
    ) -> None:
        super().__init__()
        self.lin_in = nn.Linear(in_channels, hidden)
        self.convs = nn.ModuleList(make_conv(hidden) for _ in range(depth))
        self.norms = nn.ModuleList(nn.LayerNorm(hidden) for _ in range(depth))
        self.dropout = nn.Dropout(dropout)
        self.uses_edges = uses_edges
        self.virtual_node = VirtualNode(hidden, depth - 1) if virtual_node and depth > 1 else None
        self.out_channels = hidden

    def forward(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor, batch: Tensor) -> Tensor:
        h = self.lin_in(x)
        state = None
        if self.virtual_node is not None:
            state = self.virtual_node.initial(int(batch.max()) + 1 if batch.numel() else 0, h)
        for layer, (conv, norm) in enumerate(zip(self.convs, self.norms)):
            if state is not None and layer > 0:
                h, state = self.virtual_node(layer - 1, h, batch, state)
            out = conv(h, edge_index, edge_attr) if self.uses_edges else conv(h, edge_index)
            h = h + self.dropout(torch.relu(norm(out)))
        return h


def _mlp(channels: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(channels, channels), nn.ReLU(), nn.Linear(channels, channels))


@register_encoder("dmpnn")
def _dmpnn(c: ModelConfig) -> nn.Module:
    return DMPNNEncoder(c.in_channels, c.edge_dim, c.hidden, c.depth, c.dropout, c.virtual_node)


def _conv_encoder(c: ModelConfig, make_conv: Callable[[int], nn.Module], uses_edges: bool) -> nn.Module:
    return ConvEncoder(
        make_conv, in_channels=c.in_channels, hidden=c.hidden, depth=c.depth, dropout=c.dropout,
        virtual_node=c.virtual_node, uses_edges=uses_edges,
    )


@register_encoder("gine")
def _gine(c: ModelConfig) -> nn.Module:
    return _conv_encoder(c, lambda h: GINEConv(_mlp(h), train_eps=True, edge_dim=c.edge_dim), True)


@register_encoder("gin")
def _gin(c: ModelConfig) -> nn.Module:
    return _conv_encoder(c, lambda h: GINConv(_mlp(h), train_eps=True), False)


@register_encoder("gcn")
def _gcn(c: ModelConfig) -> nn.Module:
    return _conv_encoder(c, lambda h: GCNConv(h, h), False)


@register_encoder("gat")
def _gat(c: ModelConfig) -> nn.Module:
    heads = 4 if c.hidden % 4 == 0 else 1
    return _conv_encoder(c, lambda h: GATv2Conv(h, h // heads, heads=heads, edge_dim=c.edge_dim), True)


@register_encoder("sage")
def _sage(c: ModelConfig) -> nn.Module:
    return _conv_encoder(c, lambda h: SAGEConv(h, h), False)


@register_encoder("mpnn")
def _mpnn(c: ModelConfig) -> nn.Module:
    def make(h: int) -> nn.Module:
        edge_net = nn.Sequential(nn.Linear(c.edge_dim, 128), nn.ReLU(), nn.Linear(128, h * h))
        return NNConv(h, h, edge_net, aggr="mean")

    return _conv_encoder(c, make, True)


class ScaledSum(SumAggregation):
    """Sum readout times a constant: keeps molecule size in the vector (unlike a mean) at a scale
    the head trains well on (Chemprop's ``norm`` aggregation, sum / 100)."""

    def __init__(self, scale: float) -> None:
        super().__init__()
        self.scale = scale

    def forward(self, x, index=None, ptr=None, dim_size=None, dim=-2, **kwargs):
        return super().forward(x, index, ptr=ptr, dim_size=dim_size, dim=dim, **kwargs) * self.scale


class GraphModel(nn.Module):
    """``encoder -> readout -> FFN head``: one vector per graph, ``out_channels`` outputs each;
    with ``config.level == "node"``, ``encoder -> FFN head``: one per node.

    Shapes:
        input: a ``torch_geometric.data.Batch`` with ``x``, ``edge_index``, ``edge_attr``, ``batch``.
        output: :meth:`forward` [B, out_channels]; :meth:`embed` [B, hidden] ([N, ...] per node).
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = ENCODERS[config.encoder](config)
        hidden = config.hidden
        if config.level == "node":
            self.readout = None
        elif config.readout == "mean":
            self.readout = MeanAggregation()
        elif config.readout == "sum":
            self.readout = SumAggregation()
        elif config.readout == "norm":  # Chemprop's default: a sum scaled down by a constant 100
            self.readout = ScaledSum(0.01)
        else:
            self.readout = AttentionalAggregation(gate_nn=nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 1)))
        layers: list[nn.Module] = []
        width = hidden
        for _ in range(config.ffn_layers):
            layers += [nn.Dropout(config.dropout), nn.Linear(width, config.ffn_hidden), nn.ReLU()]
            width = config.ffn_hidden
        layers += [nn.Dropout(config.dropout), nn.Linear(width, config.out_channels)]
        self.head = nn.Sequential(*layers)

    def embed(self, batch: Batch) -> Tensor:
        """The readout vector of each graph (what ``gnn embed`` writes), or each node's state."""
        h = self.encoder(batch.x, batch.edge_index, batch.edge_attr, batch.batch)
        if self.readout is None:
            return h
        return self.readout(h, batch.batch, dim_size=batch.num_graphs)

    def forward(self, batch: Batch) -> Tensor:
        return self.head(self.embed(batch))

    @torch.no_grad()
    def rescale_output(self, scale: Tensor, shift: Tensor) -> None:
        """Fold ``output * scale + shift`` (per output) into the last layer, in place."""
        last = self.head[-1]
        last.weight.mul_(scale.to(last.weight).unsqueeze(1))
        last.bias.mul_(scale.to(last.bias)).add_(shift.to(last.bias))

    def for_inference(self) -> GraphModel:
        """Switch to eval mode and to a faster encoder computing the same function, where one exists
        (:meth:`DMPNNEncoder.padded <gnncli.nn.dmpnn.DMPNNEncoder.padded>`). In place; returns ``self``."""
        padded = getattr(self.encoder, "padded", None)
        if padded is not None:
            self.encoder = padded()
        return self.eval()


def build_model(config: ModelConfig) -> GraphModel:
    return GraphModel(config)


assert tuple(ENCODERS) == ENCODER_NAMES, "register each encoder and list it in gnncli/models/names.py"
