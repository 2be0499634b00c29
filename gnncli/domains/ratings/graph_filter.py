"""Polynomial graph filters: the convolution of graph signal processing.

Gama, Marques, Leus and Ribeiro, "Convolutional neural network architectures for signals supported
on graphs", IEEE TSP 2019; Ruiz, Gama and Ribeiro, "Graph neural networks: architectures, stability
and transferability", Proc. IEEE 2021. A filter bank with ``K`` taps maps ``F_in`` features per
node to ``F_out``:

    Y = sum_{k=0}^{K-1} S^k X H_k  (+ b),    H_k in R^{F_in x F_out},

where S is a shift operator (any matrix that respects the graph: an adjacency, a Laplacian, a
normalized similarity). The taps H_k do not depend on the graph, so a trained filter runs on
another graph of any size (transference), and relabelling the nodes relabels the output
(permutation equivariance).

Signals are batched node-major, ``[N, B, F]``, so that one sparse product ``S @ X.view(N, B * F)``
shifts every signal of the batch at once against the one shared S.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


def shifts(S: Tensor, X: Tensor, K: int) -> list[Tensor]:
    """``[X, S X, ..., S^{K-1} X]`` for signals ``X`` [N, B, F] and a sparse (or dense) ``S`` [N, N]."""
    n = X.size(0)
    out = [X]
    flat = X.reshape(n, -1)
    for _ in range(1, K):
        flat = torch.sparse.mm(S, flat) if S.is_sparse else S @ flat
        out.append(flat.view_as(X))
    return out


def shift_rows(St: Tensor, nodes: Tensor, n: int, K: int) -> list[Tensor]:
    """Row ``nodes[b]`` of ``S^k`` for each k < K, as [B, N] each (given ``St`` = S transposed):
    ``e_i^T S^k = ((S^T)^k e_i)^T``. What a filter's output at one node per signal needs."""
    onehot = torch.zeros(n, nodes.numel(), device=nodes.device, dtype=torch.float32)
    onehot[nodes, torch.arange(nodes.numel(), device=nodes.device)] = 1.0
    rows = [onehot]
    flat = onehot
    for _ in range(1, K):
        flat = torch.sparse.mm(St, flat) if St.is_sparse else St @ flat
        rows.append(flat)
    return [r.t() for r in rows]


class GraphFilter(nn.Module):
    r"""A bank of polynomial graph filters, :math:`Y = \sum_k S^k X H_k + b`.

    Args:
        in_channels (int): features per node in.
        out_channels (int): features per node out.
        taps (int): K, the number of filter taps (powers 0 .. K-1 of S). Default 5.
        bias (bool): add a learned bias per output feature. Default True.

    Shapes:
        forward: ``S`` [N, N] (sparse), ``X`` [N, B, F_in] -> [N, B, F_out].
        combine: shifted signals ``Z`` [K, ..., F_in] -> [..., F_out].
        at: rows of ``S^k`` at one node per signal (``shift_rows``, K x [B, N]) and ``X``
        [N, B, F_in] -> the output at those nodes, [B, F_out].
    """

    def __init__(self, in_channels: int, out_channels: int, taps: int = 5, bias: bool = True) -> None:
        super().__init__()
        if taps < 1:
            raise ValueError(f"a graph filter needs at least one tap, got {taps}")
        self.in_channels, self.out_channels, self.taps = in_channels, out_channels, taps
        self.weight = nn.Parameter(torch.empty(taps, in_channels, out_channels))
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.in_channels * self.taps)
        nn.init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def forward(self, S: Tensor, X: Tensor) -> Tensor:
        return self.combine(shifts(S, X, self.taps))

    def combine(self, Z) -> Tensor:
        """The output from signals already shifted: ``Z[k]`` = S^k X, any leading shape, [..., F_in]
        each (a list, or a tensor with the taps first)."""
        out = sum(Z[k] @ self.weight[k] for k in range(self.taps))
        return out + self.bias if self.bias is not None else out

    def at(self, rows: list[Tensor], X: Tensor) -> Tensor:
        return self.combine([torch.einsum("bn,nbf->bf", rows[k], X) for k in range(self.taps)])

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels}, taps={self.taps})"
