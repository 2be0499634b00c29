import numpy as np
from matplotlib.colors import to_hex

from gnncli.train import plots


def _classification(num_targets: int, n: int = 40, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = (rng.random((n, num_targets)) < 0.4).astype(float)
    y[0], y[1] = 1.0, 0.0  # both classes in every target
    prob = np.clip(0.6 * y + 0.5 * rng.random((n, num_targets)), 0, 1)
    return y, prob, np.ones_like(y, dtype=bool), [f"T{i}" for i in range(num_targets)]


def test_roc_gives_every_target_its_own_colour():
    # tox21 has 12 targets: matplotlib's default cycle has 10, so NR-AR and SR-MMP were both blue
    y, prob, mask, names = _classification(12)
    fig = plots.roc_figure(y, prob, mask, names)
    (ax,) = fig.axes
    curves = [line for line in ax.get_lines() if not line.get_label().startswith("_")]
    assert [line.get_label().split()[0] for line in curves] == names
    assert len({to_hex(line.get_color()) for line in curves}) == 12
    assert {line.get_linestyle() for line in curves[10:]} == {"--"}


def test_roc_draws_at_most_the_palette_and_says_so(tmp_path):
    y, prob, mask, names = _classification(23)
    fig = plots.roc_figure(y, prob, mask, names)
    (ax,) = fig.axes
    curves = [line for line in ax.get_lines() if not line.get_label().startswith("_")]
    assert len(curves) == plots.MAX_ROC_CURVES == len({to_hex(line.get_color()) for line in curves})
    assert ax.get_title() == "Test ROC (first 20 of 23 targets)"
    plots.roc(y, prob, mask, names, tmp_path / "roc.png")
    assert (tmp_path / "roc.png").stat().st_size > 1000


def test_distinct_colors_start_with_the_default_cycle():
    import matplotlib.pyplot as plt

    default = [to_hex(c) for c in plt.rcParams["axes.prop_cycle"].by_key()["color"]]
    colours = [to_hex(c) for c in plots.distinct_colors(20)]
    assert colours[:10] == default and len(set(colours)) == 20
