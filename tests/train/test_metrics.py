import numpy as np
import pytest

from gnncli.train.metrics import calibration_curve, miscalibration_area, multiclass_scores, spearman, uncertainty_scores


def test_miscalibration_area_is_small_for_calibrated_gaussians_and_large_otherwise():
    rng = np.random.default_rng(0)
    std = rng.uniform(0.5, 2.0, 20_000)
    error = rng.normal(0, std)
    assert miscalibration_area(error, std) < 0.01
    assert miscalibration_area(error, std / 10) > 0.35  # far too confident
    expected, observed = calibration_curve(error, std)
    assert expected[0] == observed[0] == 0 and expected[-1] == observed[-1] == 1


def test_spearman_and_uncertainty_scores():
    assert spearman(np.arange(5.0), np.arange(5.0) ** 3) == pytest.approx(1.0)
    assert spearman(np.arange(5.0), -np.arange(5.0)) == pytest.approx(-1.0)
    y = np.array([[0.0], [0.0], [0.0], [0.0]])
    mean = np.array([[0.1], [0.5], [1.0], [3.0]])
    scores = uncertainty_scores(y, mean, np.array([[0.01], [0.2], [1.0], [9.0]]), np.ones((4, 1), bool), ["y"])
    assert scores["spearman"] == pytest.approx(1.0) and np.isfinite(scores["nll"])


def test_multiclass_scores_by_hand():
    y = np.array([[0], [1], [2], [2]])
    probs = np.array([[[0.8, 0.1, 0.1]], [[0.1, 0.2, 0.7]], [[0.1, 0.1, 0.8]], [[0.2, 0.3, 0.5]]])
    scores = multiclass_scores(y, probs, np.ones((4, 1), bool), ["a"])
    assert scores["accuracy"] == 0.75
    # class 0: F1 1; class 1: never predicted, once true: 0; class 2: tp 2, fp 1: 0.8
    assert scores["macro_f1"] == pytest.approx((1 + 0 + 0.8) / 3)
    assert scores["cross_entropy"] == pytest.approx(-np.mean(np.log([0.8, 0.2, 0.8, 0.5])))
