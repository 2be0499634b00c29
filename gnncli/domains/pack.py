"""Many graphs packed into flat tensors, with fast batching.

Building one ``torch_geometric.data.Data`` per molecule and collating with PyG's ``Batch``
costs more than the model itself when predicting on millions of rows. A :class:`GraphPack`
keeps every graph's nodes and edges in a few contiguous tensors, and :meth:`GraphPack.batch`
slices out a ``torch_geometric.data.Batch`` directly. :meth:`GraphPack.get` still gives a plain
``Data`` per graph for code that wants one.

Attributes are held by name at three levels, and batching slices each by its level, so a new
kind of attribute (per-residue labels, coordinates, channel gains, dual variables) needs no
change here:

* ``node``: one row per node (``x``, ``pos``, node targets ``y``/``y_mask`` of a node task, ...);
* ``edge``: one row per edge (``edge_attr``, edge types, distances, ...);
* ``graph``: one row per graph (``y``/``y_mask`` of a graph task, descriptors, ...).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Batch, Data

LEVELS = ("node", "edge", "graph")


@dataclass
class GraphPack:
    """Graphs stored as concatenated tensors.

    Shapes: ``edge_index`` [2, total_edges] (node indices local to each graph), ``node_ptr``
    [G + 1], ``edge_ptr`` [G + 1]; every ``node[k]`` [total_nodes, ...], ``edge[k]``
    [total_edges, ...] and ``graph[k]`` [G, ...].

    The usual PyG names are properties: ``x``, ``edge_attr`` and ``pos`` are node/edge
    attributes; ``y`` and ``y_mask`` are the targets at whichever level holds them.
    """

    edge_index: Tensor
    node_ptr: Tensor
    edge_ptr: Tensor
    node: dict[str, Tensor] = field(default_factory=dict)
    edge: dict[str, Tensor] = field(default_factory=dict)
    graph: dict[str, Tensor] = field(default_factory=dict)

    def __post_init__(self) -> None:
        sizes = {"node": int(self.node_ptr[-1]), "edge": int(self.edge_ptr[-1]), "graph": len(self)}
        for level in LEVELS:
            for name, value in getattr(self, level).items():
                if value.shape[0] != sizes[level]:
                    raise ValueError(f"{level} attribute '{name}' has {value.shape[0]} rows for {sizes[level]} {level}s")

    def __len__(self) -> int:
        return self.node_ptr.numel() - 1

    # -- PyG vocabulary -------------------------------------------------------------------------
    @property
    def x(self) -> Tensor | None:
        return self.node.get("x")

    @property
    def edge_attr(self) -> Tensor | None:
        return self.edge.get("edge_attr")

    @property
    def pos(self) -> Tensor | None:
        return self.node.get("pos")

    @pos.setter
    def pos(self, value: Tensor | None) -> None:
        self._set("node", "pos", value)

    @property
    def y(self) -> Tensor | None:
        return self.graph.get("y", self.node.get("y"))

    @property
    def y_mask(self) -> Tensor | None:
        return self.graph.get("y_mask", self.node.get("y_mask"))

    @property
    def target_level(self) -> str | None:
        """``"graph"`` or ``"node"``: where the targets ``y`` are, or None without targets."""
        return "graph" if "y" in self.graph else "node" if "y" in self.node else None

    def _set(self, level: str, name: str, value: Tensor | None) -> None:
        attrs = getattr(self, level)
        if value is None:
            attrs.pop(name, None)
        else:
            setattr(self, level, {**attrs, name: value})
            self.__post_init__()

    @property
    def num_nodes(self) -> Tensor:
        """Nodes per graph [G]."""
        return self.node_ptr.diff()

    @property
    def num_edges(self) -> Tensor:
        """Edges per graph [G]."""
        return self.edge_ptr.diff()

    # -- building -------------------------------------------------------------------------------
    @classmethod
    def from_arrays(
        cls, x: np.ndarray, edge_index: np.ndarray, edge_attr: np.ndarray | None,
        num_nodes: np.ndarray, num_edges: np.ndarray, pos: np.ndarray | None = None,
    ) -> GraphPack:
        """A pack from numpy arrays of concatenated graphs (``edge_index`` local to each graph)."""
        node_ptr = np.zeros(len(num_nodes) + 1, np.int64)
        np.cumsum(num_nodes, out=node_ptr[1:])
        edge_ptr = np.zeros(len(num_edges) + 1, np.int64)
        np.cumsum(num_edges, out=edge_ptr[1:])
        node = {"x": torch.from_numpy(np.ascontiguousarray(x, np.float32))}
        if pos is not None:
            node["pos"] = torch.from_numpy(np.ascontiguousarray(pos, np.float32))
        edge = {} if edge_attr is None else {"edge_attr": torch.from_numpy(np.ascontiguousarray(edge_attr, np.float32))}
        return cls(torch.from_numpy(np.ascontiguousarray(edge_index, np.int64)), torch.from_numpy(node_ptr),
                   torch.from_numpy(edge_ptr), node, edge)

    @classmethod
    def from_data_list(cls, graphs: Sequence[Data], *, graph_keys: Sequence[str] = ()) -> GraphPack:
        """A pack from PyG ``Data`` objects. Node and edge attributes are recognised by their first
        dimension; ``graph_keys`` name the per-graph ones (each ``[1, ...]`` or ``[...]`` per graph)."""
        node_counts = [int(g.num_nodes) for g in graphs]
        edge_counts = [int(g.edge_index.size(1)) for g in graphs]
        levels: dict[str, dict[str, list]] = {"node": {}, "edge": {}, "graph": {}}
        first = graphs[0] if graphs else Data()
        for key in first.keys():
            if key in ("edge_index", "num_nodes"):
                continue
            level = "graph" if key in graph_keys else "edge" if first.is_edge_attr(key) else "node"
            levels[level][key] = []
        for g in graphs:
            for level, attrs in levels.items():
                for key, parts in attrs.items():
                    value = g[key]
                    parts.append(value.reshape(1, *value.shape[1:]) if level == "graph" and value.dim() else value)
        node_ptr = torch.zeros(len(graphs) + 1, dtype=torch.long)
        node_ptr[1:] = torch.as_tensor(node_counts, dtype=torch.long).cumsum(0)
        edge_ptr = torch.zeros(len(graphs) + 1, dtype=torch.long)
        edge_ptr[1:] = torch.as_tensor(edge_counts, dtype=torch.long).cumsum(0)
        edge_index = torch.cat([g.edge_index for g in graphs], dim=1) if graphs else torch.zeros(2, 0, dtype=torch.long)
        joined = {level: {k: torch.cat(v) for k, v in attrs.items()} for level, attrs in levels.items()}
        return cls(edge_index, node_ptr, edge_ptr, joined["node"], joined["edge"], joined["graph"])

    @classmethod
    def concat(cls, packs: Sequence[GraphPack]) -> GraphPack:
        """Join packs end to end; an attribute is kept only if every pack has it."""
        packs = [p for p in packs if len(p)] or list(packs[:1])
        node_counts = torch.cat([p.num_nodes for p in packs])
        edge_counts = torch.cat([p.num_edges for p in packs])
        joined = {}
        for level in LEVELS:
            common = set.intersection(*(set(getattr(p, level)) for p in packs))
            joined[level] = {k: torch.cat([getattr(p, level)[k] for p in packs]) for k in getattr(packs[0], level) if k in common}
        return cls(
            torch.cat([p.edge_index for p in packs], dim=1),
            torch.cat([node_counts.new_zeros(1), node_counts.cumsum(0)]),
            torch.cat([edge_counts.new_zeros(1), edge_counts.cumsum(0)]),
            joined["node"], joined["edge"], joined["graph"],
        )

    def with_attrs(self, *, node: Mapping[str, Tensor] | None = None, edge: Mapping[str, Tensor] | None = None,
                   graph: Mapping[str, Tensor] | None = None) -> GraphPack:
        """A pack sharing this one's graphs, with attributes added (or replaced) by name."""
        return GraphPack(self.edge_index, self.node_ptr, self.edge_ptr, {**self.node, **(node or {})},
                         {**self.edge, **(edge or {})}, {**self.graph, **(graph or {})})

    def with_targets(self, y: Tensor, y_mask: Tensor, *, level: str = "graph") -> GraphPack:
        """A pack with targets ``y`` and ``y_mask`` ([G, T] per graph, or [total_nodes, T] per node)."""
        if level not in ("graph", "node"):
            raise ValueError(f"targets are per graph or per node, not per {level}")
        return self.with_attrs(**{level: {"y": y, "y_mask": y_mask}})

    # -- reading --------------------------------------------------------------------------------
    def get(self, i: int) -> Data:
        """Graph ``i`` as a plain ``Data``."""
        n0, n1 = int(self.node_ptr[i]), int(self.node_ptr[i + 1])
        e0, e1 = int(self.edge_ptr[i]), int(self.edge_ptr[i + 1])
        data = Data(edge_index=self.edge_index[:, e0:e1], num_nodes=n1 - n0)
        for key, value in self.node.items():
            data[key] = value[n0:n1]
        for key, value in self.edge.items():
            data[key] = value[e0:e1]
        for key, value in self.graph.items():
            data[key] = value[i : i + 1]
        return data

    def _slices(self, index: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        n_start, n_count = self.node_ptr[index], self.node_ptr[index + 1] - self.node_ptr[index]
        e_start, e_count = self.edge_ptr[index], self.edge_ptr[index + 1] - self.edge_ptr[index]
        return _ranges(n_start, n_count), _ranges(e_start, e_count), n_count, e_count

    def batch(self, index: Tensor | Sequence[int]) -> Batch:
        """The graphs at ``index`` as one ``Batch`` (node indices offset, ``batch`` vector set)."""
        index = torch.as_tensor(index, dtype=torch.long)
        node_idx, edge_idx, n_count, e_count = self._slices(index)
        graphs = torch.arange(index.numel())
        new_start = torch.zeros(index.numel() + 1, dtype=torch.long)
        torch.cumsum(n_count, 0, out=new_start[1:])
        edge_index = self.edge_index[:, edge_idx] + new_start[torch.repeat_interleave(graphs, e_count)]
        out = Batch(edge_index=edge_index, batch=torch.repeat_interleave(graphs, n_count), ptr=new_start)
        for key, value in self.node.items():
            out[key] = value[node_idx]
        for key, value in self.edge.items():
            out[key] = value[edge_idx]
        for key, value in self.graph.items():
            out[key] = value[index]
        if "x" not in self.node:
            out.num_nodes = int(new_start[-1])
        out._num_graphs = index.numel()
        return out

    def subset(self, index: Tensor | Sequence[int]) -> GraphPack:
        """A new pack holding the graphs at ``index``, in that order."""
        index = torch.as_tensor(index, dtype=torch.long)
        node_idx, edge_idx, n_count, e_count = self._slices(index)
        node_ptr = torch.zeros(index.numel() + 1, dtype=torch.long)
        torch.cumsum(n_count, 0, out=node_ptr[1:])
        edge_ptr = torch.zeros(index.numel() + 1, dtype=torch.long)
        torch.cumsum(e_count, 0, out=edge_ptr[1:])
        return GraphPack(
            self.edge_index[:, edge_idx], node_ptr, edge_ptr,
            {k: v[node_idx] for k, v in self.node.items()}, {k: v[edge_idx] for k, v in self.edge.items()},
            {k: v[index] for k, v in self.graph.items()},
        )

    def tensors(self) -> dict[str, Tensor]:
        """Every tensor by a flat name (``node.x``, ...), for saving with ``torch.save``."""
        out = {"edge_index": self.edge_index, "node_ptr": self.node_ptr, "edge_ptr": self.edge_ptr}
        for level in LEVELS:
            out.update({f"{level}.{k}": v for k, v in getattr(self, level).items()})
        return out

    @classmethod
    def from_tensors(cls, saved: Mapping[str, Tensor]) -> GraphPack:
        """The inverse of :meth:`tensors`."""
        levels: dict[str, dict[str, Tensor]] = {level: {} for level in LEVELS}
        for key, value in saved.items():
            level, _, name = key.partition(".")
            if level in levels and name:
                levels[level][name] = value
        return cls(saved["edge_index"], saved["node_ptr"], saved["edge_ptr"], levels["node"], levels["edge"], levels["graph"])


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
