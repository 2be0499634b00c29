"""The virtual node (Gilmer et al. 2017; Hu et al. 2020, "Open Graph Benchmark")."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch_geometric.utils import scatter


class VirtualNode(nn.Module):
    r"""A node joined to every node of its graph, updated between message-passing layers.

    .. math::
        \mathbf{v}^{(l+1)} = \mathrm{MLP}\Big(\mathbf{v}^{(l)} + \sum_{i \in G} \mathbf{h}_i^{(l)}\Big),
        \qquad \mathbf{h}_i \leftarrow \mathbf{h}_i + \mathbf{v}^{(l+1)}_{G(i)}

    Args:
        channels (int): width of the node states.
        num_updates (int): how many times it is updated (layers - 1).

    Shapes:
        input: node states [N, channels], ``batch`` [N], ``state`` [B, channels].
        output: new node states [N, channels] and new ``state`` [B, channels].
    """

    def __init__(self, channels: int, num_updates: int) -> None:
        super().__init__()
        self.channels = channels
        self.mlps = nn.ModuleList(
            nn.Sequential(nn.Linear(channels, channels), nn.ReLU(), nn.Linear(channels, channels), nn.ReLU())
            for _ in range(num_updates)
        )

    def initial(self, num_graphs: int, like: Tensor) -> Tensor:
        return like.new_zeros(num_graphs, self.channels)

    def forward(self, step: int, h: Tensor, batch: Tensor, state: Tensor) -> tuple[Tensor, Tensor]:
        pooled = scatter(h, batch, dim=0, dim_size=state.size(0), reduce="sum")
        state = self.mlps[step](state + pooled)
        return h + torch.index_select(state, 0, batch), state

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.channels}, updates={len(self.mlps)})"
