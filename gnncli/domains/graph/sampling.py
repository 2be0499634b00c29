"""Mini-batches of one large graph: neighbour sampling (GraphSAGE) and cluster batches (Cluster-GCN).

Two implementations of neighbour sampling sit behind one interface, :func:`neighbor_batches`:

* PyG's ``NeighborLoader`` when ``pyg_lib`` or ``torch_sparse`` is importable: its C++ sampler
  is the reference, and the fastest where it installs;
* our own sampler over the CSR arrays (:func:`sample_neighbors`) otherwise. ``pip install
  torch_geometric`` brings neither extension (pyg-lib's wheels are on PyG's own index, and
  torch-sparse builds from source), and PyG's loader then raises ImportError. Ours is vectorized
  torch: per layer, one pass over the frontier's edge ranges, with no Python loop per node.

Both return the same batch: the sampled nodes with the seeds first, and edges (source, target)
in local numbering, so that a model's outputs for the seeds are its first rows.

Cluster batches partition the graph with METIS (``pymetis``; PyG's ``ClusterData`` needs
torch-sparse or pyg-lib too) and join several parts per batch, with the edges among them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch import Tensor


def have_pyg_sampler() -> bool:
    """Whether PyG's own neighbour sampler can run here (pyg-lib or torch-sparse installed)."""
    import importlib.util

    return any(importlib.util.find_spec(name) is not None for name in ("pyg_lib", "torch_sparse"))


def _ranges(starts: Tensor, counts: Tensor) -> Tensor:
    """The concatenation of ``arange(s, s + c)`` for every start ``s`` and count ``c``, vectorized."""
    total = int(counts.sum())
    if total == 0:
        return torch.zeros(0, dtype=torch.long)
    offsets = torch.cumsum(counts, 0) - counts
    seg = torch.repeat_interleave(torch.arange(len(counts)), counts)
    return starts[seg] + torch.arange(total) - offsets[seg]


def sample_neighbors(rowptr: Tensor, col: Tensor, seeds: Tensor, fanouts: Sequence[int], *,
                     generator: torch.Generator | None = None, mapping: Tensor | None = None
                     ) -> tuple[Tensor, Tensor, list[int]]:
    """Sample a ``len(fanouts)``-hop neighbourhood of ``seeds`` without replacement.

    Args:
        rowptr (Tensor): CSR row pointers over incoming edges, shape :obj:`[N + 1]`: the
            sources of the edges into node ``i`` are ``col[rowptr[i]:rowptr[i + 1]]``.
        col (Tensor): the sources, shape :obj:`[E]`.
        seeds (Tensor): the nodes to predict, shape :obj:`[B]` (distinct).
        fanouts (Sequence[int]): neighbours kept per node at each hop, nearest first; a node
            with fewer in-edges keeps all of them.
        mapping (Tensor, optional): a work array of ``N`` entries equal to -1, reused across
            calls (it is -1 again on return).

    Returns:
        ``(nodes, edge_index, hops)``: the global ids of the sampled nodes :obj:`[S]` (seeds
        first, then each hop's new nodes), the sampled edges :obj:`[2, E_s]` in local numbering
        (row 0 source, row 1 target), and the number of nodes after each hop. Every node
        receives sampled edges at one hop only, so no node has more in-edges than that hop's
        fan-out.
    """
    num_nodes = rowptr.numel() - 1
    own = mapping is None
    if own:
        mapping = torch.full((num_nodes,), -1, dtype=torch.long)
    nodes = [seeds]
    mapping[seeds] = torch.arange(seeds.numel())
    count = seeds.numel()
    frontier = seeds
    sources, targets, hops = [], [], [count]
    for fanout in fanouts:
        if frontier.numel() == 0:
            hops.append(count)
            continue
        start = rowptr[frontier]
        deg = rowptr[frontier + 1] - start
        small = deg <= fanout
        # nodes with at most `fanout` in-edges keep them all
        keep_pos = _ranges(start[small], deg[small])
        keep_dst = torch.repeat_interleave(frontier[small], deg[small])
        # the others: a random order of each node's edges (a random key per edge, sorted within
        # the node's segment), of which the first `fanout` are kept
        big = ~small
        if bool(big.any()):
            b_start, b_deg = start[big], deg[big]
            pos = _ranges(b_start, b_deg)
            seg = torch.repeat_interleave(torch.arange(b_deg.numel()), b_deg)
            key = seg.double() + torch.rand(pos.numel(), generator=generator, dtype=torch.float64)
            order = torch.argsort(key)
            pos, seg = pos[order], seg[order]
            rank = torch.arange(pos.numel()) - (torch.cumsum(b_deg, 0) - b_deg)[seg]
            chosen = rank < fanout
            keep_pos = torch.cat([keep_pos, pos[chosen]])
            keep_dst = torch.cat([keep_dst, frontier[big][seg[chosen]]])
        nbr = col[keep_pos]
        new = torch.unique(nbr[mapping[nbr] < 0])
        mapping[new] = torch.arange(count, count + new.numel())
        count += new.numel()
        nodes.append(new)
        sources.append(mapping[nbr])
        targets.append(mapping[keep_dst])
        frontier = new
        hops.append(count)
    all_nodes = torch.cat(nodes)
    mapping[all_nodes] = -1
    edge_index = torch.stack([torch.cat(sources), torch.cat(targets)]) if sources else torch.zeros(2, 0, dtype=torch.long)
    return all_nodes, edge_index, hops


def induced_edges(rowptr: Tensor, col: Tensor, nodes: Tensor, mapping: Tensor | None = None) -> Tensor:
    """The edges among ``nodes`` (every in-edge of a node whose source is also in ``nodes``), in
    the local numbering of ``nodes``, shape :obj:`[2, E_s]`."""
    num_nodes = rowptr.numel() - 1
    own = mapping is None
    if own:
        mapping = torch.full((num_nodes,), -1, dtype=torch.long)
    mapping[nodes] = torch.arange(nodes.numel())
    start = rowptr[nodes]
    deg = rowptr[nodes + 1] - start
    pos = _ranges(start, deg)
    dst = torch.repeat_interleave(torch.arange(nodes.numel()), deg)
    src = mapping[col[pos]]
    inside = src >= 0
    mapping[nodes] = -1
    return torch.stack([src[inside], dst[inside]])


def metis_parts(rowptr: Tensor, col: Tensor, parts: int, *, seed: int = 0) -> np.ndarray:
    """A METIS partition of the graph into ``parts`` parts (the part of every node, :obj:`[N]`).

    The adjacency must be symmetric (the graph kind stores undirected graphs both ways; a
    directed graph is symmetrized first). Self loops are dropped, as METIS requires.
    """
    import pymetis
    import scipy.sparse as sp

    n = rowptr.numel() - 1
    if parts <= 1:
        return np.zeros(n, dtype=np.int64)
    a = sp.csr_matrix((np.ones(col.numel(), np.int8), col.numpy(), rowptr.numpy()), shape=(n, n))
    a = (a + a.T).tocsr()
    a.setdiag(0)
    a.eliminate_zeros()
    options = pymetis.Options(seed=seed)
    _, membership = pymetis.part_graph(parts, xadj=a.indptr.astype(np.int64), adjncy=a.indices.astype(np.int64),
                                       options=options)
    return np.asarray(membership, dtype=np.int64)


def cluster_groups(membership: np.ndarray, parts: int, per_batch: int, *, generator: torch.Generator | None
                   ) -> Iterator[Tensor]:
    """The nodes of each batch of one epoch: the parts in a random order, ``per_batch`` at a time
    (Cluster-GCN's stochastic multiple partitions)."""
    order = np.argsort(membership, kind="stable")
    bounds = np.searchsorted(membership[order], np.arange(parts + 1))
    perm = torch.randperm(parts, generator=generator).numpy() if generator is not None else np.arange(parts)
    for i in range(0, parts, per_batch):
        chosen = perm[i:i + per_batch]
        pieces = [order[bounds[p]:bounds[p + 1]] for p in chosen]
        nodes = np.sort(np.concatenate(pieces)) if pieces else np.zeros(0, np.int64)
        if len(nodes):
            yield torch.from_numpy(nodes)
