"""Assemble ``encoder -> readout -> head`` from a config, and the built-in encoders.

Each encoder builder here is registered by name in :mod:`gnncli.models` (one line each).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn
from torch_geometric.data import Batch
from torch_geometric.nn import GATv2Conv, GCNConv, GINConv, GINEConv, GPSConv, NNConv, SAGEConv
from torch_geometric.nn.aggr import (
    AttentionalAggregation, MaxAggregation, MeanAggregation, SumAggregation, VariancePreservingAggregation,
)

from gnncli.models.registry import ENCODERS, MODELS
from gnncli.models.config import ModelConfig
from gnncli.nn import DMPNNEncoder, VirtualNode


class ConvEncoder(nn.Module):
    """A stack of PyG convolutions with residual connections, LayerNorm and ReLU.

    Args:
        make_conv: ``make_conv(hidden) -> MessagePassing``, called once per layer.
        uses_edges (bool): whether the conv takes ``edge_attr`` as its third argument.

    Shapes:
        input: a batch with ``x`` [N, in_channels], ``edge_index`` [2, E], ``edge_attr`` [E, edge_dim]
        (used when ``uses_edges``) and ``batch`` [N].
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

    def forward(self, data: Batch) -> Tensor:
        edge_index, batch = data.edge_index, data.batch
        edge_attr = data.edge_attr if self.uses_edges else None
        h = self.lin_in(data.x)
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


def dmpnn(c: ModelConfig) -> nn.Module:
    return DMPNNEncoder(c.in_channels, c.edge_dim, c.hidden, c.depth, c.dropout, c.virtual_node)


def _conv_encoder(c: ModelConfig, make_conv: Callable[[int], nn.Module], uses_edges: bool) -> nn.Module:
    return ConvEncoder(
        make_conv, in_channels=c.in_channels, hidden=c.hidden, depth=c.depth, dropout=c.dropout,
        virtual_node=c.virtual_node, uses_edges=uses_edges,
    )


def gine(c: ModelConfig) -> nn.Module:
    return _conv_encoder(c, lambda h: GINEConv(_mlp(h), train_eps=True, edge_dim=c.edge_dim), True)


#: Neighbourhood aggregations a GIN layer takes (``--model-param aggr=NAME``): sum (the GIN paper's),
#: mean, max, and variance-preserving sum / sqrt(degree) (GNN-VPA, Schneckenreiter et al. 2024).
GIN_AGGREGATIONS = ("sum", "mean", "max", "vpa")


def _params(c: ModelConfig, **allowed) -> dict:
    """``c.params`` checked against ``allowed`` (name -> default), with the defaults filled in."""
    unknown = sorted(set(c.params) - set(allowed))
    if unknown:
        raise ValueError(f"model {c.name} has no parameter '{unknown[0]}' (it takes: {', '.join(allowed) or 'none'})")
    return {**allowed, **c.params}


def gin(c: ModelConfig) -> nn.Module:
    aggr = _params(c, aggr="sum")["aggr"]
    if aggr not in GIN_AGGREGATIONS:
        raise ValueError(f"gin: unknown aggregation '{aggr}' (choose from {', '.join(GIN_AGGREGATIONS)})")
    make = {"sum": lambda: "add", "mean": lambda: "mean", "max": lambda: "max", "vpa": VariancePreservingAggregation}[aggr]
    return _conv_encoder(c, lambda h: GINConv(_mlp(h), train_eps=True, aggr=make()), False)


class GPSEncoder(nn.Module):
    """GraphGPS layers (Rampasek et al. 2022, "Recipe for a General, Powerful, Scalable Graph
    Transformer"): each layer adds local message passing (GINE, with edge features) and global
    multi-head attention over all nodes of a graph. PyG's ``GPSConv`` runs without compiled extras.

    Shapes:
        input: a batch with ``x`` [N, in_channels], ``edge_index`` [2, E], ``edge_attr`` [E, edge_dim], ``batch`` [N].
        output: node states [N, hidden].
    """

    def __init__(self, c: ModelConfig, heads: int) -> None:
        super().__init__()
        self.lin_in = nn.Linear(c.in_channels, c.hidden)
        self.edge_in = nn.Linear(c.edge_dim, c.hidden) if c.edge_dim else None
        self.layers = nn.ModuleList(
            GPSConv(c.hidden, GINEConv(_mlp(c.hidden), train_eps=True) if c.edge_dim else GINConv(_mlp(c.hidden), train_eps=True),
                    heads=heads, dropout=c.dropout, norm="layer_norm")
            for _ in range(c.depth)
        )
        self.out_channels = c.hidden

    def forward(self, data: Batch) -> Tensor:
        h = self.lin_in(data.x)
        kwargs = {"edge_attr": self.edge_in(data.edge_attr)} if self.edge_in is not None else {}
        for layer in self.layers:
            h = layer(h, data.edge_index, data.batch, **kwargs)
        return h


def gps(c: ModelConfig) -> nn.Module:
    heads = _params(c, heads=4)["heads"]
    if not isinstance(heads, int) or heads < 1 or c.hidden % heads:
        raise ValueError(f"gps: heads={heads!r} must be a positive integer dividing the hidden size {c.hidden}")
    return GPSEncoder(c, heads)


def gcn(c: ModelConfig) -> nn.Module:
    return _conv_encoder(c, lambda h: GCNConv(h, h), False)


def gat(c: ModelConfig) -> nn.Module:
    heads = 4 if c.hidden % 4 == 0 else 1
    return _conv_encoder(c, lambda h: GATv2Conv(h, h // heads, heads=heads, edge_dim=c.edge_dim), True)


def sage(c: ModelConfig) -> nn.Module:
    return _conv_encoder(c, lambda h: SAGEConv(h, h), False)


def mpnn(c: ModelConfig) -> nn.Module:
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


def make_readout(name: str, hidden: int) -> nn.Module:
    """The graph readout ``name`` (see :data:`gnncli.models.config.READOUTS`)."""
    if name == "mean":
        return MeanAggregation()
    if name == "sum":
        return SumAggregation()
    if name == "max":
        return MaxAggregation()
    if name == "vpa":  # variance-preserving: sum / sqrt(n) (Schneckenreiter et al. 2024, "GNN-VPA")
        return VariancePreservingAggregation()
    if name == "norm":  # Chemprop's default: a sum scaled down by a constant 100
        return ScaledSum(0.01)
    return AttentionalAggregation(gate_nn=nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 1)))


class GraphModel(nn.Module):
    """The default assembly of a registered encoder: ``encoder -> readout -> FFN head``, one vector
    per graph and ``out_channels`` outputs each; with ``config.level == "node"``,
    ``encoder -> FFN head``, one per node. The encoder receives the whole batch (so an
    equivariant encoder can read ``pos``).

    With ``config.parts`` = P > 1, an item is P graphs in one (no edges between them; node
    ``part`` says which): one shared encoder, a readout per part, and the P vectors joined in part
    order. With ``config.graph_features`` = F > 0, the batch's ``features`` [B, F] are standardized
    (``feature_mean``/``feature_std``, buffers set by :meth:`fit_feature_scaling` on the training
    items and saved with the weights) and appended before the head.

    Shapes:
        input: a ``torch_geometric.data.Batch`` with ``x``, ``edge_index``, ``edge_attr``, ``batch``
        (and ``part`` [N], ``features`` [B, F] as above).
        output: :meth:`forward` [B, out_channels]; :meth:`embed` [B, embed_dim] with
        ``embed_dim = P * hidden + F`` ([N, hidden] per node).
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = ENCODERS.get(config.name)(config)
        hidden = config.hidden
        self.readout = None if config.level == "node" else make_readout(config.readout, hidden)
        if config.graph_features:
            self.register_buffer("feature_mean", torch.zeros(config.graph_features))
            self.register_buffer("feature_std", torch.ones(config.graph_features))
        layers: list[nn.Module] = []
        width = self.embed_dim
        for _ in range(config.ffn_layers):
            layers += [nn.Dropout(config.dropout), nn.Linear(width, config.ffn_hidden), nn.ReLU()]
            width = config.ffn_hidden
        layers += [nn.Dropout(config.dropout), nn.Linear(width, config.out_channels)]
        self.head = nn.Sequential(*layers)

    @property
    def cpu_bf16(self) -> bool:
        """Whether training gains from bf16 autocast on a CPU that has it (the encoder says so)."""
        return bool(getattr(self.encoder, "cpu_bf16", False))

    @property
    def embed_dim(self) -> int:
        """Width of :meth:`embed`: what the head reads."""
        if self.readout is None:
            return self.config.hidden
        return self.config.parts * self.config.hidden + self.config.graph_features

    def embed(self, batch: Batch) -> Tensor:
        """The readout vector of each graph (what ``gnn embed`` writes; with parts, theirs joined,
        and with graph features, those standardized after them), or each node's state."""
        h = self.encoder(batch)
        if self.readout is None:
            return h
        parts = self.config.parts
        if parts == 1:
            out = self.readout(h, batch.batch, dim_size=batch.num_graphs)
        else:
            index = batch.batch * parts + batch.part
            out = self.readout(h, index, dim_size=batch.num_graphs * parts).reshape(batch.num_graphs, -1)
        if self.config.graph_features:
            features = (batch.features.to(out.dtype) - self.feature_mean) / self.feature_std
            out = torch.cat([out, features], dim=1)
        return out

    @torch.no_grad()
    def fit_feature_scaling(self, features: Tensor) -> None:
        """Standardize graph features with the mean and standard deviation of ``features`` [N, F]
        (the training items'); a constant feature is only centred."""
        if not self.config.graph_features:
            return
        features = features.double()
        std = features.std(0, unbiased=False) if len(features) > 1 else torch.ones(features.size(1), dtype=features.dtype)
        self.feature_mean.copy_(features.mean(0) if len(features) else torch.zeros_like(std))
        self.feature_std.copy_(torch.where(std > 0, std, torch.ones_like(std)))

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


def build_model(config: ModelConfig) -> nn.Module:
    """The model ``config`` names: its registered builder, or the GraphModel assembly of an encoder."""
    from gnncli.models.config import model_entry

    entry = model_entry(config.name, config.kind)
    if config.name in MODELS and entry is MODELS.entry(config.name):
        return entry.load()(config)
    return GraphModel(config)
