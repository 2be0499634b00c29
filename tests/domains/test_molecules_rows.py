import numpy as np

from gnncli.domains.molecules.descriptors import MORGAN_BITS, rdkit2d_names
from gnncli.featurizers.molecule import MoleculeFeaturizer
from gnncli.domains.molecules.rows import RowFeaturizer, featurize_rows


def test_rows_of_two_molecules_become_one_graph_of_two_parts():
    f = RowFeaturizer(("molecule", "molecule"), ("smiles", "solvent"), ("t",))
    x, ei, ea, na, ne, part, features, errors = featurize_rows(f, [("CCO", "O", "300"), ("c1ccccc1", "CO", "1.5")])
    assert errors == {} and na.tolist() == [4, 8] and part.tolist() == [0, 0, 0, 1] + [0] * 6 + [1, 1]
    assert features[:, 0].tolist() == [300.0, 1.5]
    one = MoleculeFeaturizer()("c1ccccc1")
    second = ei[:, ne[0]:]
    assert np.array_equal(second[:, : one.edge_index.shape[1]], one.edge_index)  # local to the row
    assert np.array_equal(second[:, one.edge_index.shape[1]:], [[6, 7], [7, 6]])  # methanol after benzene


def test_bad_cells_are_marked_with_their_column():
    f = RowFeaturizer(("molecule", "molecule"), ("smiles", "solvent"), ("t",))
    *_, part, features, errors = featurize_rows(f, [("CCO", "C1CC", "1"), ("CCO", "O", "warm"), ("CCO", "O", None),
                                                    ("CCO", "O", "2")])
    assert set(errors) == {0, 1, 2} and len(features) == 1
    assert errors[0].startswith("column 'solvent':") and "'warm'" in errors[1] and "empty" in errors[2]


def test_computed_features_and_spec_round_trip():
    f = RowFeaturizer(("molecule",), ("smiles",), (), ("morgan", "rdkit2d"))
    features = featurize_rows(f, [("CCO",), ("CC(=O)Oc1ccccc1C(=O)O",)])[6]
    assert features.shape == (2, MORGAN_BITS + len(rdkit2d_names())) == (2, f.feature_dim)
    assert np.isfinite(features).all() and features[0, :MORGAN_BITS].sum() < features[1, :MORGAN_BITS].sum()
    again = RowFeaturizer.from_spec(f.spec, ["smi"])
    assert again == f and again.columns == ("smi",)


def test_fingerprint_columns_are_the_morgan_blocks_of_molecule_components():
    f = RowFeaturizer(("molecule", "reaction", "molecule"), ("a", "r", "b"), ("t", "p"), ("rdkit2d", "morgan"))
    columns = f.fingerprint_columns()
    width = len(rdkit2d_names())
    first = 2 + width
    assert columns == [*range(first, first + MORGAN_BITS), *range(first + MORGAN_BITS + width, f.feature_dim)]
