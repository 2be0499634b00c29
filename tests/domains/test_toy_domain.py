"""A domain defined only in tests/ (tests/domains/toy.py) trains, resumes, predicts and embeds
through the public API and the CLI, with no edit to any core module."""

import io
import json

import numpy as np
import pandas as pd
import pytest
import torch
import typer
from typer.testing import CliRunner

from gnncli import api
from gnncli.testing import InterruptAfterEpochs
from gnncli.train.loop import TrainingInterrupted

from . import toy


@pytest.fixture
def app():
    """The toy registered, and a `gnn` app built after it (so its options are on the commands)."""
    from gnncli.cli import embed, main, predict, train

    toy.register()
    try:
        app = typer.Typer(pretty_exceptions_enable=False)
        app.callback()(main.root)
        for module in (train, predict, embed):
            module.register(app)
        yield app
    finally:
        toy.unregister()


def run_cli(app, *args):
    return CliRunner().invoke(app, [str(a) for a in args])


def opts(out, epochs=4):
    return api.TrainOptions(kind="toy", out=str(out), plots=False, options={"toy_nodes": 5},
                            loop=api.LoopConfig(epochs=epochs, batch_size=4, patience=None, device="cpu"))  # CPU: CUDA's atomic scatter sums in a different order each run, so exact equality holds on the CPU only


def test_toy_domain_trains_resumes_predicts_and_embeds(app, tmp_path):
    full = api.train(opts(tmp_path / "full"))
    assert full["kind"] == "toy" and np.isfinite(full["test"]["reward"])
    assert full["dual"][0] > 0  # the budget was exceeded early on: dual ascent moved the task's state
    config = json.loads((tmp_path / "full" / "config.json").read_text())
    assert config["kind"] == "toy" and config["model"]["name"] == "toy-mlp" and config["options"]["loop"]["steps_per_epoch"] == 4

    with pytest.raises(TrainingInterrupted, match="--resume"):
        api.train(opts(tmp_path / "cut"), reporter=InterruptAfterEpochs(2))
    resumed = run_cli(app, "train", "--resume", tmp_path / "cut", "--json")
    assert resumed.exit_code == 0, resumed.output
    assert "resuming" in resumed.output and "after epoch 2 of 4" in resumed.output
    a = torch.load(tmp_path / "full" / "models" / "model_0.pt", weights_only=True)
    b = torch.load(tmp_path / "cut" / "models" / "model_0.pt", weights_only=True)
    assert all(torch.equal(a["state_dict"][k], b["state_dict"][k]) for k in a["state_dict"])
    assert torch.equal(a["task_state"]["dual"], b["task_state"]["dual"])  # the task's state was resumed too

    graphs = tmp_path / "g.toy"
    graphs.write_text("5 1\nnot a graph\n4 2\n")
    per_node = run_cli(app, "predict", tmp_path / "full", graphs)
    assert per_node.exit_code == 0, per_node.output
    table = pd.read_csv(io.StringIO(per_node.stdout), keep_default_na=False)
    assert table["line"].tolist() == [1] * 5 + [2] + [3] * 4
    assert table.loc[table["line"] == 2, "error"].str.contains("line 2").all()
    levels = pd.to_numeric(table.loc[table["line"] != 2, "level"])
    assert ((levels > 0) & (levels < 1)).all()
    per_graph = run_cli(app, "predict", tmp_path / "full", graphs, "--graph-rows")
    assert per_graph.exit_code == 0, per_graph.output
    rows = pd.read_csv(io.StringIO(per_graph.stdout), keep_default_na=False)
    assert list(rows.columns) == ["nodes", "seed", "level", "error"] and rows["error"].astype(bool).tolist() == [False, True, False]

    vectors = tmp_path / "v.npy"
    embedded = run_cli(app, "embed", tmp_path / "full", graphs, "--out", vectors)
    assert embedded.exit_code == 0, embedded.output
    out = np.load(vectors)
    assert out.shape == (3, 16) and np.isnan(out[1]).all() and np.isfinite(out[[0, 2]]).all()


def test_toy_trains_from_the_cli_with_its_own_option(app, tmp_path):
    result = run_cli(app, "train", "--kind", "toy", "--toy-nodes", "4", "--epochs", "2", "--batch-size", "2",
                     "--out", tmp_path / "run", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "run" / "config.json").read_text())["options"]["options"] == {"toy_nodes": 4}
    help_text = run_cli(app, "train", "--help").output
    assert "Toy graphs (a test's) options" in help_text and "--toy-nodes" in help_text


def test_an_option_of_another_kind_is_a_usage_error(app, tmp_path):
    from gnncli.testing import write_molecule_csv

    data = write_molecule_csv(tmp_path / "d.csv", n=20)
    result = run_cli(app, "train", data, "--toy-nodes", "6", "--epochs", "1")
    assert result.exit_code == 2
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert errors == ["error: --toy-nodes is an option for toy input, and this input is molecules"], result.output
    wrong_model = run_cli(app, "train", data, "--model", "toy-mlp", "--epochs", "1")
    assert wrong_model.exit_code == 2 and "not a model for molecules input" in wrong_model.output
    smiles_for_toy = run_cli(app, "train", "--kind", "toy", "--smiles-col", "s", "--epochs", "1")
    assert smiles_for_toy.exit_code == 2 and "--smiles-col is an option for molecules input" in smiles_for_toy.output


def test_the_toy_is_gone_when_unregistered(tmp_path):
    from gnncli.domains import DOMAINS
    from gnncli.models import model_names

    assert "toy" not in DOMAINS and "toy-mlp" not in model_names()
