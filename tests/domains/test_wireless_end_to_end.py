"""The wireless kind of input end to end: generate channels, train a few iterations, resume,
predict with the dual dynamics, embed, and refuse bad input with one line."""

import json

import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from gnncli import api
from gnncli.cli.main import app
from gnncli.domains import resolve_domain
from gnncli.domains.wireless.channels import looks_like_channels
from gnncli.testing import InterruptAfterEpochs
from gnncli.train.loop import TrainingInterrupted

TINY = {"pairs": 4, "networks": 2, "time_steps": 10, "episode": 2}


def cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def errors(result) -> list[str]:
    return [line for line in result.output.splitlines() if line.startswith("error:")]


def tiny_options(out, task="state-augmented", epochs=2, **extra):
    return api.TrainOptions(kind="wireless", task=task, out=str(out), plots=False, options={**TINY, **extra},
                            model=api.ModelConfig(name="leconv", hidden=8, depth=2),
                            loop=api.LoopConfig(epochs=epochs, batch_size=2, steps_per_epoch=2, patience=None, device="cpu"))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A state-augmented run trained for a few iterations on generated networks."""
    out = tmp_path_factory.mktemp("wireless") / "run"
    summary = api.train(tiny_options(out))
    return out, summary


def test_train_writes_a_run_with_test_metrics_beside_the_baselines(trained):
    out, summary = trained
    assert summary["kind"] == "wireless" and summary["task"] == "state-augmented" and summary["unit"] == "networks"
    assert summary["networks"]["val"] == 2 and summary["networks"]["test"] == 2 and summary["pairs"] == 4
    for stats in [summary["test"], *summary["baselines"].values()]:
        assert 0 <= stats["satisfied"] <= 1 and stats["sum_rate"] >= 0 and stats["p5"] <= stats["mean_rate"]
    assert set(summary["baselines"]) == {"full_power", "random", "wmmse"}
    assert summary["baselines"]["wmmse"]["sum_rate"] >= summary["baselines"]["full_power"]["sum_rate"] - 1e-9
    config = json.loads((out / "config.json").read_text())
    assert config["model"]["name"] == "leconv" and config["model"]["in_channels"] == 2
    assert config["task"]["mode"] == "state-augmented" and config["task"]["f_min"] == 0.75
    assert config["domain"]["generated"]["pairs"] == 4 and set(config["domain"]["scales"]) == {"direct", "interference"}
    table = pd.read_csv(out / "test_summary.csv")
    assert table["method"].tolist() == ["state-augmented", "full_power", "random", "wmmse"]
    saved = torch.load(out / "models" / "model_0.pt", weights_only=True)
    assert "state_dict" in saved


def test_training_is_resumable_bit_for_bit(tmp_path):
    full = api.train(tiny_options(tmp_path / "full", epochs=3))
    with pytest.raises(TrainingInterrupted, match="--resume"):
        api.train(tiny_options(tmp_path / "cut", epochs=3), reporter=InterruptAfterEpochs(2))
    resumed = api.resume(str(tmp_path / "cut"))
    a = torch.load(tmp_path / "full" / "models" / "model_0.pt", weights_only=True)["state_dict"]
    b = torch.load(tmp_path / "cut" / "models" / "model_0.pt", weights_only=True)["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert resumed["test"] == full["test"]


def test_primal_dual_trains_and_predicts_from_files(tmp_path):
    channels = tmp_path / "train.npz"
    assert cli("channels", "--pairs", 4, "--networks", 6, "--steps", 8, "--seed", 3, "--out", channels).exit_code == 0
    summary = api.train(api.TrainOptions(
        data=str(channels), task="primal-dual", out=str(tmp_path / "run"), plots=False, split_sizes=(0.5, 0.25, 0.25),
        options={"episode": 4}, model=api.ModelConfig(name="tag", hidden=8, depth=2, params={"taps": 2}),
        loop=api.LoopConfig(epochs=1, batch_size=2, steps_per_epoch=2, device="cpu")))
    assert summary["task"] == "primal-dual" and summary["networks"]["train"] == 3 and summary["networks"]["val"] + summary["networks"]["test"] == 3
    result = cli("predict", tmp_path / "run", channels)  # no --out: the summary CSV on stdout
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if line]
    assert lines[0].startswith("method,networks,users,satisfied") and lines[1].startswith("primal-dual,6,24,")


def test_predict_writes_powers_rates_duals_and_a_summary(trained, tmp_path):
    run, _ = trained
    channels = tmp_path / "test.npz"
    made = cli("channels", "--pairs", 6, "--networks", 3, "--steps", 12, "--seed", 5, "--out", channels, "--json")
    assert made.exit_code == 0, made.output
    assert json.loads(made.stdout.splitlines()[-1])["networks"] == 3
    result = cli("predict", run, channels, "--out", tmp_path / "result", "--plot", "--json")
    assert result.exit_code == 0, result.output
    assert "predicted 3 of 3 networks" in result.output
    out = tmp_path / "result"
    p_max_w = 10 ** ((10 - 30) / 10)
    powers, rates, duals = (np.load(out / f"{k}.npz") for k in ("powers", "rates", "duals"))
    assert list(powers["names"]) == [f"{channels}[{k}]" for k in range(3)]
    for k in range(3):  # a policy trained on 4 pairs runs on 6
        p = powers[f"network_{k}"]
        assert p.shape == (12, 6) and (p >= 0).all() and (p <= p_max_w * (1 + 1e-6)).all()
        assert rates[f"network_{k}"].shape == (12, 6) and (duals[f"network_{k}"] >= 0).all()
    users = pd.read_csv(out / "users.csv")
    assert len(users) == 18 and {"mean_rate", "meets_f_min", "final_dual", "wmmse_rate", "full_power_rate"} <= set(users.columns)
    summary = json.loads((out / "summary.json").read_text())
    policy = summary["methods"]["state-augmented"]
    assert policy["satisfied"] == pytest.approx((users["mean_rate"] >= 0.75).mean())
    assert policy["p5"] == pytest.approx(np.percentile(users["mean_rate"], 5))
    assert policy["sum_rate"] == pytest.approx(users.groupby("network")["mean_rate"].sum().mean())
    assert set(summary["methods"]) == {"state-augmented", "full_power", "random", "wmmse"}
    assert pd.read_csv(out / "summary.csv")["method"].tolist() == ["state-augmented", "full_power", "random", "wmmse"]
    assert (out / "over_time.png").stat().st_size > 0 and (out / "cdf.png").stat().st_size > 0
    assert json.loads(result.stdout.splitlines()[-1])["predicted"] == 3


def test_predict_takes_other_dual_dynamics_without_retraining(trained, tmp_path):
    run, _ = trained
    np.save(tmp_path / "h.npy", np.random.default_rng(0).exponential(1e-10, (20, 4, 4)))
    loose = api.predict(str(run), [str(tmp_path / "h.npy")], str(tmp_path / "a"), f_min=0.0)
    strict = api.predict(str(run), [str(tmp_path / "h.npy")], str(tmp_path / "b"), f_min=5.0, dual_step=1.0)
    assert (np.load(tmp_path / "a" / "duals.npz")["network_0"] == 0).all()  # nobody is short of 0 bps/Hz
    assert np.load(tmp_path / "b" / "duals.npz")["network_0"][-1].min() > 0
    assert json.loads((tmp_path / "b" / "summary.json").read_text())["f_min"] == 5.0
    assert loose["summary"]["state-augmented"]["satisfied"] == 1.0


def test_predict_precision_is_recorded_and_checked(trained, tmp_path):
    run, _ = trained
    np.save(tmp_path / "h.npy", np.random.default_rng(0).exponential(1e-10, (20, 4, 4)))
    outs = {}
    for precision in ("fp32", "bf16"):
        result = cli("predict", run, tmp_path / "h.npy", "--out", tmp_path / precision, "--precision", precision, "--json")
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout.splitlines()[-1])["precision"] == precision
        assert json.loads((tmp_path / precision / "summary.json").read_text())["precision"] == precision
        outs[precision] = np.load(tmp_path / precision / "powers.npz")["network_0"]
    assert np.abs(outs["bf16"] - outs["fp32"]).max() <= 0.05 * 10 ** ((10 - 30) / 10)
    half = cli("predict", run, tmp_path / "h.npy", "--precision", "fp16")
    assert half.exit_code == 2 and errors(half) == ["error: --precision fp16 is for CUDA; on a CPU use bf16 or fp32"]


def test_embed_writes_one_vector_per_pair(trained, tmp_path):
    run, _ = trained
    np.save(tmp_path / "h.npy", np.random.default_rng(1).exponential(1e-10, (5, 3, 3)))
    result = cli("embed", run, tmp_path / "h.npy", "--out", tmp_path / "v.npy")
    assert result.exit_code == 0, result.output
    vectors = np.load(tmp_path / "v.npy")
    assert vectors.shape == (3, 8) and np.isfinite(vectors).all()
    as_csv = cli("embed", run, tmp_path / "h.npy", "--out", tmp_path / "v.csv")
    assert as_csv.exit_code == 0
    frame = pd.read_csv(tmp_path / "v.csv")
    assert frame.columns[:3].tolist() == ["network", "pair", "emb_0"] and len(frame) == 3


def test_bad_channel_files_are_one_line_errors(trained, tmp_path):
    run, _ = trained
    np.save(tmp_path / "nonsquare.npy", np.ones((2, 3)))
    np.save(tmp_path / "negative.npy", -np.ones((3, 3)))
    np.save(tmp_path / "nan.npy", np.full((3, 3), np.nan))
    for name, message in (("nonsquare.npy", "not square"), ("negative.npy", "negative channel gain"),
                          ("nan.npy", "not a finite number")):
        result = cli("predict", run, tmp_path / name)
        assert result.exit_code == 1 and len(errors(result)) == 1, result.output
        assert str(tmp_path / name) in errors(result)[0] and message in errors(result)[0]
        assert "Traceback" not in result.output
    folder = tmp_path / "mixed"
    folder.mkdir()
    np.save(folder / "a.npy", np.ones((2, 3, 3)))
    np.save(folder / "b.npy", np.ones((2, 4, 4)))
    np.save(folder / "c.npy", np.ones((2, 4, 4)))
    result = cli("train", folder, "--epochs", 1, "--out", tmp_path / "r")
    assert result.exit_code == 1 and errors(result) == [
        f"error: {folder / 'b.npy'}: 4 pairs, but {folder / 'a.npy'} has 3 (every network of a training set needs the same number of pairs m)"]


def test_usage_errors(trained, tmp_path):
    run, _ = trained
    wrong_model = cli("train", "--kind", "wireless", "--model", "gcn", "--epochs", 1, "--out", tmp_path / "x")
    assert wrong_model.exit_code == 2 and "--model gcn: not a model for wireless input (choose from leconv, tag)" in errors(wrong_model)[0]
    bad_layout = cli("train", "--kind", "wireless", "--layout", "ring", "--epochs", 1, "--out", tmp_path / "y")
    assert bad_layout.exit_code == 2 and "--layout ring" in errors(bad_layout)[0]
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()
    np.save(tmp_path / "h.npy", np.ones((3, 3)))
    (tmp_path / "file").write_text("")
    not_a_folder = cli("predict", run, tmp_path / "h.npy", "--out", tmp_path / "file")
    assert not_a_folder.exit_code == 2 and "is not a folder" in errors(not_a_folder)[0]
    smiles_opt = cli("predict", run, tmp_path / "h.npy", "--smiles-col", "s")
    assert smiles_opt.exit_code == 2 and "--smiles-col is an option for molecules input" in errors(smiles_opt)[0]
    for command in ("train", "predict", "embed", "channels"):
        shown = cli(command, "--help").output
        assert "Examples" in shown or "Example" in shown
    assert "rows transmitters, columns receivers" in cli("train", "--help").output


def test_channels_writes_the_varied_physics_gnn_train_trains_on(tmp_path):
    from gnncli.domains.wireless.generator import ChannelConfig, Variation, generate

    out = tmp_path / "varied.npz"
    made = cli("channels", "--physics", "varied", "--pairs", 5, "--networks", 3, "--steps", 4, "--seed", 2, "--out", out, "--json")
    assert made.exit_code == 0, made.output
    summary = json.loads(made.stdout.splitlines()[-1])
    assert summary["physics"] == "varied" and summary["side_m"] is None
    expected = generate(ChannelConfig(pairs=5, steps=4, variation=Variation()), 3, 2)["gains"]
    with np.load(out) as data:
        assert np.allclose(data["gains"], expected) and json.loads(str(data["config"]))["variation"]
        spans = [np.ptp(np.concatenate([data["tx"][k], data["rx"][k]]), axis=0).max() for k in range(3)]
    assert len({round(float(s)) for s in spans}) == 3  # each network its own square
    for extra in (["--layout", "density"], ["--side", "300"], ["--shadowing", "4"]):
        refused = cli("channels", "--physics", "varied", *extra, "--out", tmp_path / "x.npz")
        assert refused.exit_code == 2 and "not with --physics varied" in refused.output
    assert cli("channels", "--physics", "ray", "--out", tmp_path / "x.npz").exit_code == 2
    assert not (tmp_path / "x.npz").exists()


def test_channel_files_are_recognised_by_content(tmp_path):
    np.save(tmp_path / "g.npy", np.ones((2, 3, 3)))
    np.savetxt(tmp_path / "m.csv", np.ones((3, 3)), delimiter=",")
    (tmp_path / "mols.csv").write_text("smiles,y\nCCO,1\nCCC,2\n")
    assert resolve_domain(str(tmp_path / "g.npy")).name == "wireless"
    assert resolve_domain(str(tmp_path / "m.csv")).name == "wireless"
    assert resolve_domain(str(tmp_path / "mols.csv")).name == "molecules"
    assert not looks_like_channels(str(tmp_path / "mols.csv"))
    folder = tmp_path / "f"
    folder.mkdir()
    np.save(folder / "x.npy", np.ones((3, 3)))
    assert resolve_domain(str(folder)).name == "wireless"
