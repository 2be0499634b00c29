"""Bemis-Murcko scaffolds, and the scaffold split that keeps each scaffold on one side."""

from __future__ import annotations

from collections.abc import Sequence

from gnncli.train.splits import Split, group_split


def scaffold_of(smiles: str) -> str:
    """The Bemis-Murcko scaffold of a molecule (``""`` for acyclic molecules)."""
    from rdkit.Chem.Scaffolds import MurckoScaffold

    try:
        return MurckoScaffold.MurckoScaffoldSmiles(smiles=smiles, includeChirality=False)
    except Exception:  # an unusual molecule that RDKit's scaffold code rejects: its own group
        return smiles


def scaffold_split(smiles: Sequence[str], sizes: Sequence[float], seed: int) -> Split:
    """Group molecules by Bemis-Murcko scaffold so that no scaffold is on two sides (Chemprop's
    balanced scaffold split; see :func:`gnncli.train.splits.group_split`)."""
    return group_split([scaffold_of(smi) for smi in smiles], sizes, seed)
