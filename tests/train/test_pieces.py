import numpy as np
import pytest

from gnncli.testing import SMILES
from gnncli.train import metrics
from gnncli.train.scaler import TargetScaler
from gnncli.domains.molecules.scaffolds import scaffold_of, scaffold_split
from gnncli.train.splits import column_split, kfold_splits, random_split


def test_scaler_round_trip_ignores_missing():
    rng = np.random.default_rng(0)
    y = rng.normal(5, 3, size=(50, 2))
    mask = rng.random((50, 2)) > 0.2
    y_with_junk = np.where(mask, y, 1e6)
    s = TargetScaler.fit(y_with_junk, mask)
    assert np.allclose(s.mean, [y[mask[:, t], t].mean() for t in range(2)])
    assert np.allclose(s.inverse(s.transform(y)), y)
    assert TargetScaler.from_dict(s.to_dict()).mean.tolist() == s.mean.tolist()


def test_scaler_constant_target_has_unit_std():
    s = TargetScaler.fit(np.ones((5, 1)), np.ones((5, 1), bool))
    assert s.std.tolist() == [1.0]


def test_random_split_partitions():
    train, val, test = random_split(100, (0.8, 0.1, 0.1), seed=3)
    assert (len(train), len(val), len(test)) == (80, 10, 10)
    assert sorted(np.concatenate([train, val, test]).tolist()) == list(range(100))
    assert np.array_equal(random_split(100, (0.8, 0.1, 0.1), seed=3)[0], train)


def test_scaffold_split_keeps_scaffolds_apart():
    smiles = SMILES * 4 + ["c1ccccc1C", "c1ccccc1CC", "C1CCCCC1N", "c1ccncc1O"]
    parts = scaffold_split(smiles, (0.6, 0.2, 0.2), seed=0)
    assert sorted(np.concatenate(parts).tolist()) == list(range(len(smiles)))
    sides = [{scaffold_of(smiles[i]) for i in part} for part in parts]
    assert not (sides[0] & sides[1]) and not (sides[0] & sides[2]) and not (sides[1] & sides[2])


def test_kfold_covers_every_item_once_as_test():
    folds = kfold_splits(23, 4, seed=0)
    tests = np.concatenate([f[2] for f in folds])
    assert sorted(tests.tolist()) == list(range(23))
    for train, val, test in folds:
        assert not set(train) & set(test) and not set(val) & set(test) and not set(train) & set(val)


def test_column_split_and_bad_value():
    train, val, test = column_split(["train", "Val", "test", "TRAIN", "valid"])
    assert train.tolist() == [0, 3] and val.tolist() == [1, 4] and test.tolist() == [2]
    with pytest.raises(ValueError, match="row 1"):
        column_split(["train", "holdout"])


def test_metrics_known_values():
    y = np.array([[1.0], [2.0], [3.0], [4.0]])
    p = np.array([[1.0], [2.0], [3.0], [6.0]])
    m = np.ones_like(y, bool)
    assert metrics.rmse(y, p, m)[0] == pytest.approx(1.0)
    assert metrics.mae(y, p, m)[0] == pytest.approx(0.5)
    assert metrics.r2(y, p, m)[0] == pytest.approx(1 - 4 / 5)
    labels = np.array([[0.0], [0.0], [1.0], [1.0]])
    probs = np.array([[0.1], [0.6], [0.4], [0.9]])
    assert metrics.roc_auc(labels, probs, m)[0] == pytest.approx(0.75)
    assert metrics.pr_auc(labels, probs, m)[0] == pytest.approx((1 + 2 / 3) / 2)
    assert metrics.accuracy(labels, probs, m)[0] == pytest.approx(0.5)
    assert metrics.mcc(labels, probs, m)[0] == pytest.approx(0.0)


def test_metrics_skip_missing_labels():
    y = np.array([[0.0, 1.0], [1.0, 0.0], [0.0, 99.0]])
    p = np.array([[0.2, 0.9], [0.8, 0.1], [0.3, 0.5]])
    mask = np.array([[True, True], [True, True], [True, False]])
    out = metrics.score(metrics.CLASSIFICATION, y, p, mask, ["a", "b"])
    assert out["roc_auc/a"] == 1.0 and out["roc_auc/b"] == 1.0
    one_class = metrics.roc_auc(np.zeros((3, 1)), p[:, :1], np.ones((3, 1), bool))
    assert np.isnan(one_class[0])


def test_several_regression_targets_select_on_scaled_error():
    from gnncli.tasks.property import GraphPropertyTask

    scaler = TargetScaler(np.zeros(2), np.array([1.0, 1000.0]))
    assert GraphPropertyTask("regression", ["a"], TargetScaler(np.zeros(1), np.ones(1))).monitor == "rmse"
    assert GraphPropertyTask("regression", ["a", "b"], scaler).monitor == "scaled_rmse"
    assert GraphPropertyTask("regression", ["a", "b"], scaler, "mae").monitor == "scaled_mae"
    assert GraphPropertyTask("regression", ["a", "b"], scaler, "r2").monitor == "r2"
    assert GraphPropertyTask("classification", ["a", "b"], TargetScaler.identity(2)).monitor == "roc_auc"
    # The task names its own metrics, each with its direction.
    regression = GraphPropertyTask("regression", ["a"], TargetScaler(np.zeros(1), np.ones(1))).metrics()
    assert {"rmse", "scaled_rmse"} <= set(regression) and regression["r2"] is True and regression["rmse"] is False
    assert "scaled_rmse" not in GraphPropertyTask("classification", ["a"], TargetScaler.identity(1)).metrics()
    with pytest.raises(ValueError, match="roc_auc does not fit a regression task"):
        GraphPropertyTask("regression", ["a"], TargetScaler(np.zeros(1), np.ones(1)), "roc_auc")


def test_scaled_rmse_weighs_targets_by_their_spread():
    import torch

    from gnncli.tasks.property import GraphPropertyTask
    from gnncli.testing import molecule_pack

    pack = molecule_pack()
    n = len(pack)
    y = torch.stack([torch.ones(n), torch.full((n,), 1000.0)], dim=1)
    pack = pack.with_targets(y, torch.ones(n, 2, dtype=torch.bool))
    task = GraphPropertyTask("regression", ["a", "b"], TargetScaler(np.zeros(2), np.array([1.0, 1000.0])))

    class Constant(torch.nn.Module):  # predicts 0.5 and 990 in original units
        def forward(self, batch):
            return torch.tensor([[0.5, 0.99]]).expand(batch.num_graphs, 2)

    from gnncli.domains.pack import PackLoader

    m = task.evaluate(Constant(), PackLoader(pack, batch_size=8), torch.device("cpu"))
    assert m["rmse"] == pytest.approx((0.5 + 10.0) / 2)  # in original units the big target decides
    assert m["scaled_rmse"] == pytest.approx((0.5 / 1.0 + 10.0 / 1000.0) / 2)


def test_generated_training_data_needs_steps_per_epoch():
    """A loader without a length (data generated on the fly) makes epochs of steps_per_epoch batches."""
    import torch

    from gnncli.errors import UsageError
    from gnncli.train.loop import LoopConfig, fit

    seen = []

    class Task:
        monitor, higher_is_better = "loss", False

        def loss(self, output, batch):
            return (output - batch).pow(2).mean()

        def evaluate(self, model, loader, device):
            return {"loss": 0.0}

    def endless(epoch):
        def gen():
            while True:
                seen.append(epoch)
                yield torch.ones(3, 1)
        return gen()

    model = torch.nn.Linear(1, 1)
    with pytest.raises(UsageError, match="steps_per_epoch"):
        fit(model, Task(), endless, [], LoopConfig(epochs=1, device="cpu"))
    result = fit(model, Task(), endless, [], LoopConfig(epochs=3, device="cpu", steps_per_epoch=5))
    assert len(result.history) == 3 and [seen.count(e) for e in range(3)] == [5, 5, 5]


def test_fit_without_validation_trains_every_epoch_and_keeps_the_last_weights():
    """val_loader None (a refit): no early stopping, no validation columns, the last epoch's weights."""
    import torch

    from gnncli.train.loop import LoopConfig, fit

    class Task:
        monitor, higher_is_better = "loss", False

        def loss(self, output, batch):
            return (output - 2.0).pow(2).mean()

        def evaluate(self, model, loader, device):
            raise AssertionError("no validation without a validation loader")

    torch.manual_seed(0)
    model = torch.nn.Linear(1, 1)
    weights = []
    result = fit(model, Task(), lambda epoch: [torch.ones(4, 1)], None,
                 LoopConfig(epochs=6, device="cpu", patience=1, max_lr=0.1, init_lr=0.1, final_lr=0.1),
                 on_epoch=lambda record: weights.append(model.weight.detach().clone()))
    assert len(result.history) == 6 and result.best_epoch == 6 and not result.stopped_early
    assert not any(key.startswith("val_") for key in result.history[-1])
    assert torch.equal(result.best_state["weight"], weights[-1]) and not torch.equal(weights[0], weights[-1])
