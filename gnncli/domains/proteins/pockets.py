"""Pockets from residue scores, and the P2Rank/VN-EGNN success rates (DCC, DCA).

Residues scoring at least ``threshold`` are clustered by single linkage on their C-alphas
(two residues join a pocket when their C-alphas are within ``linkage`` Angstrom, transitively);
if none does, the top ``fallback`` residues are clustered instead, so that every protein has a
ranked pocket. Pockets are ranked by summed score; a pocket's centre is the score-weighted mean of
its residues' heavy-atom centroids.

DCC is the distance from a pocket's centre to the ligand's centre; DCA the distance from the
centre to the ligand's closest heavy atom. A ligand is found at top-n when one of the n
best-ranked pockets is within 4 Angstrom by that measure (n = the number of ligands of the
protein; top-(n+2) allows two more pockets).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SUCCESS_DISTANCE = 4.0


@dataclass
class Pocket:
    rank: int
    score: float
    center: np.ndarray
    residues: np.ndarray  # residue positions in the structure


def find_pockets(scores: np.ndarray, ca: np.ndarray, centers: np.ndarray, *, threshold: float = 0.5,
                 linkage: float = 8.0, fallback: int = 5) -> list[Pocket]:
    """Ranked pockets of one structure (see the module docstring).

    Args:
        scores: [R] residue scores in [0, 1]; ca: [R, 3] C-alphas; centers: [R, 3] residue centroids.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    chosen = np.flatnonzero(scores >= threshold)
    if not len(chosen):
        chosen = np.argsort(-scores, kind="stable")[: max(1, fallback)]
    pairs = cKDTree(ca[chosen]).query_pairs(linkage, output_type="ndarray")
    k = len(chosen)
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(k, k)) if len(pairs) else coo_matrix((k, k))
    _, label = connected_components(graph, directed=False)
    pockets = []
    for c in np.unique(label):
        members = chosen[label == c]
        w = scores[members].astype(np.float64)
        weights = w / w.sum() if w.sum() > 0 else np.full(len(w), 1.0 / len(w))
        pockets.append(Pocket(0, float(w.sum()), (centers[members] * weights[:, None]).sum(0), members))
    pockets.sort(key=lambda p: -p.score)
    for i, p in enumerate(pockets):
        p.rank = i + 1
    return pockets


def pocket_success(pockets: list[Pocket], ligands: list[np.ndarray], *, extra: int = 0,
                   distance: float = SUCCESS_DISTANCE) -> tuple[list[bool], list[bool]]:
    """Per ligand: (DCC success, DCA success) among the top ``len(ligands) + extra`` pockets."""
    top = pockets[: len(ligands) + extra]
    dcc, dca = [], []
    for lig in ligands:
        lig = np.asarray(lig, np.float64).reshape(-1, 3)
        centre = lig.mean(0)
        dcc.append(any(np.linalg.norm(p.center - centre) <= distance for p in top))
        dca.append(any(np.min(np.linalg.norm(lig - p.center, axis=1)) <= distance for p in top))
    return dcc, dca


def success_rates(per_protein: list[tuple[list[Pocket], list[np.ndarray]]]) -> dict[str, float]:
    """``dcc_top_n``, ``dca_top_n``, ``dcc_top_n2``, ``dca_top_n2`` over every ligand of every protein,
    and ``ligands`` (how many were scored)."""
    out = {"dcc_top_n": [], "dca_top_n": [], "dcc_top_n2": [], "dca_top_n2": []}
    for pockets, ligands in per_protein:
        if not ligands:
            continue
        dcc, dca = pocket_success(pockets, ligands)
        dcc2, dca2 = pocket_success(pockets, ligands, extra=2)
        out["dcc_top_n"] += dcc
        out["dca_top_n"] += dca
        out["dcc_top_n2"] += dcc2
        out["dca_top_n2"] += dca2
    n = len(out["dca_top_n"])
    rates = {k: (float(np.mean(v)) if n else float("nan")) for k, v in out.items()}
    rates["ligands"] = n
    return rates
