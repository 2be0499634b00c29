"""Residue graphs: one node per residue at its C-alpha, edges from sequence, radius and k-NN.

Pure functions of numpy arrays. Neighbour searches use scipy's ``cKDTree`` (O(n log n)); never an
O(n^2) Python loop. (torch_cluster's ``knn_graph``/``radius_graph`` would do too, but it is a
compiled extra that is not installed here and raises ImportError, so PyG's wrappers cannot be used.)
"""

from __future__ import annotations

import numpy as np

#: Edge kinds, as bits of ``edge_kind`` (an edge can be several at once) and in ``edge_attr``.
SEQUENCE, RADIUS, KNN = 1, 2, 4
EDGE_KINDS = ("sequence", "radius", "knn")
#: Relations of a relational GCN: every non-empty combination of the three kinds (bits - 1).
NUM_RELATIONS = 7


def chain_codes(chain: np.ndarray) -> np.ndarray:
    """Chain IDs as integers (comparing integer arrays is vectorized; comparing strings is not)."""
    chain = np.asarray(chain)
    if chain.dtype.kind in "iu":
        return chain
    _, codes = np.unique(chain.astype(str), return_inverse=True)
    return codes.reshape(-1)


def sequence_pairs(chain: np.ndarray, k: int) -> np.ndarray:
    """Pairs (i, j), i < j, of residues of one chain at most ``k`` apart in sequence order [P, 2]."""
    n = len(chain)
    parts = []
    for d in range(1, max(k, 0) + 1):
        i = np.arange(n - d)
        same = chain[:-d] == chain[d:] if d < n else np.zeros(0, bool)
        parts.append(np.stack([i[same], i[same] + d], axis=1))
    return np.concatenate(parts) if parts else np.zeros((0, 2), np.int64)


def residue_edges(pos: np.ndarray, chain: np.ndarray, *, seq_neighbours: int = 2, radius: float = 8.0,
                  knn: int = 10, tree=None, near: tuple[np.ndarray, np.ndarray] | None = None,
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Undirected residue pairs and the kinds that join each.

    Args:
        pos: [R, 3] C-alpha coordinates.
        chain: [R] chain IDs (sequence edges join residues of one chain only).
        seq_neighbours: |i - j| <= this along a chain (0: none).
        radius: C-alpha distance in Angstrom (0: none).
        knn: each residue's nearest neighbours (0: none).
        tree: a ``cKDTree`` of ``pos`` already built (optional).
        near: ``(pairs, distances)`` of every pair closer than some r >= ``radius``, already found
            (optional; the featurizer finds them once for its own features too).

    Returns:
        pairs [P, 2] (i < j, sorted) and kind [P] (bits :data:`SEQUENCE`, :data:`RADIUS`, :data:`KNN`).
    """
    from scipy.spatial import cKDTree

    n = len(pos)
    tree = cKDTree(pos) if tree is None else tree
    found, kinds = [], []
    seq = sequence_pairs(chain_codes(chain), seq_neighbours)
    found.append(seq)
    kinds.append(np.full(len(seq), SEQUENCE))
    if radius > 0:
        if near is not None:
            rad = near[0][near[1] <= radius].astype(np.int64)
        else:
            rad = tree.query_pairs(radius, output_type="ndarray").astype(np.int64)
        found.append(rad)
        kinds.append(np.full(len(rad), RADIUS))
    if knn > 0 and n > 1:
        k = min(knn, n - 1)
        _, nb = tree.query(pos, k=k + 1)
        nb = nb[:, 1:].reshape(-1)
        src = np.repeat(np.arange(n), k)
        ok = nb < n
        pair = np.stack([np.minimum(src, nb), np.maximum(src, nb)], axis=1)[ok & (src != nb)]
        found.append(pair)
        kinds.append(np.full(len(pair), KNN))
    pairs = np.concatenate(found).astype(np.int64)
    kind = np.concatenate(kinds).astype(np.int64)
    if not len(pairs):
        return np.zeros((0, 2), np.int64), np.zeros(0, np.int64)
    key = pairs[:, 0] * n + pairs[:, 1]
    order = np.argsort(key, kind="stable")
    key, kind = key[order], kind[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    merged = np.bitwise_or.reduceat(kind, starts)
    uniq = key[starts]
    return np.stack([uniq // n, uniq % n], axis=1), merged


def rbf(distance: np.ndarray, *, count: int = 16, cutoff: float = 20.0) -> np.ndarray:
    """Gaussian radial basis of distances [E] -> [E, count], centres evenly spaced in [0, cutoff]."""
    centres = np.linspace(0.0, cutoff, count)
    width = cutoff / (count - 1)
    return np.exp(-(((distance[:, None] - centres[None, :]) / width) ** 2))


def residue_graph(pos: np.ndarray, chain: np.ndarray, *, seq_neighbours: int = 2, radius: float = 8.0, knn: int = 10,
                  rbf_count: int = 16, tree=None, near: tuple[np.ndarray, np.ndarray] | None = None,
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A directed residue graph with edge features.

    Both directions of every pair, interleaved (edge ``2p`` is ``i -> j`` and ``2p + 1`` is
    ``j -> i``, as D-MPNN expects of its input).

    Returns:
        edge_index [2, E], edge_attr [E, 3 + rbf_count + 2] and edge_type [E] (kind bits - 1, for a
        relational GCN). ``edge_attr`` holds the kind bits (sequence, radius, k-NN), the distance in
        a radial basis (``rbf_count`` Gaussians over 0-20 Angstrom), whether both residues are in
        one chain, and the signed sequence separation ``(j - i) / 32`` clipped to [-1, 1] (0
        across chains). ``tree`` and ``near`` as for :func:`residue_edges`.
    """
    pairs, kind = residue_edges(pos, chain, seq_neighbours=seq_neighbours, radius=radius, knn=knn, tree=tree, near=near)
    src = np.stack([pairs[:, 0], pairs[:, 1]], axis=1).reshape(-1)
    dst = np.stack([pairs[:, 1], pairs[:, 0]], axis=1).reshape(-1)
    kind = np.repeat(kind, 2)
    dist = np.linalg.norm(pos[dst] - pos[src], axis=1)
    chain = chain_codes(chain)
    same = chain[src] == chain[dst]
    sep = np.where(same, np.clip((dst - src) / 32.0, -1.0, 1.0), 0.0)
    bits = ((kind[:, None] & np.array([SEQUENCE, RADIUS, KNN])) > 0).astype(np.float32)
    edge_attr = np.concatenate([bits, rbf(dist, count=rbf_count), same[:, None], sep[:, None]], axis=1)
    return np.stack([src, dst]).astype(np.int64), edge_attr.astype(np.float32), (kind - 1).astype(np.int64)
