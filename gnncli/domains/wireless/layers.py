"""Layers over dense weighted interference graphs: one ``[m, m]`` matrix per graph, batched.

An interference network of m transmitter-receiver pairs is a complete directed graph whose edge
``j -> i`` weighs how strongly transmitter j is heard at receiver i (the diagonal: each pair's direct
link). Every pair interacts with every other, so these layers work on the dense adjacency with
batched matrix products (``G`` graphs at once) rather than on an edge list: at m = 50 that is 2,500
edges per graph, and a ``bmm`` over them is several times faster than scattering messages.

Both layers are permutation equivariant (relabelling the pairs permutes the outputs) and have no
parameter tied to m, so a policy trained on one size of network runs on another.
"""

from __future__ import annotations

from torch import Tensor, nn


class DenseLEConv(nn.Module):
    """LEConv, the local extremum convolution of ASAP (Ranjan, Sanyal and Talukdar, AAAI 2020; PyG's
    ``LEConv``), on a dense weighted graph and in both edge directions:

    .. math::
        x'_i = \\Theta_0 x_i + \\sum_j a_{ji} (\\Theta_1 x_i - \\Theta_2 x_j) + \\sum_j a_{ij} (\\Theta_3 x_i - \\Theta_4 x_j)

    The first sum runs over what receiver i hears (interference it suffers), the second over where
    transmitter i is heard (interference it causes); ``directions=1`` keeps only the first, which is
    PyG's ``LEConv`` with edge weights ``a``.

    Args:
        in_channels (int): input features per node.
        out_channels (int): output features per node.
        directions (int): 1 (received) or 2 (received and caused). Default 2.

    Shapes:
        x: ``[G, m, in_channels]``; adjacency: ``[G, m, m]`` with ``adjacency[g, j, i] = a_ji``.
        output: ``[G, m, out_channels]``.
    """

    def __init__(self, in_channels: int, out_channels: int, *, directions: int = 2) -> None:
        super().__init__()
        if directions not in (1, 2):
            raise ValueError(f"directions must be 1 or 2, got {directions}")
        self.in_channels, self.out_channels, self.directions = in_channels, out_channels, directions
        self.lin = nn.Linear(in_channels, (1 + 2 * directions) * out_channels)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.lin.reset_parameters()

    def forward(self, x: Tensor, adjacency: Tensor) -> Tensor:
        parts = self.lin(x).split(self.out_channels, dim=-1)
        out = parts[0]
        received = adjacency.transpose(-1, -2)  # row i: the weights a_ji of everything i hears
        out = out + received.sum(-1, keepdim=True) * parts[1] - received @ parts[2]
        if self.directions == 2:
            out = out + adjacency.sum(-1, keepdim=True) * parts[3] - adjacency @ parts[4]
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, directions={self.directions})"


class DenseGraphFilter(nn.Module):
    """A graph filter bank with K taps (Gama, Marques, Leus and Ribeiro, IEEE TSP 2019; TAGConv of
    Du et al. 2017 is the same with a normalized shift):

    .. math::
        X' = \\sum_{k=0}^{K} S^k X H_k, \\qquad S_{ij} = a_{ji},

    so ``(S X)_i = sum_j a_ji x_j`` gathers what receiver i hears; ``S^k`` reaches k hops.

    Args:
        in_channels (int), out_channels (int): features per node in and out.
        taps (int): K, the highest power of the shift operator. Default 3.

    Shapes:
        x: ``[G, m, in_channels]``; adjacency: ``[G, m, m]``; output: ``[G, m, out_channels]``.
    """

    def __init__(self, in_channels: int, out_channels: int, *, taps: int = 3) -> None:
        super().__init__()
        if taps < 0:
            raise ValueError(f"taps must be >= 0, got {taps}")
        self.in_channels, self.out_channels, self.taps = in_channels, out_channels, taps
        self.lins = nn.ModuleList(nn.Linear(in_channels, out_channels, bias=k == 0) for k in range(taps + 1))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for lin in self.lins:
            lin.reset_parameters()

    def forward(self, x: Tensor, adjacency: Tensor) -> Tensor:
        shift = adjacency.transpose(-1, -2)
        out = self.lins[0](x)
        z = x
        for lin in self.lins[1:]:
            z = shift @ z
            out = out + lin(z)
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, taps={self.taps})"


class PowerPolicy(nn.Module):
    """A power-allocation policy: a stack of dense graph layers over the interference graph, node
    features in (the dual variables, for a state-augmented policy), one score per pair out (the
    wireless domain turns scores into powers: ``sigmoid``, scaled so the loudest pair is at P_max).

    Args:
        layer (str): ``leconv`` (:class:`DenseLEConv`) or ``filter`` (:class:`DenseGraphFilter`).
        in_channels (int): node features (1: the dual variable, or a constant).
        hidden (int): features per node between layers.
        depth (int): graph layers.
        taps (int): K of each filter (``filter`` only).
        directions (int): edge directions of each LEConv (``leconv`` only).

    Shapes:
        input: a batch with ``node_features`` ``[G, m, in_channels]`` and ``adjacency`` ``[G, m, m]``.
        output: :meth:`forward` ``[G * m, 1]`` scores; :meth:`embed` ``[G * m, hidden]``.
    """

    #: ``gnn predict --precision auto`` runs a bfloat16 copy of the policy where the device multiplies
    #: bf16 natively: its products and elementwise steps are all of its time, and the powers it
    #: decides reach the same rates (README, "Wireless power allocation").
    bf16_inference = True

    def __init__(self, *, layer: str = "leconv", in_channels: int = 1, hidden: int = 64, depth: int = 3,
                 taps: int = 3, directions: int = 2) -> None:
        super().__init__()
        if depth < 1:
            raise ValueError(f"depth must be at least 1, got {depth}")
        widths = [in_channels] + [hidden] * depth
        if layer == "leconv":
            self.convs = nn.ModuleList(DenseLEConv(a, b, directions=directions) for a, b in zip(widths, widths[1:]))
        elif layer == "filter":
            self.convs = nn.ModuleList(DenseGraphFilter(a, b, taps=taps) for a, b in zip(widths, widths[1:]))
        else:
            raise ValueError(f"unknown layer '{layer}' (choose from leconv, filter)")
        self.head = nn.Linear(hidden, 1)

    def node_states(self, x: Tensor, adjacency: Tensor) -> Tensor:
        """``[G, m, hidden]`` states from ``x`` ``[G, m, F]`` and ``adjacency`` ``[G, m, m]``."""
        for conv in self.convs:
            x = nn.functional.leaky_relu(conv(x, adjacency))
        return x

    def embed(self, batch) -> Tensor:
        h = self.node_states(batch.node_features, batch.adjacency)
        return h.reshape(-1, h.size(-1))

    def forward(self, batch) -> Tensor:
        return self.head(self.embed(batch))

