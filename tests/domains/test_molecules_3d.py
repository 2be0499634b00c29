"""Molecules with 3D structure: SDF conformers kept as ``pos``, and ``--model egnn`` on them."""

import io

import numpy as np
import pandas as pd
import pytest
from rdkit import Chem
from rdkit.Chem import AllChem

from gnncli.domains.molecules.reader import read_molecules
from gnncli.featurizers.molecule import parse_smiles
from gnncli.testing import random_rotation, write_molecule_csv
from tests.cli.conftest import invoke, last_json

SMILES = ["CCO", "c1ccccc1O", "CC(=O)Nc1ccc(O)cc1", "CCN(CC)CC", "OC(=O)c1ccccc1", "CC(C)Cc1ccc(C)cc1",
          "C1CCNCC1", "COc1ccccc1", "CC(C)(C)O", "Nc1ccncc1", "CCCCCl", "O=C1CCCCC1"]


def write_sdf(path, smiles=SMILES, *, rotation=None, flat: tuple[int, ...] = ()):
    """An SDF of embedded conformers (seeded), with a geometric target: the radius of gyration.
    Records whose index is in ``flat`` are written without coordinates (a 2D record)."""
    writer = Chem.SDWriter(str(path))
    for i, smi in enumerate(smiles):
        mol = Chem.AddHs(Chem.MolFromSmiles(smi))
        AllChem.EmbedMolecule(mol, randomSeed=i)
        mol = Chem.RemoveHs(mol)
        xyz = mol.GetConformer().GetPositions()
        if rotation is not None:
            xyz = xyz @ rotation.T + np.array([3.0, -1.0, 2.0])
            for a in range(mol.GetNumAtoms()):
                mol.GetConformer().SetAtomPosition(a, xyz[a].tolist())
        if i in flat:
            AllChem.Compute2DCoords(mol)
        mol.SetProp("_Name", f"m{i}")
        mol.SetProp("rg", f"{np.sqrt(((xyz - xyz.mean(0)) ** 2).sum(1).mean()):.4f}")
        writer.write(mol)
    writer.close()
    return path


def test_sdf_coordinates_follow_the_featurized_atom_order(tmp_path):
    mf = read_molecules(str(write_sdf(tmp_path / "m.sdf")))
    assert mf.positions is not None and len(mf.positions) == len(SMILES)
    for smiles, pos in zip(mf.smiles, mf.positions):
        mol = parse_smiles(smiles)
        assert pos.shape == (mol.GetNumAtoms(), 3)
        for bond in mol.GetBonds():  # bonded atoms (in the SMILES' order) sit a bond length apart
            d = np.linalg.norm(pos[bond.GetBeginAtomIdx()] - pos[bond.GetEndAtomIdx()])
            assert 1.1 < d < 1.9, (smiles, bond.GetIdx(), d)


def test_a_record_without_3d_coordinates_has_none(tmp_path):
    mf = read_molecules(str(write_sdf(tmp_path / "m.sdf", flat=(2,))))
    assert mf.positions[2] is None and all(p is not None for i, p in enumerate(mf.positions) if i != 2)


@pytest.fixture(scope="module")
def egnn_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("egnn3d")
    data = write_sdf(folder / "train.sdf", SMILES * 2)
    result = invoke("train", data, "--target", "rg", "--model", "egnn", "--epochs", "3", "--hidden", "16",
                    "--batch-size", "8", "--no-plots", "--device", "cpu", "--out", folder / "run", "--json")
    assert result.exit_code == 0, result.output
    return folder, last_json(result.output)


def test_egnn_trains_on_sdf_conformers(egnn_run):
    folder, summary = egnn_run
    assert summary["model"] == "egnn" and np.isfinite(summary["test"]["rmse"])


def test_egnn_predictions_ignore_rotation_and_mark_records_without_coordinates(egnn_run, tmp_path):
    folder, _ = egnn_run
    plain = write_sdf(tmp_path / "plain.sdf", flat=(3,))
    turned = write_sdf(tmp_path / "turned.sdf", rotation=random_rotation(1).numpy().astype(float), flat=(3,))
    tables = []
    for path in (plain, turned):
        result = invoke("predict", folder / "run", path, "--workers", "1", "--device", "cpu")
        assert result.exit_code == 0, result.output
        tables.append(pd.read_csv(io.StringIO(result.stdout), keep_default_na=False))
    a, b = tables
    assert len(a) == len(SMILES) and a["name"].tolist() == [f"m{i}" for i in range(len(SMILES))]
    assert "no 3D coordinates" in a["error"][3] and a["rg_pred"][3] == ""
    good = [i for i in range(len(SMILES)) if i != 3]
    assert np.allclose(a["rg_pred"][good].astype(float), b["rg_pred"][good].astype(float), atol=1e-4)
    embedded = invoke("embed", folder / "run", plain, "--out", tmp_path / "e.npy", "--workers", "1", "--device", "cpu")
    assert embedded.exit_code == 0, embedded.output
    vectors = np.load(tmp_path / "e.npy")
    assert vectors.shape == (len(SMILES), 16) and np.isnan(vectors[3]).all() and np.isfinite(vectors[good]).all()


def test_egnn_on_smiles_is_a_one_line_error(tmp_path):
    data = write_molecule_csv(tmp_path / "d.csv", n=20)
    result = invoke("train", data, "--target", "logp", "--model", "egnn", "--epochs", "1", "--out", tmp_path / "run")
    assert result.exit_code != 0
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "3D coordinates" in errors[0] and "d.csv" in errors[0] and "Traceback" not in result.output
