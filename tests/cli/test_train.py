import json

import numpy as np
import pandas as pd
import pytest
import torch

from gnncli import api
from gnncli.runs import load_run
from gnncli.testing import InterruptAfterEpochs, write_molecule_csv
from gnncli.train.loop import TrainingInterrupted

from .conftest import FAST, invoke, last_json


def test_train_writes_a_complete_run_folder(tmp_path):
    data = write_molecule_csv(tmp_path / "d.csv", n=50)
    result = invoke("train", data, "--target", "logp", "--epochs", "2", "--hidden", "32", "--out", tmp_path / "run", "--json")
    assert result.exit_code == 0, result.output
    run = tmp_path / "run"
    for name in ("config.json", "models/model_0.pt", "metrics.csv", "metrics.json", "splits.json",
                 "test_predictions.csv", "learning_curve.png", "parity.png"):
        assert (run / name).is_file(), name
    assert not (run / "state").exists()
    summary = last_json(result.output)
    assert summary["task"] == "regression" and summary["targets"] == ["logp"]
    assert summary["molecules"]["train"] == 40 and summary["molecules"]["test"] == 5
    assert np.isfinite(summary["test"]["rmse"])
    config = json.loads((run / "config.json").read_text())
    assert config["status"] == "complete" and config["task"]["scaler"]["std"][0] > 0
    metrics = pd.read_csv(run / "metrics.csv")
    assert metrics["epoch"].tolist() == [1, 2]
    # weights load without unpickling code
    saved = torch.load(run / "models" / "model_0.pt", weights_only=True)
    assert "state_dict" in saved


def test_checkpoint_round_trip_predicts_the_same(tmp_path):
    data = write_molecule_csv(tmp_path / "d.csv", n=40)
    summary = api.train(api.TrainOptions(data=str(data), targets=["logp"], out=str(tmp_path / "run"), plots=False,
                                         loop=api.LoopConfig(epochs=2, batch_size=16)))
    run = load_run(summary["run"])
    tests = pd.read_csv(tmp_path / "run" / "test_predictions.csv")
    smi = tmp_path / "t.smi"
    smi.write_text("\n".join(tests["smiles"]) + "\n")
    import io

    buffer = io.StringIO()
    api.predict(run, [str(smi)], buffer)
    again = pd.read_csv(io.StringIO(buffer.getvalue()))
    assert np.allclose(again["logp"], tests["logp_pred"], atol=1e-4)


def test_classification_with_missing_labels_is_inferred(tmp_path):
    data = write_molecule_csv(tmp_path / "c.csv", n=60, classification=True)
    frame = pd.read_csv(data)
    frame["second"] = frame["active"]
    frame.loc[::3, "second"] = np.nan  # Tox21-style holes
    frame.to_csv(data, index=False)
    result = invoke("train", data, "-t", "active", "-t", "second", *FAST, "--out", tmp_path / "run", "--json")
    assert result.exit_code == 0, result.output
    summary = last_json(result.output)
    assert summary["task"] == "classification"
    assert {"roc_auc", "pr_auc", "accuracy", "mcc"} <= set(summary["test"])


@pytest.mark.parametrize("extra", [["--split", "scaffold"], ["--split", "kfold", "--folds", "3"], ["--model", "gine", "--virtual-node"]])
def test_other_splits_and_models(tmp_path, extra):
    data = write_molecule_csv(tmp_path / "d.csv", n=45)
    result = invoke("train", data, "-t", "logp", *FAST, *extra, "--out", tmp_path / "run", "--json")
    assert result.exit_code == 0, result.output
    summary = last_json(result.output)
    if "kfold" in extra:
        assert summary["members"] == 3 and summary["molecules"]["test"] == 45


def test_kfold_ensemble_members_keep_their_fold_scalers(tmp_path):
    from gnncli.domains.pack import PackLoader
    from gnncli.testing import molecule_pack

    data = write_molecule_csv(tmp_path / "d.csv", n=45)
    result = invoke("train", data, "-t", "logp", *FAST, "--split", "kfold", "--folds", "3", "--ensemble", "2",
                    "--out", tmp_path / "run", "--json")
    assert result.exit_code == 0, result.output
    summary = last_json(result.output)
    assert summary["members"] == 6 and summary["molecules"]["test"] == 45
    assert "logp_std" in pd.read_csv(tmp_path / "run" / "test_predictions.csv").columns
    splits = json.loads((tmp_path / "run" / "splits.json").read_text())
    assert splits[0] == splits[1] and splits[0]["test"] != splits[2]["test"]
    # Each member trained in its own fold's target scale; loaded with the run's single scaler, it
    # must still give the validation RMSE it was selected with (metrics.csv, in original units).
    run = load_run(tmp_path / "run")
    frame = pd.read_csv(data)
    history = pd.read_csv(tmp_path / "run" / "metrics.csv")
    pack = molecule_pack(frame["smiles"].tolist())
    for member in (0, 3, 5):
        val = np.asarray(splits[member]["val"])
        preds = run.task.predict(run.models[member], PackLoader(pack, batch_size=64, indices=val), torch.device("cpu"))[0]
        rmse = float(np.sqrt(np.mean((preds[:, 0] - frame["logp"].to_numpy()[val]) ** 2)))
        assert rmse == pytest.approx(history.loc[history["member"] == member, "val_rmse"].min(), rel=1e-4)


def test_split_column(tmp_path):
    data = write_molecule_csv(tmp_path / "d.csv", n=30)
    frame = pd.read_csv(data)
    frame["part"] = ["train"] * 20 + ["val"] * 5 + ["test"] * 5
    frame.to_csv(data, index=False)
    result = invoke("train", data, "-t", "logp", *FAST, "--split-col", "part", "--out", tmp_path / "run", "--json")
    assert result.exit_code == 0, result.output
    assert last_json(result.output)["molecules"]["test"] == 5
    splits = json.loads((tmp_path / "run" / "splits.json").read_text())
    assert sorted(splits[0]["test"]) == list(range(25, 30))


def test_invalid_smiles_in_training_are_skipped_and_reported(tmp_path):
    data = write_molecule_csv(tmp_path / "d.csv", n=40, extra_rows=[["bad1", "C1CC", "1.0"], ["bad2", "", "2.0"]])
    result = invoke("train", data, "-t", "logp", *FAST, "--out", tmp_path / "run", "--json")
    assert result.exit_code == 0, result.output
    assert "skipped 2 of 42 molecules" in result.output
    assert "line 42" in result.output  # the first bad row, named by its line
    assert last_json(result.output)["molecules"]["invalid"] == 2


def test_featurization_is_cached(tmp_path, monkeypatch):
    data = write_molecule_csv(tmp_path / "d.csv", n=30)
    opts = dict(data=str(data), targets=["logp"], plots=False, loop=api.LoopConfig(epochs=1, batch_size=16))
    api.train(api.TrainOptions(out=str(tmp_path / "a"), **opts))
    import gnncli.domains.molecules.reader as molecules

    def boom(*args, **kwargs):
        raise AssertionError("featurized again despite the cache")

    monkeypatch.setattr(molecules, "featurize_batch", boom)
    api.train(api.TrainOptions(out=str(tmp_path / "b"), **opts))


def test_interrupt_then_resume_matches_an_uninterrupted_run(tmp_path):
    data = write_molecule_csv(tmp_path / "d.csv", n=40)

    def opts(out):
        return api.TrainOptions(data=str(data), targets=["logp"], out=str(out), plots=False,
                                model=api.ModelConfig(hidden=32),
                                loop=api.LoopConfig(epochs=4, batch_size=16, patience=None, device="cpu"))  # CPU: CUDA's atomic scatter sums in a different order each run, so exact equality holds on the CPU only

    full = api.train(opts(tmp_path / "full"))
    with pytest.raises(TrainingInterrupted, match="--resume"):
        api.train(opts(tmp_path / "cut"), reporter=InterruptAfterEpochs(2))
    assert (tmp_path / "cut" / "state" / "member_0.pt").is_file()
    assert json.loads((tmp_path / "cut" / "config.json").read_text())["status"] == "training"
    result = invoke("train", "--resume", tmp_path / "cut", "--json")
    assert result.exit_code == 0, result.output
    resumed = last_json(result.output)
    assert resumed["test"]["rmse"] == pytest.approx(full["test"]["rmse"], rel=1e-5)
    a = torch.load(tmp_path / "full" / "models" / "model_0.pt", weights_only=True)["state_dict"]
    b = torch.load(tmp_path / "cut" / "models" / "model_0.pt", weights_only=True)["state_dict"]
    assert all(torch.allclose(a[k], b[k]) for k in a)
    assert pd.read_csv(tmp_path / "cut" / "metrics.csv")["epoch"].tolist() == [1, 2, 3, 4]


def test_training_is_reproducible(tmp_path):
    data = write_molecule_csv(tmp_path / "d.csv", n=30)
    runs = [api.train(api.TrainOptions(data=str(data), targets=["logp"], out=str(tmp_path / f"r{i}"), plots=False,
                                       model=api.ModelConfig(hidden=32), loop=api.LoopConfig(epochs=2, batch_size=16, device="cpu")))
            for i in range(2)]  # CPU: CUDA's atomic scatter sums in a different order each run, so exact equality holds on the CPU only
    assert runs[0]["test"] == runs[1]["test"]


def test_kfold_summary_counts_per_fold_and_finished_resume_says_so(tmp_path):
    data = write_molecule_csv(tmp_path / "d.csv", n=45)
    result = invoke("train", data, "-t", "logp", *FAST, "--split", "kfold", "--folds", "3", "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    line = " ".join(result.output.split())  # rich may wrap the line
    assert "3-fold cross-validation: per fold 26 train / 4 validation molecules; 45 molecules tested over all folds" in line
    again = invoke("train", "--resume", tmp_path / "run")
    assert again.exit_code == 0 and "the run is already complete; nothing to resume" in " ".join(again.output.split())
