import numpy as np
import pytest
from rdkit import Chem

from gnncli.featurizers.molecule import (
    AtomFeaturizer, BondFeaturizer, InvalidMolecule, MoleculeFeaturizer, featurize_batch, parse_smiles,
)

f = MoleculeFeaturizer()


def test_dimensions_cover_chemprop_v2_blocks():
    # element 38 + degree 7 + charge 6 + chirality 5 + Hs 6 + hybridization 8 + aromatic + ring + 6 ring sizes + mass
    assert f.atom_dim == 38 + 7 + 6 + 5 + 6 + 8 + 1 + 1 + 6 + 1 == 79
    assert f.bond_dim == 4 + 1 + 1 + 7 == 13


def test_ethanol_counts():
    g = f("CCO")
    assert g.x.shape == (3, 79)
    assert g.edge_index.shape == (2, 4)
    assert g.edge_attr.shape == (4, 13)
    # every atom has exactly one element, degree, charge, chirality, H-count and hybridization bit
    assert np.all(g.x[:, :-1].sum(axis=1) == 6)
    assert np.allclose(g.x[:, -1], [0.12011, 0.12011, 0.15999], atol=1e-4)
    # two single, non-conjugated, acyclic bonds without stereo; each once per direction
    assert g.edge_attr.sum(axis=0)[[0, 4, 5]].tolist() == [4, 0, 0]


def test_benzene_aromatic_ring_bits():
    g = f("c1ccccc1")
    a = AtomFeaturizer()
    off = a._offsets
    assert g.x[:, off[6]].sum() == 6  # aromatic
    assert g.x[:, off[7]].sum() == 6  # in a ring
    assert g.x[:, off[8] + a.ring_sizes.index(6)].sum() == 6
    assert g.edge_attr[:, 3].sum() == 12  # aromatic bond type, both directions


def test_reverse_edge_is_xor_one():
    g = f("CC(=O)Oc1ccccc1")
    ei = g.edge_index
    rev = np.arange(ei.shape[1]) ^ 1
    assert np.array_equal(ei[0], ei[1, rev]) and np.array_equal(ei[1], ei[0, rev])


def test_stereo_and_chirality_are_seen():
    cis, trans = f("F/C=C\\F"), f("F/C=C/F")
    assert not np.array_equal(cis.edge_attr, trans.edge_attr)
    r, s = f("C[C@H](N)O"), f("C[C@@H](N)O")
    assert not np.array_equal(r.x, s.x)


def test_single_atom_and_ion_have_no_edges():
    g = f("[Na+]")
    assert g.x.shape == (1, 79) and g.edge_index.shape == (2, 0)


def test_atom_and_bond_callables_match_molecule():
    mol = Chem.MolFromSmiles("c1ccncc1C")
    g = f(mol)
    assert np.array_equal(AtomFeaturizer()(mol.GetAtomWithIdx(3)), g.x[3])
    assert np.array_equal(BondFeaturizer()(mol.GetBondWithIdx(2)), g.edge_attr[4])


@pytest.mark.parametrize("smiles, reason", [
    ("", "empty SMILES"), ("   ", "empty SMILES"), (None, "empty SMILES"), (float("nan"), "empty SMILES"),
    ("C1CC", "could not be parsed"), ("C(C)(C)(C)(C)C", "failed sanitization"), ("xyz", "could not be parsed"),
])
def test_invalid_smiles_reasons(smiles, reason):
    with pytest.raises(InvalidMolecule, match=reason):
        parse_smiles(smiles)


def test_featurize_batch_keeps_positions():
    x, ei, ea, na, ne, errors = featurize_batch(f, ["CCO", "bad(", "C", ""])
    assert na.tolist() == [3, 1]
    assert ne.tolist() == [4, 0]
    assert sorted(errors) == [1, 3]


def test_spec_mismatch_is_refused():
    with pytest.raises(ValueError):
        MoleculeFeaturizer.from_spec({**f.spec, "version": 999})


# Rings of 3-9 atoms, fused and bridged systems, charges, isotopes, stereo and lone ions: every
# offset that block featurization adds (atoms, bonds, ring members) is exercised across molecules.
BLOCK_SMILES = [
    "CCO", "[Na+]", "c1ccc2ccccc2c1", "C1CC2CCC1CC2", "C1CCCCCCCC1", "[13CH3]C(=O)[O-]", "F/C=C\\F",
    "C[C@H](N)O", "C1CC1", "C1CCC1", "O=C1CCCC1", "c1ccc2[nH]ccc2c1", "C12C3C4C1C5C2C3C45", "Cl",
    "CN1CCC[C@H]1c1cccnc1", "C1CCCCCCC1", "[Cu+2]", "N#[N+][O-]",
]


def test_block_featurization_equals_one_molecule_at_a_time():
    x, ei, ea, na, ne, errors = featurize_batch(f, BLOCK_SMILES)
    assert not errors
    singles = [f(s) for s in BLOCK_SMILES]
    assert na.tolist() == [g.x.shape[0] for g in singles]
    assert ne.tolist() == [g.edge_index.shape[1] for g in singles]
    assert np.array_equal(x, np.concatenate([g.x for g in singles]))
    assert np.array_equal(ei, np.concatenate([g.edge_index for g in singles], axis=1))
    assert np.array_equal(ea, np.concatenate([g.edge_attr for g in singles]))


def test_ring_sizes_beyond_the_table_only_set_in_ring():
    a = AtomFeaturizer()
    off = a._offsets
    g = f("C1CCCCCCCC1")  # a 9-membered ring: in a ring, but no size bit
    assert g.x[:, off[7]].sum() == 9
    assert g.x[:, off[8] : off[8] + len(a.ring_sizes)].sum() == 0


def test_a_molecule_that_breaks_featurization_marks_only_its_row(monkeypatch):
    real = AtomFeaturizer.stack

    def fragile(self, mols):
        if any(m.GetNumAtoms() == 1 for m in mols):
            raise RuntimeError("lone atom")
        return real(self, mols)

    monkeypatch.setattr(AtomFeaturizer, "stack", fragile)
    x, ei, ea, na, ne, errors = featurize_batch(f, ["CCO", "[Na+]", "bad(", "C1CC1"])
    assert na.tolist() == [3, 3]
    assert errors[1] == "could not featurize: RuntimeError: lone atom"
    assert "could not be parsed" in errors[2]
    assert x.shape[0] == 6
