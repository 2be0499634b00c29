"""Reading channel files (and refusing bad ones with one line), and generating networks."""

import math

import numpy as np
import pytest

from gnncli.domains.wireless.channels import read_channels
from gnncli.domains.wireless.generator import ChannelConfig, generate, path_loss_db
from gnncli.errors import InputError


def test_reads_every_accepted_shape_and_file_type(tmp_path):
    rng = np.random.default_rng(0)
    one = rng.exponential(1e-9, (4, 4))
    series = rng.exponential(1e-9, (7, 4, 4))
    several = rng.exponential(1e-9, (3, 7, 4, 4))
    np.save(tmp_path / "one.npy", one)
    np.save(tmp_path / "series.npy", series)
    np.savez(tmp_path / "several.npz", gains=several, p_max_dbm=20.0, noise_dbm=-90.0)
    np.savetxt(tmp_path / "matrix.csv", one, delimiter=",")
    nets = read_channels([str(tmp_path / n) for n in ("one.npy", "series.npy", "several.npz", "matrix.csv")])
    assert [n.gains.shape for n in nets] == [(1, 4, 4), (7, 4, 4)] + [(7, 4, 4)] * 3 + [(1, 4, 4)]
    assert nets[2].name.endswith("several.npz[0]") and nets[4].name.endswith("several.npz[2]")
    assert nets[2].p_max_dbm == 20.0 and nets[2].noise_dbm == -90.0  # the file's own
    assert nets[0].p_max_dbm == 10.0 and nets[0].noise_dbm == pytest.approx(-174 + 70)  # the defaults
    np.testing.assert_allclose(nets[3].gains[0], several[1, 0], rtol=1e-6)
    np.testing.assert_allclose(nets[5].gains[0], one, rtol=1e-6)
    folder = read_channels(str(tmp_path))  # a folder: every channel file in name order
    assert [n.name.split("/")[-1] for n in folder] == ["matrix.csv", "one.npy", "series.npy"] + [f"several.npz[{k}]" for k in range(3)]


def test_complex_coefficients_become_power_gains(tmp_path):
    h = np.array([[1 + 1j, 0.5j], [2.0, 1 - 2j]])
    np.save(tmp_path / "h.npy", h)
    np.savez(tmp_path / "h.npz", h=h)
    np.savez(tmp_path / "hreal.npz", h=np.array([[1.0, -0.5], [2.0, 3.0]]))  # real coefficients: squared
    (tmp_path / "h.csv").write_text("1+1j,0.5j\n2,1-2i\n")
    expected = np.abs(h) ** 2
    for name in ("h.npy", "h.npz", "h.csv"):
        np.testing.assert_allclose(read_channels(str(tmp_path / name))[0].gains[0], expected, rtol=1e-6)
    np.testing.assert_allclose(read_channels(str(tmp_path / "hreal.npz"))[0].gains[0], [[1, 0.25], [4, 9]])


BAD = {
    "nonsquare.npy": (np.ones((3, 4)), "channel matrix is 3x4, not square"),
    "negative.npy": (np.array([[1.0, -0.2], [0.1, 1.0]]), "negative channel gain -0.2 at transmitter 0, receiver 1"),
    "nan.npy": (np.array([[[1.0, 0.1], [0.1, 1.0]], [[1.0, np.nan], [0.1, 1.0]]]), "nan (not a finite number) at step 1, transmitter 0, receiver 1"),
    "inf.npy": (np.array([[1.0, np.inf], [0.1, 1.0]]), "inf (not a finite number)"),
    "vector.npy": (np.ones(5), "array of shape (5,); expected (m, m), (T, m, m) or (networks, T, m, m)"),
    "strings.npy": (np.array([["a", "b"], ["c", "d"]]), "expected numbers"),
    "empty.npy": (np.zeros((0, 3, 3)), "holds no channel matrices"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_arrays_are_one_line_errors_naming_the_file(tmp_path, name):
    array, message = BAD[name]
    np.save(tmp_path / name, array)
    with pytest.raises(InputError) as err:
        read_channels(str(tmp_path / name))
    text = str(err.value)
    assert "\n" not in text and text.startswith(str(tmp_path / name)) and message in text


def test_bad_files_are_one_line_errors(tmp_path):
    cases = {
        "header.csv": ("tx,rx\n1,2\n", "line 1, column 1: 'tx' is not a number"),
        "ragged.csv": ("1,2\n3\n", "line 2 has 1 values, line 1 has 2"),
        "empty.csv": ("", "file is empty"),
        "broken.npy": ("not an array", "not a readable .npy array"),
        "broken.npz": ("not a zip", "not a readable .npz archive"),
    }
    for name, (content, message) in cases.items():
        (tmp_path / name).write_text(content)
        with pytest.raises(InputError) as err:
            read_channels(str(tmp_path / name))
        assert "\n" not in str(err.value) and message in str(err.value), (name, str(err.value))
    np.savez(tmp_path / "two.npz", a=np.ones((2, 2)), b=np.ones((3, 3)))
    with pytest.raises(InputError, match="holds a, b; name the channel array 'gains'"):
        read_channels(str(tmp_path / "two.npz"))
    (tmp_path / "none").mkdir()
    with pytest.raises(InputError, match="folder holds no channel files"):
        read_channels(str(tmp_path / "none"))


def test_a_training_set_needs_one_number_of_pairs(tmp_path):
    np.save(tmp_path / "a.npy", np.ones((2, 3, 3)))
    np.save(tmp_path / "b.npy", np.ones((2, 4, 4)))
    assert len(read_channels(str(tmp_path))) == 2  # predict takes networks of any size
    with pytest.raises(InputError) as err:
        read_channels(str(tmp_path), same_pairs=True)
    assert str(err.value).startswith(str(tmp_path / "b.npy")) and "4 pairs, but" in str(err.value) and "a.npy has 3" in str(err.value)


def test_generator_is_seeded_and_network_k_does_not_depend_on_the_count():
    config = ChannelConfig(pairs=5, steps=12)
    a = generate(config, 3, seed=7)
    b = generate(config, 5, seed=7)
    c = generate(config, 3, seed=8)
    assert a["gains"].shape == (3, 12, 5, 5) and a["gains"].dtype == np.float32
    np.testing.assert_array_equal(a["gains"], b["gains"][:3])
    assert not np.array_equal(a["gains"], c["gains"])


def test_generated_layouts_respect_the_geometry():
    for layout, m, side in (("area", 20, 500.0), ("density", 80, 1000 * math.sqrt(4))):
        config = ChannelConfig(pairs=m, layout=layout, steps=2)
        assert config.side_m == pytest.approx(side)
        net = generate(config, 2, seed=1)
        tx, rx = net["tx"], net["rx"]
        assert np.abs(tx).max() <= side / 2 and np.abs(rx).max() <= side / 2
        for k in range(2):
            d = np.sqrt(((tx[k][:, None] - tx[k][None]) ** 2).sum(-1)) + np.eye(m) * 1e9
            assert d.min() >= 35.0
            own = np.sqrt(((tx[k] - rx[k]) ** 2).sum(-1))
            assert own.max() <= 50.0 + 1e-9  # clipping to the square only brings a receiver closer
    with pytest.raises(ValueError, match="do not fit"):
        ChannelConfig(pairs=200, layout="area")


def test_path_loss_and_fading_statistics():
    assert path_loss_db(np.array([100.0]))[0] == pytest.approx(79.0)
    assert path_loss_db(np.array([1000.0]))[0] == pytest.approx(39 + 120 - 40)
    config = ChannelConfig(pairs=30, steps=400, shadowing_db=0.0)
    net = generate(config, 1, seed=3)
    from gnncli.domains.wireless.generator import _distances, path_loss_db as pl

    large = 10 ** (-pl(_distances(net["tx"][0], net["rx"][0])) / 10)
    fading = net["gains"][0] / large[None]
    assert fading.mean() == pytest.approx(1.0, rel=0.05)  # unit-power Rayleigh fading
    lag = np.corrcoef(fading[:-1].ravel(), fading[1:].ravel())[0, 1]
    far = np.corrcoef(fading[:-200].ravel(), fading[200:].ravel())[0, 1]
    assert lag > 0.99 and far < 0.3  # slow at 1 m/s and 1 ms steps; decorrelated after 200 ms
