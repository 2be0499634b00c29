"""Ratings end to end through the CLI: train -> predict -> recommend -> embed, cold start and bad input."""

import io
import json

import numpy as np
import pandas as pd
import pytest

from tests.cli.conftest import invoke, last_json

from .test_ratings import ratings_matrix, write_ratings

FAST = ["--epochs", "3", "--no-plots"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ratings")
    u, i, r = ratings_matrix(60, 25, 0.4, seed=3)
    order = np.random.default_rng(0).permutation(len(u))
    cut = int(0.8 * len(u))
    train = write_ratings(folder / "train.csv", u[order[:cut]], i[order[:cut]], r[order[:cut]])
    test = write_ratings(folder / "test.csv", u[order[cut:]], i[order[cut:]], r[order[cut:]])
    return folder, train, test


@pytest.fixture(scope="module")
def gnn_run(files):
    folder, train, test = files
    result = invoke("train", train, "--test", test, "--model", "gnn", *FAST, "--out", folder / "gnn", "--json")
    assert result.exit_code == 0, result.output
    return folder / "gnn", last_json(result.output)


def test_train_reports_rmse_and_mae_on_train_validation_and_test(gnn_run):
    run, summary = gnn_run
    assert summary["kind"] == "ratings" and summary["model"] == "gnn"
    for part in ("train", "val", "test"):
        assert set(summary[part]) == {"rmse", "mae"} and 0 < summary[part]["rmse"] < 4
    history = pd.read_csv(run / "metrics.csv")
    assert {"val_rmse", "val_train_rmse", "val_test_rmse"} <= set(history.columns)
    table = pd.read_csv(run / "test_predictions.csv", keep_default_na=False)
    assert list(table.columns) == ["user", "item", "rating", "rating_pred", "error"]
    assert (run / "ratings.pt").is_file()


def test_predict_scores_cold_start_rows_by_the_known_side_and_keeps_order(gnn_run, tmp_path):
    run, _ = gnn_run
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("userId,movieId\nu1,m2\nnobody,m2\nu3,nothing\nu2,m1\nnobody,nothing\nu1,\n")
    result = invoke("predict", run, pairs)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(io.StringIO(result.stdout), keep_default_na=False, dtype=str)
    assert table["userId"].tolist() == ["u1", "nobody", "u3", "u2", "nobody", "u1"]
    assert table["rating"].astype(bool).tolist() == [True] * 5 + [False]
    assert table["error"].tolist() == [""] * 5 + ["no item"]
    from gnncli.domains.ratings.data import ITEM_PRIOR, USER_PRIOR
    from gnncli.domains.ratings.inference import run_context
    from gnncli.runs import load_run

    context = run_context(load_run(run))
    mean = float(context.ratings.mean())
    domain = json.loads((run / "config.json").read_text())["domain"]
    users, items = domain["users"], domain["items"]
    u3, m2 = users.index("u3"), items.index("m2")
    user_mean = (context.ratings[context.users == u3].sum() + USER_PRIOR * mean) / ((context.users == u3).sum() + USER_PRIOR)
    item_mean = (context.ratings[context.items == m2].sum() + ITEM_PRIOR * mean) / ((context.items == m2).sum() + ITEM_PRIOR)
    scores = pd.to_numeric(table["rating"][:5]).to_numpy()
    assert scores[1] == pytest.approx(item_mean, abs=1e-4)  # unknown user: the item's shrunk mean
    assert scores[2] == pytest.approx(user_mean, abs=1e-4)  # unknown item: the user's shrunk mean
    assert scores[4] == pytest.approx(mean, abs=1e-4)  # neither known: the mean rating
    assert ((scores >= 1) & (scores <= 5)).all()


def test_recommend_lists_unseen_items_with_ranking_metrics(gnn_run, files, tmp_path):
    run, _ = gnn_run
    folder, train, test = files
    out = tmp_path / "top.csv"
    users = tmp_path / "users.txt"
    users.write_text("u0\nu5\nghost\n")
    result = invoke("predict", run, test, "--recommend", "4", "--users", users, "--out", out, "--json")
    assert result.exit_code == 0, result.output
    counts = last_json(result.output)
    assert counts["rows"] == 3 and counts["predicted"] == 2 and counts["invalid"] == 1
    assert {"precision@4", "recall@4", "ndcg@4"} <= set(counts)
    top = pd.read_csv(out, keep_default_na=False, dtype=str)
    seen = pd.read_csv(train, dtype=str)
    for user in ("u0", "u5"):
        rows = top[top["user"] == user]
        assert rows["rank"].tolist() == ["1", "2", "3", "4"]
        assert not set(rows["item"]) & set(seen.loc[seen["userId"] == user, "movieId"])
        assert (np.diff(pd.to_numeric(rows["score"])) <= 1e-9).all()
    assert "ghost" in top.loc[top["error"] != "", "user"].tolist()
    every = invoke("predict", run, "--recommend", "2")
    assert every.exit_code == 0, every.output
    assert len(pd.read_csv(io.StringIO(every.stdout))) == 2 * 60


def test_embed_writes_item_vectors(gnn_run, tmp_path):
    run, _ = gnn_run
    out = tmp_path / "items.csv"
    result = invoke("embed", run, "--out", out, "--json")
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert set(table["kind"]) == {"item"} and table["id"].is_unique
    assert np.isfinite(table.filter(like="emb_").to_numpy()).all()


@pytest.mark.parametrize("model", ["gcmc", "kernel-ae", "graph-filter", "linear", "fcnn", "gnn"])
def test_every_model_trains_predicts_and_embeds(files, model, tmp_path):
    folder, train, test = files
    from gnncli.domains import get_domain

    args = {"gcmc": ["--model-param", "embed=8", "--hidden", "20", "--batch-size", "200"],
            "kernel-ae": ["--hidden", "16", "--model-param", "members=2"]}.get(model, [])
    if model != get_domain("ratings").default_model:
        args += ["--model", model]  # the default model is trained with no --model
    result = invoke("train", train, "--test", test, *FAST, *args, "--out", tmp_path / "run", "--json")
    assert result.exit_code == 0, result.output
    summary = last_json(result.output)
    assert summary["model"] == model and np.isfinite(summary["test"]["rmse"])
    top = invoke("predict", tmp_path / "run", "--recommend", "3")
    assert top.exit_code == 0, top.output
    vectors = tmp_path / "v.npy"
    assert invoke("embed", tmp_path / "run", "--out", vectors).exit_code == 0
    domain = json.loads((tmp_path / "run" / "config.json").read_text())["domain"]
    rows = len(domain["items"]) + (len(domain["users"]) if model == "gcmc" else 0)  # GC-MC has user vectors too
    assert np.load(vectors).shape[0] == rows and np.isfinite(np.load(vectors)).all()


def test_cold_test_pairs_are_scored_by_the_known_side_and_counted(files, tmp_path):
    folder, train, test = files
    cold = tmp_path / "cold.csv"
    cold.write_text(test.read_text() + "stranger,m1,4,1\nu1,newfilm,2,2\n")
    result = invoke("train", train, "--test", cold, "--model", "linear", *FAST, "--out", tmp_path / "run", "--json")
    assert result.exit_code == 0, result.output
    summary = last_json(result.output)
    n_test = len(pd.read_csv(cold))
    assert summary["ratings"]["test"] == n_test and summary["ratings"]["cold_test"] == 2
    table = pd.read_csv(tmp_path / "run" / "test_predictions.csv", keep_default_na=False)
    assert len(table) == n_test and pd.to_numeric(table["rating_pred"]).notna().all()
    notes = table.set_index("user")["error"]
    assert notes["stranger"] == "cold start: user 'stranger' has no training rating; scored by the item's mean"
    assert "item 'newfilm' has no training rating; scored by the user's mean" in table["error"].iloc[-1]
    err = pd.to_numeric(table["rating_pred"]) - table["rating"]
    assert summary["test"]["rmse"] == pytest.approx(float(np.sqrt(np.mean(err**2))), abs=1e-5)  # every pair counts


def test_bad_input_is_a_one_line_error(tmp_path, files):
    folder, train, test = files
    bad = tmp_path / "bad.csv"
    bad.write_text("user,item,rating\na,x,4\nb,y,lots\n")
    result = invoke("train", bad, "--kind", "ratings")
    assert result.exit_code == 1
    assert [line for line in result.output.splitlines() if line.startswith("error:")] == \
        [f"error: {bad}: line 3: rating 'lots' is not a number"]
    from gnncli.testing import write_molecule_csv

    mols = write_molecule_csv(tmp_path / "m.csv", n=10)
    result = invoke("train", mols, "--kind", "ratings")
    assert result.exit_code == 1 and "no user column found" in result.output
    dup = tmp_path / "dup.csv"
    dup.write_text(train.read_text() + "u0,m0,1,1\nu0,m0,2,2\n")
    result = invoke("train", dup, *FAST, "--model", "linear", "--out", tmp_path / "dup", "--json")
    assert result.exit_code == 0, result.output
    summary = last_json(result.output)
    assert any("repeated (user, item) pairs" in w for w in summary["warnings"])
    wrong = invoke("train", train, "--model", "dmpnn", "--epochs", "1")
    assert wrong.exit_code == 2 and "not a model for ratings input" in wrong.output
    knn = invoke("train", train, "--model", "gcmc", "--knn", "5", "--epochs", "1")
    assert knn.exit_code == 2 and "uses no item graph" in knn.output
    apart = invoke("train", train, "--model", "gcmc", "--model-param", "messages=apart", "--epochs", "1",
                   "--out", tmp_path / "apart")
    assert apart.exit_code == 2 and "messages=apart takes each batch's ratings out of the message graph" in apart.output
    assert not (tmp_path / "apart").exists()


def test_help_shows_the_ratings_panel():
    text = invoke("train", "--help").output
    assert "Ratings" in text and "--knn" in text and "--test" in text
    text = invoke("predict", "--help").output
    assert "--recommend" in text
