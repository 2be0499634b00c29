"""The proteins kind of input end to end: binding sites from ligands, PDBbind folders and site tables;
protein properties from a labels CSV; predict (per residue, scored PDB, pockets) and embed; bad input."""

import io
import json

import numpy as np
import pandas as pd
import pytest
import torch

from gnncli.cli.main import app
from gnncli.testing import write_protein_folder, write_protein_pdb

from typer.testing import CliRunner

FAST = ["--epochs", "2", "--hidden", "16", "--depth", "2", "--batch-size", "4", "--no-plots"]


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def last_json(output: str) -> dict:
    return json.loads([line for line in output.splitlines() if line.startswith("{")][-1])


@pytest.fixture(scope="module")
def site_run(tmp_path_factory):
    folder = write_protein_folder(tmp_path_factory.mktemp("structures") / "pdb", 8)
    out = tmp_path_factory.mktemp("runs") / "sites"
    result = invoke("train", folder, *FAST, "--ensemble", "2", "--out", out, "--json")
    assert result.exit_code == 0, result.output
    return folder, out, last_json(result.stdout)


def test_binding_site_training_reads_a_folder_and_scores_pockets(site_run):
    folder, run, summary = site_run
    assert summary["kind"] == "proteins" and summary["task"] == "binding-site" and summary["model"] == "egnn"
    assert summary["structures"]["structures"] == 8 and summary["structures"]["site_residues"] > 0
    assert {"roc_auc", "pr_auc", "mcc", "f1", "dca_top_n", "dcc_top_n2"} <= set(summary["test"])
    config = json.loads((run / "config.json").read_text())
    assert config["task"]["kind"] == "binding-site" and config["task"]["pos_weight"] > 1
    table = pd.read_csv(run / "test_predictions.csv", keep_default_na=False)
    assert list(table.columns[:5]) == ["file", "chain", "resnum", "icode", "resname"] and len(table) == 24  # one test structure


def test_predict_writes_residue_rows_scored_structures_and_pockets(site_run, tmp_path):
    from Bio.PDB import PDBParser

    folder, run, _ = site_run
    bad = tmp_path / "bad.pdb"
    bad.write_text("not a structure\n")
    result = invoke("predict", run, folder / "p0.pdb", bad, folder / "p1.pdb", "--out", tmp_path / "scores.csv",
                    "--pdb-out", tmp_path / "scored", "--pockets", tmp_path / "pockets.csv")
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "scores.csv", keep_default_na=False)
    assert list(table.columns) == ["file", "chain", "resnum", "icode", "resname", "score", "score_std", "error"]
    files = table["file"].tolist()
    assert files == [str(folder / "p0.pdb")] * 24 + [str(bad)] + [str(folder / "p1.pdb")] * 24
    assert table.loc[24, "error"].startswith(f"{bad}: ") and (table.loc[table.index != 24, "error"] == "").all()
    scores = pd.to_numeric(table.loc[:23, "score"]).to_numpy()
    assert ((scores > 0) & (scores < 1)).all() and table.loc[:23, "resnum"].astype(int).tolist() == list(range(1, 25))
    structure = PDBParser(QUIET=True).get_structure("p0", tmp_path / "scored" / "p0.pdb")
    b = [residue["CA"].get_bfactor() for residue in structure[0]["A"] if residue.id[0] == " "]
    assert np.allclose(b, scores, atol=0.006)
    pockets = pd.read_csv(tmp_path / "pockets.csv")
    assert list(pockets.columns) == ["file", "rank", "score", "center_x", "center_y", "center_z", "residues", "residue_ids"]
    assert set(pockets.loc[pockets["rank"] == 1, "file"]) == {str(folder / "p0.pdb"), str(folder / "p1.pdb")}
    assert pockets["residue_ids"].str.startswith("A:").all()


def test_embed_per_protein_and_per_residue(site_run, tmp_path):
    folder, run, _ = site_run
    bad = tmp_path / "empty.pdb"
    bad.write_text("")
    result = invoke("embed", run, folder / "p0.pdb", bad, "--out", tmp_path / "v.npy")
    assert result.exit_code == 0, result.output
    vectors = np.load(tmp_path / "v.npy")
    assert vectors.shape == (2, 16) and np.isfinite(vectors[0]).all() and np.isnan(vectors[1]).all()
    assert "file is empty" in (tmp_path / "v.npy.errors.csv").read_text()
    result = invoke("embed", run, folder / "p0.pdb", bad, folder / "p2.pdb", "--per-residue", "--out", tmp_path / "r.csv")
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(tmp_path / "r.csv", keep_default_na=False)
    assert len(rows) == 24 + 1 + 24 and list(rows.columns[:6]) == ["file", "chain", "resnum", "icode", "resname", "error"]
    assert rows.loc[24, "error"].endswith("file is empty") and rows.shape[1] == 6 + 16


def _pdbbind_folder(root, count=6):
    """PDBbind-style complexes: the protein without its ligand, the ligand as SDF (one of them broken
    for sanitization, so the sanitize=False fallback is used), and index.csv with sequence clusters."""
    from rdkit import Chem
    from rdkit.Geometry import Point3D

    from gnncli.domains.proteins.reader import read_structure

    root.mkdir()
    rows = []
    for i in range(count):
        cid = f"c{i}xx"
        sub = root / cid
        sub.mkdir()
        with_ligand = write_protein_pdb(sub / "tmp.pdb", 20, ligand_near=5 + i, seed=i)
        ligand = read_structure(str(with_ligand)).ligands[0].xyz
        write_protein_pdb(sub / f"{cid}_protein.pdb", 20, seed=i)
        with_ligand.unlink()
        smiles = "CCC" if i else "C(C)(C)(C)(C)C"  # a pentavalent carbon: fails sanitization
        mol = Chem.MolFromSmiles(smiles, sanitize=False)
        conf = Chem.Conformer(mol.GetNumAtoms())
        for a in range(mol.GetNumAtoms()):
            x, y, z = ligand[min(a, 2)] + (0.0 if a < 3 else 1.2 * (a - 2))
            conf.SetAtomPosition(a, Point3D(float(x), float(y), float(z)))
        mol.AddConformer(conf)
        (sub / f"{cid}_ligand.sdf").write_text(Chem.MolToMolBlock(mol, kekulize=False) + "$$$$\n")
        rows.append({"id": cid, "seq_cluster": i // 2})
    pd.DataFrame(rows).to_csv(root / "index.csv", index=False)
    return root


def test_pdbbind_folder_trains_with_kfold_by_sequence_cluster(tmp_path):
    from gnncli.domains.proteins.reader import read_ligand_file

    folder = _pdbbind_folder(tmp_path / "pdbbind", 8)
    assert read_ligand_file(str(folder / "c0xx" / "c0xx_ligand.sdf")).xyz.shape == (6, 3)
    result = invoke("train", folder, "--epochs", "1", "--hidden", "8", "--depth", "1", "--batch-size", "2", "--no-plots",
                    "--split", "kfold", "--folds", "3", "--group-col", "seq_cluster", "--out", tmp_path / "run", "--json")
    assert result.exit_code == 0, result.output
    summary = last_json(result.stdout)
    assert summary["structures"]["test"] == 8 and summary["test"]["ligands"] == 8
    clusters = [i // 2 for i in range(8)]
    tested = []
    for split in json.loads((tmp_path / "run" / "splits.json").read_text()):
        test = {clusters[i] for i in split["test"]}
        assert not test & {clusters[i] for i in split["train"] + split["val"]}
        tested += split["test"]
    assert sorted(tested) == list(range(8))


def test_group_kfold_keeps_every_group_on_one_side():
    from gnncli.domains.proteins.training import group_kfold

    groups = np.repeat(np.arange(12), np.arange(1, 13))  # 12 groups of sizes 1..12
    splits = group_kfold(groups, 4, seed=0)
    seen = np.concatenate([s[2] for s in splits])
    assert sorted(seen.tolist()) == list(range(len(groups)))
    for train, val, test in splits:
        assert not set(groups[test]) & set(groups[np.concatenate([train, val])]) and len(val) > 0
        assert not set(groups[val]) & set(groups[train])
    sizes = [len(s[2]) for s in splits]
    assert max(sizes) - min(sizes) <= 12


def test_site_labels_from_a_csv(tmp_path):
    folder = write_protein_folder(tmp_path / "pdb", 10)
    sites = tmp_path / "sites.csv"
    sites.write_text("file,chain,resnum\n" + "".join(f"p{i}.pdb,A,{k}\n" for i in range(10) for k in (3, 4, 7)))
    result = invoke("train", folder, *FAST, "--site-labels", sites, "--out", tmp_path / "run", "--json")
    assert result.exit_code == 0, result.output
    assert last_json(result.stdout)["structures"]["site_residues"] == 30
    missing = tmp_path / "missing.csv"
    missing.write_text("file,chain,resnum\np0.pdb,A,99\n")
    result = invoke("train", folder, *FAST, "--site-labels", missing, "--out", tmp_path / "run2")
    assert result.exit_code == 1 and "residue A:99 is not a protein residue" in result.output


def test_protein_property_from_a_labels_csv(tmp_path):
    folder = write_protein_folder(tmp_path / "pdb", 10)
    rows = [f"p{i}.pdb,{np.sin(i):.3f}" for i in range(10)] + ["nowhere.pdb,1.0"]
    labels = tmp_path / "labels.csv"
    labels.write_text("file,stability\n" + "\n".join(f"pdb/{r}" for r in rows) + "\n")
    result = invoke("train", labels, *FAST, "--model", "gcn", "--out", tmp_path / "run", "--json")
    assert result.exit_code == 0, result.output
    summary = last_json(result.stdout)
    assert summary["task"] == "regression" and summary["targets"] == ["stability"] and summary["model"] == "gcn"
    assert "labels.csv: line 12: structure 'pdb/nowhere.pdb' not found" in " ".join(summary["warnings"])
    result = invoke("predict", tmp_path / "run", labels)
    assert result.exit_code == 0, result.output
    out = pd.read_csv(io.StringIO(result.stdout), keep_default_na=False)
    assert list(out.columns) == ["file", "stability", "stability_pred", "error"] and len(out) == 11
    assert "not found" in out.loc[10, "error"] and (out.loc[:9, "error"] == "").all()
    result = invoke("predict", tmp_path / "run", folder / "p1.pdb", "--pockets", tmp_path / "p.csv")
    assert result.exit_code == 2 and "--pockets needs a binding-site run" in result.output


@pytest.mark.parametrize("model", ["gcn", "gin", "gat", "sage", "dmpnn", "rgcn"])
def test_other_encoders_run_on_residue_graphs(tmp_path, model):
    from gnncli.domains.proteins.inputs import ReadSettings, featurize_structure
    from gnncli.domains.proteins.training import pack_records
    from gnncli.domains.proteins.featurizer import ResidueFeaturizer
    from gnncli.models import ModelConfig, build_model

    featurizer = ResidueFeaturizer()
    records = [featurize_structure(str(write_protein_pdb(tmp_path / f"{i}.pdb", 12 + i, seed=i)), featurizer, ReadSettings())
               for i in range(2)]
    pack = pack_records(records)
    model = build_model(ModelConfig(name=model, in_channels=pack.x.size(1), edge_dim=pack.edge_attr.size(1), hidden=16,
                                    level="node"))
    out = model(pack.batch([0, 1]))
    assert out.shape == (25, 1) and torch.isfinite(out).all()


def test_bad_input_is_one_line_naming_the_file(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = invoke("train", empty, "--kind", "proteins", "--epochs", "1")
    assert result.exit_code == 1 and "no structure files" in result.output
    folder = write_protein_folder(tmp_path / "pdb", 3)
    result = invoke("train", folder, "--chains", "Z", "--epochs", "1", "--out", tmp_path / "r")
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert result.exit_code == 1 and len(errors) == 1 and "no chain 'Z' (chains: A)" in errors[0]
    no_ligand = tmp_path / "apo"
    no_ligand.mkdir()
    write_protein_pdb(no_ligand / "a.pdb", 12)
    result = invoke("train", no_ligand, "--epochs", "1", "--out", tmp_path / "r2")
    assert result.exit_code == 1 and "no structure has a ligand" in result.output
    result = invoke("train", folder, "--smiles-col", "x", "--epochs", "1")
    assert result.exit_code == 2 and "--smiles-col is an option for molecules input" in result.output
    help_text = invoke("train", "--help").output
    assert "Proteins (PDB/mmCIF structures) options" in help_text and "--site-cutoff" in help_text


def test_an_interrupted_protein_run_resumes_where_it_stopped(tmp_path):
    from gnncli import api
    from gnncli.models import ModelConfig
    from gnncli.testing import InterruptAfterEpochs
    from gnncli.train.loop import TrainingInterrupted

    folder = write_protein_folder(tmp_path / "pdb", 8)

    def opts(out):
        return api.TrainOptions(data=str(folder), out=str(out), plots=False, options={"residue_knn": 6},
                                model=ModelConfig(name="egnn", hidden=8, depth=1),
                                loop=api.LoopConfig(epochs=3, batch_size=4, patience=None, checkpoint_seconds=0,
                                                    device="cpu"))  # CPU: CUDA's atomic scatter sums in a different order each run, so exact equality holds on the CPU only

    api.train(opts(tmp_path / "full"))
    with pytest.raises(TrainingInterrupted, match="--resume"):
        api.train(opts(tmp_path / "cut"), reporter=InterruptAfterEpochs(2))
    summary = api.resume(str(tmp_path / "cut"))
    assert summary["kind"] == "proteins" and json.loads((tmp_path / "cut" / "config.json").read_text())["featurizer"]["knn"] == 6
    a = torch.load(tmp_path / "full" / "models" / "model_0.pt", weights_only=True)["state_dict"]
    b = torch.load(tmp_path / "cut" / "models" / "model_0.pt", weights_only=True)["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)
