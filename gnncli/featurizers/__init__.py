"""Featurizers: small callables that turn one item (an atom, a bond, a molecule, a reaction, a
table row of several) into numbers."""

from gnncli.featurizers.molecule import (
    AtomFeaturizer,
    BondFeaturizer,
    MoleculeFeaturizer,
    MolGraph,
)
from gnncli.featurizers.reaction import CGRFeaturizer, Reaction, parse_reaction
from gnncli.featurizers.rows import RowFeaturizer

__all__ = ["AtomFeaturizer", "BondFeaturizer", "CGRFeaturizer", "MolGraph", "MoleculeFeaturizer", "Reaction",
           "RowFeaturizer", "parse_reaction"]
