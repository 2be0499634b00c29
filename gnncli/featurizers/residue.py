"""Residue features of protein structures: what each node of a residue graph carries.

A :class:`ResidueFeaturizer` turns a :class:`~gnncli.domains.proteins.reader.Structure` into node
features, C-alpha positions and the residue graph (:func:`gnncli.domains.proteins.graphs.residue_graph`).
Its ``spec`` (name, version, graph settings) is saved in every run and keys the on-disk cache.

Node features (``len(featurizer)`` = 34), in order:

====================  ====  ==========================================================================
block                 size  what
====================  ====  ==========================================================================
residue type          21    one-hot over the 20 standard amino acids and UNK (modified residues count
                            as their parent)
backbone dihedrals    6     sin and cos of phi, psi and omega (0 and 0 where undefined: chain ends,
                            breaks, missing backbone atoms)
neighbour counts      2     C-alphas within 8 and 12 Angstrom, / 16 and / 48: a buriedness proxy
half-sphere exposure  2     C-alphas within 13 Angstrom on the side-chain side (up) and the other
                            (down) of the residue, / 32 (Hamelryck 2005; the side-chain direction
                            is CA -> virtual CB from the backbone)
centrality            1     C-alpha distance to the protein's centroid / its radius of gyration
B-factor              2     the residue's mean B-factor, z-scored within the structure and clipped
                            to [-3, 3], and whether the file has B-factors (0 and 0 when not)
====================  ====  ==========================================================================
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from gnncli.domains.proteins.graphs import chain_codes, residue_graph
from gnncli.domains.proteins.reader import AMINO_ACIDS

_TYPE_INDEX = {name: i for i, name in enumerate(AMINO_ACIDS)}


def dihedral(p0: np.ndarray, p1: np.ndarray, p2: np.ndarray, p3: np.ndarray) -> np.ndarray:
    """Dihedral angles (radians) of point quadruples, each [N, 3] -> [N] (NaN where undefined)."""
    b0, b1, b2 = p0 - p1, p2 - p1, p3 - p2
    b1n = b1 / np.linalg.norm(b1, axis=1, keepdims=True)
    v = b0 - np.sum(b0 * b1n, axis=1, keepdims=True) * b1n
    w = b2 - np.sum(b2 * b1n, axis=1, keepdims=True) * b1n
    x = np.sum(v * w, axis=1)
    y = np.sum(np.cross(b1n, v) * w, axis=1)
    return np.arctan2(y, x)


def backbone_dihedrals(backbone: np.ndarray, chain: np.ndarray) -> np.ndarray:
    """phi, psi, omega per residue [R, 3] (NaN where undefined) from N, CA, C [R, 3, 3].

    Consecutive residues count as bonded when they are in one chain and C(i)-N(i+1) < 2 Angstrom.
    """
    n_res = len(backbone)
    out = np.full((n_res, 3), np.nan)
    if n_res < 2:
        return out
    N, CA, C = backbone[:, 0], backbone[:, 1], backbone[:, 2]
    with np.errstate(invalid="ignore", divide="ignore"):
        linked = (chain[:-1] == chain[1:]) & (np.linalg.norm(C[:-1] - N[1:], axis=1) < 2.0)
        phi = dihedral(C[:-1], N[1:], CA[1:], C[1:])  # residue i+1
        psi = dihedral(N[:-1], CA[:-1], C[:-1], N[1:])  # residue i
        omega = dihedral(CA[:-1], C[:-1], N[1:], CA[1:])  # residue i
    out[1:, 0] = np.where(linked, phi, np.nan)
    out[:-1, 1] = np.where(linked, psi, np.nan)
    out[:-1, 2] = np.where(linked, omega, np.nan)
    return out


def virtual_cb(backbone: np.ndarray) -> np.ndarray:
    """Ideal C-beta positions [R, 3] from N, CA, C (NaN where N or C is missing)."""
    N, CA, C = backbone[:, 0], backbone[:, 1], backbone[:, 2]
    b, c = CA - N, C - CA
    a = np.cross(b, c)
    return -0.58273431 * a + 0.56802827 * b - 0.54067466 * c + CA


@dataclass(frozen=True)
class ResidueFeaturizer:
    """Residue graphs with the node features of the module docstring.

    Args:
        seq_neighbours: sequence edges join residues at most this far apart along a chain.
        radius: radius edges join C-alphas closer than this (Angstrom).
        knn: each residue's k nearest C-alphas.
        rbf: Gaussians of the distance expansion on edges.
    """

    seq_neighbours: int = 2
    radius: float = 8.0
    knn: int = 10
    rbf: int = 16

    VERSION = 1
    NODE_DIM = 34

    def __len__(self) -> int:
        return self.NODE_DIM

    @property
    def edge_dim(self) -> int:
        return 3 + self.rbf + 2

    @property
    def spec(self) -> dict:
        return {"name": "residue", "version": self.VERSION, **asdict(self)}

    @classmethod
    def from_spec(cls, spec: dict) -> ResidueFeaturizer:
        if spec.get("name") != "residue" or spec.get("version") != cls.VERSION:
            raise ValueError(f"featurizer {spec} is not available (this version of gnn has residue v{cls.VERSION})")
        return cls(**{k: spec[k] for k in ("seq_neighbours", "radius", "knn", "rbf")})

    def node_features(self, structure, *, near: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
        """[R, 34] node features of ``structure`` (a :class:`~gnncli.domains.proteins.reader.Structure`).

        ``near``: every C-alpha pair within 13 Angstrom and its distance, if already found."""
        n = len(structure)
        ca = structure.ca
        x = np.zeros((n, self.NODE_DIM), np.float32)
        types = np.fromiter((_TYPE_INDEX.get(r, 20) for r in structure.resname), np.int64, n)
        x[np.arange(n), types] = 1.0
        angles = backbone_dihedrals(structure.backbone, chain_codes(structure.chain))
        ok = ~np.isnan(angles)
        a = np.nan_to_num(angles)
        x[:, 21:24] = np.where(ok, np.sin(a), 0.0)
        x[:, 24:27] = np.where(ok, np.cos(a), 0.0)
        pairs, dist = near if near is not None else _near_pairs(ca)[1:]
        if len(pairs):
            i, j = pairs[:, 0], pairs[:, 1]
            for col, (r, scale) in zip((27, 28), ((8.0, 16.0), (12.0, 48.0))):
                within = dist <= r
                x[:, col] = (np.bincount(i[within], minlength=n) + np.bincount(j[within], minlength=n)) / scale
            with np.errstate(invalid="ignore"):
                up = np.nan_to_num(virtual_cb(structure.backbone) - ca)
            d = ca[j] - ca[i]
            side_i = np.einsum("ij,ij->i", d, up[i]) > 0  # j on i's side-chain side
            side_j = np.einsum("ij,ij->i", d, up[j]) < 0
            x[:, 29] = (np.bincount(i, side_i, n) + np.bincount(j, side_j, n)) / 32.0
            x[:, 30] = (np.bincount(i, ~side_i, n) + np.bincount(j, ~side_j, n)) / 32.0
        centred = ca - ca.mean(0)
        rg = float(np.sqrt((centred ** 2).sum(1).mean())) or 1.0
        x[:, 31] = np.linalg.norm(centred, axis=1) / rg
        b = structure.bfactor
        if np.isfinite(b).all():
            sd = float(b.std()) or 1.0
            x[:, 32] = np.clip((b - b.mean()) / sd, -3, 3)
            x[:, 33] = 1.0
        return x

    def __call__(self, structure) -> dict[str, np.ndarray]:
        """The residue graph of ``structure``: ``x``, ``pos``, ``edge_index``, ``edge_attr``, ``edge_type``."""
        ca = structure.ca
        tree, pairs, dist = _near_pairs(ca, max(13.0, self.radius))
        edge_index, edge_attr, edge_type = residue_graph(
            ca, chain_codes(structure.chain), seq_neighbours=self.seq_neighbours, radius=self.radius, knn=self.knn,
            rbf_count=self.rbf, tree=tree, near=(pairs, dist))
        within = dist <= 13.0
        return {"x": self.node_features(structure, near=(pairs[within], dist[within])), "pos": ca.astype(np.float32),
                "edge_index": edge_index, "edge_attr": edge_attr, "edge_type": edge_type}


def _near_pairs(ca: np.ndarray, radius: float = 13.0):
    """A KD-tree of ``ca``, its pairs (i < j) within ``radius`` and their distances (one search)."""
    from scipy.spatial import cKDTree

    tree = cKDTree(ca)
    pairs = tree.query_pairs(radius, output_type="ndarray").astype(np.int64)
    dist = np.linalg.norm(ca[pairs[:, 1]] - ca[pairs[:, 0]], axis=1) if len(pairs) else np.zeros(0)
    return tree, pairs, dist
