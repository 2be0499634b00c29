"""Node-level models for one large graph, and layer-wise inference over all of its nodes.

Every model is ``pre -> layers -> post``: ``pre`` and ``post`` act on each node alone, and each
of ``layers`` is one round of message passing (or, for ``mlp`` and ``sgc``, a per-node layer that
ignores the edges). That shape is what lets :func:`layerwise` compute each layer once for every
node, in chunks of nodes with their in-neighbours, instead of sampling every node's
neighbourhood again (GraphSAGE's inference, Hamilton et al. 2017, appendix).

A model's forward takes a batch (:mod:`gnncli.domains.graph.data`) and returns one output row
per seed node; ``embed`` returns the representation that its last layer maps to the outputs.

Models (PyG layers; the papers' Cora recipes are the registrations' defaults in
:mod:`gnncli.domains.graph`):

* ``gcn`` (Kipf & Welling 2017), ``sage`` (Hamilton et al. 2017, mean aggregation),
  ``gat`` (Veličković et al. 2018, 8 heads), ``gin`` (Xu et al. 2019): ``depth`` message-passing
  layers, the last of which outputs the classes;
* ``sgc`` (Wu et al. 2019): one linear layer on ``Â^K X``, propagated once by the dataset;
* ``appnp`` (Klicpera et al. 2019): an MLP whose hidden layer is propagated ``depth`` steps of
  personalized PageRank (teleport ``alpha``) before the output layer. The paper propagates the
  logits; propagation is linear, so propagating the hidden layer gives the same function up to
  the output bias, and a vector per node for ``gnn embed``;
* ``gcnii`` (Chen et al. 2020): ``depth`` GCN layers with initial residual ``alpha`` and identity
  mapping ``theta``;
* ``mlp``: features only, the baseline that shows what the graph adds.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.nn import GATConv, GCN2Conv, GCNConv, GINConv, SAGEConv

from gnncli.errors import UsageError
from gnncli.models.config import ModelConfig

#: --model-param names each model takes, with their defaults.
PARAMS = {
    "gcn": {}, "sage": {}, "gin": {}, "mlp": {}, "sgc": {},
    "gat": {"heads": 8},
    "appnp": {"alpha": 0.1},
    "gcnii": {"alpha": 0.1, "theta": 0.5, "dense_decay": 0.05},
}


def _params(config: ModelConfig) -> dict:
    allowed = PARAMS[config.name]
    for key in config.params:
        if key not in allowed:
            raise UsageError(f"--model-param {key}: not a parameter of {config.name} "
                             f"({'choose from ' + ', '.join(allowed) if allowed else 'it takes none'})")
    return {**allowed, **config.params}


def gcn_graph(edge_index: Tensor, num_nodes: int, edge_weight: Tensor | None = None, deg: Tensor | None = None
              ) -> tuple[Tensor, Tensor]:
    """The edges of ``Â = D^-1/2 (A + I) D^-1/2`` with their weights: ``edge_index`` plus a self
    loop per node. ``deg`` [num_nodes] is each node's weighted in-degree plus one in the whole
    graph (given for whole-graph batches and layer-wise chunks, whose source nodes lack some of
    their edges); without it, the degrees are those of the batch (a sampled subgraph)."""
    src, dst = edge_index
    w = torch.ones(src.numel(), device=src.device) if edge_weight is None else edge_weight.float()
    if deg is None:
        deg = torch.ones(num_nodes, device=src.device).index_add_(0, dst, w)
    inv = deg.float().clamp(min=1e-12).rsqrt()
    loops = torch.arange(num_nodes, device=src.device)
    ei = torch.cat([edge_index, torch.stack([loops, loops])], 1)
    return ei, torch.cat([w * inv[src] * inv[dst], inv * inv])


def spmm(edge_index: Tensor, weight: Tensor, h: Tensor) -> Tensor:
    """``sum_j w_ji h_j`` for every node ``i`` (a weighted sum over in-edges)."""
    src, dst = edge_index
    return torch.zeros_like(h).index_add_(0, dst, h[src] * weight.unsqueeze(1).to(h.dtype))


class NodeModel(nn.Module):
    """``pre -> layers -> post`` over the nodes of a batch; subclasses build the parts.

    Attributes:
        normalized: whether the layers read ``Â`` (:func:`gcn_graph`) rather than the raw edges.
        uses_edges: False for models whose layers ignore the graph (``mlp``, ``sgc``).
        embed_at: the embedding is the state after this many layers.
        propagation: ``sgc``'s K, the steps its input features are propagated before the model.
    """

    normalized = False
    uses_edges = True
    #: whether a layer reads ``h0``, the states after ``pre`` (APPNP's and GCNII's initial
    #: residual); layer-wise inference keeps them for every node only then.
    uses_h0 = True
    propagation = 0

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.dropout = float(config.dropout or 0.0)
        self.layers = nn.ModuleList()
        self.embed_at = 0

    @property
    def num_layers(self) -> int:
        return len(self.layers)

    # -- the parts -----------------------------------------------------------------------------
    def pre(self, x: Tensor) -> Tensor:
        return x

    def layer(self, i: int, h: Tensor, h0: Tensor, edge_index: Tensor, edge_weight: Tensor | None, *,
              keep: int | None = None) -> Tensor:
        """Layer ``i`` on states ``h`` (``h0``: the states after ``pre``); with ``keep``, only the
        first ``keep`` rows of the output are read (the edges all point into them)."""
        raise NotImplementedError

    def post(self, h: Tensor) -> Tensor:
        return h

    def graph(self, edge_index: Tensor, num_nodes: int, edge_weight: Tensor | None, deg: Tensor | None):
        """The edges (and weights) the layers read."""
        if self.normalized:
            return gcn_graph(edge_index, num_nodes, edge_weight, deg)
        return edge_index, edge_weight

    # -- a batch -------------------------------------------------------------------------------
    def states(self, batch, upto: int | None = None) -> Tensor:
        """The state of every node of ``batch`` after ``upto`` layers (all of them if None).

        A neighbour-sampled batch says how many nodes it holds after each hop (``hops``: seeds
        first, then each hop's new nodes). Layer ``i`` of ``L`` is then computed only for the nodes
        within ``L - 1 - i`` hops of the seeds, over the edges into them, as PyG's
        ``trim_to_layer``: the outer hops feed the first layer and need no state of their own.
        Its outputs for the seeds are the same; layers whose convolution reads a pair of source
        and target states (GraphSAGE, GAT, GIN) also skip the work for the others.
        """
        x = batch.x
        ei, ew = self.graph(batch.edge_index, x.size(0), getattr(batch, "edge_weight", None), getattr(batch, "deg", None))
        h0 = h = self.pre(x)
        hops = getattr(batch, "hops", None)
        total = self.num_layers if upto is None else upto
        for i in range(total):
            j = self.num_layers - 1 - i
            keep = int(hops[j]) if hops is not None and j < len(hops) else None
            if keep is None or keep >= h.size(0):
                h = self.layer(i, h, h0, ei, ew)
                continue
            inside = ei[1] < keep
            ei = ei[:, inside]
            ew = ew[inside] if ew is not None else None
            h = self.layer(i, h, h0, ei, ew, keep=keep)[:keep]
            h0 = h0[:keep]
        return h

    def forward(self, batch) -> Tensor:
        """Outputs for the seed nodes of ``batch``, :obj:`[B, out_channels]`."""
        return self.post(self.states(batch)[batch.seed])

    def embed(self, batch) -> Tensor:
        """The seed nodes' representations before the model's last layer, :obj:`[B, H]`."""
        return self.states(batch, self.embed_at)[batch.seed]

    def param_groups(self, weight_decay: float) -> list[dict]:
        """Weight decay on every parameter (models that regularize parts apart override this)."""
        return [{"params": list(self.parameters()), "weight_decay": weight_decay}]


class _Stacked(NodeModel):
    """``depth`` message-passing layers, the last of which outputs the classes: dropout before
    each, an activation after each but the last (GCN, GraphSAGE, GAT, GIN as their papers)."""

    activation = staticmethod(F.relu)
    uses_h0 = False

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        depth = int(config.depth or 2)
        if depth < 1:
            raise UsageError(f"--depth {depth}: {config.name} needs at least one layer")
        widths = [config.in_channels] + [self.width()] * (depth - 1)
        for i in range(depth):
            last = i == depth - 1
            self.layers.append(self.make_layer(widths[i], config.out_channels if last else int(config.hidden), last))
        self.embed_at = depth - 1

    def width(self) -> int:
        """The width of a hidden state (after a layer's heads are joined)."""
        return int(self.config.hidden)

    def make_layer(self, in_channels: int, out_channels: int, last: bool) -> nn.Module:
        raise NotImplementedError

    #: whether the convolution takes (source states, target states), so a trimmed layer computes
    #: the targets only (SAGEConv, GATConv, GINConv); GCNConv transforms every node first.
    bipartite = False

    def layer(self, i, h, h0, edge_index, edge_weight, *, keep=None):
        h = F.dropout(h, self.dropout, self.training)
        if keep is not None and self.bipartite:
            h = self.call(self.layers[i], (h, h[:keep]), edge_index, edge_weight)
        else:
            h = self.call(self.layers[i], h, edge_index, edge_weight)
        return h if i == self.num_layers - 1 else self.activation(h)

    def call(self, conv, h, edge_index, edge_weight):
        return conv(h, edge_index)

    def embed(self, batch) -> Tensor:
        if self.embed_at == 0:  # one layer: the input features
            return batch.x[batch.seed]
        return super().embed(batch)


class GCN(_Stacked):
    """Kipf & Welling (2017): ``H' = Â H W``; weight decay on the first layer only, as the paper."""

    normalized = True

    def make_layer(self, in_channels, out_channels, last):
        return GCNConv(in_channels, out_channels, normalize=False, add_self_loops=False)

    def call(self, conv, h, edge_index, edge_weight):
        return conv(h, edge_index, edge_weight)

    def param_groups(self, weight_decay):
        first = list(self.layers[0].parameters())
        rest = [p for layer in list(self.layers)[1:] for p in layer.parameters()]
        return [{"params": first, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}]


class SAGE(_Stacked):
    """GraphSAGE with mean aggregation (Hamilton et al. 2017): ``h' = W1 h + W2 mean_j h_j``."""

    bipartite = True

    def make_layer(self, in_channels, out_channels, last):
        return SAGEConv(in_channels, out_channels, aggr="mean")


class GAT(_Stacked):
    """Graph attention (Veličković et al. 2018): ``heads`` attention heads joined in hidden
    layers, one averaged head... as the paper's Cora model (8 x 8 hidden, 1 output head), ELU."""

    bipartite = True

    activation = staticmethod(F.elu)

    def __init__(self, config):
        self.heads = int(_params(config)["heads"])
        super().__init__(config)

    def width(self):
        return int(self.config.hidden) * self.heads

    def make_layer(self, in_channels, out_channels, last):
        if last:
            return GATConv(in_channels, out_channels, heads=1, concat=False, dropout=self.config.dropout or 0.0)
        return GATConv(in_channels, out_channels, heads=self.heads, dropout=self.config.dropout or 0.0)


class GIN(_Stacked):
    """Graph isomorphism network layers (Xu et al. 2019): ``h' = MLP((1 + eps) h + sum_j h_j)``."""

    bipartite = True

    def make_layer(self, in_channels, out_channels, last):
        hidden = int(self.config.hidden)
        return GINConv(nn.Sequential(nn.Linear(in_channels, hidden), nn.ReLU(), nn.Linear(hidden, out_channels)),
                       train_eps=True)


class MLP(_Stacked):
    """Per-node layers on the features alone (no message passing)."""

    uses_edges = False

    def make_layer(self, in_channels, out_channels, last):
        return nn.Linear(in_channels, out_channels)

    def call(self, conv, h, edge_index, edge_weight):
        return conv(h)


class SGC(NodeModel):
    """Simplified graph convolution (Wu et al. 2019): ``softmax(Â^K X W)``. The dataset propagates
    the features ``K = depth`` times once, before training; the model is the linear layer."""

    uses_edges = False

    def __init__(self, config):
        super().__init__(config)
        _params(config)
        self.propagation = int(config.depth if config.depth is not None else 2)
        self.layers.append(nn.Linear(config.in_channels, config.out_channels))
        self.embed_at = 0

    def layer(self, i, h, h0, edge_index, edge_weight, *, keep=None):
        return self.layers[i](F.dropout(h, self.dropout, self.training))


class APPNP(NodeModel):
    """Predict, then propagate (Klicpera et al. 2019): ``Z = Π_ppr (relu(X W1)) W2`` with ``depth``
    power-iteration steps ``H <- (1 - alpha) Â H + alpha H0``; weight decay on ``W1`` only."""

    normalized = True

    def __init__(self, config):
        super().__init__(config)
        self.alpha = float(_params(config)["alpha"])
        hidden = int(config.hidden)
        self.lin1 = nn.Linear(config.in_channels, hidden)
        self.lin2 = nn.Linear(hidden, config.out_channels)
        self.steps = int(config.depth if config.depth is not None else 10)
        self.layers.extend(nn.Identity() for _ in range(self.steps))
        self.embed_at = self.steps

    def pre(self, x):
        return F.relu(self.lin1(F.dropout(x, self.dropout, self.training)))

    def layer(self, i, h, h0, edge_index, edge_weight, *, keep=None):
        return (1 - self.alpha) * spmm(edge_index, edge_weight, h) + self.alpha * h0

    def post(self, h):
        return self.lin2(F.dropout(h, self.dropout, self.training))

    def param_groups(self, weight_decay):
        return [{"params": list(self.lin1.parameters()), "weight_decay": weight_decay},
                {"params": list(self.lin2.parameters()), "weight_decay": 0.0}]


class GCNII(NodeModel):
    """GCNII (Chen et al. 2020): ``H' = relu(((1 - alpha) Â H + alpha H0)((1 - b) I + b W))`` with
    ``b = log(theta / l + 1)`` at layer ``l``; weight decay ``weight_decay`` on the convolutions
    and ``dense_decay x weight_decay`` on the input and output layers (the paper's 0.01 and 5e-4)."""

    normalized = True

    def __init__(self, config):
        super().__init__(config)
        p = _params(config)
        self.dense_decay = float(p["dense_decay"])
        hidden = int(config.hidden)
        self.lin_in = nn.Linear(config.in_channels, hidden)
        self.lin_out = nn.Linear(hidden, config.out_channels)
        depth = int(config.depth if config.depth is not None else 16)
        self.layers.extend(GCN2Conv(hidden, alpha=float(p["alpha"]), theta=float(p["theta"]), layer=i + 1,
                                    normalize=False) for i in range(depth))
        self.embed_at = depth

    def pre(self, x):
        return F.relu(self.lin_in(F.dropout(x, self.dropout, self.training)))

    def layer(self, i, h, h0, edge_index, edge_weight, *, keep=None):
        h = F.dropout(h, self.dropout, self.training)
        return F.relu(self.layers[i](h, h0, edge_index, edge_weight))

    def post(self, h):
        return self.lin_out(F.dropout(h, self.dropout, self.training))

    def param_groups(self, weight_decay):
        dense = list(self.lin_in.parameters()) + list(self.lin_out.parameters())
        return [{"params": list(self.layers.parameters()), "weight_decay": weight_decay},
                {"params": dense, "weight_decay": weight_decay * self.dense_decay}]


def _builder(cls):
    def build(config: ModelConfig) -> NodeModel:
        _params(config)
        return cls(config)

    build.__doc__ = f"Build :class:`{cls.__name__}` from ``config``."
    return build


gcn, sage, gat, gin, mlp, sgc, appnp, gcnii = map(_builder, (GCN, SAGE, GAT, GIN, MLP, SGC, APPNP, GCNII))


# ------------------------------------------------------------------------------ layer-wise inference


def _chunk_size(graph, target_edges: int) -> int:
    avg = max(1.0, graph.num_edges / max(1, graph.num_nodes))
    return max(256, int(target_edges / avg))


@torch.no_grad()
def layerwise(model: NodeModel, graph, *, device: torch.device | str = "cpu", embed: bool = False,
              target_edges: int = 1 << 20, progress=None) -> Tensor:
    """Outputs (or, with ``embed``, embeddings) of every node of ``graph``, computed one layer at
    a time for all nodes: each layer reads the previous layer's states of a chunk of target nodes
    and their in-neighbours, so no neighbourhood is sampled and every node's state is computed
    once per layer. Chunks hold about ``target_edges`` edges; states stay on the CPU between
    layers and each chunk runs on ``device``. Equals the model on the whole graph at once.

    Returns:
        :obj:`[N, out_channels]` (or :obj:`[N, H]`), float32 on the CPU.
    """
    from gnncli.domains.graph.sampling import _ranges

    model.eval()
    device = torch.device(device)
    n = graph.num_nodes
    chunk = _chunk_size(graph, target_edges)
    upto = model.embed_at if embed else model.num_layers
    if embed and model.embed_at == 0 and isinstance(model, _Stacked):
        return graph.features()

    def per_node(fn):
        out = None
        for a in range(0, n, chunk):
            part = fn(torch.arange(a, min(n, a + chunk)))
            if out is None:
                out = torch.empty((n, *part.shape[1:]), dtype=torch.float32)
            out[a:a + part.size(0)] = part  # a copy: a slice kept in a list would keep its whole chunk alive
        return out if out is not None else torch.zeros(0)

    h = per_node(lambda idx: model.pre(graph.features(idx).to(device)))
    h0 = h if model.uses_h0 else None

    def states(rows):
        """``h`` and ``h0`` of ``rows`` on ``device`` (``h`` twice for a model that ignores ``h0``)."""
        hr = h[rows].to(device)
        return hr, (h0[rows].to(device) if h0 is not None else hr)

    deg = graph.degree()
    steps = (progress or (lambda total: None))
    for i in range(upto):
        if not model.uses_edges:
            h = per_node(lambda idx: model.layer(i, *states(idx), None, None))
            continue
        nxt = None
        for a in range(0, n, chunk):
            targets = torch.arange(a, min(n, a + chunk))
            start = graph.rowptr[targets]
            count = graph.rowptr[targets + 1] - start
            pos = _ranges(start, count)
            src = graph.col[pos]
            outside = torch.unique(src[(src < a) | (src >= a + targets.numel())])
            nodes = torch.cat([targets, outside])
            local = torch.empty(0, dtype=torch.long)
            if src.numel():
                inside = (src >= a) & (src < a + targets.numel())
                local = torch.where(inside, src - a, targets.numel() + torch.searchsorted(outside, src))
            dst = torch.repeat_interleave(torch.arange(targets.numel()), count)
            ei = torch.stack([local, dst]).to(device)
            ew = graph.weight[pos].to(device) if graph.weight is not None else None
            g_ei, g_ew = model.graph(ei, nodes.numel(), ew, deg[nodes].to(device))
            # the chunk's targets come first in ``nodes`` and every edge ends in one: a layer whose
            # convolution reads (source, target) states computes the targets only (``keep``)
            out = model.layer(i, *states(nodes), g_ei, g_ew, keep=targets.numel())
            out = out[:targets.numel()]
            if nxt is None:
                nxt = torch.empty((n, out.size(1)), dtype=torch.float32)
            nxt[a:a + targets.numel()] = out
            del out
        h = nxt if nxt is not None else h
        steps(1)
    if embed:
        return h
    return per_node(lambda idx: model.post(h[idx].to(device)))
