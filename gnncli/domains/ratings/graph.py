"""The two graphs of a rating table: items linked by rating similarity, and users linked to items.

Item-similarity graph (Ruiz, Gama and Ribeiro, "Graph neural networks: architectures, stability
and transferability", Proc. IEEE 2021; the ``movieGNN`` example of alelab's graph-neural-networks).
For items i and j let U_ij be the users who rated both, mu_ij and mu_ji the mean ratings of i and
of j over U_ij, and

    sigma_ij = mean over u in U_ij of (x_ui - mu_ij)(x_uj - mu_ji),
    w_ij     = sigma_ij / sqrt(sigma_ii sigma_jj),

where sigma_ii is the variance of item i's ratings over all its raters. Items with no co-raters
(U_ij empty), and items whose ratings do not vary (sigma_ii = 0), get weight 0. The graph keeps
each item's ``knn`` largest positive weights, is symmetrized ((W + W^T) / 2) and divided by its
largest eigenvalue magnitude, so that powers of the shift operator S stay bounded. It is built
from training ratings only.

Everything here is scipy/numpy; the models take the shift operator as a torch sparse tensor.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def rating_matrix(users: np.ndarray, items: np.ndarray, ratings: np.ndarray, n_users: int, n_items: int) -> sp.csr_matrix:
    """Users x items CSR matrix of ``ratings`` (zero where unrated; which pairs are rated, a rating
    of 0 included, is :func:`rated_matrix`)."""
    return sp.csr_matrix((np.asarray(ratings, np.float64), (users, items)), shape=(n_users, n_items))


def rated_matrix(users: np.ndarray, items: np.ndarray, n_users: int, n_items: int) -> sp.csr_matrix:
    """Users x items CSR indicator of which pairs are rated."""
    return sp.csr_matrix((np.ones(len(users)), (users, items)), shape=(n_users, n_items))


def _variances(R: sp.csr_matrix, M: sp.csr_matrix) -> np.ndarray:
    """sigma_ii: each item's rating variance over its raters (0 for items with none)."""
    count = np.asarray(M.sum(0)).ravel()
    total = np.asarray(R.sum(0)).ravel()
    squares = np.asarray(R.multiply(R).sum(0)).ravel()
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, total / np.maximum(count, 1), 0.0)
        var = np.where(count > 0, squares / np.maximum(count, 1) - mean**2, 0.0)
    return np.clip(var, 0.0, None)


def _block_weights(R, M, Rt, Mt, var, rows: np.ndarray, min_common: int) -> np.ndarray:
    """Rows ``rows`` of the weight matrix W (dense [len(rows), n_items])."""
    Rb, Mb = Rt[rows], Mt[rows]  # items of the block x users
    common = (Mb @ M).toarray()
    s_i = (Rb @ M).toarray()  # sum over co-raters of x_ui
    s_j = (Mb @ R).toarray()  # sum over co-raters of x_uj
    prod = (Rb @ R).toarray()
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.maximum(common, 1)
        sigma = prod / c - (s_i / c) * (s_j / c)
        denom = np.sqrt(var[rows][:, None] * var[None, :])
        w = np.where((common >= max(1, min_common)) & (denom > 0), sigma / np.where(denom > 0, denom, 1), 0.0)
    return w


def similarity_weights(users, items, ratings, n_users: int, n_items: int, *, min_common: int = 1) -> np.ndarray:
    """The dense weight matrix W [n_items, n_items] of the formula above (diagonal included:
    1 for an item whose ratings vary, else 0). Pairs with fewer than ``min_common`` co-raters get 0."""
    R = rating_matrix(users, items, ratings, n_users, n_items)
    M = rated_matrix(users, items, n_users, n_items)
    Rt, Mt = R.T.tocsr(), M.T.tocsr()
    return _block_weights(R, M, Rt, Mt, _variances(R, M), np.arange(n_items), min_common)


def similarity_graph(users, items, ratings, n_users: int, n_items: int, *, knn: int = 40, min_common: int = 1,
                     block: int = 1024, normalize: bool = True) -> sp.csr_matrix:
    """The item-similarity shift operator S (CSR [n_items, n_items], float32, no self-loops).

    Each item keeps its ``knn`` largest positive weights; the result is symmetrized and, with
    ``normalize``, divided by its largest eigenvalue magnitude. Computed in blocks of ``block``
    items, so memory grows with ``block * n_items``, not ``n_items ** 2``.
    """
    R = rating_matrix(users, items, ratings, n_users, n_items)
    M = rated_matrix(users, items, n_users, n_items)
    Rt, Mt = R.T.tocsr(), M.T.tocsr()
    var = _variances(R, M)
    rows_out, cols_out, vals_out = [], [], []
    k = max(0, min(int(knn), n_items - 1))
    for start in range(0, n_items, block):
        rows = np.arange(start, min(start + block, n_items))
        w = _block_weights(R, M, Rt, Mt, var, rows, min_common)
        w[np.arange(len(rows)), rows] = 0.0  # no self-loops
        if k == 0:
            continue
        top = np.argpartition(-w, k - 1, axis=1)[:, :k] if k < n_items else np.tile(np.arange(n_items), (len(rows), 1))
        vals = np.take_along_axis(w, top, axis=1)
        keep = vals > 0
        r = np.broadcast_to(rows[:, None], top.shape)[keep]
        rows_out.append(r)
        cols_out.append(top[keep])
        vals_out.append(vals[keep])
    if rows_out:
        r, c, v = np.concatenate(rows_out), np.concatenate(cols_out), np.concatenate(vals_out)
    else:
        r = c = np.zeros(0, np.int64)
        v = np.zeros(0)
    W = sp.csr_matrix((v, (r, c)), shape=(n_items, n_items))
    S = ((W + W.T) * 0.5).tocsr()
    S.eliminate_zeros()
    if normalize and S.nnz:
        S = S / spectral_radius(S)
    return S.astype(np.float32).tocsr()


def spectral_radius(S: sp.spmatrix) -> float:
    """The largest eigenvalue magnitude of the symmetric matrix ``S``."""
    n = S.shape[0]
    if n <= 512:
        return float(np.abs(np.linalg.eigvalsh(S.toarray())).max())
    from scipy.sparse.linalg import eigsh

    value = eigsh(S.astype(np.float64), k=1, which="LM", return_eigenvectors=False, tol=1e-6, maxiter=5000)
    return float(abs(value[0]))


def to_torch_sparse(S: sp.spmatrix):
    """``S`` as a torch sparse COO tensor (float32, coalesced): what the graph-filter layers multiply."""
    import torch

    coo = S.tocoo()
    index = torch.as_tensor(np.stack([coo.row, coo.col]).astype(np.int64))
    values = torch.as_tensor(coo.data, dtype=torch.float32)
    return torch.sparse_coo_tensor(index, values, coo.shape, check_invariants=False).coalesce()
