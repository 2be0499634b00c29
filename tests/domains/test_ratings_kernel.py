"""The kernelized sparse layer and the item autoencoder built from it (``kernel-ae``), and the scores
of cold-start pairs."""

import numpy as np
import pytest
import torch

from gnncli.domains.ratings.data import ITEM_PRIOR, USER_PRIOR, RatingContext, RatingLoader
from gnncli.domains.ratings.kernel_layer import KernelLinear
from gnncli.domains.ratings.task import RatingTask
from gnncli.models import build_model

from .test_ratings import context_and_config, ratings_matrix


def test_kernel_is_one_at_equal_points_and_zero_beyond_distance_one():
    layer = KernelLinear(3, 2, kernel_dim=2)
    with torch.no_grad():
        layer.u.copy_(torch.tensor([[0.0, 0.0], [0.5, 0.0], [2.0, 0.0]]))
        layer.v.copy_(torch.tensor([[0.0, 0.0], [0.0, 1.5]]))
    k = layer.kernel()
    assert torch.allclose(k, torch.tensor([[1.0, 0.0], [0.75, 0.0], [0.0, 0.0]]))
    assert layer.density() == pytest.approx(2 / 6)


def test_a_cut_connection_carries_nothing():
    torch.manual_seed(0)
    layer = KernelLinear(4, 3, kernel_dim=2, activation="identity")
    with torch.no_grad():
        layer.u[2] = torch.tensor([5.0, 5.0])  # input 2 far from every output
    x = torch.randn(6, 4)
    moved = x.clone()
    moved[:, 2] += 10.0
    assert torch.allclose(layer(x), layer(moved))
    with torch.no_grad():
        layer.u[2] = 0.0  # back near the outputs: input 2 counts again
    assert not torch.allclose(layer(x), layer(moved))


def test_penalty_is_lambda_s_on_kernel_squares_plus_lambda_2_on_weight_squares():
    layer = KernelLinear(5, 4)
    k = layer.kernel()
    with torch.no_grad():
        expected = 0.5 * float(k.pow(2).sum()) + 3.0 * float(layer.weight.pow(2).sum())
    assert float(layer.penalty(0.5, 3.0).detach()) == pytest.approx(expected, rel=1e-6)
    with pytest.raises(ValueError, match="activation tanh"):
        KernelLinear(2, 2, activation="tanh")


def _autoencoder(**params):
    n_ratings = len(ratings_matrix()[0])  # the data context_and_config builds on
    ctx, config, (u, i, r) = context_and_config("kernel-ae", knn=None, hidden=8, depth=2,
                                                params={"ratings": n_ratings, **params})
    return ctx, build_model(config), (u, i, r)


def test_autoencoder_reconstructs_each_item_column_and_reads_pairs_from_it():
    torch.manual_seed(0)
    ctx, model, (u, i, r) = _autoencoder(members=2)
    batch = next(iter(RatingLoader(ctx, u, i, r, batch_size=len(u), signals=False)))
    model.eval()
    with torch.no_grad():
        codes, out, penalty = model.encode(ctx)
        pred = model(batch)
        every = model.all_items(batch)
    assert codes.shape == (9, 2 * 8) and out.shape == (2, 9, 12) and penalty is None
    assert not torch.allclose(out[0], out[1])  # each member initialized on its own
    average = out.mean(0)
    assert torch.allclose(pred[:, 0], (average[batch.items, batch.users] - model.mean) / model.std, atol=1e-6)
    assert every.shape == (len(u), 9) and torch.allclose(every[torch.arange(len(u)), batch.items], pred[:, 0], atol=1e-6)
    # an item's output depends on its own column alone: changing another item's ratings leaves it
    other = RatingContext.build(u, i, np.where(i == 0, 6 - r, r), 12, 9, knn=None)
    with torch.no_grad():
        _, out2, _ = model.encode(other)
    assert torch.allclose(out[:, 1:], out2[:, 1:]) and not torch.allclose(out[:, 0], out2[:, 0])


def test_training_loss_is_each_members_own_error_plus_the_penalty():
    torch.manual_seed(0)
    ctx, model, (u, i, r) = _autoencoder(lambda_s=0.5, lambda_2=2.0, members=3)
    task = RatingTask(float(r.mean()), float(r.std()), 1, 5)
    batch = next(iter(RatingLoader(ctx, u, i, r, batch_size=len(u), signals=False)))
    model.train()
    out = model(batch)
    y = (batch.y - task.mean) / task.std
    with torch.no_grad():
        members = (model.encode(ctx)[1][:, batch.items, batch.users] - model.mean) / model.std  # [3, B]
    own_errors = float(((members - y) ** 2).mean())
    penalty = sum(float(layer.penalty(0.5, 2.0).detach()) for layer in model._layers()) / (3 * len(u) * model.std**2)
    loss = task.loss(out, batch)
    assert float(loss.detach()) == pytest.approx(own_errors + penalty, rel=1e-5)
    loss.backward()
    assert model.members[0][0].u.grad is not None and model.members[0][0].u.grad.abs().sum() > 0  # the kernel learns
    with pytest.raises(ValueError, match="kernel_dim=0"):
        _autoencoder(kernel_dim=0)
    with pytest.raises(ValueError, match="members=0"):
        _autoencoder(members=0)


def test_cold_pairs_score_by_the_known_users_then_items_shrunk_mean():
    u = np.array([0, 0, 1, 2])
    i = np.array([0, 1, 1, 2])
    r = np.array([5.0, 3.0, 1.0, 4.0])
    ctx = RatingContext.build(u, i, r, 3, 3, knn=None)
    mean = r.mean()
    scores = ctx.cold_scores(np.array([0, -1, -1, 1]), np.array([-1, 1, -1, -1]))
    assert scores[0] == pytest.approx((8 + USER_PRIOR * mean) / (2 + USER_PRIOR))
    assert scores[1] == pytest.approx((4 + ITEM_PRIOR * mean) / (2 + ITEM_PRIOR))
    assert scores[2] == pytest.approx(mean)
    assert scores[3] == pytest.approx((1 + USER_PRIOR * mean) / (1 + USER_PRIOR))


def test_eval_uses_the_moving_average_of_the_weights_when_asked():
    torch.manual_seed(0)
    ctx, model, (u, i, r) = _autoencoder(ema=0.5)
    task = RatingTask(float(r.mean()), float(r.std()), 1, 5)
    batch = next(iter(RatingLoader(ctx, u, i, r, batch_size=len(u), signals=False)))
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(3):
        model.train()
        opt.zero_grad()
        task.loss(model(batch), batch).backward()
        opt.step()
    assert int(model.ema_steps) == 3
    model.eval()
    with torch.no_grad():
        averaged = model.encode(ctx)[1]
        model.ema = 0.0
        model.train(False)  # drops the cached reconstruction
        live = model.encode(ctx)[1]
    assert not torch.allclose(averaged, live)
    assert set(n for n, _ in model.named_buffers() if n.startswith("ema_members")) == \
        {"ema_" + n.replace(".", "_") for n, _ in model.named_parameters()}  # saved with the weights
    with pytest.raises(ValueError, match="ema=1.0"):
        _autoencoder(ema=1.0)


def test_bagged_members_read_and_learn_only_their_own_share_of_the_ratings():
    torch.manual_seed(0)
    ctx, model, (u, i, r) = _autoencoder(members=2, bag=0.6)
    keep = model.bag_keep
    assert keep.shape == (2, len(u)) and not torch.equal(keep[0], keep[1])
    x = ctx.item_columns("cpu")
    for m in range(2):
        seen = model._member_input(ctx, x, m)
        left = ~keep[m].numpy()
        assert (seen[i[left], u[left]] == 0).all() and (seen[i[~left], u[~left]] == x[i[~left], u[~left]]).all()
    task = RatingTask(float(r.mean()), float(r.std()), 1, 5)
    batch = next(iter(RatingLoader(ctx, u, i, r, batch_size=len(u), signals=False, edge=np.arange(len(u)))))
    model.train()
    loss = task.loss(model(batch), batch)
    y = (batch.y - task.mean) / task.std
    with torch.no_grad():
        members = (model.encode(ctx)[1][:, batch.items, batch.users] - model.mean) / model.std
    own = [float(((members[m] - y)[keep[m]] ** 2).mean()) for m in range(2)]
    penalty = sum(float(layer.penalty(0.006, 20.0).detach()) for layer in model._layers()) / (2 * len(u) * model.std**2)
    assert float(loss.detach()) == pytest.approx(sum(own) / 2 + penalty, rel=1e-5)
    with pytest.raises(ValueError, match="bag=0.0"):
        _autoencoder(bag=0.0)
