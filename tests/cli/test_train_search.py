"""gnn train --search N: hyperparameter search with Optuna (an optional dependency, in the test extra)."""

import pandas as pd
import pytest

from gnncli.testing import write_molecule_csv

from .conftest import FAST, invoke, last_json


def test_search_tries_n_settings_and_trains_the_best(tmp_path):
    pytest.importorskip("optuna")
    data = write_molecule_csv(tmp_path / "d.csv", n=40)
    result = invoke("train", data, "-t", "logp", "--epochs", "2", "--no-plots", "--search", "3", "--out", tmp_path / "run", "--json")
    assert result.exit_code == 0, result.output
    summary = last_json(result.output)
    trials = pd.read_csv(tmp_path / "run" / "search.csv")
    assert len(trials) == 3 and trials["best"].sum() == 1 and summary["search"]["trials"] == 3
    best = trials[trials["best"]].iloc[0]
    assert best["value"] == min(trials.loc[trials["state"] == "COMPLETE", "value"])  # rmse: lower is better
    from gnncli.runs import load_run

    run = load_run(tmp_path / "run")
    assert run.config["model"]["hidden"] == best["params_hidden"] == summary["search"]["best"]["hidden"]
    assert run.config["options"]["loop"]["batch_size"] == best["params_batch_size"]
    assert summary["val"]["rmse"] == pytest.approx(best["value"], rel=1e-5)  # the same training, trained again


def test_search_without_optuna_says_how_to_get_it(tmp_path, monkeypatch):
    import builtins

    real = builtins.__import__

    def no_optuna(name, *args, **kwargs):
        if name == "optuna":
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_optuna)
    data = write_molecule_csv(tmp_path / "d.csv", n=30)
    result = invoke("train", data, "-t", "logp", *FAST, "--search", "2", "--out", tmp_path / "run")
    assert result.exit_code == 2 and "pip install 'gnncli[search]'" in result.output
