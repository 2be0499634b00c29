"""Featurizers: small callables that turn one item (an atom, a bond, a molecule) into numbers."""

from gnncli.featurizers.molecule import (
    AtomFeaturizer,
    BondFeaturizer,
    MolGraph,
    MoleculeFeaturizer,
)

__all__ = ["AtomFeaturizer", "BondFeaturizer", "MolGraph", "MoleculeFeaturizer"]
