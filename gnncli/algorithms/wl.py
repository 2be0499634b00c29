r"""Weisfeiler-Lehman tests: colour refinement (1-WL) and the folklore k-WL (k = 2, 3).

Colour refinement (Weisfeiler and Leman, 1968; as a bound on message passing:
Xu et al., "How Powerful are Graph Neural Networks?", ICLR 2019, and Morris et al.,
"Weisfeiler and Leman Go Neural", AAAI 2019) updates every node's colour as

.. math::
    c^{(t+1)}_v = \mathrm{hash}\Big(c^{(t)}_v,\;
        \{\!\{ (\ell_{vu}, c^{(t)}_u) : u \in \mathcal{N}(v) \}\!\}\Big)

until the partition of the nodes into colours stops changing. Here colours are 64-bit
content hashes (splitmix64), and a multiset is hashed as the wrapping sum of its
members' hashes, so one iteration is one hash per node (and edge label) and a sparse
matrix-vector product in wrapping uint64 arithmetic, with no Python loop over nodes,
and colours are comparable between graphs and between runs.

The folklore k-WL (k-FWL; Cai, Fürer and Immerman, 1992) colours k-tuples; 2-FWL is
as powerful as 3-WL. It costs :math:`O(n^{k+1})` per iteration, so it is for small
graphs only; :func:`fwl_cost` estimates the memory and :func:`folklore_wl` refuses
graphs beyond a limit.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from gnncli.errors import UsageError
from gnncli.algorithms.graph import Graph, GraphList

__all__ = [
    "ColorRefinement",
    "WLComparison",
    "color_refinement",
    "wl_hash",
    "compare_graphs",
    "folklore_wl",
    "fwl_cost",
    "group_equivalent",
    "gin_embeddings",
    "is_isomorphic",
]

_U64 = np.uint64
_K1 = _U64(0x9E3779B97F4A7C15)
_K2 = _U64(0xC2B2AE3D27D4EB4F)
_K3 = _U64(0x165667B19E3779F9)
_K4 = _U64(0xD6E8FEB86659FD93)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finalizer, elementwise on uint64 (wrapping arithmetic)."""
    x = np.asarray(x, dtype=_U64)
    with np.errstate(over="ignore"):
        x = (x ^ (x >> _U64(30))) * _U64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> _U64(27))) * _U64(0x94D049BB133111EB)
        return x ^ (x >> _U64(31))


def _pair(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """An ordered hash of two uint64 arrays (broadcasting)."""
    with np.errstate(over="ignore"):
        return _mix(_mix(a) + b * _K1)


def _label_codes(labels: np.ndarray | None, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Stable uint64 hashes of the distinct string labels, shape :obj:`[L]`, and each
    item's index into them, shape :obj:`[size]` (``None`` -> one shared colour)."""
    if labels is None:
        return np.array([_K3], dtype=_U64), np.zeros(size, dtype=np.int64)
    uniq, inverse = np.unique(np.asarray(labels, dtype=str), return_inverse=True)
    table = np.array(
        [int.from_bytes(hashlib.blake2b(s.encode(), digest_size=8).digest(), "little") for s in uniq],
        dtype=_U64,
    )
    return table, inverse.reshape(-1).astype(np.int64)


def _label_hash(labels: np.ndarray | None, size: int) -> np.ndarray:
    """Stable uint64 hashes of string labels (``None`` -> one shared colour)."""
    if labels is None:
        return np.full(size, _K3, dtype=_U64)
    table, codes = _label_codes(labels, size)
    return table[codes]


def _num_distinct(values: np.ndarray) -> int:
    """The number of distinct values (a hash table, no sort)."""
    return len(pd.unique(values))


def _segment_sum(values: np.ndarray, index: np.ndarray, size: int) -> np.ndarray:
    """Wrapping uint64 sums of ``values`` grouped by ``index``, shape [size].

    Sums the two 32-bit halves with ``np.bincount`` in float64, which is exact while a
    group holds fewer than 2**21 values, so no sort is needed; larger groups fall back
    to a sort and ``np.add.reduceat``.
    """
    if values.size == 0:
        return np.zeros(size, dtype=_U64)
    counts = np.bincount(index, minlength=size)
    if counts.max() < (1 << 21):
        lo = np.bincount(index, (values & _U64(0xFFFFFFFF)).astype(np.float64), size)
        hi = np.bincount(index, (values >> _U64(32)).astype(np.float64), size)
        with np.errstate(over="ignore"):
            return lo.astype(_U64) + (hi.astype(_U64) << _U64(32))
    order = np.argsort(index)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    out = np.zeros(size, dtype=_U64)
    nonempty = counts > 0
    with np.errstate(over="ignore"):
        out[nonempty] = np.add.reduceat(values[order], starts[nonempty])
    return out


@dataclass
class ColorRefinement:
    r"""The result of colour refinement on one or more graphs (their disjoint union).

    Attributes:
        colors (list[np.ndarray]): node colours per iteration, ``colors[0]`` the initial
            labels; each of shape :obj:`[N]`, uint64.
        batch (np.ndarray): graph index of every node, shape :obj:`[N]`.
        num_graphs (int): number of graphs.
        stable_iteration (int): the first iteration whose partition equals the
            previous one (the refinement stopped there).
        graph_hashes (np.ndarray): multiset hash of each graph's colours per iteration,
            shape :obj:`[T + 1, num_graphs]`.
    """

    colors: list[np.ndarray]
    batch: np.ndarray
    num_graphs: int
    stable_iteration: int
    graph_hashes: np.ndarray

    @property
    def num_iterations(self) -> int:
        return len(self.colors) - 1

    def histogram(self, graph: int, iteration: int = -1) -> Counter:
        """Colour -> count for one graph at one iteration."""
        col = self.colors[iteration][self.batch == graph]
        values, counts = np.unique(col, return_counts=True)
        return Counter(dict(zip(values.tolist(), counts.tolist())))

    def graph_hash(self, graph: int, iteration: int = -1) -> str:
        """A hex WL hash of one graph: its colour multiset at ``iteration``."""
        return f"{int(self.graph_hashes[iteration, graph]):016x}"

    def node_partition(self, iteration: int = -1) -> np.ndarray:
        """Colours at ``iteration`` renumbered 0, 1, ... in order of first appearance."""
        _, first, inverse = np.unique(self.colors[iteration], return_index=True, return_inverse=True)
        order = np.argsort(np.argsort(first))
        return order[inverse]


def color_refinement(
    graphs: Graph | list[Graph],
    *,
    max_iterations: int | None = None,
    use_labels: bool = True,
) -> ColorRefinement:
    r"""Run colour refinement (1-WL) on the disjoint union of ``graphs``.

    Node labels seed the colours and edge labels enter each neighbour's message;
    directed graphs tell in- from out-neighbours.

    Args:
        graphs (Graph or list[Graph]): the graphs.
        max_iterations (int, optional): stop after this many iterations even if the
            partition still changes (``None``: until stable).
        use_labels (bool): seed with node and edge labels. (default: :obj:`True`)
    """
    if isinstance(graphs, Graph):
        graphs = [graphs]
    sizes = np.array([g.num_nodes for g in graphs], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    n = int(offsets[-1])
    batch = np.repeat(np.arange(len(graphs)), sizes)

    # Every edge u - v is an arc u -> v and, unless it is a directed arc or a loop, an arc
    # v -> u, each with a tag: its edge label, and its direction in directed graphs, as a
    # code into ``tags``. A node's message sum, the sum over its arcs u -> w of
    # mix(c[w] + tag * K1 + K2), is then two sparse matrix-vector products (forward and
    # backward arcs) in wrapping uint64 arithmetic, over a table of mix(colour, tag) per
    # (tag, node) when that table is no larger than the arcs, else over one message per arc.
    us, vs, out_codes, in_codes, backward, tables = [], [], [], [], [], []
    node_labels = []
    labelled = use_labels and any(g.node_label is not None for g in graphs)
    num_tags = 0
    for i, g in enumerate(graphs):
        if labelled:
            node_labels.append(g.node_label if g.node_label is not None else np.full(g.num_nodes, "", dtype=object))
        us.append(g.edge_index[0] + offsets[i])
        vs.append(g.edge_index[1] + offsets[i])
        table, code = _label_codes(g.edge_label if use_labels else None, g.num_edges)
        out_codes.append(code + num_tags)
        if g.directed:
            tables += [_mix(table + _K1), _mix(table + _K2)]
            in_codes.append(code + num_tags + len(table))
            backward.append(np.ones(g.num_edges, dtype=bool))
        else:
            tables.append(table)
            in_codes.append(out_codes[-1])
            backward.append(us[-1] != vs[-1])  # a loop is one arc
        num_tags += (2 if g.directed else 1) * len(table)
    u = np.concatenate(us) if us else np.zeros(0, np.int64)
    v = np.concatenate(vs) if vs else np.zeros(0, np.int64)
    back = np.concatenate(backward) if backward else np.zeros(0, bool)
    back = slice(None) if back.all() else np.flatnonzero(back)
    tags, remap = np.unique(np.concatenate(tables), return_inverse=True) if tables else (np.array([_K3], _U64), None)
    one_tag = len(tags) == 1
    out_code = None if one_tag else remap.reshape(-1)[np.concatenate(out_codes)]
    in_code = None if one_tag else remap.reshape(-1)[np.concatenate(in_codes)][back]
    with np.errstate(over="ignore"):
        tag_keys = tags * _K1 + _K2
    ub, vb = u[back], v[back]
    per_node = len(tags) * n <= len(u) + len(ub)
    if per_node:
        fwd_col, bwd_col = (v, ub) if one_tag else (out_code * n + v, in_code * n + ub)
        fwd_width = bwd_width = len(tags) * n
    else:
        fwd_col, bwd_col = np.arange(len(u)), np.arange(len(ub))
        fwd_width, bwd_width = len(u), len(ub)
    ones = np.ones(len(u), dtype=_U64)
    forward = sp.coo_array((ones, (u, fwd_col)), shape=(n, fwd_width))
    reverse = sp.coo_array((ones[: len(ub)], (vb, bwd_col)), shape=(n, bwd_width))

    def message_sums(c: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            if per_node:
                table = _mix(c[None, :] + tag_keys[:, None]).ravel()
                return forward @ table + reverse @ table
            fwd = _mix(c[v] + (tag_keys[0] if one_tag else tag_keys[out_code]))
            bwd = _mix(c[ub] + (tag_keys[0] if one_tag else tag_keys[in_code]))
            return forward @ fwd + reverse @ bwd

    colors = [_label_hash(np.concatenate(node_labels) if labelled else None, n)]
    num_classes = [_num_distinct(colors[0])]
    limit = n if max_iterations is None else max_iterations
    stable = 0
    for t in range(limit):
        c = colors[-1]
        with np.errstate(over="ignore"):
            new = _pair(c, message_sums(c) + _K4)
        colors.append(new)
        num_classes.append(_num_distinct(new))
        if num_classes[-1] == num_classes[-2]:
            stable = t + 1
            break
    else:
        stable = len(colors) - 1
    hashes = np.zeros((len(colors), len(graphs)), dtype=_U64)
    for t, c in enumerate(colors):
        with np.errstate(over="ignore"):
            hashes[t] = _segment_sum(_mix(c + _K2), batch, len(graphs))
    return ColorRefinement(colors=colors, batch=batch, num_graphs=len(graphs), stable_iteration=stable, graph_hashes=hashes)


def wl_hash(graph: Graph, *, iterations: int | None = None) -> str:
    """A hex 1-WL hash of one graph (its colour multiset when refinement stabilizes,
    or after ``iterations``). Invariant to node relabelling."""
    result = color_refinement(graph, max_iterations=iterations)
    return result.graph_hash(0)


# --------------------------------------------------------------------------- k-FWL


def fwl_cost(num_nodes: int, k: int) -> tuple[int, int]:
    """Estimated peak memory (bytes) and operations per iteration of the k-FWL."""
    tuples = num_nodes**k
    # colours, new colours and np.unique's copies (8 bytes each), plus one chunk of work
    memory = 8 * tuples * 4 + min(8 * num_nodes ** (k + 1), 64 << 20)
    return memory, num_nodes ** (k + 1)


def _pair_types(graph: Graph) -> np.ndarray:
    """Initial 2-FWL colours: the isomorphism type of every ordered pair. Shape [n, n]."""
    n = graph.num_nodes
    lab = _label_hash(graph.node_label, n)
    u, v = graph.edge_index
    elab = _mix(_label_hash(graph.edge_label, graph.num_edges) + _K3)
    e = np.zeros((n, n), dtype=_U64)
    e[u, v] = elab
    if graph.directed:
        et = e.T.copy()
    else:
        e[v, u] = elab
        et = e
    eq = np.eye(n, dtype=_U64) * _K4
    with np.errstate(over="ignore"):
        return _pair(_pair(lab[:, None], lab[None, :]), e + _mix(et + _K1) + eq)


def folklore_wl(graph: Graph, k: int = 2, *, max_iterations: int | None = None, max_memory: int = 1 << 30) -> list[np.ndarray]:
    r"""Run the folklore k-WL test (k = 2 or 3) on one graph.

    .. math::
        c^{(t+1)}(\mathbf{v}) = \mathrm{hash}\Big(c^{(t)}(\mathbf{v}),
            \{\!\{ (c^{(t)}(\mathbf{v}[w/1]), \dots, c^{(t)}(\mathbf{v}[w/k])) : w \in V \}\!\}\Big)

    Args:
        graph (Graph): the graph (small: the cost is :math:`O(n^{k+1})` per iteration).
        k (int): 2 or 3.
        max_iterations (int, optional): cap on iterations (``None``: until stable).
        max_memory (int): refuse graphs whose estimated memory exceeds this many bytes.

    Returns:
        The tuple colours per iteration, each of shape :obj:`[n] * k`, uint64.
    """
    if k not in (2, 3):
        raise UsageError(f"--k must be 1, 2 or 3, got {k}")
    n = graph.num_nodes
    memory, ops = fwl_cost(n, k)
    if memory > max_memory or ops > 4e9:
        raise UsageError(
            f"{graph.name or 'graph'}: {k}-FWL on {n} nodes needs about {memory / 2**20:,.0f} MiB "
            f"and {ops:.1e} operations per iteration (limit {max_memory / 2**20:,.0f} MiB); "
            f"use a graph of at most {_max_nodes(k, max_memory)} nodes or --k 1"
        )
    pairs = _pair_types(graph)
    if k == 2:
        colors = [pairs]
    else:
        colors = [_pair(_pair(pairs[:, :, None], pairs[:, None, :]), pairs[None, :, :])]
    limit = n**k if max_iterations is None else max_iterations
    chunk = max(1, (8 << 20) // max(1, n ** (k)))  # rows per block: about 64 MiB of uint64
    count = np.unique(colors[0]).size
    for _ in range(limit):
        c = colors[-1]
        agg = np.empty_like(c)
        for a0 in range(0, n, chunk):
            a1 = min(n, a0 + chunk)
            with np.errstate(over="ignore"):
                if k == 2:
                    # c[u, w] and c[w, v], summed over w
                    h = _pair(c[a0:a1, :, None], c[None, :, :])
                else:
                    # c[w, b, c], c[a, w, c], c[a, b, w], summed over w
                    h = _pair(_pair(c[None, :, :, :], c[a0:a1, :, None, :]), c[a0:a1].transpose(0, 2, 1)[:, :, :, None])
                agg[a0:a1] = h.sum(axis=1, dtype=_U64)
        new = _pair(c, agg)
        colors.append(new)
        new_count = np.unique(new).size
        if new_count == count:
            break
        count = new_count
    return colors


def _max_nodes(k: int, max_memory: int) -> int:
    n = 1
    while fwl_cost(n + 1, k)[0] <= max_memory and fwl_cost(n + 1, k)[1] <= 4e9:
        n += 1
    return n


# --------------------------------------------------------------------------- comparing


def is_isomorphic(g1: Graph, g2: Graph) -> bool:
    """Exact isomorphism test (networkx VF2) respecting node and edge labels."""
    import networkx as nx
    from networkx.algorithms.isomorphism import categorical_edge_match, categorical_node_match

    if g1.num_nodes != g2.num_nodes or g1.num_edges != g2.num_edges or g1.directed != g2.directed:
        return False
    node_match = categorical_node_match("label", None) if g1.node_label is not None or g2.node_label is not None else None
    edge_match = categorical_edge_match("label", None) if g1.edge_label is not None or g2.edge_label is not None else None
    return nx.is_isomorphic(g1.to_networkx(), g2.to_networkx(), node_match=node_match, edge_match=edge_match)


@dataclass
class WLComparison:
    """The verdict of a k-WL test on a pair of graphs.

    Attributes:
        k (int): 1 for colour refinement, 2 or 3 for the folklore k-WL.
        distinguished (bool): whether the test tells the graphs apart.
        iteration (int | None): first iteration at which the colour histograms differ.
        iterations (int): iterations run (until both partitions were stable).
        isomorphic (bool | None): exact VF2 result when checked.
        differences (list[tuple[str, int, int]]): colours whose counts differ at
            ``iteration``: (colour, count in G1, count in G2).
        hashes (tuple[str, str]): the final colour-multiset hashes.
    """

    k: int
    distinguished: bool
    iteration: int | None
    iterations: int
    isomorphic: bool | None
    differences: list[tuple[str, int, int]] = field(default_factory=list)
    hashes: tuple[str, str] = ("", "")
    gnn: dict | None = None

    @property
    def test_name(self) -> str:
        return "1-WL" if self.k == 1 else f"{self.k}-FWL"

    @property
    def verdict(self) -> str:
        if self.distinguished:
            return f"not isomorphic: {self.test_name} distinguishes them at iteration {self.iteration}"
        if self.isomorphic:
            return "isomorphic"
        if self.isomorphic is False:
            return f"not isomorphic, but {self.test_name}-equivalent"
        return f"{self.test_name}-equivalent (isomorphism not checked)"

    def to_dict(self) -> dict:
        return {
            "test": self.test_name,
            "distinguished": self.distinguished,
            "iteration": self.iteration,
            "iterations": self.iterations,
            "isomorphic": self.isomorphic,
            "verdict": self.verdict,
            "hashes": list(self.hashes),
            "differences": [{"color": c, "count_1": a, "count_2": b} for c, a, b in self.differences],
            "gnn": self.gnn,
        }


def _multisets_differ(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two colour arrays hold different multisets of colours."""
    return a.size != b.size or not np.array_equal(np.sort(a, axis=None), np.sort(b, axis=None))


def _diff(a: np.ndarray, b: np.ndarray, limit: int = 20) -> list[tuple[str, int, int]]:
    """The colours whose counts differ between colour arrays ``a`` and ``b``, largest
    difference first: (colour, count in a, count in b), at most ``limit`` of them."""
    a, b = a.ravel(), b.ravel()
    keys, inverse = np.unique(np.concatenate([a, b]), return_inverse=True)
    count_a = np.bincount(inverse[: a.size], minlength=keys.size)
    count_b = np.bincount(inverse[a.size:], minlength=keys.size)
    delta = count_a - count_b
    idx = np.flatnonzero(delta)
    idx = idx[np.lexsort((keys[idx], -np.abs(delta[idx])))][:limit]
    return [(f"{int(c):016x}"[:8], int(x), int(y)) for c, x, y in zip(keys[idx], count_a[idx], count_b[idx])]


def compare_graphs(
    g1: Graph,
    g2: Graph,
    *,
    k: int = 1,
    check_isomorphism: bool = True,
    max_isomorphism_nodes: int = 200,
    max_memory: int = 1 << 30,
) -> WLComparison:
    """Run the k-WL test on a pair of graphs and, for small graphs, VF2.

    Args:
        g1, g2 (Graph): the graphs.
        k (int): 1 (colour refinement), 2 or 3 (folklore k-WL). (default: :obj:`1`)
        check_isomorphism (bool): run VF2 when the test does not tell them apart.
        max_isomorphism_nodes (int): skip VF2 above this many nodes.
        max_memory (int): for k > 1, refuse graphs needing more memory (bytes).
    """
    if k == 1:
        result = color_refinement([g1, g2])
        split = g1.num_nodes  # the union's nodes: g1's, then g2's
        colors = [(c[:split], c[split:]) for c in result.colors]
        iterations = result.num_iterations
        hashes = (result.graph_hash(0), result.graph_hash(1))
    elif k in (2, 3):
        c1 = folklore_wl(g1, k, max_memory=max_memory)
        c2 = folklore_wl(g2, k, max_memory=max_memory)
        # content hashes are comparable across runs: extend the shorter run to the longer
        iterations = max(len(c1), len(c2)) - 1
        if len(c1) < len(c2):
            c1 = c1 + folklore_wl(g1, k, max_iterations=iterations, max_memory=max_memory)[len(c1):]
        if len(c2) < len(c1):
            c2 = c2 + folklore_wl(g2, k, max_iterations=iterations, max_memory=max_memory)[len(c2):]
        colors = list(zip(c1, c2))
        with np.errstate(over="ignore"):
            hashes = (f"{int(_mix(c1[-1]).sum(dtype=_U64)):016x}", f"{int(_mix(c2[-1]).sum(dtype=_U64)):016x}")
    else:
        raise UsageError(f"--k must be 1, 2 or 3, got {k}")
    first = next((t for t, (a, b) in enumerate(colors) if _multisets_differ(a, b)), None)
    distinguished = first is not None
    differences = _diff(*colors[first]) if distinguished else []
    isomorphic = None
    if not distinguished and check_isomorphism and max(g1.num_nodes, g2.num_nodes) <= max_isomorphism_nodes:
        isomorphic = is_isomorphic(g1, g2)
    elif distinguished:
        isomorphic = False
    return WLComparison(
        k=k,
        distinguished=distinguished,
        iteration=first,
        iterations=iterations,
        isomorphic=isomorphic,
        differences=differences,
        hashes=hashes,
    )


def group_equivalent(
    graphs: list[Graph], *, max_isomorphism_nodes: int = 60
) -> tuple[ColorRefinement, list[list[list[int]]]]:
    """Group graphs by their final 1-WL colour histogram and split each group into
    isomorphism classes.

    Molecules (graphs with ``meta["mol"]``) are told apart by canonical SMILES without
    stereochemistry; other graphs by VF2 (graphs above ``max_isomorphism_nodes`` nodes
    count as one class per WL group, i.e. are not checked).

    Returns:
        The refinement, and the WL groups that hold non-isomorphic graphs: each group a
        list of isomorphism classes, each class a list of graph indices.
    """
    result = color_refinement(graphs)
    final = result.graph_hashes[-1]
    groups: dict[int, list[int]] = {}
    for i, h in enumerate(final.tolist()):
        groups.setdefault(h, []).append(i)
    out = []
    for members in groups.values():
        if len(members) < 2:
            continue
        classes: list[list[int]] = []
        keys: list[str] = []
        for i in members:
            g = graphs[i]
            if "mol" in g.meta:
                from rdkit import Chem

                key = Chem.MolToSmiles(g.meta["mol"], isomericSmiles=False)
                if key in keys:
                    classes[keys.index(key)].append(i)
                else:
                    keys.append(key)
                    classes.append([i])
            elif g.num_nodes > max_isomorphism_nodes:
                if classes:
                    classes[0].append(i)
                else:
                    classes.append([i])
            else:
                for cls in classes:
                    if is_isomorphic(graphs[cls[0]], g):
                        cls.append(i)
                        break
                else:
                    classes.append([i])
        if len(classes) > 1:
            out.append(classes)
    return result, out


# --------------------------------------------------------------------------- GNN


def gin_embeddings(graphs: list[Graph], *, num_layers: int = 3, hidden_channels: int = 32, seed: int = 0):
    r"""Embed graphs with randomly initialized GIN layers (Xu et al., ICLR 2019):
    sum aggregation, sum readout of every layer, float64.

    Node features are one-hot initial labels (a shared vocabulary over ``graphs``);
    edge labels, when present, enter through GINE layers (Hu et al., ICLR 2020).

    Returns:
        torch.Tensor: graph embeddings, shape :obj:`[len(graphs), num_layers * hidden_channels]`.
    """
    import torch
    from torch import nn
    from torch_geometric.nn import GINConv, GINEConv, global_add_pool

    torch.manual_seed(seed)
    labels = [np.asarray(g.node_label if g.node_label is not None else [""] * g.num_nodes, dtype=str) for g in graphs]
    vocab = {s: i for i, s in enumerate(sorted(set(np.concatenate(labels).tolist())))}
    use_edges = any(g.edge_label is not None for g in graphs)
    evocab: dict[str, int] = {}
    if use_edges:
        elabels = [np.asarray(g.edge_label if g.edge_label is not None else [""] * g.num_edges, dtype=str) for g in graphs]
        evocab = {s: i for i, s in enumerate(sorted(set(np.concatenate(elabels).tolist())))}

    def mlp(i: int, o: int) -> nn.Module:
        return nn.Sequential(nn.Linear(i, o), nn.ReLU(), nn.Linear(o, o)).double()

    convs = nn.ModuleList()
    for layer in range(num_layers):
        i = len(vocab) if layer == 0 else hidden_channels
        conv = GINEConv(mlp(i, hidden_channels), edge_dim=len(evocab)) if use_edges else GINConv(mlp(i, hidden_channels))
        convs.append(conv.double())
    out = []
    with torch.no_grad():
        for g, lab in zip(graphs, labels):
            x = torch.zeros(g.num_nodes, len(vocab), dtype=torch.float64)
            x[torch.arange(g.num_nodes), torch.tensor([vocab[s] for s in lab], dtype=torch.long)] = 1.0
            ei = torch.as_tensor(g.edge_index, dtype=torch.long)
            if not g.directed:
                ei = torch.cat([ei, ei.flip(0)], dim=1)
            edge_attr = None
            if use_edges:
                el = np.asarray(g.edge_label if g.edge_label is not None else [""] * g.num_edges, dtype=str)
                edge_attr = torch.zeros(g.num_edges, len(evocab), dtype=torch.float64)
                edge_attr[torch.arange(g.num_edges), torch.tensor([evocab[s] for s in el], dtype=torch.long)] = 1.0
                if not g.directed:
                    edge_attr = torch.cat([edge_attr, edge_attr], dim=0)
            batch = torch.zeros(g.num_nodes, dtype=torch.long)
            parts = []
            for conv in convs:
                x = conv(x, ei, edge_attr) if use_edges else conv(x, ei)
                x = torch.relu(x)
                parts.append(global_add_pool(x, batch))
            out.append(torch.cat(parts, dim=-1))
    return torch.cat(out, dim=0)


# --------------------------------------------------------------------------- the command


def run_wl_test(
    loaded: list[list[Graph]],
    *,
    paths: list[str],
    k: int = 1,
    gnn: bool = False,
    max_isomorphism_nodes: int = 200,
    max_memory: int = 1 << 30,
) -> dict:
    """What ``gnn wl-test`` computes, as a JSON-ready dict.

    Args:
        loaded (list[list[Graph]]): the graphs of each input file: two files of one
            graph each (pair mode), or one file of many graphs (data set mode). A
            :class:`~gnncli.algorithms.graph.GraphList` brings the rows its reader skipped as
            invalid; the report lists them in ``skipped`` and a note counts them.
        paths (list[str]): the file names, for messages.
        k (int): 1, 2 or 3.
        gnn (bool): in pair mode, also compare random GIN embeddings.
    """
    if k not in (1, 2, 3):
        raise UsageError(f"--k must be 1, 2 or 3, got {k}")
    loaded = [graphs if isinstance(graphs, GraphList) else GraphList(graphs) for graphs in loaded]
    notes = [note for graphs in loaded if (note := graphs.skipped_note())]
    skipped = [{"where": s.where, "reason": s.reason} for graphs in loaded for s in graphs.skipped]
    if len(loaded) == 2:
        for graphs, path in zip(loaded, paths):
            if len(graphs) != 1:
                raise UsageError(f"{path}: holds {len(graphs)} graphs; compare two files of one graph each")
        g1, g2 = loaded[0][0], loaded[1][0]
        tests = [compare_graphs(g1, g2, k=1, max_isomorphism_nodes=max_isomorphism_nodes)]
        if k > 1 and not tests[0].distinguished:
            tests.append(
                compare_graphs(g1, g2, k=k, max_isomorphism_nodes=max_isomorphism_nodes, max_memory=max_memory)
            )
        elif k > 1:
            notes.append(f"1-WL already distinguishes the graphs; {k}-FWL not run")
        last = tests[-1]
        isomorphic = next((t.isomorphic for t in tests if t.isomorphic is not None), None)
        if not last.distinguished and isomorphic is None:
            notes.append(f"exact isomorphism not checked: more than {max_isomorphism_nodes} nodes (--max-iso-nodes)")
        last.isomorphic = isomorphic
        report = {
            "mode": "pair",
            "graphs": [
                {"name": p, "num_nodes": g.num_nodes, "num_edges": g.num_edges} for p, g in zip(paths, (g1, g2))
            ],
            "verdict": last.verdict,
            "distinguished": last.distinguished,
            "isomorphic": isomorphic,
            "tests": [t.to_dict() for t in tests],
        }
        if gnn:
            layers = max(1, tests[0].iterations) + 1
            emb = gin_embeddings([g1, g2], num_layers=layers)
            diff = float((emb[0] - emb[1]).abs().max())
            scale = float(emb.abs().max()) or 1.0
            differ = diff > 1e-9 * scale
            wl_sep = tests[0].distinguished
            if differ and not wl_sep:
                consistent = "CONTRADICTS the 1-WL bound (please report)"
            elif differ:
                consistent = "as 1-WL, the GNN separates them"
            elif wl_sep:
                consistent = "1-WL separates them, this random GNN does not (GIN can, with suitable weights)"
            else:
                consistent = "as expected: no message-passing GNN separates 1-WL-equivalent graphs"
            report["gnn"] = {
                "layers": layers,
                "differ": bool(differ),
                "max_abs_difference": diff,
                "consistent_with_1wl": consistent,
            }
        report["num_skipped"] = len(skipped)
        report["skipped"] = skipped
        report["notes"] = notes
        return report

    (graphs,) = loaded
    path = paths[0]
    if k != 1:
        raise UsageError("--k 2|3 compares two graphs; a data set is grouped by 1-WL only")
    if gnn:
        raise UsageError("--gnn compares two graphs; give two graph files")
    if len(graphs) < 2:
        raise UsageError(f"{path}: holds one graph; give a second graph file to compare with")
    result, groups = group_equivalent(graphs)
    out_groups = []
    for classes in groups:
        first = classes[0][0]
        out_groups.append(
            {
                "hash": result.graph_hash(first),
                "classes": [
                    [
                        {
                            "index": i,
                            "name": graphs[i].name,
                            **({"smiles": graphs[i].meta["smiles"]} if "smiles" in graphs[i].meta else {}),
                        }
                        for i in cls
                    ]
                    for cls in classes
                ],
            }
        )
    return {
        "mode": "dataset",
        "file": path,
        "num_graphs": len(graphs),
        "iterations": result.num_iterations,
        "num_wl_classes": int(np.unique(result.graph_hashes[-1]).size),
        "hashes": [result.graph_hash(i) for i in range(len(graphs))],
        "groups": out_groups,
        "num_skipped": len(skipped),
        "skipped": skipped,
        "notes": notes,
    }
