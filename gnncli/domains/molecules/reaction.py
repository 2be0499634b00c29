"""Reactions as condensed graphs of reaction (CGR): one graph whose atoms carry their reactant and
product features and whose bonds carry how they change.

From "Machine Learning of Reaction Properties via Learned Representations of the Condensed Graph
of Reaction" (Heid & Green, J. Chem. Inf. Model. 2022), as Chemprop encodes atom-mapped reaction
SMILES ``reactants>agents>products``:

* atoms: every reactant atom, in order, then the product atoms that no reactant atom maps to.
  A reactant atom is matched to the product atom with the same atom-map number. An atom present
  on one side only is featurized on the other side by its element alone.
* bonds: every atom pair bonded in the reactants or in the products. Each side's bond features
  are a "no bond" bit followed by :class:`~gnncli.featurizers.molecule.BondFeaturizer`'s.
* modes (Chemprop's names): ``reac_diff`` gives ``[reactant || product - reactant]`` for atoms and
  bonds (the default), ``reac_prod`` ``[reactant || product]``, ``prod_diff``
  ``[product || product - reactant]``.

Agents (the middle part) are not part of the graph. A molecule that is not a reaction is the CGR
of a reaction that changes nothing (``[features || 0]`` in ``reac_diff`` mode), so molecules and
reactions can share one encoder. Imports only numpy and RDKit (it runs in worker processes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from rdkit import Chem

from gnncli.featurizers.molecule import AtomFeaturizer, BondFeaturizer, InvalidMolecule, _short, parse_smiles

MODES = ("reac_diff", "reac_prod", "prod_diff")


@dataclass(frozen=True)
class Reaction:
    """A parsed reaction: reactants and products as one molecule each, and which product atom each
    reactant atom becomes.

    Attributes:
        reactants, products: RDKit molecules (several molecules each, as one).
        mapping: [reactant atoms] the index of the matching product atom, or -1.
        product_only: indices of the product atoms no reactant atom maps to.
    """

    reactants: Chem.Mol
    products: Chem.Mol
    mapping: np.ndarray
    product_only: np.ndarray

    @classmethod
    def unchanged(cls, mol: Chem.Mol) -> Reaction:
        """A molecule as the reaction that leaves it as it is."""
        return cls(mol, mol, np.arange(mol.GetNumAtoms()), np.zeros(0, np.int64))

    @property
    def num_atoms(self) -> int:
        return self.reactants.GetNumAtoms() + len(self.product_only)


def parse_reaction(text: object, max_atoms: int | None = None) -> Reaction:
    """Parse an atom-mapped reaction SMILES ``reactants>agents>products``, raising
    :class:`~gnncli.featurizers.molecule.InvalidMolecule` with a reason."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidMolecule("empty reaction SMILES")
    parts = text.strip().split(">")
    if len(parts) != 3:
        raise InvalidMolecule(f"reaction SMILES '{_short(text.strip())}' is not reactants>agents>products")
    sides = []
    for name, smiles in (("reactants", parts[0]), ("products", parts[2])):
        try:
            sides.append(parse_smiles(smiles, max_atoms))
        except InvalidMolecule as exc:
            raise InvalidMolecule(f"{name} of reaction '{_short(text.strip())}': {exc}") from None
    reactants, products = sides
    product_by_map = {a.GetAtomMapNum(): a.GetIdx() for a in products.GetAtoms() if a.GetAtomMapNum() > 0}
    mapping = np.array([product_by_map.get(a.GetAtomMapNum(), -1) if a.GetAtomMapNum() > 0 else -1
                        for a in reactants.GetAtoms()], dtype=np.int64)
    matched = np.zeros(products.GetNumAtoms(), dtype=bool)
    matched[mapping[mapping >= 0]] = True
    reaction = Reaction(reactants, products, mapping, np.flatnonzero(~matched))
    if max_atoms is not None and reaction.num_atoms > max_atoms:
        raise InvalidMolecule(f"reaction '{_short(text.strip())}' has {reaction.num_atoms:,} atoms, more than --max-atoms {max_atoms}")
    return reaction


@dataclass(frozen=True)
class CGRFeaturizer:
    """Featurizes :class:`Reaction` objects into condensed graphs of reaction.

    Widths: atoms ``2 * len(atom)``, bonds ``2 * (len(bond) + 1)``. Bond ``k`` gives directed edges
    ``2k`` and ``2k + 1`` (the reverse of edge ``e`` is ``e ^ 1``, as D-MPNN needs).

    Example:
        >>> g = CGRFeaturizer().stack([parse_reaction("[CH3:1][OH:2]>>[CH2:1]=[O:2]")])
        >>> g[0].shape, g[1].shape
        ((2, 158), (2, 2))
    """

    mode: str = "reac_diff"
    atom: AtomFeaturizer = field(default_factory=AtomFeaturizer)
    bond: BondFeaturizer = field(default_factory=BondFeaturizer)
    name: str = "gnn-cgr"
    version: int = 1

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown reaction mode '{self.mode}' (choose from {', '.join(MODES)})")

    @property
    def atom_dim(self) -> int:
        return 2 * len(self.atom)

    @property
    def bond_dim(self) -> int:
        return 2 * (len(self.bond) + 1)

    @property
    def spec(self) -> dict:
        return {"name": self.name, "version": self.version, "mode": self.mode, "atom_dim": self.atom_dim,
                "bond_dim": self.bond_dim}

    def _combine(self, reac: np.ndarray, prod: np.ndarray) -> np.ndarray:
        if self.mode == "reac_diff":
            return np.concatenate([reac, prod - reac], axis=1)
        if self.mode == "reac_prod":
            return np.concatenate([reac, prod], axis=1)
        return np.concatenate([prod, prod - reac], axis=1)

    def stack(self, reactions: Sequence[Reaction]) -> tuple[np.ndarray, ...]:
        """Every reaction's CGR, concatenated: ``(x, edge_index, edge_attr, num_atoms, num_edges)``
        with ``edge_index`` local to each reaction (as :meth:`MoleculeFeaturizer.stack`)."""
        element_cols = len(self.atom.elements) + 1  # the element block leads the atom features
        fr_all = self.atom.stack([r.reactants for r in reactions])
        fp_all = self.atom.stack([r.products for r in reactions])
        er_all, br_all, ner = self.bond.stack([r.reactants for r in reactions])
        ep_all, bp_all, nep = self.bond.stack([r.products for r in reactions])
        nb = len(self.bond) + 1
        xs, eis, eas, n_atoms, n_edges = [], [], [], [], []
        ra = pa = re = pe = 0
        for k, r in enumerate(reactions):
            nr, np_ = r.reactants.GetNumAtoms(), r.products.GetNumAtoms()
            fr, fp = fr_all[ra : ra + nr], fp_all[pa : pa + np_]
            n = nr + len(r.product_only)
            reac = np.zeros((n, fr_all.shape[1]), np.float32)
            prod = np.zeros_like(reac)
            matched = r.mapping >= 0
            reac[:nr] = fr
            prod[:nr][matched] = fp[r.mapping[matched]]
            prod[:nr][~matched, :element_cols] = fr[~matched, :element_cols]  # gone: its element only
            prod[nr:] = fp[r.product_only]
            reac[nr:, :element_cols] = fp[r.product_only, :element_cols]  # new: its element only
            xs.append(self._combine(reac, prod))
            # Bonds of either side, keyed by their CGR atom pair.
            to_cgr = np.full(np_, -1, np.int64)
            to_cgr[r.mapping[matched]] = np.flatnonzero(matched)
            to_cgr[r.product_only] = nr + np.arange(len(r.product_only))
            pairs: dict[tuple[int, int], list] = {}
            er, br = er_all[:, re : re + ner[k]], br_all[re : re + ner[k]]
            for j in range(0, er.shape[1], 2):
                u, v = int(er[0, j]), int(er[1, j])
                pairs.setdefault((min(u, v), max(u, v)), [None, None])[0] = br[j]
            ep, bp = ep_all[:, pe : pe + nep[k]], bp_all[pe : pe + nep[k]]
            for j in range(0, ep.shape[1], 2):
                u, v = int(to_cgr[ep[0, j]]), int(to_cgr[ep[1, j]])
                pairs.setdefault((min(u, v), max(u, v)), [None, None])[1] = bp[j]
            m = len(pairs)
            sides = np.zeros((2, m, nb), np.float32)
            ei = np.empty((2, 2 * m), np.int64)
            for b, ((u, v), feats) in enumerate(pairs.items()):
                ei[:, 2 * b], ei[:, 2 * b + 1] = (u, v), (v, u)
                for side, f in enumerate(feats):
                    if f is None:
                        sides[side, b, 0] = 1.0  # no bond on this side
                    else:
                        sides[side, b, 1:] = f
            eas.append(np.repeat(self._combine(sides[0], sides[1]), 2, axis=0))
            eis.append(ei)
            n_atoms.append(n)
            n_edges.append(2 * m)
            ra, pa, re, pe = ra + nr, pa + np_, re + ner[k], pe + nep[k]
        if not reactions:
            return (np.zeros((0, self.atom_dim), np.float32), np.zeros((2, 0), np.int64),
                    np.zeros((0, self.bond_dim), np.float32), np.zeros(0, np.int64), np.zeros(0, np.int64))
        return (np.concatenate(xs), np.concatenate(eis, axis=1), np.concatenate(eas),
                np.asarray(n_atoms, np.int64), np.asarray(n_edges, np.int64))
