"""Featurizers shared by several kinds of input: atoms, bonds and molecules (RDKit), which the
molecules kind reads and the graph kind's edge-list reader uses for SMILES files. A featurizer
that serves one kind alone lives in that kind's package (reactions, table rows and descriptors
in :mod:`gnncli.domains.molecules`, residues in :mod:`gnncli.domains.proteins`)."""

from gnncli.featurizers.molecule import (
    AtomFeaturizer,
    BondFeaturizer,
    MoleculeFeaturizer,
    MolGraph,
)

__all__ = ["AtomFeaturizer", "BondFeaturizer", "MolGraph", "MoleculeFeaturizer"]
