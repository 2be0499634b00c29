"""The task types and what the batch can add to a loss: bounds and sample weights."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from gnncli.tasks import GraphPropertyTask
from gnncli.tasks.multiclass import MulticlassTask
from gnncli.tasks.mve import MeanVarianceTask
from gnncli.train.scaler import TargetScaler


def _batch(y, **extra):
    y = torch.as_tensor(y, dtype=torch.float32).reshape(len(y), -1)
    return SimpleNamespace(y=y, y_mask=torch.ones_like(y, dtype=torch.bool), **extra)


def _regression():
    return GraphPropertyTask("regression", ["y"], TargetScaler(np.zeros(1), np.ones(1)))


def test_bounded_targets_give_zero_loss_on_the_right_side():
    task = _regression()
    bound = torch.tensor([[-1], [1], [0]], dtype=torch.int8)  # < 1.0, > 1.0, = 1.0
    batch = _batch([1.0, 1.0, 1.0], y_bound=bound)
    right = torch.tensor([[0.5], [1.5], [1.0]])
    assert float(task.loss(right, batch)) == 0.0
    wrong = torch.tensor([[1.5], [0.5], [1.0]])
    assert float(task.loss(wrong, batch)) == pytest.approx((0.25 + 0.25) / 3)
    plain = _batch([1.0, 1.0, 1.0])
    assert float(task.loss(right, plain)) == pytest.approx(0.5 / 3)  # without bounds both count


def test_weights_scale_each_rows_loss():
    task = _regression()
    out = torch.tensor([[0.0], [0.0], [0.0]])
    y = [1.0, 2.0, 3.0]
    ones = float(task.loss(out, _batch(y)))
    assert float(task.loss(out, _batch(y, weight=torch.ones(3)))) == pytest.approx(ones)
    assert float(task.loss(out, _batch(y, weight=torch.full((3,), 7.0)))) == pytest.approx(ones)  # only ratios matter
    assert float(task.loss(out, _batch(y, weight=torch.tensor([1.0, 0.0, 0.0])))) == pytest.approx(1.0)
    doubled = float(task.loss(out, _batch(y, weight=torch.tensor([2.0, 1.0, 1.0]))))
    duplicated = float(task.loss(torch.zeros(4, 1), _batch([1.0, 1.0, 2.0, 3.0])))
    assert doubled == pytest.approx(duplicated)


def test_multiclass_softmax_cross_entropy_and_columns():
    task = GraphPropertyTask.create("multiclass", ["activity"], TargetScaler.identity(1), classes=[0, 1, 2])
    assert isinstance(task, MulticlassTask) and task.out_channels == 3 and task.monitor == "roc_auc"
    assert task.columns() == ["activity_class_0", "activity_class_1", "activity_class_2"]
    logits = torch.tensor([[5.0, 0.0, 0.0], [0.0, 0.0, 5.0]])
    probs = task.transform_output(logits)
    assert torch.allclose(probs.sum(1), torch.ones(2))
    good, bad = task.loss(logits, _batch([0.0, 2.0])), task.loss(logits, _batch([2.0, 0.0]))
    assert float(good) < 0.02 < 4 < float(bad)
    again = GraphPropertyTask.from_config(task.to_config())
    assert isinstance(again, MulticlassTask) and again.classes == [0, 1, 2]
    scores = task.score(np.array([[0.0], [2.0]]), probs.numpy(), np.ones((2, 1), bool))
    assert scores["accuracy"] == 1.0 and scores["macro_f1"] == 1.0 and scores["roc_auc"] == 1.0


def test_mve_nll_decreases_and_learns_the_known_noise():
    """Two groups of items with noise SD 0.2 and 2.0 around means 1 and -1: a model with one
    mean and one log-variance per group learns both, and its NLL falls."""
    gen = torch.Generator().manual_seed(0)
    n = 2000
    group = torch.arange(n) % 2
    y = torch.where(group == 0, 1.0, -1.0) + torch.where(group == 0, 0.2, 2.0) * torch.randn(n, generator=gen)
    task = MeanVarianceTask("regression-mve", ["y"], TargetScaler(np.zeros(1), np.ones(1)))
    params = torch.zeros(2, 2, requires_grad=True)  # per group: mean, log-variance
    optimizer = torch.optim.Adam([params], lr=0.05)
    batch = _batch(y.tolist())
    losses = []
    for _ in range(400):
        optimizer.zero_grad()
        loss = task.loss(params[group], batch)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < losses[0] - 0.5
    mean_var = task.transform_output(params.detach())
    assert mean_var[0, 0] == pytest.approx(1.0, abs=0.05) and mean_var[1, 0] == pytest.approx(-1.0, abs=0.2)
    assert mean_var[0, 1] == pytest.approx(0.04, rel=0.15) and mean_var[1, 1] == pytest.approx(4.0, rel=0.15)


def test_mve_outputs_are_in_the_targets_units_and_align_folds():
    from gnncli.models import ModelConfig, build_model
    from gnncli.testing import molecule_pack

    ref = MeanVarianceTask("regression-mve", ["y"], TargetScaler(np.array([1.0]), np.array([2.0])))
    fold = MeanVarianceTask("regression-mve", ["y"], TargetScaler(np.array([3.0]), np.array([0.5])))
    torch.manual_seed(0)
    model = build_model(ModelConfig(name="gin", in_channels=79, edge_dim=13, out_channels=2, hidden=16))
    batch = molecule_pack().batch(range(4))
    before = fold.transform_output(model(batch).detach())
    fold.align(model, ref)
    after = ref.transform_output(model(batch).detach())
    assert torch.allclose(before, after, rtol=1e-4, atol=1e-5)
