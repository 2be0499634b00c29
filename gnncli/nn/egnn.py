"""E(n)-equivariant graph layers: EGNN (Satorras, Hoogeboom, Welling 2021) and VN-EGNN's virtual
nodes (Sestak et al. 2024, "VN-EGNN: E(3)-equivariant graph neural networks with virtual nodes
enhance protein binding site identification").
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch_geometric.utils import scatter


def _mlp(in_channels: int, hidden: int, out_channels: int, *, last_act: bool = True) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Linear(in_channels, hidden), nn.SiLU(), nn.Linear(hidden, out_channels)]
    if last_act:
        layers.append(nn.SiLU())
    return nn.Sequential(*layers)


class EGNNLayer(nn.Module):
    r"""One E(n)-equivariant graph convolutional layer (EGCL), split as in the paper's equations:

    .. math::
        \mathbf{m}_{ij} &= \phi_e\big(\mathbf{h}_i, \mathbf{h}_j, \|\mathbf{x}_i - \mathbf{x}_j\|^2, \mathbf{a}_{ij}\big)
        &\text{(edge_model)} \\
        \mathbf{x}_i' &= \mathbf{x}_i + \tfrac{1}{|\mathcal{N}(i)|} \sum_{j} \frac{\mathbf{x}_i - \mathbf{x}_j}
            {\|\mathbf{x}_i - \mathbf{x}_j\| + 1}\, \phi_x(\mathbf{m}_{ij})
        &\text{(coord_model)} \\
        \mathbf{h}_i' &= \mathbf{h}_i + \phi_h\big(\mathbf{h}_i, \textstyle\sum_j \mathbf{m}_{ij}\big)
        &\text{(node_model)}

    Messages see coordinates only through distances, so node states are invariant and coordinate
    updates equivariant under rotations, reflections and translations. The coordinate difference
    is normalized and :math:`\phi_x` ends in ``tanh`` scaled by ``coord_range`` (the reference
    implementation's stabilizers); squared distances enter divided by ``distance_scale``\ :sup:`2`.

    Args:
        channels (int): width of node states.
        edge_dim (int): width of edge features (0: none).
        update_coords (bool): whether this layer moves coordinates. (default: True)
        coord_range (float): largest step along one edge, in the coordinates' units. (default: 1.0)
        distance_scale (float): typical distance, in the coordinates' units. (default: 10.0)
        aggr (str): how a node sums its messages, ``"sum"`` (the paper) or ``"mean"`` (for a
            node that hears from a whole graph, as a virtual node does). (default: ``"sum"``)

    Shapes:
        input: ``h`` [N, channels], ``pos`` [N, 3], ``edge_index`` [2, E] (messages flow
        ``edge_index[0] -> edge_index[1]``), ``edge_attr`` [E, edge_dim] or None.
        output: ``h`` [N, channels], ``pos`` [N, 3].
    """

    def __init__(self, channels: int, edge_dim: int = 0, *, update_coords: bool = True, coord_range: float = 1.0,
                 distance_scale: float = 10.0, aggr: str = "sum") -> None:
        super().__init__()
        self.aggr = aggr
        self.channels, self.edge_dim = channels, edge_dim
        self.update_coords = update_coords
        self.coord_range = coord_range
        self.distance_scale = distance_scale
        # phi_e's first layer on [h_i, h_j, d^2, a_ij], split by input so the node parts are
        # computed once per node and gathered, not once per edge (the same function, ~3x cheaper)
        self.edge_in_i = nn.Linear(channels, channels)
        self.edge_in_j = nn.Linear(channels, channels, bias=False)
        self.edge_in_e = nn.Linear(1 + edge_dim, channels, bias=False)
        self.phi_e = nn.Sequential(nn.SiLU(), nn.Linear(channels, channels), nn.SiLU())
        self.phi_h = _mlp(2 * channels, channels, channels, last_act=False)
        self.phi_x = _mlp(channels, channels, 1, last_act=False) if update_coords else None
        self.norm = nn.LayerNorm(channels)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.Linear):
                module.reset_parameters()
        if self.phi_x is not None:  # start near the identity on coordinates
            nn.init.xavier_uniform_(self.phi_x[-1].weight, gain=0.001)
            nn.init.zeros_(self.phi_x[-1].bias)
        self.norm.reset_parameters()

    def coord2radial(self, edge_index: Tensor, pos: Tensor) -> tuple[Tensor, Tensor]:
        """Squared distances [E, 1] (scaled) and normalized differences ``x_i - x_j`` [E, 3] per edge."""
        src, dst = edge_index
        diff = pos[dst] - pos[src]
        sq = (diff * diff).sum(dim=1, keepdim=True)
        unit = diff / (sq.sqrt() + 1.0)
        return sq / self.distance_scale ** 2, unit

    def edge_model(self, h: Tensor, edge_index: Tensor, radial: Tensor, edge_attr: Tensor | None) -> Tensor:
        """Messages ``m_ij = phi_e(h_i, h_j, d_ij^2, a_ij)`` [E, channels] (i = ``edge_index[1]``)."""
        src, dst = edge_index
        edge = torch.cat([radial, edge_attr], dim=1) if edge_attr is not None and self.edge_dim else radial
        return self.phi_e(self.edge_in_i(h)[dst] + self.edge_in_j(h)[src] + self.edge_in_e(edge))

    def coord_model(self, pos: Tensor, edge_index: Tensor, unit: Tensor, m: Tensor) -> Tensor:
        if self.phi_x is None:
            return pos
        step = unit * torch.tanh(self.phi_x(m)) * self.coord_range
        return pos + scatter(step, edge_index[1], dim=0, dim_size=pos.size(0), reduce="mean")

    def node_model(self, h: Tensor, edge_index: Tensor, m: Tensor) -> Tensor:
        agg = scatter(m, edge_index[1], dim=0, dim_size=h.size(0), reduce=self.aggr)
        return h + self.phi_h(torch.cat([self.norm(h), agg], dim=1))

    def forward(self, h: Tensor, pos: Tensor, edge_index: Tensor, edge_attr: Tensor | None = None
                ) -> tuple[Tensor, Tensor]:
        radial, unit = self.coord2radial(edge_index, pos)
        m = self.edge_model(h, edge_index, radial, edge_attr)
        pos = self.coord_model(pos, edge_index, unit, m)
        h = self.node_model(h, edge_index, m)
        return h, pos

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.channels}, edge_dim={self.edge_dim}, update_coords={self.update_coords})"


def fibonacci_sphere(k: int, *, device=None, dtype=None) -> Tensor:
    """``k`` nearly evenly spread unit vectors [k, 3] (a Fibonacci lattice)."""
    i = torch.arange(k, device=device, dtype=dtype or torch.float32) + 0.5
    phi = torch.acos(1 - 2 * i / k)
    theta = math.pi * (1 + 5 ** 0.5) * i
    return torch.stack([torch.cos(theta) * torch.sin(phi), torch.sin(theta) * torch.sin(phi), torch.cos(phi)], dim=1)


def principal_frames(pos: Tensor, batch: Tensor, num_graphs: int) -> tuple[Tensor, Tensor, Tensor]:
    """Per graph: centroid [B, 3], a rotation [B, 3, 3] (rows: principal axes) and the radius
    [B] (root-mean-square distance to the centroid).

    The axes' signs are fixed by the third moment along each axis and the third axis completes a
    right-handed frame, so rotating a graph rotates its frame with it.
    """
    ones = torch.ones_like(pos[:, :1])
    count = scatter(ones, batch, dim=0, dim_size=num_graphs, reduce="sum").clamp(min=1)
    centroid = scatter(pos, batch, dim=0, dim_size=num_graphs, reduce="sum") / count
    c = pos - centroid[batch]
    cov = scatter(c.unsqueeze(2) * c.unsqueeze(1), batch, dim=0, dim_size=num_graphs, reduce="sum") / count.unsqueeze(2)
    eye = torch.eye(3, device=pos.device, dtype=pos.dtype)
    _, vecs = torch.linalg.eigh(cov.double() + 1e-9 * eye.double())
    axes = vecs.flip(-1).transpose(1, 2).to(pos.dtype)  # rows, largest variance first
    proj = torch.einsum("nj,nkj->nk", c, axes[batch])
    skew = scatter(proj ** 3, batch, dim=0, dim_size=num_graphs, reduce="sum")
    sign = torch.where(skew >= 0, 1.0, -1.0).to(pos.dtype)
    axes = axes * sign.unsqueeze(2)
    axes = torch.stack([axes[:, 0], axes[:, 1], torch.linalg.cross(axes[:, 0], axes[:, 1])], dim=1)
    radius = (scatter((c * c).sum(1, keepdim=True), batch, dim=0, dim_size=num_graphs, reduce="sum") / count).sqrt()
    return centroid, axes, radius.squeeze(1)


class VirtualNodeEGNNLayer(nn.Module):
    r"""One VN-EGNN layer: message passing among real nodes, real -> virtual, virtual -> real.

    Every virtual node of a graph is joined to every real node of it, and has coordinates of its
    own that the real -> virtual step moves (the paper's heterogeneous EGNN: three EGCLs with their
    own weights per layer, applied in the order above). A virtual node averages the messages of
    its residues (a sum over a thousand residues would blow its state up).

    Args:
        channels (int): width of node states (real and virtual).
        edge_dim (int): width of real edges' features.

    Shapes:
        input: ``h`` [N, C], ``pos`` [N, 3], ``edge_index`` [2, E], ``edge_attr`` [E, edge_dim], ``vh``
        [V, C], ``vpos`` [V, 3] and ``link`` [2, L] (pairs real node, virtual node).
        output: ``h``, ``pos``, ``vh``, ``vpos``.
    """

    def __init__(self, channels: int, edge_dim: int = 0, **kwargs) -> None:
        super().__init__()
        self.real = EGNNLayer(channels, edge_dim, **kwargs)
        self.to_virtual = EGNNLayer(channels, 0, aggr="mean", **kwargs)  # a virtual node hears every residue
        self.to_real = EGNNLayer(channels, 0, update_coords=False, **{k: v for k, v in kwargs.items() if k != "update_coords"})

    def forward(self, h, pos, edge_index, edge_attr, vh, vpos, link):
        h, pos = self.real(h, pos, edge_index, edge_attr)
        n = h.size(0)
        # one node set of real then virtual nodes; links real i -> virtual n + v and back
        up = torch.stack([link[0], link[1] + n])
        hs, ps = self.to_virtual(torch.cat([h, vh]), torch.cat([pos, vpos]), up)
        vh, vpos = hs[n:], ps[n:]
        hs, _ = self.to_real(torch.cat([h, vh]), torch.cat([pos, vpos]), up.flip(0))
        return hs[:n], pos, vh, vpos
