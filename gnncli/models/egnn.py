"""The ``egnn`` encoder: EGNN layers over any batch with node coordinates ``pos``, and VN-EGNN
(``virtual_node=True``): the same with virtual nodes that carry coordinates of their own.

Model-specific hyperparameters (``--model-param NAME=VALUE``): ``virtual_nodes`` (VN-EGNN's count,
default 8), ``coord_range`` (largest coordinate step per edge and layer, default 1.0 Angstrom) and
``distance_scale`` (default 10.0).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from gnncli.errors import InputError
from gnncli.models.config import ModelConfig
from gnncli.nn.egnn import EGNNLayer, VirtualNodeEGNNLayer, fibonacci_sphere, principal_frames


class EGNNEncoder(nn.Module):
    """``x -> Linear -> EGNN layers -> node states``, with the updated coordinates on the side.

    With ``virtual_nodes > 0`` (VN-EGNN), each graph gets that many virtual nodes, placed on a
    Fibonacci sphere of the graph's radius around its centroid, in its principal-axes frame (the
    paper places them in the fixed lab frame, which makes the model not quite rotation-equivariant;
    in the graph's own frame it is rotation-equivariant, though not reflection-equivariant).

    Shapes:
        input: a batch with ``x`` [N, in_channels], ``pos`` [N, 3], ``edge_index`` [2, E],
        ``edge_attr`` [E, edge_dim] (optional) and ``batch`` [N].
        output: node states [N, hidden] (:meth:`forward`); :meth:`encode` also gives the updated
        coordinates [N, 3] and virtual nodes' coordinates [B, K, 3] (None without them).
    """

    def __init__(self, in_channels: int, hidden: int, depth: int, *, edge_dim: int = 0, dropout: float = 0.0,
                 virtual_nodes: int = 0, coord_range: float = 1.0, distance_scale: float = 10.0) -> None:
        super().__init__()
        self.lin_in = nn.Linear(in_channels, hidden)
        self.edge_dim = edge_dim
        self.virtual_nodes = virtual_nodes
        kwargs = {"coord_range": coord_range, "distance_scale": distance_scale}
        if virtual_nodes:
            self.layers = nn.ModuleList(VirtualNodeEGNNLayer(hidden, edge_dim, **kwargs) for _ in range(depth))
            self.virtual_embedding = nn.Parameter(torch.randn(virtual_nodes, hidden) * 0.1)
        else:
            self.layers = nn.ModuleList(EGNNLayer(hidden, edge_dim, **kwargs) for _ in range(depth))
        self.dropout = nn.Dropout(dropout)
        self.out_channels = hidden

    def encode(self, data) -> tuple[Tensor, Tensor, Tensor | None]:
        pos = getattr(data, "pos", None)
        if pos is None:
            raise InputError("egnn needs node coordinates (pos), and this input has none; "
                             "choose another --model, or give structures with 3D coordinates")
        h = self.lin_in(data.x)
        pos = pos.to(h.dtype)
        edge_attr = data.edge_attr if self.edge_dim else None
        batch = data.batch if getattr(data, "batch", None) is not None else torch.zeros(h.size(0), dtype=torch.long, device=h.device)
        if not self.virtual_nodes:
            for layer in self.layers:
                h, pos = layer(self.dropout(h), pos, data.edge_index, edge_attr)
            return h, pos, None
        num_graphs = int(batch.max()) + 1 if batch.numel() else 0
        k = self.virtual_nodes
        centroid, axes, radius = principal_frames(pos.detach(), batch, num_graphs)
        sphere = fibonacci_sphere(k, device=pos.device, dtype=pos.dtype)  # [K, 3] in each graph's frame
        vpos = centroid.unsqueeze(1) + radius.view(-1, 1, 1) * torch.einsum("kj,bji->bki", sphere, axes)
        vpos = vpos.reshape(-1, 3)
        vh = self.virtual_embedding.repeat(num_graphs, 1)
        real = torch.arange(h.size(0), device=h.device).repeat_interleave(k)  # each real node to its graph's k
        virtual = (batch * k).repeat_interleave(k) + torch.arange(k, device=h.device).repeat(h.size(0))
        link = torch.stack([real, virtual])
        for layer in self.layers:
            h, pos, vh, vpos = layer(self.dropout(h), pos, data.edge_index, edge_attr, vh, vpos, link)
        return h, pos, vpos.view(num_graphs, k, 3)

    def forward(self, data) -> Tensor:
        return self.encode(data)[0]


def egnn(c: ModelConfig) -> nn.Module:
    params = dict(c.params)
    unknown = set(params) - {"virtual_nodes", "coord_range", "distance_scale"}
    if unknown:
        raise ValueError(f"--model-param {sorted(unknown)[0]}: not a parameter of egnn "
                         "(choose from virtual_nodes, coord_range, distance_scale)")
    virtual = int(params.get("virtual_nodes", 8)) if c.virtual_node else 0
    return EGNNEncoder(c.in_channels, c.hidden, c.depth, edge_dim=c.edge_dim, dropout=c.dropout, virtual_nodes=virtual,
                       coord_range=float(params.get("coord_range", 1.0)),
                       distance_scale=float(params.get("distance_scale", 10.0)))
