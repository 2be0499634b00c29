"""One graph in CSR form, and its batches for training and evaluation.

A :class:`NodeGraph` holds the whole graph: node ids, node features ``x`` (a tensor, or a
memory-mapped ``.npy`` array read a batch at a time), and the edges as CSR over *incoming* edges
(``rowptr``, ``col``: the sources of the edges into node ``i`` are ``col[rowptr[i]:rowptr[i+1]]``);
an undirected graph stores every edge both ways.

Every batch is a :class:`torch_geometric.data.Data` with

* ``x`` [S, F] and ``edge_index`` [2, E] (row 0 source, row 1 target, local numbering), and
  ``edge_weight`` [E] for a weighted graph;
* ``seed`` [B]: the local positions of the nodes the batch predicts (its items), whose targets
  ``y`` [B, T] and ``y_mask`` [B, T] it carries; a model returns one output row per seed;
* ``deg`` [S] where the batch is (a chunk of) the whole graph: each node's weighted in-degree in
  the whole graph plus one (its self loop), so that GCN's normalization is the whole graph's.
"""

from __future__ import annotations

import warnings

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Data

from gnncli.domains.base import Dataset
from gnncli.domains.graph import sampling


@dataclass
class NodeGraph:
    """One graph with node features, in CSR form over incoming edges.

    Attributes:
        ids: node ids as text, :obj:`[N]`.
        x: node features :obj:`[N, F]`, float32: a tensor, or a (memory-mapped) numpy array.
        rowptr: :obj:`[N + 1]`; col: :obj:`[E]` (sources); weight: :obj:`[E]` or None.
        directed: whether edges were read as directed (else each is stored both ways).
        y: targets :obj:`[N, T]` (class indices for classification), y_mask: :obj:`[N, T]`.
    """

    ids: np.ndarray
    x: Any
    rowptr: Tensor
    col: Tensor
    weight: Tensor | None = None
    directed: bool = False
    y: Tensor | None = None
    y_mask: Tensor | None = None
    norm: str = "none"
    scale: tuple | None = None
    _deg: Tensor | None = field(default=None, repr=False)
    _mapping: Tensor | None = field(default=None, repr=False)

    @property
    def num_nodes(self) -> int:
        return self.rowptr.numel() - 1

    @property
    def num_edges(self) -> int:
        return self.col.numel()

    @property
    def num_features(self) -> int:
        return int(self.x.shape[1])

    def __len__(self) -> int:
        return self.num_nodes

    @classmethod
    def from_edges(cls, ids: np.ndarray, x: Any, src: np.ndarray, dst: np.ndarray, weight: np.ndarray | None = None,
                   *, directed: bool = False) -> NodeGraph:
        """The graph of the edges ``src -> dst`` (both ways unless ``directed``), without self
        loops and with repeated edges merged (their weights summed)."""
        import scipy.sparse as sp

        n = len(ids)
        src, dst = np.asarray(src, np.int64), np.asarray(dst, np.int64)
        w = np.ones(len(src), np.float32) if weight is None else np.asarray(weight, np.float32)
        if not directed:
            src, dst, w = np.concatenate([src, dst]), np.concatenate([dst, src]), np.concatenate([w, w])
        loop = src == dst
        if loop.any():
            src, dst, w = src[~loop], dst[~loop], w[~loop]
        a = sp.csr_matrix((w, (dst, src)), shape=(n, n))  # row = target: CSR over incoming edges
        a.sum_duplicates()
        a.sort_indices()
        rowptr = torch.from_numpy(a.indptr.astype(np.int64))
        col = torch.from_numpy(a.indices.astype(np.int64))
        if weight is None:
            weights = None
        elif not directed:  # an undirected edge read twice counts once
            weights = torch.from_numpy(np.asarray(a.data, np.float32))
        else:
            weights = torch.from_numpy(np.asarray(a.data, np.float32))
        return cls(np.asarray(ids), x, rowptr, col, weights, directed)

    def edge_index(self) -> Tensor:
        """Every edge, :obj:`[2, E]` (source, target)."""
        dst = torch.repeat_interleave(torch.arange(self.num_nodes), self.rowptr.diff())
        return torch.stack([self.col, dst])

    def degree(self) -> Tensor:
        """Each node's weighted in-degree plus one (its self loop), :obj:`[N]`."""
        if self._deg is None:
            if self.weight is None:
                self._deg = self.rowptr.diff().to(torch.float32) + 1
            else:
                dst = torch.repeat_interleave(torch.arange(self.num_nodes), self.rowptr.diff())
                self._deg = torch.zeros(self.num_nodes).index_add_(0, dst, self.weight) + 1
        return self._deg

    def features(self, nodes: Tensor | None = None) -> Tensor:
        """The features of ``nodes`` (every node if None) as a float32 tensor, normalized as
        :meth:`normalized` says; from a memory-mapped array only those rows are read."""
        if isinstance(self.x, Tensor):
            x = self.x if nodes is None else self.x[nodes]
        elif nodes is None:
            with warnings.catch_warnings():  # a read-only memory map, read and never written: no copy
                warnings.filterwarnings("ignore", "The given NumPy array is not writable")
                x = torch.from_numpy(np.ascontiguousarray(self.x, dtype=np.float32))
        else:
            idx = nodes.numpy()
            order = np.argsort(idx, kind="stable")  # sorted reads are sequential on disk
            rows = np.asarray(self.x[idx[order]], dtype=np.float32)
            out = np.empty_like(rows)
            out[order] = rows
            x = torch.from_numpy(out)
        if self.norm == "row":
            return x / x.abs().sum(1, keepdim=True).clamp(min=1e-12)
        if self.norm == "standard":
            mean, std = self.scale
            return (x - mean) / std
        return x

    def normalized(self, norm: str) -> NodeGraph:
        """The graph with its features normalized on the fly: ``row`` (each node's features sum to
        one: bag-of-words counts, as GCN, GAT, SGC, APPNP and GCNII read Cora), ``standard`` (each
        feature to mean 0 and variance 1 over all nodes), ``none``, or ``auto``: ``row`` for
        non-negative features, ``standard`` otherwise. Scans a memory-mapped matrix in chunks."""
        if norm == "auto":
            low = min((float(self._rows(a).min()) for a in range(0, self.num_nodes, 1 << 16)), default=0.0)
            norm = "row" if low >= 0 else "standard"
        scale = None
        if norm == "standard":
            total = torch.zeros(self.num_features, dtype=torch.float64)
            square = torch.zeros(self.num_features, dtype=torch.float64)
            for a in range(0, self.num_nodes, 1 << 16):
                rows = torch.tensor(self._rows(a), dtype=torch.float64)  # a copy: a memory-mapped slice is read-only
                total += rows.sum(0)
                square += rows.square().sum(0)
            mean = total / self.num_nodes
            std = (square / self.num_nodes - mean.square()).clamp(min=0).sqrt()
            scale = (mean.float(), torch.where(std > 1e-8, std, torch.ones_like(std)).float())
        g = self.with_features(self.x)
        g.norm, g.scale = norm, scale
        if isinstance(self.x, Tensor):  # in memory: normalize once
            g = g.with_features(g.features())
        g.y, g.y_mask = self.y, self.y_mask
        return g

    def _rows(self, start: int) -> np.ndarray:
        rows = self.x[start:start + (1 << 16)]
        return rows.numpy() if isinstance(rows, Tensor) else np.asarray(rows, dtype=np.float32)

    def mapping(self) -> Tensor:
        """A work array of -1s, one per node, for the samplers."""
        if self._mapping is None:
            self._mapping = torch.full((self.num_nodes,), -1, dtype=torch.long)
        return self._mapping

    def with_features(self, x: Any) -> NodeGraph:
        """The same graph with other node features (SGC's propagated ones)."""
        return NodeGraph(self.ids, x, self.rowptr, self.col, self.weight, self.directed, self.y, self.y_mask,
                         "none", None, self._deg, self._mapping)

    def with_edges(self, src: np.ndarray, dst: np.ndarray) -> NodeGraph:
        """The same nodes with only the edges ``src -> dst`` (both ways unless directed): link
        prediction's message graph of training edges."""
        g = NodeGraph.from_edges(self.ids, self.x, src, dst, directed=self.directed)
        g.y, g.y_mask, g.norm, g.scale = self.y, self.y_mask, self.norm, self.scale
        return g


def propagate(graph: NodeGraph, x: Tensor, steps: int, *, chunk: int = 1 << 20) -> Tensor:
    """``Â^steps x`` for the symmetrically normalized adjacency with self loops
    ``Â = D^-1/2 (A + I) D^-1/2`` (SGC's features), by scipy's sparse products."""
    import scipy.sparse as sp

    n = graph.num_nodes
    deg = graph.degree().numpy().astype(np.float32)
    inv = 1.0 / np.sqrt(deg)
    data = graph.weight.numpy() if graph.weight is not None else np.ones(graph.num_edges, np.float32)
    a = sp.csr_matrix((data.astype(np.float32), graph.col.numpy(), graph.rowptr.numpy()), shape=(n, n))
    a = sp.diags(inv) @ a @ sp.diags(inv)
    self_w = (inv * inv).astype(np.float32)[:, None]
    h = np.ascontiguousarray(x.numpy() if isinstance(x, Tensor) else x, dtype=np.float32)
    for _ in range(steps):
        h = (a @ h).astype(np.float32) + self_w * h
    return torch.from_numpy(np.ascontiguousarray(h))


def node_batch(graph: NodeGraph, nodes: Tensor, edge_index: Tensor, seed: Tensor, *, whole: bool = False,
               edge_weight: Tensor | None = None) -> Data:
    """A batch of the nodes ``nodes`` (global ids) with local ``edge_index`` predicting the local
    positions ``seed``; ``whole`` when it is (a chunk of) the whole graph, so degrees are global."""
    batch = Data(x=graph.features(nodes), edge_index=edge_index, seed=seed, num_nodes=nodes.numel())
    batch.num_items = int(seed.numel())
    if edge_weight is not None:
        batch.edge_weight = edge_weight
    if whole:
        batch.deg = graph.degree()[nodes]
    if graph.y is not None:
        g = nodes[seed]
        batch.y, batch.y_mask = graph.y[g], graph.y_mask[g]
    return batch


class FullBatches:
    """The whole graph as one batch per step, predicting the nodes ``items``."""

    def __init__(self, graph: NodeGraph, items: np.ndarray, *, chunk: int | None = None, edges: bool = True) -> None:
        self.graph, self.items, self.chunk = graph, torch.as_tensor(np.asarray(items, np.int64)), chunk
        self.edges = edges  # False for a model that reads no edge: the batch then carries none

    def __len__(self) -> int:
        return 1

    def __iter__(self):
        g = self.graph
        nodes = torch.arange(g.num_nodes)
        if not self.edges:  # the items' own features are all such a model reads
            yield node_batch(g, self.items, torch.zeros((2, 0), dtype=torch.long), torch.arange(self.items.numel()))
            return
        yield node_batch(g, nodes, g.edge_index(), self.items, whole=True,
                         edge_weight=g.weight)


class NeighborBatches:
    """Seed nodes in batches, each with its sampled ``fanouts``-hop neighbourhood."""

    def __init__(self, graph: NodeGraph, items: np.ndarray, fanouts, *, batch_size: int, shuffle: bool,
                 generator: torch.Generator | None = None) -> None:
        self.graph, self.fanouts, self.batch_size = graph, tuple(fanouts), batch_size
        self.items = torch.as_tensor(np.asarray(items, np.int64))
        self.shuffle, self.generator = shuffle, generator

    def __len__(self) -> int:
        return max(1, -(-self.items.numel() // self.batch_size))

    def __iter__(self):
        items = self.items
        if self.shuffle:
            items = items[torch.randperm(items.numel(), generator=self.generator)]
        if sampling.have_pyg_sampler():
            yield from self._pyg(items)
            return
        g = self.graph
        for start in range(0, items.numel(), self.batch_size):
            seeds = items[start:start + self.batch_size]
            nodes, edge_index, hops = sampling.sample_neighbors(g.rowptr, g.col, seeds, self.fanouts,
                                                                generator=self.generator, mapping=g.mapping())
            batch = node_batch(g, nodes, edge_index, torch.arange(seeds.numel()))
            batch.hops = hops
            yield batch

    def _pyg(self, items: Tensor):
        """The same batches from PyG's C++ sampler (pyg-lib or torch-sparse)."""
        from torch_geometric.loader import NeighborLoader

        g = self.graph
        data = Data(edge_index=g.edge_index(), num_nodes=g.num_nodes)
        loader = NeighborLoader(data, num_neighbors=list(self.fanouts), input_nodes=items,
                                batch_size=self.batch_size, shuffle=False)
        for sub in loader:
            nodes = sub.n_id
            batch = node_batch(g, nodes, sub.edge_index, torch.arange(int(sub.batch_size)))
            counts = getattr(sub, "num_sampled_nodes", None)  # nodes added at each hop
            if counts is not None:
                batch.hops = [int(c) for c in torch.as_tensor(counts).cumsum(0)]
            yield batch


class ClusterBatches:
    """Cluster-GCN: the graph's METIS parts, ``per_batch`` at a time, each batch predicting its
    nodes among ``items``."""

    def __init__(self, graph: NodeGraph, items: np.ndarray, membership: np.ndarray, parts: int, per_batch: int, *,
                 generator: torch.Generator | None = None) -> None:
        self.graph, self.membership, self.parts, self.per_batch = graph, membership, parts, per_batch
        self.wanted = torch.zeros(graph.num_nodes, dtype=torch.bool)
        self.wanted[torch.as_tensor(np.asarray(items, np.int64))] = True
        self.generator = generator

    def __len__(self) -> int:
        return max(1, -(-self.parts // self.per_batch))

    def __iter__(self):
        g = self.graph
        for nodes in sampling.cluster_groups(self.membership, self.parts, self.per_batch, generator=self.generator):
            seed = torch.nonzero(self.wanted[nodes]).flatten()
            if seed.numel() == 0:
                continue
            yield node_batch(g, nodes, sampling.induced_edges(g.rowptr, g.col, nodes, g.mapping()), seed)


#: Validation nodes scored after each epoch of sampled batches, at most.
MAX_EVAL_NODES = 20_000


class NodeDataset(Dataset):
    """The nodes of one graph as items; ``pack`` is the :class:`NodeGraph`.

    ``extra`` holds ``batching`` (full, neighbor or cluster), ``fanouts``, the cluster
    ``membership`` and counts, ``split`` (the given split, if any) and ``run_config``.
    """

    @property
    def graph(self) -> NodeGraph:
        return self.pack

    def where(self, index: int) -> str:
        return f"{self.source}: node '{self.pack.ids[int(index)]}'"

    def column(self, name: str):
        columns = self.extra.get("columns", {})
        return columns.get(name)

    def row_table(self, indices):
        import pandas as pd

        return pd.DataFrame({"id": self.pack.ids[np.asarray(indices, np.int64)]})

    def loader(self, indices, *, batch_size: int = 256):
        """Validation after each epoch: the whole graph (full batching), or neighbour samples of
        the training fan-outs, fixed by a seed, of at most :data:`MAX_EVAL_NODES` nodes (a fixed
        sample of a larger validation set). A run's test nodes are scored by layer-wise inference."""
        edges = self.extra.get("uses_edges", True)
        if self.extra["batching"] == "full" and edges:
            return FullBatches(self.pack, indices)
        idx = np.asarray(indices, np.int64)
        if len(idx) > MAX_EVAL_NODES:
            idx = np.sort(np.random.default_rng(12345).choice(idx, MAX_EVAL_NODES, replace=False))
        if self.extra["batching"] == "full":
            return self._edge_free(idx)
        gen = torch.Generator().manual_seed(12345)
        fanouts = self._fanouts(self.extra.get("fanouts") or self.extra["eval_fanouts"])
        return NeighborBatches(self.pack, idx, fanouts, batch_size=max(batch_size, 1024), shuffle=False, generator=gen)

    def train_loader(self, indices, *, batch_size: int, seed: int, epoch: int):
        from gnncli.train.distributed import shard

        indices = shard(np.asarray(indices, np.int64), seed=seed, epoch=epoch)
        gen = torch.Generator().manual_seed(seed * 100_003 + epoch)
        mode = self.extra["batching"]
        if mode == "full":
            return FullBatches(self.pack, indices) if self.extra.get("uses_edges", True) else self._edge_free(indices)
        if mode == "cluster":
            return ClusterBatches(self.pack, indices, self.extra["membership"], self.extra["clusters"],
                                  self.extra["cluster_batch"], generator=gen)
        return NeighborBatches(self.pack, indices, self._fanouts(self.extra.get("fanouts")), batch_size=batch_size,
                               shuffle=True, generator=gen)

    def _edge_free(self, indices) -> list:
        """The full batch of a model that reads no edge (sgc, mlp): ``indices``' features alone, built
        once and kept, since every epoch sees the same one."""
        idx = np.ascontiguousarray(indices, np.int64)
        cache = self.__dict__.setdefault("_full", {})
        key = (idx.size, hash(idx.tobytes()))
        if key not in cache:
            cache[key] = list(FullBatches(self.pack, idx, edges=False))
        return cache[key]

    def _fanouts(self, fanouts) -> tuple[int, ...]:
        """No hop at all in ``nodes`` batching (mini-batches of nodes for a model that reads no edge)."""
        return () if self.extra["batching"] == "nodes" else tuple(fanouts)
