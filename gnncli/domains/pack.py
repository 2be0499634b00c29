"""Many graphs packed into flat tensors, with fast batching.

Building one ``torch_geometric.data.Data`` per molecule and collating with PyG's ``Batch``
costs more than the model itself when predicting on millions of rows. A :class:`GraphPack`
keeps every graph's nodes and edges in a few contiguous tensors, and :meth:`GraphPack.batch`
slices out a ``torch_geometric.data.Batch`` directly. :meth:`GraphPack.get` still gives a plain
``Data`` per graph for code that wants one.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Batch, Data


@dataclass
class GraphPack:
    """Graphs stored as concatenated tensors.

    Shapes: ``x`` [total_nodes, F], ``edge_index`` [2, total_edges] (local to each graph),
    ``edge_attr`` [total_edges, F_e], ``node_ptr`` [G + 1], ``edge_ptr`` [G + 1],
    ``y`` [G, T] or None, ``y_mask`` [G, T] (bool) or None, ``pos`` [total_nodes, 3] (node
    coordinates, for 3D inputs and equivariant models) or None.
    """

    x: Tensor
    edge_index: Tensor
    edge_attr: Tensor
    node_ptr: Tensor
    edge_ptr: Tensor
    y: Tensor | None = None
    y_mask: Tensor | None = None
    pos: Tensor | None = None

    def __len__(self) -> int:
        return self.node_ptr.numel() - 1

    @classmethod
    def from_arrays(
        cls, x: np.ndarray, edge_index: np.ndarray, edge_attr: np.ndarray,
        num_nodes: np.ndarray, num_edges: np.ndarray, pos: np.ndarray | None = None,
    ) -> GraphPack:
        node_ptr = np.zeros(len(num_nodes) + 1, np.int64)
        np.cumsum(num_nodes, out=node_ptr[1:])
        edge_ptr = np.zeros(len(num_edges) + 1, np.int64)
        np.cumsum(num_edges, out=edge_ptr[1:])
        return cls(
            torch.from_numpy(np.ascontiguousarray(x, np.float32)),
            torch.from_numpy(np.ascontiguousarray(edge_index, np.int64)),
            torch.from_numpy(np.ascontiguousarray(edge_attr, np.float32)),
            torch.from_numpy(node_ptr), torch.from_numpy(edge_ptr),
            pos=None if pos is None else torch.from_numpy(np.ascontiguousarray(pos, np.float32)),
        )

    @classmethod
    def concat(cls, packs: Sequence[GraphPack]) -> GraphPack:
        """Join packs end to end (targets are dropped unless every pack has them)."""
        packs = [p for p in packs if len(p)] or list(packs[:1])
        node_counts = torch.cat([p.node_ptr.diff() for p in packs])
        edge_counts = torch.cat([p.edge_ptr.diff() for p in packs])
        out = cls(
            torch.cat([p.x for p in packs]),
            torch.cat([p.edge_index for p in packs], dim=1),
            torch.cat([p.edge_attr for p in packs]),
            torch.cat([node_counts.new_zeros(1), node_counts.cumsum(0)]),
            torch.cat([edge_counts.new_zeros(1), edge_counts.cumsum(0)]),
        )
        if all(p.y is not None for p in packs):
            out.y = torch.cat([p.y for p in packs])
            out.y_mask = torch.cat([p.y_mask for p in packs])
        if all(p.pos is not None for p in packs):
            out.pos = torch.cat([p.pos for p in packs])
        return out

    def with_targets(self, y: Tensor, y_mask: Tensor) -> GraphPack:
        """A pack sharing this one's graphs, with targets ``y`` [G, T] and ``y_mask`` [G, T]."""
        if y.shape[0] != len(self):
            raise ValueError(f"{y.shape[0]} target rows for {len(self)} graphs")
        return GraphPack(self.x, self.edge_index, self.edge_attr, self.node_ptr, self.edge_ptr, y, y_mask, self.pos)

    def get(self, i: int) -> Data:
        """Graph ``i`` as a plain ``Data``."""
        n0, n1 = int(self.node_ptr[i]), int(self.node_ptr[i + 1])
        e0, e1 = int(self.edge_ptr[i]), int(self.edge_ptr[i + 1])
        data = Data(x=self.x[n0:n1], edge_index=self.edge_index[:, e0:e1], edge_attr=self.edge_attr[e0:e1])
        if self.y is not None:
            data.y, data.y_mask = self.y[i : i + 1], self.y_mask[i : i + 1]
        if self.pos is not None:
            data.pos = self.pos[n0:n1]
        return data

    def batch(self, index: Tensor | Sequence[int]) -> Batch:
        """The graphs at ``index`` as one ``Batch`` (node indices offset, ``batch`` vector set)."""
        index = torch.as_tensor(index, dtype=torch.long)
        n_start, n_count = self.node_ptr[index], self.node_ptr[index + 1] - self.node_ptr[index]
        e_start, e_count = self.edge_ptr[index], self.edge_ptr[index + 1] - self.edge_ptr[index]
        node_idx = _ranges(n_start, n_count)
        edge_idx = _ranges(e_start, e_count)
        graph_of_node = torch.repeat_interleave(torch.arange(index.numel()), n_count)
        new_start = torch.zeros(index.numel() + 1, dtype=torch.long)
        torch.cumsum(n_count, 0, out=new_start[1:])
        graph_of_edge = torch.repeat_interleave(torch.arange(index.numel()), e_count)
        edge_index = self.edge_index[:, edge_idx] + new_start[graph_of_edge]
        out = Batch(
            x=self.x[node_idx], edge_index=edge_index, edge_attr=self.edge_attr[edge_idx],
            batch=graph_of_node, ptr=new_start,
        )
        out._num_graphs = index.numel()
        if self.y is not None:
            out.y, out.y_mask = self.y[index], self.y_mask[index]
        if self.pos is not None:
            out.pos = self.pos[node_idx]
        return out

    def subset(self, index: Tensor | Sequence[int]) -> GraphPack:
        """A new pack holding the graphs at ``index``, in that order."""
        b = self.batch(index)
        counts = b.ptr.diff()
        e_counts = self.edge_ptr[torch.as_tensor(index, dtype=torch.long) + 1] - self.edge_ptr[
            torch.as_tensor(index, dtype=torch.long)]
        local = b.edge_index - b.ptr[:-1].repeat_interleave(e_counts)
        e_ptr = torch.zeros(len(counts) + 1, dtype=torch.long)
        torch.cumsum(e_counts, 0, out=e_ptr[1:])
        return GraphPack(b.x, local, b.edge_attr, b.ptr, e_ptr, getattr(b, "y", None), getattr(b, "y_mask", None),
                         getattr(b, "pos", None))


def _ranges(starts: Tensor, counts: Tensor) -> Tensor:
    """Concatenate ``arange(s, s + c)`` for each start ``s`` and count ``c``, without a Python loop."""
    total = int(counts.sum())
    if total == 0:
        return torch.zeros(0, dtype=torch.long)
    offsets = torch.repeat_interleave(starts - torch.cumsum(counts, 0) + counts, counts)
    return torch.arange(total) + offsets


class PackLoader:
    """Iterate over a :class:`GraphPack` in batches, optionally shuffled with a seeded generator."""

    def __init__(
        self, pack: GraphPack, *, batch_size: int = 64, shuffle: bool = False,
        generator: torch.Generator | None = None, indices: Tensor | None = None,
    ) -> None:
        self.pack = pack
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = generator
        self.indices = torch.arange(len(pack)) if indices is None else torch.as_tensor(indices, dtype=torch.long)

    def __len__(self) -> int:
        return (self.indices.numel() + self.batch_size - 1) // self.batch_size

    def __iter__(self) -> Iterator[Batch]:
        order = self.indices
        if self.shuffle:
            order = order[torch.randperm(order.numel(), generator=self.generator)]
        for start in range(0, order.numel(), self.batch_size):
            yield self.pack.batch(order[start : start + self.batch_size])
