"""`--out` given a FIFO, a device, a symlink or an unwritable path, end to end."""

import io
import os
import stat

import numpy as np
import pandas as pd

from tests.cli.conftest import invoke
from tests.special_files import FifoReader, make_device, make_fifo


def _library(tmp_path):
    lib = tmp_path / "lib.csv"
    lib.write_text("smiles,name\nCCO,ethanol\nC1CC,broken\nc1ccccc1,benzene\n")
    return lib


def test_predict_into_a_fifo(trained_run, tmp_path):
    fifo = tmp_path / "preds.csv"
    make_fifo(fifo)
    reader = FifoReader(fifo)
    result = invoke("predict", trained_run, _library(tmp_path), "--out", fifo)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(io.BytesIO(reader.result()))
    assert table["name"].tolist() == ["ethanol", "broken", "benzene"]
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_predict_and_embed_into_a_null_device(trained_run, tmp_path):
    null = make_device(tmp_path / "null", 3)
    lib = _library(tmp_path)
    assert invoke("predict", trained_run, lib, "--out", null).exit_code == 0
    result = invoke("embed", trained_run, lib, "--out", null)
    assert result.exit_code == 0, result.output
    assert stat.S_ISCHR(os.lstat(null).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lib.csv", "null"]


def test_embed_through_a_symlink(trained_run, tmp_path):
    (tmp_path / "store").mkdir()
    link = tmp_path / "emb.npy"
    link.symlink_to(tmp_path / "store" / "emb-v1.npy")
    result = invoke("embed", trained_run, _library(tmp_path), "--out", link)
    assert result.exit_code == 0, result.output
    assert link.is_symlink()
    assert np.load(tmp_path / "store" / "emb-v1.npy").shape == (3, 32)


def test_coarsen_graph_and_plot_into_fifos(tmp_path):
    graph = tmp_path / "ring.csv"
    graph.write_text("source,target\n" + "".join(f"{i},{(i + 1) % 12}\n" for i in range(12)))
    out, plot = tmp_path / "coarse.csv", tmp_path / "plot.pdf"
    make_fifo(out)
    make_fifo(plot)
    out_reader, plot_reader = FifoReader(out), FifoReader(plot)
    result = invoke("coarsen", graph, "--ratio", "0.5", "--out", out, "--plot", plot, "--k", "3")
    assert result.exit_code == 0, result.output
    assert out_reader.result().startswith(b"source,target,weight\n")
    assert plot_reader.result().startswith(b"%PDF")
    assert stat.S_ISFIFO(os.stat(out).st_mode) and stat.S_ISFIFO(os.stat(plot).st_mode)


def test_unwritable_out_is_one_line_naming_the_given_path(trained_run, tmp_path):
    (tmp_path / "notes.txt").write_text("not a folder")
    out = tmp_path / "notes.txt" / "preds.csv"
    result = invoke("predict", trained_run, _library(tmp_path), "--out", out)
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: {out}: cannot write ({tmp_path / 'notes.txt'} is a file, not a folder)"
    )
    assert "Traceback" not in result.output and ".tmp" not in result.output
