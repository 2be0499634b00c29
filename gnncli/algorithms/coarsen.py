r"""Graph coarsening: replace a graph by a smaller one with nearly the same spectrum.

Every partition-based method returns an assignment of the :math:`N` nodes to
:math:`n` supernodes. With the membership matrix :math:`P \in \{0,1\}^{N \times n}` the
coarse adjacency is :math:`W_c = P^\top W P` (intra-supernode weight kept as a self-loop,
so the total edge weight is preserved), and, following Loukas ("Graph reduction with
spectral and cut guarantees", JMLR 2019), the coarse Laplacian used for the quality
report is :math:`L_c = Q^\top L Q` with :math:`Q = P\,\mathrm{diag}(|V_r|)^{-1/2}`, whose
eigenvalues interlace those of :math:`L`.

Methods (:data:`METHODS`):

* ``heavy-edge``: multilevel heavy-edge matching (as in METIS/Graclus), edge score
  :math:`w_{ij} / \max(w^{\max}_i, w^{\max}_j)` as in Loukas's ``heavy_edge``.
* ``algebraic-distance``: multilevel matching of edges with small algebraic distance
  (Chen and Safro, "Algebraic distance on graphs", SIAM J. Sci. Comput. 2011).
* ``variation-neighborhoods``: Loukas's local variation over node neighbourhoods,
  multilevel, preserving the first ``k`` eigenvectors.
* ``metis``: a ``ratio * N``-way METIS partition by recursive bisection (Karypis and
  Kumar, 1998; ``pymetis``).
* ``kron``: Kron reduction (Dörfler and Bullo, 2013) onto the nodes with the largest
  entries of the top Laplacian eigenvector (Shuman et al., 2016); not a partition, so
  each eliminated node is assigned to the kept node it depends on most.
* ``rings`` (molecules): rings and functional groups become beads.
* ``segments`` / ``residues`` (proteins): contiguous chain segments of ``round(1/ratio)``
  residues / atoms grouped into their residues.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy.sparse.csgraph import connected_components

from gnncli.errors import InputError, UsageError
from gnncli.algorithms.graph import Graph

__all__ = [
    "Coarsening",
    "DEFAULT_K",
    "METHODS",
    "GRAPH_METHODS",
    "laplacian",
    "coarsen_adjacency",
    "coarsen_graph",
    "coarsening_quality",
    "coarsen_data",
    "Coarsen",
]


@dataclass
class Coarsening:
    r"""A coarsening of a graph.

    Attributes:
        assignment (np.ndarray): supernode of every node, shape :obj:`[N]`, values in
            ``0 .. num_supernodes - 1``.
        method (str): the method name.
        notes (list[str]): things the user should know (components, ratio not met ...).
        reduced_laplacian (scipy.sparse.csr_matrix, optional): for ``kron``, the Kron
            reduced Laplacian on the kept nodes (supernode ``r`` = kept node ``kept[r]``).
        kept (np.ndarray, optional): for ``kron``, the kept nodes.
    """

    assignment: np.ndarray
    method: str
    notes: list[str] = field(default_factory=list)
    reduced_laplacian: sp.csr_matrix | None = None
    kept: np.ndarray | None = None

    @property
    def num_nodes(self) -> int:
        return int(self.assignment.shape[0])

    @property
    def num_supernodes(self) -> int:
        return int(self.assignment.max()) + 1 if self.assignment.size else 0

    @property
    def ratio(self) -> float:
        return self.num_supernodes / max(1, self.num_nodes)

    def membership(self) -> sp.csr_matrix:
        """The membership matrix :math:`P`, shape :obj:`[N, n]`."""
        n = self.num_nodes
        return sp.csr_matrix((np.ones(n), (np.arange(n), self.assignment)), shape=(n, self.num_supernodes))

    def sizes(self) -> np.ndarray:
        return np.bincount(self.assignment, minlength=self.num_supernodes)

    def coarse_adjacency(self, adj: sp.spmatrix) -> sp.csr_matrix:
        r"""The coarse adjacency: :math:`P^\top W P` (self-loops hold the intra-supernode
        weight), or for ``kron`` the negated off-diagonal of the reduced Laplacian."""
        if self.reduced_laplacian is not None:
            w = -self.reduced_laplacian.tolil()
            w.setdiag(0)
            w = w.tocsr()
            w.data[np.abs(w.data) < 1e-12 * (np.abs(w.data).max() if w.nnz else 1)] = 0
            w.eliminate_zeros()
            return w
        p = self.membership()
        adj = sp.csr_matrix(adj)
        wc = (p.T @ adj @ p).tolil()
        # an edge inside a supernode lands twice on the diagonal (as (u, v) and (v, u)),
        # an original self-loop once: keep each once so the total edge weight is preserved
        loops = p.T @ adj.diagonal()
        wc.setdiag(loops + (wc.diagonal() - loops) / 2)
        wc = wc.tocsr()
        wc.eliminate_zeros()
        return wc


def laplacian(adj: sp.spmatrix) -> sp.csr_matrix:
    """The combinatorial Laplacian ``D - W`` of a symmetric adjacency (loops ignored)."""
    w = sp.csr_matrix(adj, dtype=np.float64).tolil()
    w.setdiag(0)
    w = w.tocsr()
    return (sp.diags(np.asarray(w.sum(axis=1)).ravel()) - w).tocsr()


def _zero_diag(adj: sp.spmatrix) -> sp.csr_matrix:
    w = sp.csr_matrix(adj, dtype=np.float64).tolil()
    w.setdiag(0)
    w = w.tocsr()
    w.eliminate_zeros()
    return w


def _smallest_eigs(lap: sp.spmatrix, k: int, *, vectors: bool = False):
    """The ``k`` smallest eigenvalues (and eigenvectors) of a PSD Laplacian."""
    n = lap.shape[0]
    k = min(k, n)
    if n <= 1500 or k >= n - 1:
        dense = lap.toarray() if sp.issparse(lap) else np.asarray(lap)
        vals, vecs = np.linalg.eigh(dense)
        vals = np.clip(vals[:k], 0, None)
        return (vals, vecs[:, :k]) if vectors else vals
    # shift-invert around a small negative shift: L + 0.01 I is positive definite
    v0 = np.linspace(1.0, 2.0, n)  # fixed start vector: results do not depend on a random one
    vals, vecs = spla.eigsh(sp.csc_matrix(lap), k=k, sigma=-1e-2, which="LM", tol=1e-8, v0=v0)
    order = np.argsort(vals)
    vals = np.clip(vals[order], 0, None)
    return (vals, vecs[:, order]) if vectors else vals


# --------------------------------------------------------------------------- matching


def _match(edges: np.ndarray, scores: np.ndarray, num_nodes: int, max_pairs: int, rng: np.random.Generator) -> np.ndarray:
    """A greedy-like maximal matching, vectorized: in each round every free node picks
    its best free edge and mutually chosen edges are matched (locally dominant edges,
    Preis 1999). Returns matched pairs, shape [m, 2], m <= max_pairs, best first."""
    if edges.shape[1] == 0 or max_pairs <= 0:
        return np.zeros((0, 2), dtype=np.int64)
    # random tie-break among equal scores
    order = np.lexsort((rng.random(edges.shape[1]), -scores))
    u, v = edges[0, order], edges[1, order]
    free = np.ones(num_nodes, dtype=bool)
    chosen: list[np.ndarray] = []
    count = 0
    alive = np.ones(len(u), dtype=bool)
    while count < max_pairs:
        alive &= free[u] & free[v]
        idx = np.flatnonzero(alive)
        if idx.size == 0:
            break
        ends = np.stack([u[idx], v[idx]], axis=1).ravel()  # interleaved: keeps the best-first order
        pos = np.repeat(idx, 2)
        # edges are sorted best first: the first occurrence of a node is its best edge
        _, first = np.unique(ends, return_index=True)
        best = np.full(num_nodes, -1, dtype=np.int64)
        best[ends[first]] = pos[first]
        mutual = idx[(best[u[idx]] == idx) & (best[v[idx]] == idx)]
        mutual = mutual[: max_pairs - count]
        if mutual.size == 0:  # cannot happen (the best free edge is mutual); a guard
            break
        free[u[mutual]] = False
        free[v[mutual]] = False
        chosen.append(mutual)
        count += mutual.size
    sel = np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, dtype=np.int64)
    return np.stack([u[sel], v[sel]], axis=1)


def _pairs_to_assignment(pairs: np.ndarray, num_nodes: int) -> np.ndarray:
    assign = np.arange(num_nodes)
    assign[pairs[:, 1]] = pairs[:, 0]
    _, inverse = np.unique(assign, return_inverse=True)
    return inverse


def _multilevel_matching(
    adj: sp.csr_matrix, target: int, score: Callable[[sp.csr_matrix, np.ndarray, np.random.Generator], np.ndarray], seed: int
) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = adj.shape[0]
    assign = np.arange(n)
    w = _zero_diag(adj)
    while w.shape[0] > target:
        up = sp.triu(w, k=1).tocoo()
        edges = np.vstack([up.row, up.col]).astype(np.int64)
        if edges.shape[1] == 0:
            break
        pairs = _match(edges, score(w, edges, rng), w.shape[0], w.shape[0] - target, rng)
        if len(pairs) == 0:
            break
        level = _pairs_to_assignment(pairs, w.shape[0])
        assign = level[assign]
        p = sp.csr_matrix((np.ones(len(level)), (np.arange(len(level)), level)))
        w = _zero_diag(p.T @ w @ p)
    return assign


def _heavy_edge_score(w: sp.csr_matrix, edges: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    wmax = np.asarray(w.max(axis=1).todense()).ravel() + 1e-12
    weight = np.asarray(w[edges[0], edges[1]]).ravel()
    return weight / np.maximum(wmax[edges[0]], wmax[edges[1]])


def algebraic_distance(adj: sp.csr_matrix, edges: np.ndarray, *, num_vectors: int = 10, iterations: int = 20,
                       omega: float = 0.5, rng: np.random.Generator | None = None) -> np.ndarray:
    r"""Algebraic distance of each edge (Chen and Safro, 2011): relax ``num_vectors``
    random vectors with ``iterations`` Jacobi over-relaxation sweeps
    :math:`x \leftarrow (1-\omega) x + \omega D^{-1} W x`, rescale each to
    :math:`[-1, 1]` and take :math:`\max_r |x^{(r)}_i - x^{(r)}_j|`. Shape :obj:`[E]`."""
    rng = rng or np.random.default_rng(0)
    n = adj.shape[0]
    deg = np.asarray(adj.sum(axis=1)).ravel()
    dinv = sp.diags(np.where(deg > 0, 1.0 / np.maximum(deg, 1e-300), 0.0))
    m = (dinv @ adj).tocsr()
    x = rng.uniform(-0.5, 0.5, size=(n, num_vectors))
    for _ in range(iterations):
        x = (1 - omega) * x + omega * (m @ x)
    x = x - x.mean(axis=0)
    x = x / np.maximum(np.abs(x).max(axis=0), 1e-300)
    return np.abs(x[edges[0]] - x[edges[1]]).max(axis=1)


def _algebraic_score(w: sp.csr_matrix, edges: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    dist = algebraic_distance(w, edges, rng=rng)
    weight = np.asarray(w[edges[0], edges[1]]).ravel()
    return weight / np.maximum(dist, 1e-12)


def heavy_edge(adj: sp.csr_matrix, target: int, *, seed: int = 0, **_) -> np.ndarray:
    """Multilevel heavy-edge matching down to ``target`` supernodes. Returns the assignment."""
    return _multilevel_matching(adj, target, _heavy_edge_score, seed)


def algebraic_distance_matching(adj: sp.csr_matrix, target: int, *, seed: int = 0, **_) -> np.ndarray:
    """Multilevel matching of algebraically close edges down to ``target`` supernodes."""
    return _multilevel_matching(adj, target, _algebraic_score, seed)


# --------------------------------------------------------------------------- Loukas


def _coarsening_rows(assign: np.ndarray) -> sp.csr_matrix:
    """Loukas's coarsening matrix C, shape [n, N], entries 1/sqrt(|V_r|)."""
    sizes = np.bincount(assign)
    n = len(assign)
    return sp.csr_matrix((1.0 / np.sqrt(sizes[assign]), (assign, np.arange(n))), shape=(len(sizes), n))


def _variation_level(w: sp.csr_matrix, a: np.ndarray, reduce_by: int) -> np.ndarray:
    """One level of Loukas's ``contract_variation_linear`` with neighbourhood sets."""
    n = w.shape[0]
    deg = np.asarray(w.sum(axis=1)).ravel()
    w_bool = (w + sp.eye(n, format="csr")).tocsr()

    def cost(nodes: np.ndarray) -> float:
        nc = len(nodes)
        sub = w[nodes][:, nodes].toarray()
        lap = np.diag(2 * deg[nodes] - sub.sum(axis=1)) - sub
        b = a[nodes] - a[nodes].mean(axis=0)
        return float(np.linalg.norm(b.T @ lap @ b) / (nc - 1))

    heap = []
    for i in range(n):
        nodes = w_bool.indices[w_bool.indptr[i]:w_bool.indptr[i + 1]]
        if len(nodes) > 1:
            heap.append((cost(nodes), i, nodes))
    heapq.heapify(heap)
    marked = np.zeros(n, dtype=bool)
    groups = []
    remaining = reduce_by
    while heap and remaining > 0:
        c, i, nodes = heapq.heappop(heap)
        m = marked[nodes]
        if not m.any():
            gain = len(nodes) - 1
            if gain > remaining:
                continue
            marked[nodes] = True
            groups.append(nodes)
            remaining -= gain
        else:
            nodes = nodes[~m]
            if len(nodes) > 1:
                heapq.heappush(heap, (cost(nodes), i, nodes))
    assign = np.arange(n)
    for nodes in groups:
        assign[nodes] = nodes[0]
    _, inverse = np.unique(assign, return_inverse=True)
    return inverse


def variation_neighborhoods(adj: sp.csr_matrix, target: int, *, k: int = 10, max_levels: int = 20, **_) -> np.ndarray:
    r"""Loukas's multilevel local-variation coarsening with neighbourhood candidate sets.

    At each level the candidate sets (closed neighbourhoods) are contracted greedily in
    order of their local variation cost
    :math:`\|\Pi^\perp_C A_C\|_{L_C}^2 / (|C|-1)` where :math:`A` spans the first ``k``
    eigenvectors scaled by :math:`\Lambda^{-1/2}` (Loukas 2019, Alg. 1 and Sec. 4).
    Returns the assignment.
    """
    w = _zero_diag(adj)
    n0 = w.shape[0]
    assign = np.arange(n0)
    kk = min(k, n0 - 1)
    if kk < 1 or target >= n0:
        return assign
    vals, vecs = _smallest_eigs(laplacian(w), kk, vectors=True)
    mask = vals < 1e-10
    inv = np.where(mask, 0.0, 1.0 / np.sqrt(np.where(mask, 1.0, vals)))
    b = vecs * inv
    a = b
    level_c = None
    for level in range(max_levels):
        n = w.shape[0]
        if level > 0:
            b = level_c @ b
            lap = laplacian(w)
            d, v = np.linalg.eigh(b.T @ (lap @ b))
            zero = d <= 1e-12 * max(1.0, d.max())
            dinv = np.where(zero, 0.0, 1.0 / np.sqrt(np.where(zero, 1.0, d)))
            a = b @ np.diag(dinv) @ v
        r_cur = min(max(1 - target / n, 0.0), 0.99)
        level_assign = _variation_level(w, a, int(np.floor(r_cur * n)))
        if level_assign.max() + 1 >= n:
            break
        assign = level_assign[assign]
        level_c = _coarsening_rows(level_assign)
        p = sp.csr_matrix((np.ones(n), (np.arange(n), level_assign)))
        w = _zero_diag(p.T @ w @ p)
        if w.shape[0] <= target:
            break
    return assign


# --------------------------------------------------------------------------- METIS, Kron


def metis(adj: sp.csr_matrix, target: int, *, seed: int = 0, **_) -> np.ndarray:
    """A ``target``-way METIS partition (pymetis), integer edge weights scaled to 1..1000."""
    import pymetis

    w = _zero_diag(adj)
    if target <= 1:
        return np.zeros(w.shape[0], dtype=np.int64)
    data = w.data
    weights = np.maximum(1, np.rint(1000 * data / data.max())).astype(np.int64) if w.nnz else data.astype(np.int64)
    opts = pymetis.Options(seed=seed)
    # recursive bisection: k-way METIS leaves most parts empty when parts hold ~2 nodes
    # (2,000-node geometric graph, 1,000 parts: 212 non-empty k-way, 1,000 recursive)
    if hasattr(pymetis, "CSRAdjacency"):
        graph = {"adjacency": pymetis.CSRAdjacency(w.indptr.astype(np.int64), w.indices.astype(np.int64))}
    else:  # pymetis < 2025.2
        graph = {"xadj": w.indptr.astype(np.int64), "adjncy": w.indices.astype(np.int64)}
    _, parts = pymetis.part_graph(target, **graph, eweights=weights, recursive=True, options=opts)
    _, inverse = np.unique(np.asarray(parts), return_inverse=True)
    return inverse


def kron_reduction(adj: sp.csr_matrix, target: int, **_) -> tuple[np.ndarray, sp.csr_matrix, np.ndarray]:
    r"""Kron reduction onto ``target`` nodes: :math:`L_{\rm red} = L_{KK} - L_{KE} L_{EE}^{-1} L_{EK}`.

    The kept nodes are those with the largest entries of the eigenvector of the largest
    Laplacian eigenvalue (the polarity rule of Shuman, Faraji and Vandergheynst, 2016,
    extended to any ratio). Returns (assignment, reduced Laplacian, kept nodes).
    """
    lap = laplacian(adj).tocsc()
    n = lap.shape[0]
    if target >= n:
        return np.arange(n), lap.tocsr(), np.arange(n)
    if n <= 3:
        vec = np.linalg.eigh(lap.toarray())[1][:, -1]
    else:
        v0 = np.linspace(1.0, 2.0, n)  # a fixed start vector: eigsh's default is random
        vec = spla.eigsh(lap, k=1, which="LA", tol=1e-6, v0=v0)[1][:, 0]
    if vec.sum() < 0:
        vec = -vec
    kept = np.sort(np.argsort(-vec, kind="stable")[:target])
    elim = np.setdiff1d(np.arange(n), kept)
    if len(elim) * len(kept) > 8e7:
        raise UsageError(
            f"kron reduction of {n} nodes to {target} needs a dense {len(elim)}x{len(kept)} solve; "
            "use a matching or metis method for graphs this large"
        )
    l_kk = lap[kept][:, kept]
    l_ke = lap[kept][:, elim]
    l_ee = lap[elim][:, elim].tocsc()
    solve = spla.splu(l_ee)
    x = solve.solve(l_ke.T.toarray())  # [E, K]: L_EE^{-1} L_EK
    reduced = sp.csr_matrix(l_kk.toarray() - l_ke @ x)
    assign = np.empty(n, dtype=np.int64)
    assign[kept] = np.arange(len(kept))
    assign[elim] = np.argmax(-x, axis=1)  # harmonic-extension weights -L_EE^{-1} L_EK
    return assign, reduced, kept


#: Methods on a plain weighted graph: name -> function(adj, target, *, k, seed) -> assignment.
METHODS: dict[str, Callable[..., np.ndarray]] = {
    "heavy-edge": heavy_edge,
    "algebraic-distance": algebraic_distance_matching,
    "variation-neighborhoods": variation_neighborhoods,
    "metis": metis,
    "kron": kron_reduction,  # returns (assignment, reduced Laplacian, kept)
}


def _allocate(sizes: np.ndarray, target: int) -> np.ndarray:
    """Split ``target`` supernodes over components of ``sizes`` (each >= 1, <= size)."""
    quota = sizes * target / sizes.sum()
    alloc = np.clip(np.floor(quota).astype(np.int64), 1, sizes)
    while alloc.sum() < target:
        room = np.where(alloc < sizes, quota - alloc, -np.inf)
        alloc[int(np.argmax(room))] += 1
    while alloc.sum() > target:
        room = np.where(alloc > 1, alloc - quota, -np.inf)
        alloc[int(np.argmax(room))] -= 1
    return alloc


def target_size(num_nodes: int, ratio: float) -> int:
    """``round(ratio * N)``, at least 1."""
    if not 0 < ratio < 1:
        raise UsageError(f"--ratio must be between 0 and 1 (exclusive), got {ratio}")
    return max(1, min(num_nodes, int(round(ratio * num_nodes))))


def coarsen_adjacency(
    adj: sp.spmatrix, *, ratio: float, method: str = "heavy-edge", k: int = 10, seed: int = 0, name: str = "graph"
) -> Coarsening:
    r"""Coarsen a symmetric weighted adjacency to about ``ratio * N`` supernodes.

    A disconnected graph is coarsened component by component (a note says so), with
    the supernodes split over the components in proportion to their sizes.

    Args:
        adj (scipy.sparse matrix): symmetric adjacency, shape :obj:`[N, N]`.
        ratio (float): target ``n / N`` in (0, 1).
        method (str): one of :data:`METHODS`. (default: ``"heavy-edge"``)
        k (int): eigenvectors preserved by ``variation-neighborhoods``. (default: :obj:`10`)
        seed (int): random seed for tie-breaks and test vectors.
        name (str): the graph's name, for messages.
    """
    if method not in METHODS:
        raise UsageError(f"unknown coarsening method {method!r}; choose from {', '.join(METHODS)}")
    adj = sp.csr_matrix(adj, dtype=np.float64)
    n = adj.shape[0]
    if n == 0:
        raise InputError(f"{name}: empty graph (no nodes)")
    if adj.nnz and (adj.data < 0).any():
        raise InputError(f"{name}: negative edge weights; coarsening needs non-negative weights")
    target = target_size(n, ratio)
    notes: list[str] = []
    ncomp, comp = connected_components(adj, directed=False)
    if ncomp > target:
        raise UsageError(
            f"{name}: --ratio {ratio} asks for {target} supernodes but the graph has {ncomp} connected "
            f"components; use --ratio >= {ncomp / n:.3g}"
        )
    if ncomp > 1:
        notes.append(f"{name} has {ncomp} connected components; coarsening each one separately")
    sizes = np.bincount(comp)
    alloc = _allocate(sizes, target)
    assign = np.empty(n, dtype=np.int64)
    offset = 0
    reduced_blocks, kept_all = [], []
    for c in range(ncomp):
        nodes = np.flatnonzero(comp == c)
        sub = adj[nodes][:, nodes]
        t = int(alloc[c])
        if len(nodes) == 1 or t >= len(nodes):
            local = np.arange(len(nodes))
            if method == "kron":
                reduced_blocks.append(laplacian(sub))
                kept_all.append(nodes)
        elif method == "kron":
            local, red, kept = kron_reduction(sub, t)
            reduced_blocks.append(red)
            kept_all.append(nodes[kept])
        else:
            local = METHODS[method](sub, t, k=k, seed=seed)
        assign[nodes] = local + offset
        offset += int(local.max()) + 1
    result = Coarsening(assignment=assign, method=method, notes=notes)
    if method == "kron":
        result.reduced_laplacian = sp.block_diag(reduced_blocks, format="csr")
        result.kept = np.concatenate(kept_all)
    got = result.num_supernodes
    if abs(got - ratio * n) > 1:
        notes.append(f"{method} reached {got} supernodes (ratio {got / n:.3f}), not the requested {target}")
    return result


# --------------------------------------------------------------------------- quality


def coarsening_quality(adj: sp.spmatrix, coarsening: Coarsening, *, k: int = 10) -> dict:
    r"""Spectral quality of a coarsening.

    Returns a dict with the achieved ``ratio``, the first ``k`` eigenvalues of the
    original Laplacian :math:`L` and of the coarse :math:`L_c = Q^\top L Q` (Kron: the
    reduced Laplacian), their relative errors :math:`|\lambda_i - \tilde\lambda_i| /
    \lambda_i` (0 where :math:`\lambda_i = 0`), the mean of the errors over the nonzero
    eigenvalues, and Loukas's restricted spectral approximation constant
    :math:`\epsilon = \|\Pi^\perp U_k \Lambda_k^{+1/2}\|_L` (Def. 2 of Loukas 2019; partition
    methods only), where :math:`\Pi = Q Q^\top`.
    """
    lap = laplacian(adj)
    n_coarse = coarsening.num_supernodes
    if k < 1:
        raise UsageError(f"--k must be at least 1, got {k}")
    if k > n_coarse:
        raise UsageError(f"--k {k} is larger than the coarse graph allows ({n_coarse} supernodes); use --k <= {n_coarse}")
    vals, vecs = _smallest_eigs(lap, k, vectors=True)
    if coarsening.reduced_laplacian is not None:
        coarse_lap = coarsening.reduced_laplacian
        q = None
    else:
        p = coarsening.membership()
        q = p @ sp.diags(1.0 / np.sqrt(coarsening.sizes()))
        coarse_lap = (q.T @ lap @ q).tocsr()
    cvals = _smallest_eigs(coarse_lap, k)
    scale = max(1.0, float(vals.max()) if vals.size else 1.0)
    nonzero = vals > 1e-9 * scale
    err = np.where(nonzero, np.abs(cvals - vals) / np.where(nonzero, vals, 1.0), 0.0)
    rsa = None
    if q is not None:
        inv = np.where(nonzero, 1.0 / np.sqrt(np.where(nonzero, vals, 1.0)), 0.0)
        m = vecs * inv
        m = m - q @ (q.T @ m)
        gram = m.T @ (lap @ m)
        rsa = float(np.sqrt(max(0.0, np.linalg.eigvalsh((gram + gram.T) / 2).max())))
    return {
        "num_nodes": coarsening.num_nodes,
        "num_supernodes": n_coarse,
        "ratio": n_coarse / coarsening.num_nodes,
        "k": k,
        "eigenvalues": vals.tolist(),
        "coarse_eigenvalues": cvals.tolist(),
        "relative_errors": err.tolist(),
        "mean_relative_error": float(err[nonzero].mean()) if nonzero.any() else 0.0,
        "max_relative_error": float(err.max()) if err.size else 0.0,
        "rsa_epsilon": rsa,
    }


# --------------------------------------------------------------------------- domain methods


_FUNCTIONAL_GROUPS = [
    ("carboxylic acid/ester", "[CX3](=O)[OX2]"),
    ("amide", "[CX3](=O)[NX3]"),
    ("nitro", "[N+](=O)[O-]"),
    ("sulfonyl", "[SX4](=O)(=O)"),
    ("carbonyl", "[CX3]=[OX1]"),
    ("nitrile", "C#N"),
]


def ring_beads(graph: Graph, *, bead_size: int = 4) -> np.ndarray:
    """Coarse-grain a molecule: each ring (smallest set of smallest rings; an atom
    shared by fused rings goes to the first, larger rings last) is one bead, each
    functional group outside rings (carboxyl, amide, nitro, sulfonyl, carbonyl, nitrile)
    is one bead, and the remaining chain atoms are cut into beads of at most
    ``bead_size`` bonded heavy atoms (as in 4-to-1 Martini mappings)."""
    from rdkit import Chem

    mol = graph.meta.get("mol")
    if mol is None:
        raise UsageError(f"{graph.name}: --method rings needs a molecule (SMILES input)")
    n = mol.GetNumAtoms()
    assign = np.full(n, -1, dtype=np.int64)
    bead = 0
    for ring in sorted(mol.GetRingInfo().AtomRings(), key=len):
        free = [a for a in ring if assign[a] < 0]
        if free:
            assign[free] = bead
            bead += 1
    for _, smarts in _FUNCTIONAL_GROUPS:
        for match in mol.GetSubstructMatches(Chem.MolFromSmarts(smarts)):
            free = [a for a in match if assign[a] < 0]
            if len(free) == len(match):
                assign[free] = bead
                bead += 1
    # chains: walk each leftover connected piece depth-first, bead_size atoms at a time
    for start in range(n):
        if assign[start] >= 0:
            continue
        stack, piece = [start], []
        seen = {start}
        while stack:
            a = stack.pop()
            piece.append(a)
            for nb in mol.GetAtomWithIdx(a).GetNeighbors():
                j = nb.GetIdx()
                if assign[j] < 0 and j not in seen:
                    seen.add(j)
                    stack.append(j)
        for i in range(0, len(piece), bead_size):
            assign[piece[i:i + bead_size]] = bead
            bead += 1
    _, inverse = np.unique(assign, return_inverse=True)
    return inverse


def chain_segments(graph: Graph, ratio: float) -> np.ndarray:
    """Cut each protein chain into contiguous segments of ``round(1 / ratio)`` residues."""
    if "residue" not in graph.meta:
        raise UsageError(f"{graph.name}: --method segments needs a protein (PDB/mmCIF input)")
    length = max(1, int(round(1 / ratio)))
    residue = graph.meta["residue"]
    chain = graph.meta["chain"]
    seg = np.empty(graph.num_nodes, dtype=np.int64)
    offset = 0
    for c in dict.fromkeys(chain.tolist()):
        mask = chain == c
        res = residue[mask]
        local = (res - res.min()) // length
        _, local = np.unique(local, return_inverse=True)
        seg[mask] = local + offset
        offset += int(local.max()) + 1
    return seg


def atoms_to_residues(graph: Graph) -> np.ndarray:
    """Group the atoms of an atom-level protein graph into their residues."""
    if graph.meta.get("pdb_nodes") != "atoms":
        raise UsageError(
            f"{graph.name}: --method residues coarsens atoms into residues; read the file with --pdb-nodes atoms"
        )
    _, inverse = np.unique(graph.meta["residue"], return_inverse=True)
    return inverse


#: Methods that need the graph's domain: name -> function(graph, ratio) -> assignment.
GRAPH_METHODS: dict[str, Callable[[Graph, float], np.ndarray]] = {
    "rings": lambda g, ratio: ring_beads(g),
    "segments": chain_segments,
    "residues": lambda g, ratio: atoms_to_residues(g),
}


@dataclass
class CoarseningResult:
    """What :func:`coarsen_graph` returns: the coarsening, the coarse graph, the quality."""

    coarsening: Coarsening
    coarse: Graph
    quality: dict | None


#: Laplacian eigenvalues compared (and kept by ``variation-neighborhoods``) unless told otherwise.
DEFAULT_K = 10


def coarsen_graph(
    graph: Graph, *, ratio: float, method: str = "heavy-edge", k: int | None = None, seed: int = 0, quality: bool = True
) -> CoarseningResult:
    """Coarsen a :class:`~gnncli.algorithms.graph.Graph`: the assignment, the coarse graph (summed
    edge weights, mean coordinates) and, if ``quality``, :func:`coarsening_quality`.

    Directed graphs are symmetrized first (``max(A, A^T)``), with a note. ``k`` is the
    number of Laplacian eigenvalues compared; left at ``None`` it is
    :data:`DEFAULT_K`, or as many as the coarse graph has when that is fewer (a
    molecule's few ring beads), with a note. A ``k`` given larger than the coarse graph
    allows is an error.
    """
    notes = []
    if graph.directed:
        notes.append(f"{graph.name}: directed graph symmetrized (max(A, A^T)) for the spectral methods")
        graph = graph.symmetrized()
    target_size(graph.num_nodes, ratio)  # validates the ratio
    adj = graph.adjacency()
    if method in GRAPH_METHODS:
        assign = GRAPH_METHODS[method](graph, ratio)
        coarsening = Coarsening(assignment=assign, method=method)
        if method in ("rings", "residues"):
            notes.append(f"--method {method} sets the ratio itself ({coarsening.ratio:.3f}); --ratio is ignored")
    elif method in METHODS:
        coarsening = coarsen_adjacency(
            adj, ratio=ratio, method=method, k=DEFAULT_K if k is None else k, seed=seed, name=graph.name or "graph"
        )
    else:
        raise UsageError(f"unknown coarsening method {method!r}; choose from {', '.join([*METHODS, *GRAPH_METHODS])}")
    coarsening.notes[:0] = notes
    wc = sp.triu(coarsening.coarse_adjacency(adj)).tocoo()
    sizes = coarsening.sizes()
    pos = None
    if graph.pos is not None:
        if coarsening.kept is not None:
            pos = graph.pos[coarsening.kept]
        else:
            pos = (coarsening.membership().T @ graph.pos) / sizes[:, None]
    coarse = Graph(
        num_nodes=coarsening.num_supernodes,
        edge_index=np.vstack([wc.row, wc.col]).astype(np.int64),
        edge_weight=wc.data.astype(np.float64),
        pos=pos,
        name=f"{graph.name} ({method}, ratio {coarsening.ratio:.3f})",
        meta={"sizes": sizes},
    )
    if k is None:
        k = min(DEFAULT_K, coarsening.num_supernodes)
        if k < DEFAULT_K:
            coarsening.notes.append(
                f"comparing the first {k} Laplacian eigenvalues, as many as the {k} supernodes allow "
                f"(default {DEFAULT_K}; --k sets it)"
            )
    report = coarsening_quality(adj, coarsening, k=k) if quality else None
    return CoarseningResult(coarsening=coarsening, coarse=coarse, quality=report)


# --------------------------------------------------------------------------- PyG


def coarsen_data(data, ratio: float, method: str = "heavy-edge", *, k: int = 10, seed: int = 0):
    r"""Coarsen a :class:`torch_geometric.data.Data` graph for training on coarse graphs.

    Node features ``x`` and coordinates ``pos`` are averaged over each supernode;
    ``edge_index`` holds the coarse edges in both directions (no self-loops) with their
    summed weights in ``edge_weight``; node-level ``y`` is dropped (it has no meaning per
    supernode) while graph-level ``y`` and other graph attributes are kept. The new
    ``assignment`` attribute (shape :obj:`[num_nodes]` of the input) maps each original
    node to its supernode. ``edge_attr`` is summed over merged edges when numeric.

    Args:
        data (Data): the graph (undirected; directed ones are symmetrized).
        ratio (float): target ``n / N`` in (0, 1).
        method (str): one of :data:`METHODS`. (default: ``"heavy-edge"``)
        k (int): eigenvectors for ``variation-neighborhoods``.
        seed (int): random seed.

    Returns:
        Data: a new object; the input is not changed.
    """
    import torch
    from torch_geometric.data import Data

    n = int(data.num_nodes)
    ei = data.edge_index.cpu().numpy()
    ew = getattr(data, "edge_weight", None)
    w = ew.detach().cpu().numpy().astype(np.float64) if ew is not None else np.ones(ei.shape[1])
    adj = sp.csr_matrix((w, (ei[0], ei[1])), shape=(n, n))
    adj = adj.maximum(adj.T).tocsr()
    coarsening = coarsen_adjacency(adj, ratio=ratio, method=method, k=k, seed=seed)
    assign = torch.as_tensor(coarsening.assignment, dtype=torch.long)
    nc = coarsening.num_supernodes
    counts = torch.bincount(assign, minlength=nc).clamp(min=1)
    out = Data()
    for key, value in data:
        if key in {"edge_index", "edge_weight", "edge_attr", "x", "pos", "batch"}:
            continue
        if torch.is_tensor(value) and value.dim() > 0 and value.size(0) == n and n != 1:
            continue  # node-level attribute: no meaning per supernode
        out[key] = value
    for key in ("x", "pos"):
        value = getattr(data, key, None)
        if value is not None:
            summed = torch.zeros((nc, *value.shape[1:]), dtype=value.dtype).index_add_(0, assign, value)
            out[key] = summed / counts.view(-1, *([1] * (value.dim() - 1))).to(value.dtype)
    wc = _zero_diag(coarsening.coarse_adjacency(adj)).tocoo()
    order = np.lexsort((wc.col, wc.row))  # sorted by (row, col): searchsorted below relies on it
    out.edge_index = torch.as_tensor(np.vstack([wc.row[order], wc.col[order]]), dtype=torch.long)
    out.edge_weight = torch.as_tensor(wc.data[order], dtype=torch.float32)
    edge_attr = getattr(data, "edge_attr", None)
    if edge_attr is not None and edge_attr.is_floating_point():
        src, dst = assign[data.edge_index[0]], assign[data.edge_index[1]]
        keep = src != dst
        key = src[keep] * nc + dst[keep]
        target_key = out.edge_index[0] * nc + out.edge_index[1]
        idx = torch.searchsorted(target_key, key)
        attr = torch.zeros((out.edge_index.size(1), *edge_attr.shape[1:]), dtype=edge_attr.dtype)
        attr.index_add_(0, idx, edge_attr[keep])
        out.edge_attr = attr
    out.assignment = assign
    out.num_nodes = nc
    return out


class Coarsen:
    r"""A PyG-style transform: ``Coarsen(0.5, "heavy-edge")(data)`` returns
    :func:`coarsen_data` of ``data`` (a new object; the input is not changed).

    Args:
        ratio (float): target ``n / N`` in (0, 1).
        method (str): one of :data:`METHODS`. (default: ``"heavy-edge"``)
        k (int): eigenvectors for ``variation-neighborhoods``. (default: :obj:`10`)
        seed (int): random seed. (default: :obj:`0`)
    """

    def __init__(self, ratio: float, method: str = "heavy-edge", *, k: int = 10, seed: int = 0) -> None:
        target_size(10**6, ratio)
        if method not in METHODS:
            raise UsageError(f"unknown coarsening method {method!r}; choose from {', '.join(METHODS)}")
        self.ratio, self.method, self.k, self.seed = ratio, method, k, seed

    def __call__(self, data):
        return coarsen_data(data, self.ratio, self.method, k=self.k, seed=self.seed)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(ratio={self.ratio}, method={self.method!r})"


# --------------------------------------------------------------------------- plot


def supernode_colors(coarse: Graph) -> np.ndarray:
    """A palette index per supernode, shape :obj:`[n]`: a greedy colouring of the coarse
    graph (largest degree first), so supernodes that share an edge get different colours
    while :func:`gnncli.train.plots.distinct_colors` has enough (20)."""
    import networkx as nx

    g = nx.Graph()
    g.add_nodes_from(range(coarse.num_nodes))
    ei = coarse.edge_index[:, coarse.edge_index[0] != coarse.edge_index[1]]
    g.add_edges_from(ei.T.tolist())
    colouring = nx.greedy_color(g, strategy="largest_first")
    return np.array([colouring[r] for r in range(coarse.num_nodes)], dtype=np.int64)


def coarsening_figure(graph: Graph, result: CoarseningResult, *, seed: int = 0):
    """The figure of :func:`plot_coarsening`: original graph with every node in its
    supernode's colour, coarse graph with each supernode in that colour (size by member
    count), and the first ``k`` Laplacian eigenvalues of both against their (integer) index."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import networkx as nx
    from matplotlib.collections import LineCollection
    from matplotlib.ticker import MaxNLocator

    from gnncli.train.plots import distinct_colors

    if graph.pos is not None and graph.pos.shape[1] >= 2:
        xy = np.asarray(graph.pos[:, :2], dtype=float)
    else:
        layout = nx.spring_layout(graph.to_networkx(), seed=seed)
        xy = np.array([layout[i] for i in range(graph.num_nodes)])
    c = result.coarsening
    if c.kept is not None:
        cxy = xy[c.kept]
    else:
        cxy = (c.membership().T @ xy) / c.sizes()[:, None]
    index = supernode_colors(result.coarse)
    colour = np.asarray(distinct_colors(int(index.max()) + 1 if index.size else 0)).reshape(-1, 3)[index]  # [n, 3]
    fig, axes = plt.subplots(1, 3, figsize=(15, 5))
    panels = (
        (graph, xy, colour[c.assignment], f"original: {graph.num_nodes} nodes"),
        (result.coarse, cxy, colour, f"{c.method}: {c.num_supernodes} supernodes"),
    )
    for ax, (g, pts, node_colour, title) in zip(axes[:2], panels):
        ei = g.edge_index[:, g.edge_index[0] != g.edge_index[1]]
        ax.add_collection(LineCollection(np.stack([pts[ei[0]], pts[ei[1]]], axis=1), colors="0.6", linewidths=0.5))
        sizes = g.meta.get("sizes", np.ones(g.num_nodes))
        ax.scatter(pts[:, 0], pts[:, 1], s=8 * np.asarray(sizes), c=node_colour, edgecolors="0.2", linewidths=0.3, zorder=2)
        ax.set_title(title)
        ax.set_aspect("equal")
        ax.axis("off")
    q = result.quality
    if q is not None:
        ks = np.arange(1, q["k"] + 1)
        axes[2].plot(ks, q["eigenvalues"], "o-", label="original L")
        axes[2].plot(ks, q["coarse_eigenvalues"], "s--", label="coarse")
        axes[2].xaxis.set_major_locator(MaxNLocator(integer=True))
        axes[2].set_xlabel("eigenvalue index")
        axes[2].set_ylabel("eigenvalue")
        axes[2].set_title(f"mean relative error {q['mean_relative_error']:.3f}")
        axes[2].legend()
    else:
        axes[2].axis("off")
    fig.tight_layout()
    return fig


def plot_coarsening(graph: Graph, result: CoarseningResult, path, *, seed: int = 0) -> None:
    """Draw :func:`coarsening_figure` (the original and the coarse graph side by side,
    nodes at their coordinates, else a spring layout, supernodes at the mean position of
    their members, and the eigenvalue comparison) to an image file written atomically;
    the format comes from the extension."""
    import matplotlib.pyplot as plt

    from gnncli.io import atomic_path

    fig = coarsening_figure(graph, result, seed=seed)
    path = str(path)
    suffix = path.rsplit(".", 1)[-1] if "." in path else "png"
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=suffix, dpi=120)
    plt.close(fig)
