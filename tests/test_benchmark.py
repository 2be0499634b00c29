"""gnn benchmark: grids of runs through api.train, failed rows, resume, summaries, report, speed, suites."""

import json
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from gnncli import api
from gnncli.benchmark.grid import Setting, expand, parse_grid, specs
from gnncli.benchmark.runner import BenchmarkOptions, run_benchmark
from gnncli.testing import write_molecule_csv

from .cli.conftest import invoke, last_json

TINY = ["--epochs", "1", "--batch-size", "16", "--target", "logp"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_molecule_csv(tmp_path_factory.mktemp("bench") / "d.csv", n=30)


def _base(data, **kw):
    return api.TrainOptions(data=str(data), targets=["logp"], plots=False, model=api.ModelConfig(name=None, hidden=16),
                            loop=api.LoopConfig(epochs=1, batch_size=16), **kw)


def test_a_tiny_grid_gives_one_row_per_run(data, tmp_path):
    result = invoke("benchmark", data, *TINY, "--models", "gin,gcn", "--seeds", "2", "--grid", "hidden=16",
                    "--out", tmp_path / "b", "--json")
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(tmp_path / "b" / "results.csv")
    assert rows["run_id"].tolist() == ["gin,hidden=16/seed=0", "gin,hidden=16/seed=1", "gcn,hidden=16/seed=0", "gcn,hidden=16/seed=1"]
    assert {"status", "error", "time_s", "test_rmse", "val_rmse", "test_r2", "overrides"} <= set(rows.columns)
    assert (rows["status"] == "ok").all()
    summary = last_json(result.output)
    assert summary["primary"] == "test_rmse" and summary["best"]["test_rmse"] in ("gin,hidden=16", "gcn,hidden=16")
    assert (tmp_path / "b" / "summary.json").is_file() and (tmp_path / "b" / "report.html").is_file()


def test_a_failing_run_is_a_row_and_the_rest_go_on_and_resume_skips_done_runs(data, tmp_path, monkeypatch):
    settings = [Setting("ok", "gin", {"hidden": 16}), Setting("broken", "gin", {"aggr": "median"})]
    opts = BenchmarkOptions(_base(data), specs(settings, [0, 1]), out=tmp_path / "b")
    summary = run_benchmark(opts)
    rows = pd.read_csv(tmp_path / "b" / "results.csv", keep_default_na=False)
    assert rows["status"].tolist() == ["ok", "ok", "failed", "failed"]
    assert "unknown aggregation 'median'" in rows.loc[2, "error"]
    assert summary["failed"] == 2 and summary["settings"][1]["runs"] == 0
    with pytest.raises(Exception, match="--resume"):
        run_benchmark(opts)  # the folder holds a benchmark: not overwritten silently
    calls = []
    real = api.train
    monkeypatch.setattr(api, "train", lambda *a, **k: calls.append(a[0].loop.seed) or real(*a, **k))
    run_benchmark(BenchmarkOptions(_base(data), opts.specs, out=tmp_path / "b", resume=True))
    assert calls == [0, 1]  # only the failed runs ran again


def test_summary_means_and_sds_are_those_of_the_rows(data, tmp_path):
    summary = run_benchmark(BenchmarkOptions(_base(data), expand(["gin"], {}, [0, 1, 2]), out=tmp_path / "b"))
    rows = pd.read_csv(tmp_path / "b" / "results.csv")
    values = rows["test_rmse"].to_numpy()
    stat = summary["settings"][0]["metrics"]["test_rmse"]
    assert stat["n"] == 3 and stat["mean"] == pytest.approx(values.mean()) and stat["sd"] == pytest.approx(values.std(ddof=1))
    assert json.loads((tmp_path / "b" / "summary.json").read_text())["settings"][0]["metrics"]["test_rmse"]["mean"] == pytest.approx(values.mean())


def test_the_report_parses_and_names_every_run(data, tmp_path):
    run_benchmark(BenchmarkOptions(_base(data), expand(["gin", "gcn"], parse_grid(["depth=1,2"]), [0]), out=tmp_path / "b"))

    class Collect(HTMLParser):
        ids, images, stack = set(), 0, []

        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            if tag == "tr" and "id" in attrs:
                self.ids.add(attrs["id"])
            if tag == "img" and attrs.get("src", "").startswith("data:image/png;base64,"):
                self.images += 1

    parser = Collect()
    parser.feed((tmp_path / "b" / "report.html").read_text())
    rows = pd.read_csv(tmp_path / "b" / "results.csv")
    assert parser.ids == set(rows["run_id"]) and len(parser.ids) == 4
    assert parser.images >= 2  # a bar chart per test metric and the learning curves, embedded


def test_grid_values_and_bad_grids():
    assert parse_grid(["hidden=128,300", "virtual_node=true,false", "lr=1e-3"]) == {
        "hidden": [128, 300], "virtual_node": [True, False], "lr": [0.001]}
    with pytest.raises(Exception, match="expected NAME=V1,V2"):
        parse_grid(["hidden"])
    assert len(expand(["a", "b"], {"x": [1, 2], "y": [3]}, [0, 1, 2])) == 12


def test_speed_mode_reports_positive_throughputs(data):
    from gnncli.benchmark.speed import measure_featurization, measure_model, run_speed

    opts = _base(data)
    opts.model = api.ModelConfig(name="dmpnn", hidden=16)
    feat = measure_featurization(opts)
    model = measure_model(opts, "cpu", 8, 2)
    assert feat["items"] == 30 and feat["items_per_s"] > 0
    assert model["train_items_per_s"] > 0 and model["infer_items_per_s"] > 0 and model["peak_rss_mb"] > 0
    result = run_speed(opts, batch_sizes=[8], repeats=1, epochs=2)  # each measurement in a fresh process
    assert result["featurize_items_per_s"] > 0 and result["rows"][0]["device"] == "cpu"
    assert result["inputs"] == opts.input_paths() == [str(data)]  # every input, not only the first
    assert {"train_items_per_s", "infer_items_per_s", "peak_rss_mb"} <= set(result["rows"][0])


def test_speed_mode_measures_a_policy_on_generated_networks_with_the_settings_given():
    # wireless: generated data (--steps-per-epoch), a rollout as inference, one-valued --grid
    result = invoke("benchmark", "--kind", "wireless", "--pairs", "4", "--networks", "2", "--time-steps", "6",
                    "--episode", "2", "--grid", "depth=2", "--steps-per-epoch", "3", "--speed", "--device", "cpu",
                    "--epochs", "2", "--repeats", "1", "--batch-sizes", "2", "--json")
    assert result.exit_code == 0, result.output
    row = last_json(result.output)["rows"][0]
    assert row["device"] == "cpu" and row["train_items_per_s"] > 0 and row["infer_items_per_s"] > 0
    two = invoke("benchmark", "--kind", "wireless", "--grid", "depth=2,3", "--speed")
    assert two.exit_code == 2 and "--speed measures one model" in two.output


def test_a_suite_runs_end_to_end_and_reads_its_table(data, tmp_path):
    result = invoke("benchmark", data, "--suite", "aggregation", *TINY, "--seeds", "1", "--out", tmp_path / "s", "--json")
    assert result.exit_code == 0, result.output
    summary = last_json(result.output)
    assert [e["label"] for e in summary["settings"]] == ["GIN-sum", "GIN-mean", "GIN-max", "GIN-VPA"]
    assert summary["failed"] == 0 and "GNN-VPA claim" in summary["reading"]
    rows = pd.read_csv(tmp_path / "s" / "results.csv")
    assert np.isfinite(rows["test_rmse"]).all()
    assert invoke("benchmark", data, "--suite", "nope", *TINY).exit_code == 2


def test_the_proteins_suite_runs_on_tiny_structures(tmp_path):
    from gnncli.testing import write_protein_folder

    folder = write_protein_folder(tmp_path / "structures", count=8, n=14)
    result = invoke("benchmark", folder, "--suite", "proteins", "--epochs", "1", "--seeds", "1", "--batch-size", "4",
                    "--out", tmp_path / "s", "--json")
    assert result.exit_code == 0, result.output
    summary = last_json(result.output)
    assert [e["label"] for e in summary["settings"]] == ["logistic regression", "GCN", "EGNN", "VN-EGNN"]
    assert summary["failed"] == 0 and "per-residue baseline" in summary["reading"]


def test_the_ratings_suite_reports_train_and_test_rmse(tmp_path):
    rng = np.random.default_rng(0)
    pairs = {(int(u), int(i)) for u, i in zip(rng.integers(0, 30, 600), rng.integers(0, 25, 600))}
    frame = pd.DataFrame(sorted(pairs), columns=["user", "item"])
    frame["rating"] = rng.integers(1, 6, len(frame))
    frame.to_csv(tmp_path / "ratings.csv", index=False)
    result = invoke("benchmark", tmp_path / "ratings.csv", "--suite", "ratings", "--epochs", "1", "--seeds", "1",
                    "--out", tmp_path / "s", "--json")
    assert result.exit_code == 0, result.output
    summary = last_json(result.output)
    assert summary["failed"] == 0, summary["settings"]
    rows = pd.read_csv(tmp_path / "s" / "results.csv")
    assert np.isfinite(rows["train_rmse"]).all() and np.isfinite(rows["test_rmse"]).all()
    assert summary["reading"].startswith("train/test RMSE: linear ") and "kernel-ae (default) " in summary["reading"]
    assert set(rows["model"]) == {"linear", "fcnn", "graph-filter", "gnn", "gcmc", "kernel-ae"}  # the default beside them


def test_the_wireless_suite_shows_the_baselines_beside_the_policies(tmp_path):
    result = invoke("benchmark", "--suite", "wireless", "--epochs", "1", "--seeds", "1", "--steps-per-epoch", "2",
                    "--pairs", "4", "--networks", "4", "--time-steps", "20", "--out", tmp_path / "s", "--json")
    assert result.exit_code == 0, result.output
    summary = last_json(result.output)
    labels = [e["label"] for e in summary["settings"]]
    assert labels[:2] == ["state-augmented", "primal-dual"] and "wmmse (baseline)" in labels and "full_power (baseline)" in labels
    assert summary["primary"] == "test_satisfied" or summary["primary"].startswith("test_")
    assert "meeting f_min" in summary["reading"]
