"""Data-parallel training under torchrun (gnncli.train.distributed): shares of an epoch without
launching processes, and ``gnn train`` launched by torchrun with two Gloo processes on the CPU."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gnncli import api
from gnncli.domains import get_domain
from gnncli.errors import UsageError
from gnncli.runs import load_run
from gnncli.testing import InterruptAfterEpochs, molecule_pack, write_molecule_csv
from gnncli.train import distributed
from gnncli.train.loop import TrainingInterrupted
from gnncli.train.members import check_data_parallel
from tests.cli.conftest import invoke, last_json

TORCHRUN_ENV = ("WORLD_SIZE", "RANK", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


def _as_rank(monkeypatch, rank: int, size: int) -> None:
    monkeypatch.setenv("WORLD_SIZE", str(size))
    monkeypatch.setenv("RANK", str(rank))
    monkeypatch.setenv("LOCAL_RANK", str(rank))


def _shares(monkeypatch, indices, size: int, *, seed: int = 3, epoch: int = 0) -> list[np.ndarray]:
    shares = []
    for r in range(size):
        _as_rank(monkeypatch, r, size)
        shares.append(distributed.shard(indices, seed=seed, epoch=epoch))
    return shares


# --------------------------------------------------------------------------- without processes


def test_one_process_is_not_distributed_and_shard_keeps_the_indices(monkeypatch):
    for name in TORCHRUN_ENV:
        monkeypatch.delenv(name, raising=False)
    indices = np.array([9, 2, 7, 4, 0])
    assert (distributed.world_size(), distributed.rank(), distributed.is_main()) == (1, 0, True)
    assert not distributed.distributed()
    assert np.array_equal(distributed.shard(indices, seed=1, epoch=5), indices)
    assert distributed.all_reduce_sum([1.5, 2.0]) == [1.5, 2.0]
    assert distributed.broadcast({"a": 1}) == {"a": 1}
    monkeypatch.setenv("WORLD_SIZE", "1")  # torchrun --nproc-per-node 1: a single process too
    monkeypatch.setenv("RANK", "0")
    assert np.array_equal(distributed.shard(indices, seed=1, epoch=5), indices)


@pytest.mark.parametrize("n, size", [(10, 2), (7, 2), (11, 3), (2, 4), (1, 2), (101, 8)])
def test_shard_gives_equal_shares_that_cover_every_index(monkeypatch, n, size):
    indices = np.arange(100, 100 + n)
    shares = _shares(monkeypatch, indices, size)
    share = -(-n // size)
    assert [len(s) for s in shares] == [share] * size  # every process takes the same number of steps
    together = np.concatenate(shares)
    assert set(together.tolist()) == set(indices.tolist())
    counts = np.bincount(together - 100, minlength=n)
    assert counts.sum() == share * size and counts.min() >= 1
    assert counts.max() <= -(-share * size // n)  # padding repeats as few indices as it can
    if n >= size:
        assert (counts > 1).sum() == share * size - n


def test_shard_reshuffles_each_epoch_and_agrees_across_processes(monkeypatch):
    indices = np.arange(40)
    first, again = _shares(monkeypatch, indices, 2, epoch=0), _shares(monkeypatch, indices, 2, epoch=0)
    later = _shares(monkeypatch, indices, 2, epoch=1)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))  # a resumed run sees the same shares
    assert not np.array_equal(first[0], later[0])
    assert set(first[0].tolist()).isdisjoint(first[1].tolist())  # one shuffle, dealt out: no overlap


def test_packed_train_loader_gives_each_process_its_share(monkeypatch):
    from gnncli.domains.base import Dataset

    data = Dataset("test", molecule_pack(["C", "CC", "CCC", "CO", "CCO", "CCN", "c1ccccc1"]), ["y"], "regression")
    train = np.array([0, 1, 2, 3, 4, 6])
    batches = []
    for r in range(2):
        _as_rank(monkeypatch, r, 2)
        loader = data.train_loader(train, batch_size=2, seed=0, epoch=0)
        batches.append([b.num_graphs for b in loader])
    assert batches[0] == batches[1] == [2, 1]  # 3 items each, the same steps
    for name in TORCHRUN_ENV:
        monkeypatch.delenv(name, raising=False)
    whole = data.train_loader(train, batch_size=2, seed=0, epoch=0)
    assert [b.num_graphs for b in whole] == [2, 2, 2]


def test_what_does_not_train_data_parallel_is_refused_under_torchrun(monkeypatch):
    _as_rank(monkeypatch, 1, 2)
    with pytest.raises(UsageError, match="ratings input does not train data-parallel"):
        check_data_parallel(api.TrainOptions(), get_domain("ratings"))
    with pytest.raises(UsageError, match="--search does not run data-parallel"):
        check_data_parallel(api.TrainOptions(search=4), get_domain("molecules"))
    check_data_parallel(api.TrainOptions(), get_domain("molecules"))
    for name in TORCHRUN_ENV:
        monkeypatch.delenv(name, raising=False)
    check_data_parallel(api.TrainOptions(), get_domain("ratings"))  # one process: anything goes


# ------------------------------------------------------------------------ two Gloo processes

SETTINGS = ["--target", "logp", "--hidden", "64", "--epochs", "12", "--lr", "0.002", "--device", "cpu", "--no-plots",
            "--seed", "1"]


def _torchrun(args: list, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in TORCHRUN_ENV}
    env["OMP_NUM_THREADS"] = "1"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
               "-m", "gnncli", *[str(a) for a in args]]
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def test_torchrun_two_processes_write_one_run_folder_that_predicts_as_one_process_would(tmp_path):
    data = write_molecule_csv(tmp_path / "mols.csv", n=200)
    single = invoke("train", data, *SETTINGS, "--batch-size", "32", "--out", tmp_path / "single", "--json")
    assert single.exit_code == 0, single.output
    one = last_json(single.stdout)

    # Two processes of 16 molecules each: the same 32 molecules a step as the single process.
    done = _torchrun(["train", data, *SETTINGS, "--batch-size", "16", "--json"], tmp_path)
    runs = list((tmp_path / "runs").iterdir())
    assert len(runs) == 1, runs  # rank 0 named the folder; the other process made none
    run = runs[0]
    summaries = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert len(summaries) == 1  # only rank 0 printed its summary
    two = json.loads(summaries[0])
    assert two["run"] == str(Path("runs") / run.name)

    # The same run folder one process writes, marked with the processes that trained it.
    files = lambda folder: sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    assert files(run) == files(tmp_path / "single")
    config = json.loads((run / "config.json").read_text())
    assert config["status"] == "complete" and config["processes"] == 2
    assert "processes" not in json.loads((tmp_path / "single" / "config.json").read_text())
    history = pd.read_csv(run / "metrics.csv")
    assert history["epoch"].tolist() == list(range(1, 13))
    assert history["train_loss"].iloc[-1] < history["train_loss"].iloc[0]

    # Its checkpoint loads (keys of the model, not of the DDP wrapper) and predicts.
    loaded = load_run(run)
    assert not any(k.startswith("module.") for k in loaded.models[0].state_dict())
    result = invoke("predict", run, data, "--device", "cpu", "--workers", "1")
    assert result.exit_code == 0, result.output
    predicted = pd.read_csv(io.StringIO(result.stdout))
    assert len(predicted) == 200 and predicted["logp_pred"].notna().all()

    # Comparable test metrics: both learn logP (test RMSE about 0.7 where the SD is about 1.5).
    assert one["test"]["rmse"] < 1.0 and two["test"]["rmse"] < 1.0, (one["test"], two["test"])
    assert abs(one["test"]["rmse"] - two["test"]["rmse"]) < 0.15, (one["test"], two["test"])
    assert abs(one["test"]["r2"] - two["test"]["r2"]) < 0.08, (one["test"], two["test"])


FIT_ON_EACH_RANK = """
import sys

import torch

from gnncli import api
from gnncli.domains import get_domain
from gnncli.models import build_model
from gnncli.progress import Reporter
from gnncli.train import distributed
from gnncli.train.loop import LoopConfig, fit

data_path, out = sys.argv[1:3]
domain = get_domain("molecules")
opts = api.settle_options(api.TrainOptions(data=data_path, targets=["logp"], model=api.ModelConfig(hidden=16)), domain)
data = domain.prepare(opts, Reporter())
train, val, _ = domain.split(opts, data)[0]
task = domain.make_task(data, opts, train)
torch.manual_seed(distributed.rank())  # different starting weights: DDP starts every process from rank 0's
model = build_model(domain.model_config(data, opts.model))
start = {k: v.clone() for k, v in model.state_dict().items()}
loop = LoopConfig(epochs=3, batch_size=8, device="cpu", precision="fp32", patience=None)
result = fit(model, task, lambda e: data.train_loader(train, batch_size=8, seed=0, epoch=e),
             data.loader(val), loop)
torch.save({"start": start, "best": result.best_state, "last": model.state_dict(), "history": result.history,
            "share": torch.as_tensor(distributed.shard(train, seed=0, epoch=0))}, f"{out}/rank{distributed.rank()}.pt")
"""


def test_fit_under_torchrun_keeps_every_process_on_the_same_weights(tmp_path):
    import torch

    data = write_molecule_csv(tmp_path / "mols.csv", n=60)
    (tmp_path / "fit.py").write_text(FIT_ON_EACH_RANK)
    env = {k: v for k, v in os.environ.items() if k not in TORCHRUN_ENV}
    env["OMP_NUM_THREADS"] = "1"
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                           str(tmp_path / "fit.py"), str(data), str(tmp_path)],
                          env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(2)]
    assert set(ranks[0]["share"].tolist()).isdisjoint(ranks[1]["share"].tolist())  # each trained on its own items
    assert not all(torch.equal(ranks[0]["start"][k], ranks[1]["start"][k]) for k in ranks[0]["start"])
    for k, value in ranks[0]["last"].items():
        assert not k.startswith("module."), k
        assert torch.equal(value, ranks[1]["last"][k]), k  # averaged gradients, the same steps
        assert torch.equal(ranks[0]["best"][k], ranks[1]["best"][k]), k
    assert any(not torch.equal(ranks[0]["last"][k], ranks[0]["start"][k]) for k in ranks[0]["last"])
    untimed = [[{k: v for k, v in r.items() if k != "seconds"} for r in rank["history"]] for rank in ranks]
    assert untimed[0] == untimed[1]  # one training loss and one validation per epoch (wall times aside)
    assert len(ranks[0]["history"]) == 3


def test_a_run_interrupted_in_one_process_resumes_under_torchrun(tmp_path):
    data = write_molecule_csv(tmp_path / "mols.csv", n=80)
    opts = api.TrainOptions(data=str(data), targets=["logp"], out=str(tmp_path / "cut"), plots=False,
                            model=api.ModelConfig(hidden=32), loop=api.LoopConfig(epochs=4, batch_size=16, device="cpu"))
    with pytest.raises(TrainingInterrupted):
        api.train(opts, reporter=InterruptAfterEpochs(2))
    before = pd.read_csv(tmp_path / "cut" / "metrics.csv")
    assert before["epoch"].tolist() == [1, 2]

    _torchrun(["train", "--resume", tmp_path / "cut"], tmp_path)
    after = pd.read_csv(tmp_path / "cut" / "metrics.csv")
    assert after["epoch"].tolist() == [1, 2, 3, 4]
    pd.testing.assert_frame_equal(after.iloc[:2], before)  # the saved epochs kept as they were
    assert json.loads((tmp_path / "cut" / "config.json").read_text())["status"] == "complete"
    assert not (tmp_path / "cut" / "state").exists()
    assert load_run(tmp_path / "cut").models
