"""Side features of users and items for GC-MC: reading, encoding, the model's use of them, end to end."""

import json

import numpy as np
import pytest
import torch

from gnncli.domains.ratings.data import RatingContext, RatingLoader
from gnncli.domains.ratings.features import MAX_LEVELS, read_side_features
from gnncli.errors import InputError
from gnncli.models import ModelConfig, build_model
from tests.cli.conftest import invoke, last_json

from .test_ratings import ratings_matrix, write_ratings


def test_movielens_user_file_reads_as_it_is(tmp_path):
    path = tmp_path / "u.user"
    path.write_text("1|24|M|technician|85711\n2|53|F|other|94043\n3|23|M|writer|32067\n4|24|M|technician|T8H1N\n")
    side = read_side_features(str(path), ["2", "1", "9"], "user")  # the ID map's order; 9 has no row
    assert side.names[0] == "column_2"
    assert set(side.names[1:]) == {"column_3=M", "column_3=F", "column_4=technician", "column_4=other",
                                   "column_4=writer", "column_5=85711", "column_5=94043", "column_5=32067",
                                   "column_5=T8H1N"}
    ages = np.array([24, 53, 23, 24.0])
    z = (ages - ages.mean()) / ages.std()
    assert np.allclose(side.matrix[:, 0], [z[1], z[0], 0.0], atol=1e-6)  # standardized over the file's rows
    gender = {n: k for k, n in enumerate(side.names)}
    assert side.matrix[0, gender["column_3=F"]] == 1 and side.matrix[0, gender["column_3=M"]] == 0
    assert side.matrix[1, gender["column_3=M"]] == 1 and side.matrix[1, gender["column_4=technician"]] == 1
    assert not side.matrix[2].any() and side.missing == 1
    assert "1 users with training ratings have no row" in side.notes("u.user", "user")[0]


def test_header_named_id_column_many_valued_text_and_duplicates(tmp_path):
    path = tmp_path / "items.csv"
    rows = [f"title {k},m{k},{k % 3},{'ab'[k % 2]}" for k in range(MAX_LEVELS + 6)]
    path.write_text("title,movieId,year,\n" + "\n".join(rows) + "\nlast,m1,7,b\n")  # the last column has no name
    side = read_side_features(str(path), ["m0", "m1"], "item")
    assert side.skipped == ["title"]  # more than MAX_LEVELS distinct values
    assert side.names == ["year", "column_4=a", "column_4=b"]
    assert side.duplicates == 1  # only the last row of each ID is kept
    assert side.matrix[1, 2] == 1 and side.matrix[1, 0] == side.matrix[:, 0].max()  # m1's last row: year 7, kind b
    assert any("columns left out" in n and "title" in n for n in side.notes("items.csv", "item"))


@pytest.mark.parametrize("text, message", [
    ("", "file is empty"),
    ("1\n2\n", "expected a user ID and at least one feature column"),
    ("7|24|M\n8|30|F\n", "none of its 2 user IDs has a training rating"),
    ("1|https://a/1\n2|https://a/2\n" + "".join(f"{k}|https://a/{k}\n" for k in range(3, 80)), "no usable feature column"),
])
def test_bad_feature_files_are_one_line_errors(tmp_path, text, message):
    path = tmp_path / "f.txt"
    path.write_text(text)
    with pytest.raises(InputError, match=message) as info:
        read_side_features(str(path), ["1", "2"], "user")
    assert str(info.value).startswith(str(path)) and "\n" not in str(info.value)
    with pytest.raises(InputError, match="file not found"):
        read_side_features(str(tmp_path / "missing"), ["1"], "user")


def _gcmc_with_features(seed=0):
    u, i, r = ratings_matrix()
    ctx = RatingContext.build(u, i, r, 12, 9, knn=None)
    rng = np.random.default_rng(seed)
    ctx.user_side = rng.normal(size=(12, 4)).astype(np.float32)
    ctx.item_side = rng.normal(size=(9, 3)).astype(np.float32)
    params = {"n_users": 12, "n_items": 9, "levels": len(ctx.levels), "embed": 6, "user_features": 4,
              "item_features": 3, "side_hidden": 5, "ema": 0.5}
    config = ModelConfig(name="gcmc", in_channels=2, out_channels=len(ctx.levels), hidden=10, params=params)
    return ctx, config, (u, i, r)


def test_gcmc_reads_side_features_through_their_own_layer():
    ctx, config, (u, i, r) = _gcmc_with_features()
    torch.manual_seed(0)
    model = build_model(config)
    assert model.w_user.shape == (6, 10 + 5) and model.w_item.shape == (6, 10 + 5)
    assert {"side_user", "side_user_bias", "side_item", "side_item_bias"} <= set(model._weights)
    batch = next(iter(RatingLoader(ctx, u, i, r, batch_size=len(u), signals=False)))
    model.eval()
    with torch.no_grad():
        before_u, before_v = model.encode(batch)
        ctx.user_side[3] += 1.0  # another user 3, every other input the same
        ctx._cache.clear()
        model.train(False)
        after_u, after_v = model.encode(batch)
    assert not torch.allclose(before_u[3], after_u[3])
    assert torch.allclose(before_u[[0, 1, 2, 4]], after_u[[0, 1, 2, 4]]) and torch.allclose(before_v, after_v)
    # the side layers train and their moving average follows
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=0.1)
    start = model.side_user.detach().clone()
    for _ in range(2):
        loss = torch.nn.functional.cross_entropy(model(batch), torch.as_tensor(np.searchsorted(ctx.levels, r)))
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert not torch.allclose(model.side_user, start) and not torch.allclose(model.ema_side_user, start)
    # saved and read back with the run's context
    state = RatingContext.from_state(ctx.state())
    assert np.array_equal(state.user_side, ctx.user_side) and np.array_equal(state.item_side, ctx.item_side)


def test_train_predict_embed_with_side_features(tmp_path):
    u, i, r = ratings_matrix(40, 20, 0.5, seed=5)
    train = write_ratings(tmp_path / "train.csv", u, i, r)
    users = tmp_path / "users.txt"
    users.write_text("".join(f"u{k}|{20 + k}|{'MF'[k % 2]}\n" for k in range(38)))  # u38, u39: no row
    items = tmp_path / "items.csv"
    items.write_text("movie,genre\n" + "".join(f"m{k},{'xyz'[k % 3]}\n" for k in range(20)))
    args = ["--model", "gcmc", "--user-features", users, "--item-features", items, "--epochs", "3", "--no-plots",
            "--model-param", "embed=8", "--hidden", "20"]
    result = invoke("train", train, *args, "--out", tmp_path / "run", "--json")
    assert result.exit_code == 0, result.output
    summary = last_json(result.output)
    assert np.isfinite(summary["test"]["rmse"])
    assert any("2 users with training ratings have no row" in w for w in summary["warnings"])
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["domain"]["side_features"]["item"]["features"] == ["genre=x", "genre=y", "genre=z"]
    assert config["model"]["params"]["user_features"] == 3
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("user,item\nu1,m2\nu39,m3\n")
    scored = invoke("predict", tmp_path / "run", pairs)
    assert scored.exit_code == 0, scored.output
    assert invoke("embed", tmp_path / "run", "--out", tmp_path / "v.npy").exit_code == 0
    wrong = invoke("train", train, "--model", "linear", "--user-features", users, "--epochs", "1")
    assert wrong.exit_code == 2 and "only the gcmc model reads side features" in wrong.output
    default = invoke("train", train, "--user-features", users, "--epochs", "1")  # the default model, kernel-ae
    assert default.exit_code == 2 and "(not kernel-ae); add --model gcmc" in default.output
    bad = invoke("train", train, "--model", "gcmc", "--item-features", tmp_path / "nope.csv", "--epochs", "1", "--out", tmp_path / "bad")
    assert bad.exit_code == 1 and f"{tmp_path / 'nope.csv'}: file not found" in bad.output
