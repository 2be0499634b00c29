"""Atom, bond and molecule featurizers built on RDKit.

This module imports only numpy and RDKit, so featurization can run in worker processes
without loading torch. A featurizer has a ``spec`` (name and version) that is saved in every
checkpoint and keys the on-disk feature cache; a checkpoint made with another spec is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from rdkit import Chem, RDLogger

RDLogger.DisableLog("rdApp.*")

_HYBRIDIZATIONS = (
    Chem.rdchem.HybridizationType.S,
    Chem.rdchem.HybridizationType.SP,
    Chem.rdchem.HybridizationType.SP2,
    Chem.rdchem.HybridizationType.SP2D,
    Chem.rdchem.HybridizationType.SP3,
    Chem.rdchem.HybridizationType.SP3D,
    Chem.rdchem.HybridizationType.SP3D2,
)
_BOND_TYPES = (
    Chem.rdchem.BondType.SINGLE,
    Chem.rdchem.BondType.DOUBLE,
    Chem.rdchem.BondType.TRIPLE,
    Chem.rdchem.BondType.AROMATIC,
)
_BOND_TYPE_LUT = {bond_type: i for i, bond_type in enumerate(_BOND_TYPES)}


@dataclass(frozen=True)
class AtomFeaturizer:
    """Multi-hot atom features (a superset of Chemprop 2's default ``v2`` atom featurizer).

    Blocks, each one-hot with a trailing "other" slot unless noted: element (H-Kr and I),
    degree (0-5), formal charge (-2..2), chirality tag, total hydrogens (0-4), hybridization
    (S..SP3D2), aromatic (bit), in a ring (bit), ring sizes 3-8 (bits, several may be set),
    and mass / 100 (a scalar).
    """

    elements: tuple[int, ...] = tuple(range(1, 37)) + (53,)
    degrees: tuple[int, ...] = (0, 1, 2, 3, 4, 5)
    charges: tuple[int, ...] = (-2, -1, 0, 1, 2)
    chiral_tags: tuple[int, ...] = (0, 1, 2, 3)
    num_hs: tuple[int, ...] = (0, 1, 2, 3, 4)
    ring_sizes: tuple[int, ...] = (3, 4, 5, 6, 7, 8)

    def __post_init__(self) -> None:
        blocks = [
            len(self.elements) + 1,
            len(self.degrees) + 1,
            len(self.charges) + 1,
            len(self.chiral_tags) + 1,
            len(self.num_hs) + 1,
            len(_HYBRIDIZATIONS) + 1,
            1,  # aromatic
            1,  # in ring
            len(self.ring_sizes),
        ]
        offsets = np.concatenate([[0], np.cumsum(blocks)])
        object.__setattr__(self, "_offsets", offsets)
        object.__setattr__(self, "_luts", [
            self._lut(0, self.elements, 128),
            self._lut(1, self.degrees, 16),
            self._lut(2, self.charges, 16),
            self._lut(3, self.chiral_tags, 16),
            self._lut(4, self.num_hs, 16),
            self._lut(5, tuple(int(h) for h in _HYBRIDIZATIONS), 16),
        ])
        ring_lut = np.full(max(self.ring_sizes) + 2, -1, dtype=np.int64)  # ring size -> column, or -1
        ring_lut[list(self.ring_sizes)] = np.arange(len(self.ring_sizes))
        object.__setattr__(self, "_ring_lut", ring_lut)

    def __len__(self) -> int:
        return int(self._offsets[-1]) + 1  # + mass

    def _lut(self, block: int, choices: tuple, size: int) -> np.ndarray:
        """Lookup table from a raw value (shifted by ``size // 2`` for signed ones) to a column."""
        lut = np.full(size, self._offsets[block] + len(choices), dtype=np.int64)
        for i, value in enumerate(choices):
            lut[int(value) + (size // 2 if block == 2 else 0)] = self._offsets[block] + i
        return lut

    def many(self, mol: Chem.Mol) -> np.ndarray:
        """Features of every atom of ``mol``. Shape: [num_atoms, len(self)]."""
        return self.stack([mol])

    def stack(self, mols: Sequence[Chem.Mol]) -> np.ndarray:
        """Features of every atom of every molecule in ``mols``, stacked in order.

        Vectorized over the whole list: per molecule, only the RDKit calls run in Python (numpy
        work per molecule used to cost as much as the calls themselves).
        Shape: [total_atoms, len(self)].
        """
        # One tuple per atom: RDKit calls dominate, so make no extra passes. GetAtomWithIdx in a
        # comprehension is faster than RDKit's sequence iterator.
        props, ring_atoms, ring_lens = [], [], []
        offset = 0
        for mol in mols:
            n = mol.GetNumAtoms()
            props.extend([
                (a.GetAtomicNum(), a.GetTotalDegree(), a.GetFormalCharge(), int(a.GetChiralTag()),
                 a.GetTotalNumHs(), int(a.GetHybridization()), a.GetIsAromatic(), a.GetMass())
                for a in map(mol.GetAtomWithIdx, range(n))
            ])
            for ring in mol.GetRingInfo().AtomRings():
                ring_atoms.extend([offset + i for i in ring])
                ring_lens.extend([len(ring)] * len(ring))
            offset += n
        table = np.array(props, dtype=np.float64).reshape(offset, 8)
        x = np.zeros((offset, len(self)), dtype=np.float32)
        rows = np.arange(offset)
        codes = table[:, :6].astype(np.int64)
        for block, lut in enumerate(self._luts):
            values = codes[:, block] + (len(lut) // 2 if block == 2 else 0)
            values = np.minimum(np.abs(values), len(lut) - 1)  # out-of-table values land in "other"
            x[rows, lut[values]] = 1.0
        off = self._offsets
        x[:, off[6]] = table[:, 6]
        if ring_atoms:
            ring_atoms, ring_lens = np.asarray(ring_atoms), np.asarray(ring_lens)
            x[ring_atoms, off[7]] = 1.0
            size_col = self._ring_lut[np.minimum(ring_lens, len(self._ring_lut) - 1)]
            known = size_col >= 0
            x[ring_atoms[known], off[8] + size_col[known]] = 1.0
        x[:, -1] = 0.01 * table[:, 7]
        return x

    def __call__(self, atom: Chem.Atom) -> np.ndarray:
        """Features of one atom (in the context of its molecule, for ring membership)."""
        return self.many(atom.GetOwningMol())[atom.GetIdx()]


@dataclass(frozen=True)
class BondFeaturizer:
    """Multi-hot bond features (Chemprop 2's default bond featurizer less its "no bond" bit).

    Blocks: bond type (single, double, triple, aromatic; one-hot), conjugated (bit),
    in a ring (bit), stereo (one-hot over RDKit's six stereo values plus "other").
    """

    stereo: tuple[int, ...] = (0, 1, 2, 3, 4, 5)

    def __len__(self) -> int:
        return len(_BOND_TYPES) + 2 + len(self.stereo) + 1

    def many(self, mol: Chem.Mol) -> tuple[np.ndarray, np.ndarray]:
        """Directed edges and their features for every bond of ``mol``.

        Bond ``k`` between ``u`` and ``v`` gives edges ``2k: u->v`` and ``2k+1: v->u``.
        Shapes: edge_index [2, 2 * num_bonds], edge_attr [2 * num_bonds, len(self)].
        """
        edge_index, edge_attr, _ = self.stack([mol])
        return edge_index, edge_attr

    def stack(self, mols: Sequence[Chem.Mol]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Directed edges of every molecule in ``mols``, stacked in order, vectorized over the list.

        ``edge_index`` stays local to each molecule (atom numbers as in the molecule).
        Returns edge_index [2, E], edge_attr [E, len(self)] and edges per molecule [len(mols)].
        """
        double = Chem.rdchem.BondType.DOUBLE
        props, ring_bonds, counts = [], [], []
        offset = 0
        for mol in mols:
            m = mol.GetNumBonds()
            props.extend([
                (b.GetBeginAtomIdx(), b.GetEndAtomIdx(), _BOND_TYPE_LUT.get(bt := b.GetBondType(), -1),
                 b.GetIsConjugated(), int(b.GetStereo()) if bt == double else 0)  # only double bonds have stereo
                for b in map(mol.GetBondWithIdx, range(m))
            ])
            for ring in mol.GetRingInfo().BondRings():  # one call for all bonds, not IsInRing() per bond
                ring_bonds.extend([offset + k for k in ring])
            counts.append(2 * m)
            offset += m
        table = np.array(props, dtype=np.int64).reshape(offset, 5)
        u, v, kind, conjugated, stereo = table.T
        edge_index = np.empty((2, 2 * offset), dtype=np.int64)
        edge_index[0, 0::2], edge_index[1, 0::2] = u, v
        edge_index[0, 1::2], edge_index[1, 1::2] = v, u
        attr = np.zeros((offset, len(self)), dtype=np.float32)
        rows = np.arange(offset)
        known = kind >= 0
        attr[rows[known], kind[known]] = 1.0
        n_types = len(_BOND_TYPES)
        attr[:, n_types] = conjugated
        attr[ring_bonds, n_types + 1] = 1.0
        stereo_col = np.full(offset, len(self.stereo), dtype=np.int64)
        for i, value in enumerate(self.stereo):
            stereo_col[stereo == value] = i
        attr[rows, n_types + 2 + stereo_col] = 1.0
        return edge_index, np.repeat(attr, 2, axis=0), np.asarray(counts, dtype=np.int64)

    def __call__(self, bond: Chem.Bond) -> np.ndarray:
        """Features of one bond."""
        return self.many(bond.GetOwningMol())[1][2 * bond.GetIdx()]


class MolGraph(NamedTuple):
    """One featurized molecule as numpy arrays.

    Bond ``k`` between atoms ``u`` and ``v`` gives directed edges ``2k: u->v`` and
    ``2k+1: v->u``, so the reverse of edge ``e`` is always ``e ^ 1`` (D-MPNN relies on it).

    Shapes: ``x`` [num_atoms, atom_dim], ``edge_index`` [2, 2 * num_bonds],
    ``edge_attr`` [2 * num_bonds, bond_dim].
    """

    x: np.ndarray
    edge_index: np.ndarray
    edge_attr: np.ndarray


class InvalidMolecule(ValueError):
    """A SMILES (or record) that RDKit cannot turn into a usable molecule."""


#: The largest molecule read by default, in atoms of its graph (heavy atoms, and hydrogens only
#: where written as atoms). Drug-like molecules have under 100; peptides and macrocycles a few
#: hundred. Larger inputs are skipped (training) or marked (prediction); ``--max-atoms`` raises it.
DEFAULT_MAX_ATOMS = 1000
#: SMILES text allowed per atom of the limit, checked before parsing so that an enormous line is
#: never handed to RDKit (a bracketed, charged, stereo atom with a ring closure takes ~12).
CHARS_PER_ATOM = 16


def parse_smiles(smiles: object, max_atoms: int | None = None) -> Chem.Mol:
    """Parse and sanitize ``smiles``, raising :class:`InvalidMolecule` with a reason.

    With ``max_atoms``, a SMILES longer than ``CHARS_PER_ATOM * max_atoms`` characters is refused
    unread, and a molecule with more than ``max_atoms`` atoms is refused after parsing.
    """
    if not isinstance(smiles, str) or not smiles.strip():
        raise InvalidMolecule("empty SMILES")
    if max_atoms is not None and len(smiles) > CHARS_PER_ATOM * max_atoms:
        raise InvalidMolecule(f"SMILES of {len(smiles):,} characters is too long for --max-atoms {max_atoms} "
                              f"(at most {CHARS_PER_ATOM * max_atoms:,}); not read")
    text = smiles.strip()
    mol = Chem.MolFromSmiles(text)  # the usual path: parse, sanitize, perceive stereo
    if mol is not None:
        if mol.GetNumAtoms() == 0:
            raise InvalidMolecule(f"SMILES '{_short(text)}' has no atoms")
        if max_atoms is not None and mol.GetNumAtoms() > max_atoms:
            raise InvalidMolecule(f"molecule '{_short(text)}' has {mol.GetNumAtoms():,} atoms, "
                                  f"more than --max-atoms {max_atoms}")
        return mol
    # Failed: parse again without sanitizing only to say why.
    raw = Chem.MolFromSmiles(text, sanitize=False)
    if raw is None:
        raise InvalidMolecule(f"SMILES '{_short(text)}' could not be parsed")
    try:
        Chem.SanitizeMol(raw)
    except Exception as exc:  # RDKit raises several sanitization exception types
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InvalidMolecule(f"SMILES '{_short(text)}' failed sanitization: {reason}") from None
    raise InvalidMolecule(f"SMILES '{_short(text)}' was rejected by RDKit")


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True)
class MoleculeFeaturizer:
    """Turns a SMILES string or an RDKit molecule into a :class:`MolGraph`.

    Example:
        >>> f = MoleculeFeaturizer()
        >>> g = f("CCO")
        >>> g.x.shape, g.edge_index.shape
        ((3, 79), (2, 4))
    """

    atom: AtomFeaturizer = field(default_factory=AtomFeaturizer)
    bond: BondFeaturizer = field(default_factory=BondFeaturizer)
    name: str = "gnn-mol"
    version: int = 1

    @property
    def atom_dim(self) -> int:
        return len(self.atom)

    @property
    def bond_dim(self) -> int:
        return len(self.bond)

    @property
    def spec(self) -> dict:
        """What identifies this featurizer in a checkpoint and in the feature cache."""
        return {"name": self.name, "version": self.version, "atom_dim": self.atom_dim, "bond_dim": self.bond_dim}

    @classmethod
    def from_spec(cls, spec: dict) -> MoleculeFeaturizer:
        featurizer = cls()
        if spec != featurizer.spec:
            raise ValueError(f"featurizer {spec} is not available (this version of gnn has {featurizer.spec})")
        return featurizer

    def __call__(self, mol: Chem.Mol | str | None) -> MolGraph:
        if not isinstance(mol, Chem.Mol):
            mol = parse_smiles(mol)
        x, edge_index, edge_attr, _, _ = self.stack([mol])
        return MolGraph(x, edge_index, edge_attr)

    def stack(self, mols: Sequence[Chem.Mol]) -> tuple[np.ndarray, ...]:
        """Every molecule of ``mols`` featurized and concatenated, vectorized over the list.

        Returns ``(x, edge_index, edge_attr, num_atoms, num_edges)``; ``edge_index`` is local to
        each molecule.
        """
        x = self.atom.stack(mols)
        edge_index, edge_attr, num_edges = self.bond.stack(mols)
        num_atoms = np.fromiter((mol.GetNumAtoms() for mol in mols), dtype=np.int64, count=len(mols))
        return x, edge_index, edge_attr, num_atoms, num_edges


def featurize_batch(featurizer: MoleculeFeaturizer, smiles: list, max_atoms: int | None = DEFAULT_MAX_ATOMS) -> tuple:
    """Featurize many SMILES into packed arrays (what a worker process returns).

    Returns ``(x, edge_index, edge_attr, num_atoms, num_edges, errors)`` where the arrays are
    concatenations over the valid molecules in order (``edge_index`` is local to each molecule),
    and ``errors`` maps the position of each invalid input (or one larger than ``max_atoms``)
    to its reason.
    """
    mols, errors = [], {}
    for pos, smi in enumerate(smiles):
        try:
            mols.append(parse_smiles(smi, max_atoms))
        except InvalidMolecule as exc:
            errors[pos] = str(exc)
        except Exception as exc:  # RDKit can fail in exotic ways on odd input; keep the row, mark it
            errors[pos] = _could_not(exc)
    try:
        return (*featurizer.stack(mols), errors)
    except Exception:
        pass
    # Some molecule made RDKit fail: featurize one at a time to mark only that one.
    valid = [pos for pos in range(len(smiles)) if pos not in errors]
    kept = []
    for pos, mol in zip(valid, mols):
        try:
            featurizer.stack([mol])
            kept.append(mol)
        except Exception as exc:
            errors[pos] = _could_not(exc)
    return (*featurizer.stack(kept), errors)


def _could_not(exc: Exception) -> str:
    return f"could not featurize: {type(exc).__name__}: {exc}"
