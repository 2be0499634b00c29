import io

import numpy as np
import pandas as pd
import pytest
import torch

from .conftest import invoke, last_json


def test_predict_keeps_order_marks_invalid_and_adds_std(trained_run, tmp_path):
    lib = tmp_path / "lib.csv"
    lib.write_text("id,smiles\na,CCO\nb,C1CC\nc,\nd,c1ccccc1O\ne,C(C)(C)(C)(C)C\n")
    result = invoke("predict", trained_run, lib)
    assert result.exit_code == 0, result.output
    out = pd.read_csv(io.StringIO(result.stdout), keep_default_na=False)
    assert out["id"].tolist() == ["a", "b", "c", "d", "e"]
    assert list(out.columns) == ["id", "smiles", "logp", "logp_std", "error"]
    assert out.loc[[0, 3], "error"].tolist() == ["", ""]
    assert "could not be parsed" in out.loc[1, "error"] and out.loc[2, "error"] == "empty SMILES"
    assert "sanitization" in out.loc[4, "error"]
    assert out.loc[1, "logp"] == "" and float(out.loc[0, "logp"]) != 0


def test_predict_streams_in_chunks_with_workers(trained_run, tmp_path):
    smiles = ["CCO", "c1ccccc1", "CC(=O)O", "not_a_smiles", "CCN"] * 130  # > 2 blocks, several chunks
    lib = tmp_path / "big.smi"
    lib.write_text("\n".join(smiles) + "\n")
    chunked = invoke("predict", trained_run, lib, "--chunk-size", "97", "--workers", "2")
    whole = invoke("predict", trained_run, lib, "--workers", "1")
    assert chunked.exit_code == 0 and whole.exit_code == 0, chunked.output
    a = pd.read_csv(io.StringIO(chunked.stdout))
    b = pd.read_csv(io.StringIO(whole.stdout))
    assert len(a) == len(smiles) and a["smiles"].tolist() == smiles
    pd.testing.assert_frame_equal(a, b)
    assert a["error"].notna().sum() == 130


def test_top_k(trained_run, tmp_path):
    lib = tmp_path / "lib.smi"
    lib.write_text("CCO\nCCCCCCCC\nc1ccccc1\nbad(\nO\n")
    result = invoke("predict", trained_run, lib, "--top-k", "2")
    out = pd.read_csv(io.StringIO(result.stdout))
    assert len(out) == 2 and out["logp"].is_monotonic_decreasing
    low = pd.read_csv(io.StringIO(invoke("predict", trained_run, lib, "--top-k", "2", "--ascending").stdout))
    assert low["logp"].is_monotonic_increasing and low["logp"].max() <= out["logp"].min()


def test_predict_stdin_and_out_file(trained_run, tmp_path):
    target = tmp_path / "p.csv"
    result = invoke("predict", trained_run, "-", "--out", target, input="smiles\nCCO\nCCN\n")
    assert result.exit_code == 0, result.output
    assert pd.read_csv(target)["smiles"].tolist() == ["CCO", "CCN"]


def test_predict_exit_1_when_nothing_predicted(trained_run, tmp_path):
    lib = tmp_path / "bad.smi"
    lib.write_text("C1CC\nxyz\n")
    result = invoke("predict", trained_run, lib)
    assert result.exit_code == 1
    assert "no row could be predicted" in result.output


@pytest.mark.parametrize("suffix", [".npy", ".csv", ".parquet"])
def test_embed_formats_align_with_input(trained_run, tmp_path, suffix):
    pytest.importorskip("pyarrow") if suffix == ".parquet" else None
    lib = tmp_path / "lib.csv"
    lib.write_text("smiles,name\nCCO,ethanol\nC1CC,broken\nc1ccccc1,benzene\n")
    out = tmp_path / f"emb{suffix}"
    result = invoke("embed", trained_run, lib, "--out", out, "--json")
    assert result.exit_code == 0, result.output
    assert last_json(result.output)["invalid"] == 1
    if suffix == ".npy":
        vectors = np.load(out)
        assert vectors.shape == (3, 32) and np.isnan(vectors[1]).all() and np.isfinite(vectors[[0, 2]]).all()
        assert pd.read_csv(f"{out}.errors.csv")["row"].tolist() == [1]
    else:
        table = pd.read_csv(out) if suffix == ".csv" else pd.read_parquet(out)
        assert table["name"].tolist() == ["ethanol", "broken", "benzene"]
        assert table.filter(like="emb_").shape == (3, 32)
        assert table["emb_0"].isna().tolist() == [False, True, False]


def test_predict_many_inputs_and_sdf(trained_run, tmp_path):
    from rdkit import Chem

    writer = Chem.SDWriter(str(tmp_path / "a.sdf"))
    for smi in ("CCO", "c1ccccc1"):
        writer.write(Chem.MolFromSmiles(smi))
    writer.close()
    result = invoke("predict", trained_run, tmp_path / "a.sdf", tmp_path / "a.sdf")
    assert result.exit_code == 0, result.output
    assert pd.read_csv(io.StringIO(result.stdout))["smiles"].tolist() == ["CCO", "c1ccccc1"] * 2
    (tmp_path / "b.csv").write_text("smiles,other\nCCO,1\n")
    mixed = invoke("predict", trained_run, tmp_path / "a.sdf", tmp_path / "b.csv")
    assert mixed.exit_code == 1 and "differ from the first input" in mixed.output


def test_predict_json_counts_need_out(trained_run, tmp_path):
    lib = tmp_path / "l.smi"
    lib.write_text("CCO\nbad(\n")
    assert invoke("predict", trained_run, lib, "--json").exit_code == 2
    result = invoke("predict", trained_run, lib, "--json", "--out", tmp_path / "p.csv")
    assert result.exit_code == 0
    assert last_json(result.output) == {"rows": 2, "predicted": 1, "invalid": 1}


def test_predict_with_spawned_workers(trained_run, tmp_path, monkeypatch):
    """Where fork is unavailable (macOS, Windows) workers are spawned and load the run themselves."""
    import multiprocessing

    from gnncli import parallel

    monkeypatch.setattr(parallel, "pool_context", lambda: multiprocessing.get_context("spawn"))
    smiles = ["CCO", "c1ccccc1", "CC(=O)O", "not_a_smiles", "CCN"] * 120  # > 2 blocks
    lib = tmp_path / "big.smi"
    lib.write_text("\n".join(smiles) + "\n")
    spawned = invoke("predict", trained_run, lib, "--workers", "2")
    alone = invoke("predict", trained_run, lib, "--workers", "1")
    assert spawned.exit_code == 0 and alone.exit_code == 0, spawned.output
    a, b = pd.read_csv(io.StringIO(spawned.stdout)), pd.read_csv(io.StringIO(alone.stdout))
    pd.testing.assert_frame_equal(a, b, atol=1e-5)
    assert a["error"].notna().sum() == 120


def test_predicting_leaves_the_callers_models_as_trained(tmp_path):
    from gnncli import api
    from gnncli.runs import load_run
    from gnncli.testing import write_molecule_csv

    data = write_molecule_csv(tmp_path / "d.csv", n=30)
    args = ["--epochs", "1", "--hidden", "30", "--batch-size", "16", "--no-plots", "--out", tmp_path / "run"]
    assert invoke("train", data, "-t", "logp", *args).exit_code == 0
    run = load_run(tmp_path / "run")  # hidden 30: inference pads it to 32
    before = {k: v.clone() for k, v in run.models[0].state_dict().items()}
    lib = tmp_path / "lib.smi"
    lib.write_text("CCO\nc1ccccc1\n")
    api.predict(run, [str(lib)], io.StringIO(), workers=1)
    after = run.models[0].state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)  # same shapes and weights: not padded
