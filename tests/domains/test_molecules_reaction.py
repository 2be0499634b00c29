import numpy as np
import pytest

from gnncli.featurizers.molecule import BondFeaturizer, InvalidMolecule, MoleculeFeaturizer, parse_smiles
from gnncli.domains.molecules.reaction import CGRFeaturizer, Reaction, parse_reaction

NB = len(BondFeaturizer()) + 1  # a side's bond features: the "no bond" bit, then the bond's


def _bonds(reaction: str, mode: str = "reac_diff") -> dict:
    """CGR bonds by atom-map pair: (reactant side, difference)."""
    r = parse_reaction(reaction)
    x, ei, ea, na, ne = CGRFeaturizer(mode).stack([r])
    maps = [a.GetAtomMapNum() for a in r.reactants.GetAtoms()] + [r.products.GetAtomWithIdx(int(j)).GetAtomMapNum() for j in r.product_only]
    out = {}
    for e in range(0, ei.shape[1], 2):
        u, v = ei[:, e]
        out[tuple(sorted((maps[u], maps[v])))] = (ea[e, :NB], ea[e, NB:])
    assert np.array_equal(ei[:, 1::2], ei[::-1, 0::2]) and np.array_equal(ea[0::2], ea[1::2])  # e ^ 1 is the reverse
    return out


def test_cgr_marks_the_bonds_a_reaction_changes():
    # SN2: the C-Br bond breaks, a C-O bond forms, the C-C bond stays.
    bonds = _bonds("[CH3:1][CH2:2][Br:3].[OH-:4]>>[CH3:1][CH2:2][OH:4].[Br-:3]")
    assert set(bonds) == {(1, 2), (2, 3), (2, 4)}
    single = 1  # the column of a single bond, after the "no bond" bit
    reac, diff = bonds[(2, 3)]  # broken: a single bond in the reactants, none in the products
    assert reac[0] == 0 and reac[single] == 1 and diff[0] == 1 and diff[single] == -1
    reac, diff = bonds[(2, 4)]  # formed
    assert reac[0] == 1 and diff[0] == -1 and diff[single] == 1
    reac, diff = bonds[(1, 2)]  # unchanged
    assert reac[single] == 1 and not diff.any()


def test_cgr_bond_order_change_and_atom_features():
    bonds = _bonds("[CH3:1][OH:2]>>[CH2:1]=[O:2]")
    reac, diff = bonds[(1, 2)]
    assert diff[1] == -1 and diff[2] == 1  # single -> double
    x = CGRFeaturizer().stack([parse_reaction("[CH3:1][OH:2]>>[CH2:1]=[O:2]")])[0]
    half = x.shape[1] // 2
    assert np.array_equal(x[:, :half], MoleculeFeaturizer()("CO").x)  # the reactant side is the reactants' features
    assert x[:, half:].any()  # hydrogens change: so do the atoms' features


def test_a_molecule_is_an_unchanged_reaction_and_modes_differ():
    mol = parse_smiles("CC(=O)O")
    x, ei, ea, na, ne = CGRFeaturizer().stack([Reaction.unchanged(mol)])
    plain = MoleculeFeaturizer()(mol)
    assert np.array_equal(x[:, : plain.x.shape[1]], plain.x) and not x[:, plain.x.shape[1]:].any()
    assert np.array_equal(ei, plain.edge_index)
    r = parse_reaction("[CH3:1][OH:2]>>[CH2:1]=[O:2]")
    prod = CGRFeaturizer("reac_prod").stack([r])[0]
    assert not np.array_equal(prod, CGRFeaturizer("reac_diff").stack([r])[0])


def test_unmapped_and_unbalanced_atoms_are_kept():
    r = parse_reaction("[CH3:1][Cl:2]>O>[CH3:1]O")  # the O of the product has no map: a new atom
    assert r.num_atoms == 3 and list(r.product_only) == [1]
    x = CGRFeaturizer().stack([r])[0]
    assert x.shape[0] == 3


@pytest.mark.parametrize("text, reason", [("CCO", "not reactants>agents>products"), ("C1CC>>CC", "reactants of"),
                                          ("", "empty reaction")])
def test_bad_reactions_say_why(text, reason):
    with pytest.raises(InvalidMolecule, match=reason):
        parse_reaction(text)
