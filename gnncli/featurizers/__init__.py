"""Featurizers: small callables that turn one item (an atom, a bond, a molecule) into numbers."""

from gnncli.featurizers.molecule import (
    AtomFeaturizer,
    BondFeaturizer,
    MoleculeFeaturizer,
    MolGraph,
)

__all__ = ["AtomFeaturizer", "BondFeaturizer", "MolGraph", "MoleculeFeaturizer"]
