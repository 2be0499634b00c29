import io
import os
import stat

import numpy as np
import pandas as pd
import pytest

from gnncli.errors import OutputError, UsageError
from gnncli.outputs import EmbeddingWriter
from tests.special_files import FifoReader, make_device, make_fifo

DIM = 4


def _write(path, chunks=2) -> np.ndarray:
    """Two chunks of three rows; row 1 of each chunk is invalid (NaN, with a reason)."""
    rng = np.random.default_rng(0)
    written = []
    with EmbeddingWriter(str(path), DIM) as writer:
        for c in range(chunks):
            frame = pd.DataFrame({"smiles": ["CCO", "C1CC", "c1ccccc1"], "name": [f"a{c}", f"b{c}", f"c{c}"]})
            vectors = rng.normal(size=(3, DIM)).astype(np.float32)
            vectors[1] = np.nan
            errors = np.array(["", "could not parse", ""], dtype=object)
            writer.write(frame, vectors, errors, start=3 * c)
            written.append(vectors)
    return np.concatenate(written)


def test_npy_to_a_regular_file_with_its_errors_sidecar(tmp_path):
    out = tmp_path / "emb.npy"
    expected = _write(out)
    np.testing.assert_array_equal(np.load(out), expected)
    assert pd.read_csv(f"{out}.errors.csv")["row"].tolist() == [1, 4]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["emb.npy", "emb.npy.errors.csv"]


@pytest.mark.parametrize("suffix", [".npy", ".csv"])
def test_embeddings_to_a_fifo(tmp_path, suffix):
    fifo = tmp_path / f"emb{suffix}"
    make_fifo(fifo)
    reader = FifoReader(fifo)
    expected = _write(fifo)
    data = reader.result()
    if suffix == ".npy":
        np.testing.assert_array_equal(np.load(io.BytesIO(data)), expected)
    else:
        table = pd.read_csv(io.BytesIO(data))
        assert table["name"].tolist() == ["a0", "b0", "c0", "a1", "b1", "c1"]
        np.testing.assert_allclose(table.filter(like="emb_").to_numpy(), expected, rtol=1e-6)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert [p.name for p in tmp_path.iterdir()] == [fifo.name]  # no sidecar, no temporary


def test_embeddings_to_a_null_device_without_extension(tmp_path):
    null = make_device(tmp_path / "null", 3)
    _write(null)
    assert stat.S_ISCHR(os.lstat(null).st_mode)
    assert [p.name for p in tmp_path.iterdir()] == ["null"]


def test_embeddings_to_stdout(capsysbinary):
    expected = _write("-")
    np.testing.assert_array_equal(np.load(io.BytesIO(capsysbinary.readouterr().out)), expected)


def test_unknown_extension_of_a_regular_file_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match=r"emb\.txt: unknown output type"):
        EmbeddingWriter(str(tmp_path / "emb.txt"), DIM)


def test_a_failure_while_finishing_keeps_the_old_file(tmp_path, monkeypatch):
    out = tmp_path / "emb.npy"
    out.write_bytes(b"old")

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device", str(args[0]))

    monkeypatch.setattr(np.lib.format, "open_memmap", disk_full)
    with pytest.raises(OutputError, match=r"emb\.npy: cannot write \(No space left on device\)"):
        _write(out)
    assert out.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["emb.npy"]
