"""Residue features of protein structures: what each node of a residue graph carries.

A :class:`ResidueFeaturizer` turns a :class:`~gnncli.domains.proteins.reader.Structure` into node
features, C-alpha positions and the residue graph (:func:`gnncli.domains.proteins.graphs.residue_graph`).
Its ``spec`` (name, version, graph settings) is saved in every run and keys the on-disk cache.

Node features (``len(featurizer)`` = 38; 34 for runs made with version 1, which lacks the last
block), in order:

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
atom packing          4     from the protein's heavy atoms: heavy atoms within 8 Angstrom of the
                            residue's centroid / 100; the mean and the least number of atoms within
                            6 Angstrom of each of the residue's atoms / 60; and the share of 30 fixed
                            directions from the centroid that hit protein (a 2 Angstrom grid cell
                            holding an atom) within 16 Angstrom (a pocket is enclosed in most
                            directions, a protrusion in few; LIGSITE's idea)
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

    version: int = 2

    _DIMS = {1: 34, 2: 38}

    def __len__(self) -> int:
        return self._DIMS[self.version]

    @property
    def edge_dim(self) -> int:
        return 3 + self.rbf + 2

    @property
    def spec(self) -> dict:
        return {"name": "residue", **asdict(self)}

    @classmethod
    def from_spec(cls, spec: dict) -> ResidueFeaturizer:
        """The featurizer a run was made with: this version's, or version 1 (no atom packing)."""
        if spec.get("name") != "residue" or spec.get("version") not in cls._DIMS:
            raise ValueError(f"featurizer {spec} is not available (this version of gnn has residue "
                             f"v{', v'.join(map(str, cls._DIMS))})")
        return cls(**{k: spec[k] for k in ("seq_neighbours", "radius", "knn", "rbf", "version")})

    def node_features(self, structure, *, near: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
        """[R, 38] node features of ``structure`` (a :class:`~gnncli.domains.proteins.reader.Structure`;
        [R, 34] for version 1).

        ``near``: every C-alpha pair within 13 Angstrom and its distance, if already found."""
        n = len(structure)
        ca = structure.ca
        x = np.zeros((n, len(self)), np.float32)
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
        if self.version >= 2:
            x[:, 34:38] = atom_packing(structure.atom_xyz, structure.atom_residue, n)
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


#: Fixed directions of the enclosure rays (a Fibonacci sphere), and the distances probed along each.
_RAYS = 30
_GOLDEN = np.pi * (3.0 - np.sqrt(5.0))
_z = 1.0 - 2.0 * (np.arange(_RAYS) + 0.5) / _RAYS
_DIRECTIONS = np.stack([np.sqrt(1 - _z ** 2) * np.cos(_GOLDEN * np.arange(_RAYS)),
                        np.sqrt(1 - _z ** 2) * np.sin(_GOLDEN * np.arange(_RAYS)), _z], axis=1)
_PROBES = (4.0, 7.0, 10.0, 13.0, 16.0)
_CELL = 2.0


def atom_packing(atom_xyz: np.ndarray, atom_residue: np.ndarray, n: int) -> np.ndarray:
    """[n, 4] atom-packing features of ``n`` residues from their heavy atoms (module docstring).

    Neighbour counts come from a KD-tree of the atoms; the rays' probe points look up a grid of
    2 Angstrom cells that marks the cells holding an atom, so that no probe is compared with every
    atom. Residues without atoms get zeros.
    """
    from scipy.spatial import cKDTree

    out = np.zeros((n, 4), np.float32)
    xyz = np.asarray(atom_xyz, np.float64)
    if len(xyz) == 0:
        return out
    res = np.asarray(atom_residue, np.int64)
    count = np.bincount(res, minlength=n)
    has = count > 0
    centre = np.stack([np.bincount(res, xyz[:, d], n) for d in range(3)], 1) / np.maximum(count, 1)[:, None]
    tree = cKDTree(xyz)
    out[:, 0] = tree.query_ball_point(centre, 8.0, return_length=True) / 100.0
    margin = int(np.ceil(max(_PROBES) / _CELL)) + 2
    low = xyz.min(0) - margin * _CELL
    cells = np.floor((xyz - low) / _CELL).astype(np.int64)
    shape = tuple(cells.max(0) + margin + 1)
    occupied = np.zeros(shape, bool)
    occupied[tuple(cells.T)] = True
    density = tree.query_ball_point(xyz, 6.0, return_length=True).astype(np.float64)
    out[:, 1] = np.bincount(res, density, n) / np.maximum(count, 1) / 60.0
    least = np.full(n, np.inf)
    np.minimum.at(least, res, density)
    out[:, 2] = least / 60.0  # inf for residues without atoms, zeroed below
    hit = np.zeros((n, _RAYS), bool)
    for distance in _PROBES:
        probe = np.floor((centre[:, None, :] + distance * _DIRECTIONS[None] - low) / _CELL).astype(np.int64)
        probe = np.clip(probe, 0, np.asarray(shape) - 1)
        hit |= occupied[probe[..., 0], probe[..., 1], probe[..., 2]]
    out[:, 3] = hit.mean(1)
    out[~has] = 0.0
    return out


def _near_pairs(ca: np.ndarray, radius: float = 13.0):
    """A KD-tree of ``ca``, its pairs (i < j) within ``radius`` and their distances (one search)."""
    from scipy.spatial import cKDTree

    tree = cKDTree(ca)
    pairs = tree.query_pairs(radius, output_type="ndarray").astype(np.int64)
    dist = np.linalg.norm(ca[pairs[:, 1]] - ca[pairs[:, 0]], axis=1) if len(pairs) else np.zeros(0)
    return tree, pairs, dist
