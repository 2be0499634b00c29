"""Chemprop 2's task types and inputs, each as a tiny generated file through gnn train/predict/embed."""

import io
import json

import numpy as np
import pandas as pd
import pytest
import torch

from gnncli import api
from gnncli.runs import load_run
from gnncli.testing import InterruptAfterEpochs, write_molecule_csv
from gnncli.train.loop import TrainingInterrupted
from tests.cli.conftest import invoke, last_json

FAST = ["--epochs", "2", "--hidden", "16", "--batch-size", "16", "--no-plots"]
SOLVENTS = {"O": 0.0, "CO": 1.0, "CCO": 2.0, "ClCCl": 3.0}


def _frame(tmp_path, n=48, seed=0):
    return pd.read_csv(write_molecule_csv(tmp_path / "base.csv", n=n, seed=seed))


def _predict(run, rows: pd.DataFrame, tmp_path, *args) -> pd.DataFrame:
    path = tmp_path / "query.csv"
    rows.to_csv(path, index=False)
    result = invoke("predict", run, path, "--workers", "1", "--device", "cpu", *args)  # CPU: exact comparisons
    assert result.exit_code == 0, result.output
    return pd.read_csv(io.StringIO(result.stdout), keep_default_na=False)


def test_integer_classes_train_as_multiclass_and_predict_a_probability_per_class(tmp_path):
    frame = _frame(tmp_path)
    frame["activity"] = np.digitize(frame["logp"], [0.5, 2.0])  # three classes, as Chemprop's mol_multiclass.csv
    frame[["smiles", "activity"]].to_csv(tmp_path / "mc.csv", index=False)
    result = invoke("train", tmp_path / "mc.csv", *FAST[:-1], "--out", tmp_path / "run", "--json")
    assert result.exit_code == 0, result.output
    summary = last_json(result.output)
    assert summary["task"] == "multiclass" and "training multiclass classification" in " ".join(summary["warnings"])
    assert {"accuracy", "macro_f1", "roc_auc", "cross_entropy"} <= set(summary["test"])
    assert (tmp_path / "run" / "confusion.png").is_file()
    tests = pd.read_csv(tmp_path / "run" / "test_predictions.csv")
    assert {"activity_true", "activity_pred", "activity_class_0", "activity_class_2"} <= set(tests.columns)
    out = _predict(tmp_path / "run", pd.DataFrame({"smiles": ["CCO", "C1CC", "c1ccccc1O"]}), tmp_path)
    probs = out[["activity_class_0", "activity_class_1", "activity_class_2"]]
    assert out["error"].tolist()[1] != "" and probs.iloc[[0, 2]].astype(float).sum(axis=1).round(5).tolist() == [1.0, 1.0]
    assert last_json(invoke("train", tmp_path / "mc.csv", *FAST, "--task", "regression", "--out", tmp_path / "r",
                            "--json").output)["task"] == "regression"


def _two_molecules(tmp_path) -> pd.DataFrame:
    frame = _frame(tmp_path)
    frame["solvent"] = [list(SOLVENTS)[i % 4] for i in range(len(frame))]
    frame["peakwavs_max"] = frame["logp"] + frame["solvent"].map(SOLVENTS)
    frame[["smiles", "solvent", "peakwavs_max"]].to_csv(tmp_path / "mol+mol.csv", index=False)
    return frame


def test_a_second_smiles_column_is_noted_when_not_named(tmp_path):
    _two_molecules(tmp_path)
    result = invoke("train", tmp_path / "mol+mol.csv", *FAST, "--out", tmp_path / "one", "--json")
    assert result.exit_code == 0, result.output
    warning = " ".join(last_json(result.output)["warnings"])
    assert "column 'solvent' also holds SMILES and is not used" in warning and "--smiles-col solvent" in warning


def test_two_molecules_per_row_use_both_through_train_predict_embed_and_resume(tmp_path):
    frame = _two_molecules(tmp_path)
    cols = ["--smiles-col", "smiles", "--smiles-col", "solvent"]
    result = invoke("train", tmp_path / "mol+mol.csv", *cols, *FAST, "--device", "cpu", "--out", tmp_path / "run", "--json")
    assert result.exit_code == 0, result.output
    assert not last_json(result.output)["warnings"]
    run = load_run(tmp_path / "run")
    assert run.config["model"]["parts"] == 2 and run.config["domain"]["columns"] == ["smiles", "solvent"]
    tests = pd.read_csv(tmp_path / "run" / "test_predictions.csv")
    assert list(tests.columns) == ["row", "smiles", "solvent", "peakwavs_max_true", "peakwavs_max_pred"]
    rows = frame[["smiles", "solvent"]].head(4)
    swapped = rows.assign(solvent=["ClCCl", "O", "O", "CO"])
    a, b = _predict(tmp_path / "run", rows, tmp_path), _predict(tmp_path / "run", swapped, tmp_path)
    assert (a["peakwavs_max"] - b["peakwavs_max"]).abs().min() > 1e-6  # the solvent changes every prediction
    renamed = rows.rename(columns={"smiles": "solute", "solvent": "medium"})
    c = _predict(tmp_path / "run", renamed, tmp_path, "--smiles-col", "solute", "--smiles-col", "medium")
    assert np.allclose(c["peakwavs_max"], a["peakwavs_max"], atol=1e-5)
    missing = invoke("predict", tmp_path / "run", tmp_path / "query.csv", "--workers", "1")
    assert missing.exit_code == 1 and "no column 'smiles'" in missing.output
    bad = rows.assign(solvent=["O", "C1CC", "", "O"])
    marked = _predict(tmp_path / "run", bad, tmp_path)
    assert marked["error"].tolist()[0] == "" and marked["error"].tolist()[1].startswith("column 'solvent':")
    assert marked["peakwavs_max"].tolist()[2] == ""
    emb = invoke("embed", tmp_path / "run", tmp_path / "query.csv", "--out", tmp_path / "e.npy", "--workers", "1")
    assert emb.exit_code == 0, emb.output
    vectors = np.load(tmp_path / "e.npy")
    assert vectors.shape == (4, 32) and np.isnan(vectors[1]).all()  # two 16-wide readouts joined

    def opts(out):
        return api.TrainOptions(data=str(tmp_path / "mol+mol.csv"), out=str(out), plots=False,
                                options={"smiles_col": ["smiles", "solvent"]}, model=api.ModelConfig(hidden=16),
                                loop=api.LoopConfig(epochs=3, batch_size=16, patience=None))

    full = api.train(opts(tmp_path / "full"))
    with pytest.raises(TrainingInterrupted):
        api.train(opts(tmp_path / "cut"), reporter=InterruptAfterEpochs(1))
    resumed = api.resume(str(tmp_path / "cut"))
    assert resumed["test"]["rmse"] == pytest.approx(full["test"]["rmse"], rel=1e-5)


def _reactions(n: int, seed: int = 0) -> pd.DataFrame:
    """Atom-mapped reactions joining two small molecules by a new single bond."""
    from rdkit import Chem

    rng = np.random.default_rng(seed)
    parts = ["CCO", "CC(=O)O", "c1ccccc1", "CN", "CCCl", "OC1CCCC1", "CC=C", "NCC(=O)O"]
    rows = []
    for _ in range(n):
        a, b = (Chem.MolFromSmiles(parts[i]) for i in rng.choice(len(parts), 2))
        both = Chem.RWMol(Chem.CombineMols(a, b))
        for atom in both.GetAtoms():
            atom.SetAtomMapNum(atom.GetIdx() + 1)
        reactants = Chem.MolToSmiles(both)
        i = int(rng.choice([x.GetIdx() for x in a.GetAtoms() if x.GetTotalNumHs() > 0]))
        j = a.GetNumAtoms() + int(rng.choice([x.GetIdx() for x in b.GetAtoms() if x.GetTotalNumHs() > 0]))
        both.AddBond(i, j, Chem.BondType.SINGLE)
        for k in (i, j):
            both.GetAtomWithIdx(k).SetNoImplicit(False)
        Chem.SanitizeMol(both)
        rows.append({"smiles": f"{reactants}>>{Chem.MolToSmiles(both)}", "ea": round(float(i + j + rng.normal()), 3)})
    return pd.DataFrame(rows)


def test_atom_mapped_reactions_train_as_condensed_graphs(tmp_path):
    frame = _reactions(40)
    frame.to_csv(tmp_path / "rxn.csv", index=False)
    result = invoke("train", tmp_path / "rxn.csv", *FAST, "--out", tmp_path / "run", "--json")
    assert result.exit_code == 0, result.output
    summary = last_json(result.output)
    assert "holds reaction SMILES" in " ".join(summary["warnings"]) and summary["molecules"]["invalid"] == 0
    run = load_run(tmp_path / "run")
    assert run.config["featurizer"]["graph"]["name"] == "gnn-cgr" and run.config["model"]["in_channels"] == 158
    query = pd.DataFrame({"smiles": [frame["smiles"][0], "CC>>", "CCO"]})
    out = _predict(tmp_path / "run", query, tmp_path)
    assert out["error"].tolist()[0] == "" and out["error"].tolist()[1] != "" and "reactants>agents>products" in out["error"][2]
    explicit = invoke("train", tmp_path / "rxn.csv", "--reaction-col", "smiles", "--reaction-mode", "reac_prod", *FAST,
                      "--out", tmp_path / "prod", "--json")
    assert explicit.exit_code == 0 and not last_json(explicit.output)["warnings"]


def test_bounded_targets_are_kept_as_bounds(tmp_path):
    frame = _frame(tmp_path)
    text = frame["logp"].round(3).astype(str)
    text[::4] = "<" + text[::4]
    text[1::4] = ">" + text[1::4]
    frame.assign(logp=text)[["smiles", "logp"]].to_csv(tmp_path / "bounded.csv", index=False)
    result = invoke("train", tmp_path / "bounded.csv", *FAST, "--out", tmp_path / "run", "--json")
    assert result.exit_code == 0, result.output
    summary = last_json(result.output)
    assert summary["task"] == "regression" and "24 target values are bounds" in " ".join(summary["warnings"])
    tests = pd.read_csv(tmp_path / "run" / "test_predictions.csv", dtype={"logp_true": str})
    assert tests["logp_true"].isna().any() and tests["logp_true"].notna().any()  # bounds are not scored
    refused = invoke("train", tmp_path / "bounded.csv", *FAST, "--task", "regression-mve", "--out", tmp_path / "mve")
    assert refused.exit_code == 1 and "only --task regression fits" in " ".join(refused.output.split())


def test_descriptor_columns_and_computed_features_widen_the_head(tmp_path):
    frame = _frame(tmp_path)
    frame["temperature"] = 280 + 10 * (np.arange(len(frame)) % 5)
    frame["pressure"] = 1.0
    frame["y"] = frame["logp"] + frame["temperature"] / 100
    frame[["smiles", "temperature", "pressure", "y"]].to_csv(tmp_path / "desc.csv", index=False)
    widths = {}
    for name, extra in {"none": [], "descriptors": ["--descriptor-col", "temperature", "--descriptor-col", "pressure"],
                        "morgan": ["--molecule-features", "morgan"]}.items():
        result = invoke("train", tmp_path / "desc.csv", "-t", "y", *extra, *FAST, "--out", tmp_path / name)
        assert result.exit_code == 0, result.output
        model = load_run(tmp_path / name).models[0]
        widths[name] = model.head[1].in_features
    assert widths == {"none": 16, "descriptors": 18, "morgan": 16 + 2048}
    morgan = load_run(tmp_path / "morgan").models[0]
    assert not morgan.feature_mean.any() and (morgan.feature_std == 1).all()  # fingerprint counts as they are
    model = load_run(tmp_path / "descriptors").models[0]
    train = json.loads((tmp_path / "descriptors" / "splits.json").read_text())[0]["train"]
    assert model.feature_mean[0] == pytest.approx(frame["temperature"].to_numpy()[train].mean(), rel=1e-5)
    assert model.feature_std[1] == 1.0  # a constant column is only centred
    query = frame[["smiles", "temperature", "pressure"]].head(3).assign(temperature=["300", "hot", "310"])
    out = _predict(tmp_path / "descriptors", query, tmp_path)
    assert out["error"].tolist()[1] == "descriptor 'temperature' is 'hot', not a number" and out["error"][0] == ""
    emb = invoke("embed", tmp_path / "descriptors", tmp_path / "query.csv", "--out", tmp_path / "e.csv", "--workers", "1")
    assert emb.exit_code == 0 and pd.read_csv(tmp_path / "e.csv").filter(like="emb_").shape[1] == 18


def test_mean_variance_estimation_writes_variances_and_a_calibration_report(tmp_path):
    write_molecule_csv(tmp_path / "d.csv", n=48)
    result = invoke("train", tmp_path / "d.csv", "-t", "logp", "--task", "regression-mve", *FAST[:-1], "--ensemble", "2",
                    "--out", tmp_path / "run", "--json")
    assert result.exit_code == 0, result.output
    test = last_json(result.output)["test"]
    assert {"rmse", "nll", "miscalibration_area", "spearman", "ensemble_miscalibration_area"} <= set(test)
    assert 0 <= test["miscalibration_area"] <= 0.5
    assert (tmp_path / "run" / "calibration.png").is_file()
    assert {"logp_pred", "logp_var", "logp_std"} <= set(pd.read_csv(tmp_path / "run" / "test_predictions.csv").columns)
    out = _predict(tmp_path / "run", pd.DataFrame({"smiles": ["CCO", "c1ccccc1"]}), tmp_path)
    assert list(out.columns) == ["smiles", "logp", "logp_var", "logp_std", "logp_var_std", "error"]
    assert (out["logp_var"].astype(float) > 0).all()


def test_sample_weights_reach_the_loss_and_bad_ones_name_their_row(tmp_path):
    frame = _frame(tmp_path)
    frame["w"] = np.where(np.arange(len(frame)) % 2 == 0, 1.0, 0.0)
    frame.to_csv(tmp_path / "w.csv", index=False)
    opts = api.TrainOptions(data=str(tmp_path / "w.csv"), targets=["logp"], options={"weight_col": "w"})
    from gnncli.domains import get_domain
    from gnncli.progress import Reporter

    data = get_domain("molecules").prepare(api.settle_options(opts, get_domain("molecules")), Reporter())
    assert data.pack.graph["weight"].tolist() == frame["w"].tolist()
    result = invoke("train", tmp_path / "w.csv", "-t", "logp", "--weight-col", "w", *FAST, "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    frame.loc[5, "w"] = -1
    frame.to_csv(tmp_path / "w.csv", index=False)
    bad = invoke("train", tmp_path / "w.csv", "-t", "logp", "--weight-col", "w", *FAST, "--out", tmp_path / "bad")
    assert bad.exit_code == 1 and f"w.csv: line 7: weight 'w' is '-1.0'" in " ".join(bad.output.split())


def test_rows_of_several_columns_are_cached_with_their_columns(tmp_path, monkeypatch):
    import gnncli.domains.molecules.reader as reader
    from gnncli.domains.molecules.columns import choose_inputs

    _two_molecules(tmp_path)
    mf = reader.read_molecules(str(tmp_path / "mol+mol.csv"))
    featurizer, _ = choose_inputs(mf, {"smiles_col": ["smiles", "solvent"]}, [])
    key = reader.file_cache_key(str(tmp_path / "mol+mol.csv"), "smiles", featurizer, "csv")
    first = reader.featurize_frame(mf, featurizer, cache_key=key)[0]

    def boom(*args, **kwargs):
        raise AssertionError("featurized again despite the cache")

    monkeypatch.setattr(reader, "featurize_rows", boom)
    again = reader.featurize_frame(mf, featurizer, cache_key=key)[0]
    assert torch.equal(first.node["part"], again.node["part"]) and torch.equal(first.x, again.x)
    swapped, _ = choose_inputs(mf, {"smiles_col": ["solvent", "smiles"]}, [])
    assert reader.file_cache_key(str(tmp_path / "mol+mol.csv"), "smiles", swapped, "csv") != key
