import pandas as pd
import pytest
from rdkit import Chem

from gnncli.domains.molecules.reader import detect_format, featurize_frame, find_smiles_column, iter_molecules, read_molecules
from gnncli.errors import InputError
from gnncli.featurizers.molecule import MoleculeFeaturizer


def _sdf(path, records):
    writer = Chem.SDWriter(str(path))
    for smiles, props in records:
        mol = Chem.MolFromSmiles(smiles)
        mol.SetProp("_Name", smiles)
        for key, value in props.items():
            mol.SetProp(key, str(value))
        writer.write(mol)
    writer.close()


def test_sdf_properties_become_columns_and_bad_records_are_kept(tmp_path):
    path = tmp_path / "m.sdf"
    _sdf(path, [("CCO", {"logS": 0.5}), ("c1ccccc1", {"logS": -1.6})])
    with open(path, "a") as handle:  # a record RDKit cannot read: carbon with five bonds
        handle.write("bad\n     RDKit\n\n  2  1  0  0  0  0  0  0  0  0999 V2000\n"
                     "    0.0    0.0    0.0 C   0  0  0  0  0  5  0  0  0  0  0  0\n"
                     "    1.0    0.0    0.0 C   0  0  0  0  0  0  0  0  0  0  0  0\n"
                     "  1  2  4  0\nM  END\n$$$$\n")
    mf = read_molecules(str(path))
    assert mf.frame["logS"].tolist()[:2] == ["0.5", "-1.6"]
    assert mf.frame["name"].tolist()[:2] == ["CCO", "c1ccccc1"]
    assert len(mf) == 3 and 2 in mf.record_errors
    pack, valid, errors = featurize_frame(mf, MoleculeFeaturizer())
    assert valid.tolist() == [0, 1] and "record 3" in errors[2]


def test_tsv_and_gzip(tmp_path):
    import gzip

    (tmp_path / "m.tsv").write_text("name\tSMILES\tv\na\tCCO\t1\nb\tCCN\t2\n")
    assert read_molecules(str(tmp_path / "m.tsv")).smiles == ["CCO", "CCN"]
    with gzip.open(tmp_path / "m.smi.gz", "wt") as handle:
        handle.write("CCO ethanol\nCCN\n")
    assert read_molecules(str(tmp_path / "m.smi.gz")).smiles == ["CCO", "CCN"]


def test_smi_header_and_blank_lines_keep_line_numbers(tmp_path):
    (tmp_path / "m.smi").write_text("SMILES Name\nCCO a\n\nC1CC b\n\n\n")
    mf = read_molecules(str(tmp_path / "m.smi"))
    assert mf.frame["smiles"].tolist()[0] == "CCO" and pd.isna(mf.frame["smiles"][1])
    assert len(mf) == 3  # trailing blank lines are not rows
    assert mf.where(2) == f"{tmp_path / 'm.smi'}: line 4"


def test_chunks_cover_the_file_in_order(tmp_path):
    rows = [f"{'C' * (i % 5 + 1)},{i}" for i in range(25)]
    (tmp_path / "m.csv").write_text("smiles,i\n" + "\n".join(rows) + "\n")
    chunks = list(iter_molecules(str(tmp_path / "m.csv"), chunk_size=10))
    assert [len(c) for c in chunks] == [10, 10, 5]
    assert [c.first_line for c in chunks] == [2, 12, 22]
    assert pd.concat([c.frame for c in chunks])["i"].tolist() == [str(i) for i in range(25)]


def test_smiles_column_found_by_content():
    frame = pd.DataFrame({"id": ["1", "2", "3"], "structure": ["CCO", "c1ccccc1", "CC(=O)O"]})
    assert find_smiles_column(frame, "x.csv") == "structure"
    with pytest.raises(InputError, match="no SMILES column"):
        find_smiles_column(pd.DataFrame({"a": ["1", "2"], "b": ["hello", "world"]}), "x.csv")


def test_format_detection():
    assert detect_format("a.CSV") == "csv" and detect_format("a.smi.gz") == "smi" and detect_format("-") == "auto"
    with pytest.raises(InputError, match="unknown file type"):
        detect_format("a.xlsx")
