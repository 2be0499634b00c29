"""Directed message passing (D-MPNN), the encoder of Chemprop (Yang et al. 2019)."""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gnncli.nn.virtual_node import VirtualNode


class DMPNNEncoder(nn.Module):
    r"""Bond-centred message passing from "Analyzing Learned Molecular Representations for
    Property Prediction" (Yang et al., J. Chem. Inf. Model. 2019).

    Hidden states live on directed edges :math:`v \to w`:

    .. math::
        \mathbf{h}^{0}_{vw} &= \tau\big(\mathbf{W}_i [\mathbf{x}_v \,\|\, \mathbf{e}_{vw}]\big) \\
        \mathbf{m}^{t+1}_{vw} &= \sum_{k \in \mathcal{N}(v) \setminus w} \mathbf{h}^{t}_{kv} \\
        \mathbf{h}^{t+1}_{vw} &= \tau\big(\mathbf{h}^{0}_{vw} + \mathbf{W}_m \mathbf{m}^{t+1}_{vw}\big) \\
        \mathbf{h}_{v} &= \tau\Big(\mathbf{W}_a \big[\mathbf{x}_v \,\|\, \textstyle\sum_{k \in \mathcal{N}(v)} \mathbf{h}^{T}_{kv}\big]\Big)

    The reverse of edge ``e`` must be edge ``e ^ 1`` (as :class:`~gnncli.featurizers.MoleculeFeaturizer`
    lays them out, and as batching keeps them).

    Args:
        in_channels (int): atom feature width.
        edge_dim (int): bond feature width.
        hidden_channels (int): width of the edge and atom states (default ``300``).
        depth (int): message-passing steps :math:`T` (default ``3``).
        dropout (float): dropout on the edge states (default ``0.0``).
        virtual_node (bool): add a virtual node updated from the atoms between steps.

    Under CPU autocast (bf16), the products' row counts are padded to a multiple of 128
    (:func:`_linear`): ``gnn train``'s mixed precision on CPUs with native bf16
    (:func:`~gnncli.train.loop.resolve_precision`) relies on it, hence ``cpu_bf16``.

    Shapes:
        input: a batch with ``x`` [N, in_channels], ``edge_index`` [2, E], ``edge_attr`` [E, edge_dim], ``batch`` [N].
        output: atom states [N, hidden_channels].
    """

    #: Train in mixed precision on CPUs with native bf16 (see the README's ESOL comparison).
    cpu_bf16 = True

    def __init__(
        self, in_channels: int, edge_dim: int, hidden_channels: int = 300, depth: int = 3,
        dropout: float = 0.0, virtual_node: bool = False,
    ) -> None:
        super().__init__()
        if depth < 1:
            raise ValueError("depth must be at least 1")
        self.depth = depth
        self.W_i = nn.Linear(in_channels + edge_dim, hidden_channels, bias=False)
        self.W_m = nn.Linear(hidden_channels, hidden_channels, bias=False)
        self.W_a = nn.Linear(in_channels + hidden_channels, hidden_channels)
        self.dropout = nn.Dropout(dropout)
        self.act = nn.ReLU()
        self.virtual_node = VirtualNode(hidden_channels, depth - 1) if virtual_node and depth > 1 else None
        self.out_channels = hidden_channels

    def reset_parameters(self) -> None:
        for layer in (self.W_i, self.W_m, self.W_a):
            layer.reset_parameters()

    def forward(self, data) -> Tensor:
        x, edge_index, edge_attr, batch = data.x, data.edge_index, data.edge_attr, data.batch
        src, dst = edge_index
        num_nodes = x.size(0)
        rev = torch.arange(edge_index.size(1), device=x.device) ^ 1
        # W_i [x_v || e_vw] computed as (W_x x)[src] + W_e e: the atom half once per atom, not per edge.
        # index_select rather than x[idx]: its backward is index_add_, much faster on CPU than the
        # index_put_(accumulate=True) that advanced indexing needs.
        w_x, w_e = self.W_i.weight[:, : x.size(1)], self.W_i.weight[:, x.size(1) :]
        h0 = torch.index_select(_linear(x, w_x), 0, src) + _linear(edge_attr, w_e)
        h = torch.relu(h0)
        w_m = self.W_m.weight.t()
        vn_state = None
        if self.virtual_node is not None:
            vn_state = self.virtual_node.initial(int(batch.max()) + 1 if batch.numel() else 0, h)
        for step in range(self.depth - 1):
            incoming = h.new_zeros(num_nodes, h.size(1)).index_add_(0, dst, h)
            if vn_state is not None:
                incoming, vn_state = self.virtual_node(step, incoming, batch, vn_state)
            # In-place ops only on fresh tensors whose backward does not need them.
            message = torch.index_select(incoming, 0, src).sub_(torch.index_select(h, 0, rev))
            h = self._drop(_addmm(h0, message, w_m).relu_())  # relu(h0 + W_m m)
        incoming = h.new_zeros(num_nodes, h.size(1)).index_add_(0, dst, h)
        return self._drop(self.act(_linear(torch.cat([x, incoming], dim=1), self.W_a.weight, self.W_a.bias)))

    def padded(self, multiple: int = 8) -> DMPNNEncoder:
        """A copy with the edge states widened to a multiple of ``multiple`` by zero weights.

        It computes the same atom states (the extra columns stay exactly zero: ``relu(0) = 0``)
        but its square ``W_m`` product is much faster: on an AVX2 AMD EPYC, MKL's SGEMM runs
        ``[3500, 300] @ [300, 300]`` at 49 GFLOP/s and the 304-wide one at 76
        (``python benchmarks/gemm_width.py``).
        Meant for inference; the output width (``out_channels``) is unchanged.
        """
        hidden = self.W_m.in_features
        wide = -(-hidden // multiple) * multiple
        if wide == hidden:
            return self
        out = copy.deepcopy(self)
        out.W_i = _zero_padded(self.W_i, self.W_i.in_features, wide)
        out.W_m = _zero_padded(self.W_m, wide, wide)
        out.W_a = _zero_padded(self.W_a, self.W_a.in_features - hidden + wide, self.W_a.out_features)
        if self.virtual_node is not None:
            out.virtual_node.channels = wide
            for mlp in out.virtual_node.mlps:
                for i, layer in enumerate(mlp):
                    if isinstance(layer, nn.Linear):
                        mlp[i] = _zero_padded(layer, wide, wide)
        return out

    def _drop(self, h: Tensor) -> Tensor:
        return self.dropout(h) if self.dropout.p > 0 else h

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(depth={self.depth}, hidden={self.out_channels})"


def _zero_padded(layer: nn.Linear, in_features: int, out_features: int) -> nn.Linear:
    """``layer`` with zero input columns and output rows appended (and zero bias for new rows)."""
    weight = layer.weight
    new = nn.Linear(in_features, out_features, bias=layer.bias is not None, device=weight.device, dtype=weight.dtype)
    with torch.no_grad():
        new.weight.zero_()
        new.weight[: layer.out_features, : layer.in_features] = weight
        if layer.bias is not None:
            new.bias.zero_()
            new.bias[: layer.out_features] = layer.bias
    return new.train(layer.training)



#: Row counts of the products are padded to a multiple of this under CPU autocast. oneDNN, which
#: runs CPU bf16 products, builds (JIT-compiles) a kernel per matrix shape and caches it; every
#: batch has its own number of atoms and bonds, so unpadded shapes miss that cache nearly every
#: time. A training step's three 300-wide products at random row counts (1,200-2,400) took 2.9 ms
#: in bf16 unpadded, 1.3 ms padded, and 4.8 ms in float32, on an AVX512-BF16 EPYC with 2 threads
#: (``python benchmarks/gemm_width.py --rows 2400 --widths 300 --threads 2 --dtype fp32 bf16
#: --vary-rows``). Padding wastes at most 127 zero rows.
_ROWS = 128


def _rows_to_pad(n: int) -> int:
    """Zero rows that bring ``n`` to a multiple of ``_ROWS`` under CPU autocast; 0 otherwise."""
    return (-n) % _ROWS if torch.is_autocast_enabled("cpu") else 0


def _linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``F.linear``, with ``x``'s rows padded to a multiple of ``_ROWS`` under CPU autocast."""
    pad = _rows_to_pad(x.size(0))
    if not pad:
        return F.linear(x, weight, bias)
    return F.linear(F.pad(x, (0, 0, 0, pad)), weight, bias)[: x.size(0)]


def _addmm(c: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """``torch.addmm(c, a, b)``, with rows padded as in :func:`_linear`."""
    pad = _rows_to_pad(a.size(0))
    if not pad:
        return torch.addmm(c, a, b)
    return torch.addmm(F.pad(c, (0, 0, 0, pad)), F.pad(a, (0, 0, 0, pad)), b)[: a.size(0)]
