"""Ratings: reading, the item graph, splits, the leave-one-out signals, the models' symmetries."""

import numpy as np
import pytest
import torch

from gnncli.domains import resolve_domain
from gnncli.domains.ratings.data import ITEM_PRIOR, USER_PRIOR, RatingContext, RatingLoader, split_ratings
from gnncli.domains.ratings.graph import similarity_graph, similarity_weights
from gnncli.domains.ratings.reader import drop_duplicates, read_ratings
from gnncli.errors import InputError
from gnncli.models import ModelConfig, build_model
from gnncli.domains.ratings.graph_filter import GraphFilter


def ratings_matrix(n_users=12, n_items=9, density=0.5, seed=0):
    """A tiny rating matrix with structure (two latent tastes), as (users, items, ratings) arrays."""
    rng = np.random.default_rng(seed)
    taste = rng.normal(size=(n_users, 2)) @ rng.normal(size=(2, n_items))
    mask = rng.random((n_users, n_items)) < density
    mask[np.arange(n_users), rng.integers(0, n_items, n_users)] = True  # everyone rated something
    values = np.clip(np.round(3 + taste), 1, 5)
    u, i = np.nonzero(mask)
    return u, i, values[u, i]


def write_ratings(path, users, items, ratings, *, header=True, sep=","):
    lines = [sep.join(["userId", "movieId", "rating", "timestamp"])] if header else []
    lines += [sep.join([f"u{u}" if header else str(u + 1), f"m{i}" if header else str(i + 1), f"{r:g}", str(1000 + k)])
              for k, (u, i, r) in enumerate(zip(users, items, ratings))]
    path.write_text("\n".join(lines) + "\n")
    return path


# ---------------------------------------------------------------------------------- reading


def test_movielens_files_read_as_they_are(tmp_path):
    data = tmp_path / "u.data"
    data.write_text("196\t242\t3\t881250949\n186\t302\t3\t891717742\n22\t377\t1\t878887116\n")
    table = read_ratings(str(data))
    assert not table.header and list(table.user) == ["196", "186", "22"] and list(table.rating) == [3, 3, 1]
    assert table.timestamp is not None and table.lines.tolist() == [1, 2, 3]
    latest = tmp_path / "ratings.csv"
    latest.write_text("userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,3,4.5,964981247\nana,tt01,0.5,1\n")
    table = read_ratings(str(latest))
    assert table.header and list(table.user) == ["1", "1", "ana"] and list(table.rating) == [4.0, 4.5, 0.5]
    assert table.columns["item"] == "movieId" and table.where(2) == f"{latest}: line 4"


def test_bad_ratings_are_one_line_errors(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("user,item,rating\na,x,4\nb,y,five\n")
    with pytest.raises(InputError, match=r"bad.csv: line 3: rating 'five' is not a number"):
        read_ratings(str(bad))
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(InputError, match="empty"):
        read_ratings(str(empty))
    nouser = tmp_path / "nouser.csv"
    nouser.write_text("smiles,logp\nCCO,0.1\n")
    with pytest.raises(InputError, match="no user column found"):
        read_ratings(str(nouser))


def test_duplicates_keep_the_last_rating(tmp_path):
    f = tmp_path / "d.csv"
    f.write_text("user,item,rating\na,x,1\nb,x,2\na,x,5\n")
    table = drop_duplicates(read_ratings(str(f)))
    assert table.duplicates == 1 and list(zip(table.user, table.rating)) == [("b", 2.0), ("a", 5.0)]


def test_ratings_and_molecules_csv_are_told_apart(tmp_path):
    from gnncli.testing import write_molecule_csv

    u, i, r = ratings_matrix()
    assert resolve_domain(str(write_ratings(tmp_path / "r.csv", u, i, r))).name == "ratings"
    assert resolve_domain(str(write_ratings(tmp_path / "u1.base", u, i, r, header=False, sep="\t"))).name == "ratings"
    assert resolve_domain(str(write_molecule_csv(tmp_path / "m.csv", n=20))).name == "molecules"


# ---------------------------------------------------------------------------------- the graph


def test_similarity_weights_equal_a_hand_computation():
    # items 0-3: item 3 has no co-rater with item 0; item 2 has one rater (no variance)
    R = np.array([[5, 3, 0, 0], [4, 0, 0, 0], [1, 1, 4, 0], [3, 5, 0, 0], [0, 2, 0, 5], [0, 4, 0, 1]], float)
    u, i = np.nonzero(R)
    W = similarity_weights(u, i, R[u, i], 6, 4)
    rated = R > 0
    expected = np.zeros((4, 4))
    var = [R[rated[:, j], j].var() for j in range(4)]
    for a in range(4):
        for b in range(4):
            common = rated[:, a] & rated[:, b]
            if not common.any() or var[a] * var[b] == 0:
                continue
            xa, xb = R[common, a], R[common, b]
            sigma = np.mean((xa - xa.mean()) * (xb - xb.mean()))
            expected[a, b] = sigma / np.sqrt(var[a] * var[b])
    assert np.allclose(W, expected)
    assert W[0, 3] == 0 and W[3, 0] == 0  # no co-raters
    assert not W[2].any() and not W[:, 2].any()  # a single rating does not vary
    assert W[0, 1] != 0 and np.isclose(W[0, 0], 1.0)


def test_item_graph_is_sparse_symmetric_and_normalized():
    u, i, r = ratings_matrix(30, 15, 0.6)
    S = similarity_graph(u, i, r, 30, 15, knn=3)
    dense = S.toarray()
    assert np.allclose(dense, dense.T) and not np.diag(dense).any()
    assert np.isclose(np.abs(np.linalg.eigvalsh(dense)).max(), 1.0, atol=1e-5)
    W = similarity_weights(u, i, r, 30, 15)
    np.fill_diagonal(W, 0)
    for row in range(15):  # every kept edge is among the row's 3 largest, or its mirror's
        for col in np.flatnonzero(dense[row]):
            top_row = set(np.argsort(-W[row])[:3])
            top_col = set(np.argsort(-W[col])[:3])
            assert col in top_row or row in top_col


# ---------------------------------------------------------------------------------- splits


def test_splits():
    users = np.repeat(np.arange(10), 5)
    train, val, test = split_ratings("user", 50, (0.6, 0.2, 0.2), 0, users=users)
    assert sorted(np.concatenate([train, val, test]).tolist()) == list(range(50))
    assert all((users[train] == u).sum() == 3 and (users[test] == u).sum() == 1 for u in range(10))
    times = np.arange(50)[::-1]
    train, val, test = split_ratings("time", 50, (0.8, 0.1, 0.1), 0, timestamps=times)
    assert times[train].max() < times[val].min() and times[val].max() < times[test].min()
    train, val, test = split_ratings("random", 50, (0.8, 0.1, 0.1), 0, given_test=10)
    assert test.tolist() == list(range(40, 50)) and len(train) + len(val) == 40


# ---------------------------------------------------------------------------------- signals and models


def context_and_config(name, *, knn=4, folds=0, **kw):
    u, i, r = ratings_matrix()
    ctx = RatingContext.build(u, i, r, 12, 9, knn=knn, folds=folds, min_common=1)
    params = {"n_users": 12, "n_items": 9, "levels": len(ctx.levels), "mean": float(r.mean()), "std": float(r.std()),
              "high": 5.0, **kw.pop("params", {})}
    config = ModelConfig(name=name, in_channels=3, out_channels=len(ctx.levels) if name == "gcmc" else 1, params=params, **kw)
    return ctx, config, (u, i, r)


def test_training_pairs_leave_out_exactly_the_target_rating():
    ctx, _, (u, i, r) = context_and_config("linear")
    loader = RatingLoader(ctx, u, i, r, batch_size=len(u))
    batch = next(iter(loader))
    R = ctx.R.toarray()
    for b in range(len(u)):
        expected = R[u[b]].copy()
        expected[i[b]] = 0
        assert np.array_equal(batch.x[b].numpy(), expected)
        assert batch.m[b].sum() == (R[u[b]] > 0).sum() - 1
    assert torch.equal(batch.own, torch.tensor(np.stack([r, np.ones_like(r)], 1), dtype=torch.float32))


def _brute_force_inputs(ctx, u, i, mean, std, taps, S):
    """The graph models' input channels for pair (u, i), built from scratch: the user's ratings with
    (u, i) removed, the user's mean and the item's bias without it, shifted by explicit powers of S."""
    R, M = ctx.R.toarray().astype(float), ctx.M.toarray().astype(float)
    x, m = R[u].copy(), M[u].copy()
    x[i] = m[i] = 0
    g = ctx.ratings.mean()
    user_mean = (x.sum() + USER_PRIOR * g) / (m.sum() + USER_PRIOR)
    R2, M2 = R.copy(), M.copy()
    R2[u, i] = M2[u, i] = 0
    bias = (R.sum(0) - M.sum(0) * g) / (M.sum(0) + ITEM_PRIOR)
    bias[i] = (R2[:, i].sum() - M2[:, i].sum() * g) / (M2[:, i].sum() + ITEM_PRIOR)
    C = np.stack([(x - user_mean * m) / std, m, bias / std], 1)
    return [np.linalg.matrix_power(S, k) @ C for k in range(taps)], (user_mean - mean) / std


@pytest.mark.parametrize("folds", [False, True])
@pytest.mark.parametrize("name,depth", [("graph-filter", 1), ("gnn", 1), ("gnn", 2)])
def test_graph_models_match_a_brute_force_leave_one_out(name, depth, folds):
    """Each pair is scored on its user's ratings less its own, on the full graph, or (training with
    folds) on the graph built without the ratings of the user's fold."""
    torch.manual_seed(0)
    ctx, config, (u, i, r) = context_and_config(name, hidden=4, depth=depth, params={"taps": 3}, folds=2)
    model = build_model(config).eval()
    batch = next(iter(RatingLoader(ctx, u, i, r, batch_size=len(u), folds=folds)))
    with torch.no_grad():
        out = model(batch)[:, 0].double().numpy()
    layers = model.layers if name == "gnn" else [model.filter]
    for b in range(len(u)):
        graph = ctx.folds[u[b] % 2] if folds else ctx.shift
        assert (graph.toarray() != ctx.shift.toarray()).any() or not folds
        S = graph.toarray().astype(float)
        Z, base = _brute_force_inputs(ctx, u[b], i[b], model.mean, model.std, 3, S)
        with torch.no_grad():
            H = layers[0].combine([torch.tensor(z, dtype=torch.float32) for z in Z])
            if name == "gnn":
                H = torch.relu(H)
                St = torch.tensor(S, dtype=torch.float32)
                for layer in layers[1:]:
                    H = torch.relu(layer.combine([torch.linalg.matrix_power(St, k) @ H for k in range(3)]))
                H = model.readout(H)
        assert np.isclose(out[b], base + float(H[i[b], 0]), atol=1e-4), b


def test_taps_one_then_zeros_are_the_identity():
    layer = GraphFilter(1, 1, taps=4, bias=False)
    with torch.no_grad():
        layer.weight.zero_()
        layer.weight[0, 0, 0] = 1.0
    u, i, r = ratings_matrix()
    S = torch.tensor(similarity_graph(u, i, r, 12, 9, knn=4).toarray()).to_sparse()
    X = torch.randn(9, 5, 1)
    assert torch.allclose(layer(S, X), X)


def test_permuting_item_ids_permutes_graph_filter_outputs():
    torch.manual_seed(0)
    ctx, config, (u, i, r) = context_and_config("gnn", hidden=8, depth=2, params={"taps": 3})
    model = build_model(config).eval()
    perm = np.random.default_rng(1).permutation(9)  # new id of item j is perm[j]
    ctx_p = RatingContext.build(u, perm[i], r, 12, 9, knn=4)
    users = torch.arange(12)
    with torch.no_grad():
        a = model.all_items(next(iter(RatingLoader(ctx, np.arange(12), np.zeros(12, int), np.zeros(12), batch_size=12))))
        b = model.all_items(next(iter(RatingLoader(ctx_p, np.arange(12), np.zeros(12, int), np.zeros(12), batch_size=12))))
        pairs = model(next(iter(RatingLoader(ctx, u, i, r, batch_size=len(u)))))
        pairs_p = model(next(iter(RatingLoader(ctx_p, u, perm[i], r, batch_size=len(u)))))
    assert users.numel() == 12 and torch.allclose(a, b[:, perm], atol=1e-5)
    assert torch.allclose(pairs, pairs_p, atol=1e-5)
    layer = GraphFilter(2, 3, taps=3)  # and the layer alone: Y(P S P^T, P X) = P Y(S, X)
    S = torch.tensor(ctx.shift.toarray())
    P = torch.eye(9)[torch.as_tensor(np.argsort(perm))]
    X = torch.randn(9, 4, 2)
    with torch.no_grad():
        assert torch.allclose(layer((P @ S @ P.T).to_sparse(), torch.einsum("nm,mbf->nbf", P, X)),
                              torch.einsum("nm,mbf->nbf", P, layer(S.to_sparse(), X)), atol=1e-5)


def test_gcmc_decoder_gives_a_distribution_over_rating_levels():
    torch.manual_seed(0)
    ctx, config, (u, i, r) = context_and_config("gcmc", knn=None, hidden=10, params={"embed": 6})
    model = build_model(config)
    loader = RatingLoader(ctx, u, i, r, batch_size=8, signals=False, edge=np.arange(len(u)))
    batch = next(iter(loader))
    logits = model(batch)
    assert logits.shape == (8, len(ctx.levels))
    probs = torch.softmax(logits, dim=1)
    assert torch.allclose(probs.sum(1), torch.ones(8)) and (probs > 0).all()
    model.eval()
    with torch.no_grad():
        everything = model.all_items(batch)
        assert everything.shape == (8, 9, len(ctx.levels))
        assert torch.allclose(everything[torch.arange(8), batch.items], model(batch), atol=1e-5)
    # supervision edges carry no messages while training: the batch's own edges change nothing
    model.train()
    model.node_dropout = 0.0
    model.dropout.p = 0.0
    with torch.no_grad():
        u_all, _ = model.encode(batch)
        model.train(False)
        u_eval, _ = model.encode(batch)
    assert not torch.allclose(u_all[batch.users], u_eval[batch.users])


def test_gcmc_with_messages_all_lets_supervision_edges_carry_messages():
    torch.manual_seed(0)
    ctx, config, (u, i, r) = context_and_config("gcmc", knn=None, hidden=10,
                                                params={"embed": 6, "messages": "all", "node_dropout": 0.0})
    model = build_model(config)
    model.dropout.p = 0.0
    batch = next(iter(RatingLoader(ctx, u, i, r, batch_size=len(u), signals=False, edge=np.arange(len(u)))))
    with torch.no_grad():
        u_train, v_train = model.encode(batch)  # a full batch: every training edge supervised and sending
        model.eval()
        u_eval, v_eval = model.encode(batch)
    assert torch.allclose(u_train, u_eval) and torch.allclose(v_train, v_eval)


def test_gcmc_level_dropout_drops_each_level_of_a_sender_on_its_own():
    ctx, config, _ = context_and_config("gcmc", knn=None, hidden=10, params={"embed": 6, "node_dropout": 0.5})
    torch.manual_seed(0)
    per_node = build_model(config).sender_dropout()
    assert per_node.shape == (12 + 9,) and set(per_node.unique().tolist()) <= {0.0, 2.0}
    config.params["level_dropout"] = True
    masks = torch.stack([build_model(config).sender_dropout() for _ in range(20)])
    levels = len(ctx.levels)
    assert masks.shape == (20, levels, 12 + 9) and set(masks.unique().tolist()) == {0.0, 2.0}
    # some sender is kept at one level and dropped at another in the same step
    assert ((masks == 0).any(dim=1) & (masks > 0).any(dim=1)).any()
    assert abs(float((masks > 0).float().mean()) - 0.5) < 0.05


def test_gcmc_runs_without_the_new_settings_read_as_before_and_new_runs_get_the_paper_recipe():
    from gnncli.domains.ratings.training import GCMC_DEFAULTS, gcmc_params

    _, config, _ = context_and_config("gcmc", knn=None, hidden=10, params={"embed": 6})
    old = build_model(config)  # a config.json from before these settings
    assert (old.messages, old.level_dropout, old.activation, old.ema) == ("apart", False, "relu", 0.995)
    config.params.update(gcmc_params({"activation": "relu"}))
    new = build_model(config)
    assert (new.messages, new.level_dropout, new.activation, new.ema) == ("all", True, "relu", 0.0)
    assert GCMC_DEFAULTS["activation"] == "leaky"
    ctx, _, (u, i, r) = context_and_config("gcmc", knn=None)
    batch = next(iter(RatingLoader(ctx, u, i, r, batch_size=len(u), signals=False)))
    outs = {}
    for activation in ("relu", "leaky"):
        torch.manual_seed(0)
        model = build_model(ModelConfig.from_dict({**config.to_dict(), "params": {**config.params, "activation": activation}}))
        with torch.no_grad():
            outs[activation] = model.eval().encode(batch)[0]
    assert not torch.allclose(outs["relu"], outs["leaky"])  # negative stacked messages pass at slope 0.1
    with pytest.raises(ValueError, match="activation=tanh"):
        build_model(ModelConfig.from_dict({**config.to_dict(), "params": {**config.params, "activation": "tanh"}}))
    with pytest.raises(ValueError, match="messages=some"):
        build_model(ModelConfig.from_dict({**config.to_dict(), "params": {**config.params, "messages": "some"}}))
