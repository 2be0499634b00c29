"""The refit of ``--refit`` (the default for ``kernel-ae``): once early stopping has picked the epoch
count, each member trains again from scratch on the training and validation ratings together."""

import json

import numpy as np
import pandas as pd
import pytest

from tests.cli.conftest import invoke, last_json

from .test_ratings import ratings_matrix, write_ratings

SMALL = ["--hidden", "8", "--epochs", "4", "--patience", "2", "--no-plots", "--json"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("refit")
    u, i, r = ratings_matrix(40, 20, 0.5, seed=5)
    order = np.random.default_rng(1).permutation(len(u))
    cut = int(0.8 * len(u))
    train = write_ratings(folder / "train.csv", u[order[:cut]], i[order[:cut]], r[order[:cut]])
    test = write_ratings(folder / "test.csv", u[order[cut:]], i[order[cut:]], r[order[cut:]])
    return train, test


def _trained_pairs(monkeypatch) -> list:
    """Record the (user, item) pairs of every training loader the ratings kind makes."""
    from gnncli.domains.ratings.training import RatingsDataset

    seen, original = [], RatingsDataset.train_loader

    def train_loader(self, indices, **kwargs):
        seen.append((len(indices), len(self.extra["split"][0]), self.context.n_users, self.context.n_items))
        return original(self, indices, **kwargs)

    monkeypatch.setattr(RatingsDataset, "train_loader", train_loader)
    return seen


def test_the_default_kernel_ae_refits_on_every_training_rating(files, tmp_path, monkeypatch):
    train, test = files
    seen = _trained_pairs(monkeypatch)
    result = invoke("train", train, "--test", test, *SMALL, "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    summary = last_json(result.output)
    n_file = len(pd.read_csv(train))
    counts = summary["ratings"]
    assert counts["train"] + counts["val"] == n_file and counts["val"] > 0
    assert summary["refit"]["ratings"] == counts["refit"] == n_file  # every rating of the training file
    first = [s for s in seen if s[0] == counts["train"]]
    refit = [s for s in seen if s[0] == n_file]
    assert first and refit and len(first) + len(refit) == len(seen)
    # the refit's context (the rating matrix the autoencoder reads) holds the validation ratings too
    assert refit[0][1] == n_file and first[0][1] == counts["train"]
    history = pd.read_csv(tmp_path / "run" / "metrics.csv")
    picked = int(history.loc[history["stage"] != "refit"].sort_values("val_rmse").iloc[0]["epoch"])
    assert summary["refit"]["epochs"] == [picked]
    assert (history["stage"] == "refit").sum() == picked  # as many epochs as early stopping chose
    assert history.loc[history["stage"] == "refit", "val_rmse"].isna().all()
    assert summary["val"]["rmse"] == pytest.approx(history.loc[history["stage"] != "refit", "val_rmse"].min())
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["model"]["params"]["ratings"] == n_file and len(config["domain"]["users"]) == refit[0][2]
    table = pd.read_csv(tmp_path / "run" / "test_predictions.csv")
    err = table["rating_pred"] - table["rating"]
    assert summary["test"]["rmse"] == pytest.approx(float(np.sqrt(np.mean(err**2))), abs=1e-5)
    scored = invoke("predict", tmp_path / "run", test)
    assert scored.exit_code == 0, scored.output


def test_no_refit_trains_once_and_other_models_do_not_refit_by_default(files, tmp_path, monkeypatch):
    train, test = files
    seen = _trained_pairs(monkeypatch)
    result = invoke("train", train, "--test", test, *SMALL, "--no-refit", "--out", tmp_path / "off")
    assert result.exit_code == 0, result.output
    summary = last_json(result.output)
    assert "refit" not in summary and {s[0] for s in seen} == {summary["ratings"]["train"]}
    seen.clear()
    linear = invoke("train", train, "--test", test, "--model", "linear", "--epochs", "2", "--no-plots", "--json",
                    "--out", tmp_path / "linear")
    assert linear.exit_code == 0, linear.output
    assert "refit" not in last_json(linear.output)
    forced = invoke("train", train, "--test", test, "--model", "linear", "--epochs", "2", "--no-plots", "--json",
                    "--refit", "--out", tmp_path / "forced")
    assert forced.exit_code == 0, forced.output
    assert last_json(forced.output)["refit"]["ratings"] == len(pd.read_csv(train))
