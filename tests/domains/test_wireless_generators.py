"""Generated networks of varied physics (the default training generator), Nakagami fading, and a
trained policy run on a second generator's files, written in two conventions of units."""

import json
import math

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from gnncli.cli.main import app
from gnncli.domains.wireless import _channel_config
from gnncli.domains.wireless.generator import (ChannelConfig, Variation, _distances, generate, generate_network,
                                               path_loss_db, rayleigh_to_nakagami)
from gnncli.errors import UsageError
from gnncli.models import ModelConfig
from gnncli.models.config import loop_defaults


def cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def errors(result) -> list[str]:
    return [line for line in result.output.splitlines() if line.startswith("error:")]


def test_paper_physics_are_those_of_before():
    # the same numbers as the generator gave before varied physics existed (checked against that code)
    g = generate(ChannelConfig(pairs=5, steps=3, layout="density"), 2, seed=7)["gains"].astype(np.float64)
    assert float(np.log(g).sum()) == pytest.approx(-3168.4538664087645, rel=1e-12)
    n = generate_network(ChannelConfig(pairs=5), np.random.default_rng(3), steps=2, iid_fading=True)["gains"]
    assert float(np.log(n.astype(np.float64)).sum()) == pytest.approx(-1053.8178824231168, rel=1e-12)
    assert ChannelConfig().physics == "paper"


def test_dual_slope_path_loss_is_continuous_at_any_breakpoint():
    c = ChannelConfig(loss_at_1m_db=35.0, near_exponent=2.2, far_exponent=3.5, breakpoint_m=60.0)
    below, at, above = path_loss_db(np.array([59.999, 60.0, 60.001]), c)
    assert below == pytest.approx(at, abs=1e-3) and above == pytest.approx(at, abs=1e-3)
    assert at == pytest.approx(35.0 + 22 * math.log10(60))
    assert path_loss_db(np.array([600.0]), c)[0] == pytest.approx(at + 35.0)


def test_varied_physics_draw_each_network_within_the_ranges():
    v = Variation()
    rng = np.random.default_rng(0)
    base = ChannelConfig(pairs=50, variation=v)
    drawn = [v.draw(base, rng) for _ in range(200)]
    densities = np.array([50 / (c.side_m / 1000) ** 2 for c in drawn])
    assert densities.min() >= 10 - 1e-9 and densities.max() <= 100 + 1e-9 and densities.std() > 10
    for c in drawn:
        assert c.variation is None and c.physics == "paper"
        assert 4 <= c.shadowing_db <= 10 and 0.6 <= c.nakagami_m <= 4 and 3 <= c.far_exponent <= 4.5
        assert 2 <= c.rx_distance[0] <= 15 and 30 <= c.rx_distance[1] <= 70 and 30 <= c.breakpoint_m <= 200
    # seeded, network k whatever the count, and saved as JSON in the run
    config = ChannelConfig(pairs=8, steps=4, variation=v)
    a, b = generate(config, 2, seed=5), generate(config, 3, seed=5)
    np.testing.assert_array_equal(a["gains"], b["gains"][:2])
    assert ChannelConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    with pytest.raises(ValueError, match="density_km2"):
        Variation(density_km2=(50.0, 10.0))


def test_nakagami_fading_keeps_unit_power_its_spread_and_the_correlation_over_time():
    x = np.random.default_rng(1).standard_exponential(400_000).astype(np.float32)
    for m in (0.6, 2.5):
        y = rayleigh_to_nakagami(x, m)
        assert y.mean() == pytest.approx(1.0, rel=0.02) and y.var() == pytest.approx(1 / m, rel=0.05)
    assert rayleigh_to_nakagami(x, 1.0) is x
    config = ChannelConfig(pairs=20, steps=300, shadowing_db=0.0, nakagami_m=3.0)
    net = generate(config, 1, seed=2)
    fading = net["gains"][0] / (10 ** (-path_loss_db(_distances(net["tx"][0], net["rx"][0]), config) / 10))[None]
    assert fading.mean() == pytest.approx(1.0, rel=0.05) and fading.var() == pytest.approx(1 / 3, rel=0.2)
    assert np.corrcoef(fading[:-1].ravel(), fading[1:].ravel())[0, 1] > 0.99
    iid = generate_network(config, np.random.default_rng(4), steps=300, iid_fading=True)
    ratio = iid["gains"] / (10 ** (-path_loss_db(_distances(iid["tx"], iid["rx"]), config) / 10))[None]
    assert ratio.var() == pytest.approx(1 / 3, rel=0.2) and abs(np.corrcoef(ratio[:-1].ravel(), ratio[1:].ravel())[0, 1]) < 0.05


def test_defaults_train_on_varied_physics_and_layout_keeps_the_paper_generator():
    assert _channel_config({}).physics == "varied"
    assert _channel_config({"layout": "density", "pairs": 50}).physics == "paper"
    assert _channel_config({"physics": "paper"}).layout == "area"
    with pytest.raises(UsageError, match="--layout density is for --physics paper"):
        _channel_config({"physics": "varied", "layout": "density"})
    loop = loop_defaults("leconv", "wireless")
    assert (loop["epochs"], loop["batch_size"], loop["patience"]) == (80, 16, 0)
    assert ModelConfig(name="leconv", kind="wireless").depth == 5


def _second_generator(m: int, networks: int, steps: int, seed: int) -> np.ndarray:
    """Not gnn's generator: uniform drop at 40 pairs per km^2, single-slope 128.1 + 37.6 log10(d / km)
    path loss, 8 dB shadowing, Rician direct links (K = 3) and Rayleigh interference, Gauss-Markov
    over time; raw power gains for P_max 23 dBm and noise -95 dBm."""
    rng = np.random.default_rng(seed)
    side = 1000 * math.sqrt(m / 40)
    out = np.empty((networks, steps, m, m), np.float32)
    for k in range(networks):
        tx = rng.uniform(0, side, (m, 2))
        phi, r = rng.uniform(0, 2 * np.pi, m), rng.uniform(2, 65, m)
        rx = tx + np.stack([r * np.cos(phi), r * np.sin(phi)], 1)
        d = np.maximum(np.sqrt(((tx[:, None] - rx[None]) ** 2).sum(-1)), 1.0)
        large = 10 ** (-(128.1 + 37.6 * np.log10(d / 1000) + 8 * rng.standard_normal((m, m))) / 10)
        los = np.diag(np.sqrt(3 / 4) * np.exp(1j * rng.uniform(0, 2 * np.pi, m)))
        scale = np.where(np.eye(m, dtype=bool), 0.5, 1.0)
        g = (rng.standard_normal((m, m)) + 1j * rng.standard_normal((m, m))) / np.sqrt(2)
        for t in range(steps):
            out[k, t] = np.abs(los + scale * g) ** 2 * large
            g = 0.95 * g + np.sqrt(1 - 0.95**2) * (rng.standard_normal((m, m)) + 1j * rng.standard_normal((m, m))) / np.sqrt(2)
    return out


def test_a_policy_trained_on_varied_physics_runs_on_a_second_generator(tmp_path):
    run = tmp_path / "run"
    trained = cli("train", "--kind", "wireless", "--pairs", 6, "--networks", 2, "--time-steps", 10, "--episode", 2,
                  "--hidden", 8, "--depth", 2, "--epochs", 2, "--steps-per-epoch", 3, "--batch-size", 4,
                  "--no-plots", "--out", run)
    assert trained.exit_code == 0, trained.output
    config = json.loads((run / "config.json").read_text())
    assert config["domain"]["generated"]["variation"] == Variation().to_dict()
    assert config["task"]["dual_step"] == 4.0 and config["task"]["dual_window"] == 5
    p_max_dbm, noise_dbm = 23.0, -95.0
    raw = _second_generator(m=9, networks=3, steps=20, seed=0)
    np.savez(tmp_path / "raw.npz", gains=raw, p_max_dbm=p_max_dbm, noise_dbm=noise_dbm)
    # the same channels in units of P_max / N, as issue 21's generator writes them
    np.savez(tmp_path / "over_noise.npz", gains=raw * np.float32(10 ** ((p_max_dbm - noise_dbm) / 10)), p_max_dbm=0.0, noise_dbm=0.0)
    summaries = {}
    for name in ("raw", "over_noise"):
        result = cli("predict", run, tmp_path / f"{name}.npz", "--out", tmp_path / f"pred_{name}", "--baselines",
                     "--precision", "fp32", "--json")
        assert result.exit_code == 0, result.output
        summaries[name] = json.loads((tmp_path / f"pred_{name}" / "summary.json").read_text())
        users = pd.read_csv(tmp_path / f"pred_{name}" / "users.csv")
        assert len(users) == 27
        policy = summaries[name]["methods"]["state-augmented"]
        assert policy["satisfied"] == pytest.approx((users["mean_rate"] >= 0.75 - 1e-6).mean(), abs=1e-6)
        assert policy["sum_rate"] == pytest.approx(users["mean_rate"].sum() / 3, rel=1e-4)
    rates = [np.load(tmp_path / f"pred_{n}" / "rates.npz")["network_1"] for n in ("raw", "over_noise")]
    np.testing.assert_allclose(rates[0], rates[1], rtol=1e-4, atol=1e-5)
    for key in ("satisfied", "sum_rate", "p5"):
        assert summaries["raw"]["methods"]["state-augmented"][key] == pytest.approx(
            summaries["over_noise"]["methods"]["state-augmented"][key], rel=1e-4, abs=1e-6)
    powers = np.load(tmp_path / "pred_over_noise" / "powers.npz")["network_0"]
    assert powers.shape == (20, 9) and powers.max() <= 1e-3 * (1 + 1e-5) and powers.min() >= 0  # P_max = 0 dBm = 1 mW


def test_physics_option_errors_are_one_line(tmp_path):
    for args, message in ((("--physics", "ring"), "--physics ring: choose from paper, varied"),
                          (("--physics", "varied", "--layout", "area"), "--layout area is for --physics paper")):
        result = cli("train", "--kind", "wireless", *args, "--epochs", 1, "--out", tmp_path / "x")
        assert result.exit_code == 2 and len(errors(result)) == 1 and message in errors(result)[0], result.output
    assert not (tmp_path / "x").exists()
