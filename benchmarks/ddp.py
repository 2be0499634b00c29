#!/usr/bin/env python3
"""Data-parallel training throughput: molecules per second with 1 and 2 (or more) processes
launched by torchrun, DistributedDataParallel over Gloo on CPUs or NCCL on GPUs.

    python benchmarks/ddp.py ../shared/data/molecules/tox21.csv --processes 1,2 --epochs 3
    python benchmarks/ddp.py tox21.csv --processes 1,2,4,8 --device cuda   # one GPU per process

Each setting runs ``python -m torch.distributed.run --standalone --nproc-per-node P`` on this
script in worker mode: every process reads the featurized molecules (featurized once beforehand,
into a cache of its own), builds the same model and trains it with gnn's own loop
(:func:`gnncli.train.loop.fit`) on its share of each epoch. Only the training steps are timed
(forward, backward, gradient all-reduce, optimizer step; not validation), from the first batch
of an epoch to the last; the rate is the molecules all processes trained on in an epoch over
that time, the median over the epochs after the first (warm-up). ``--batch-size`` is per
process, as for ``gnn train`` under torchrun: P processes step with P x batch-size molecules.

On CPUs the processes share the machine's cores: ``--threads`` per process (default: the cores
divided among the processes, so every setting uses all of them). The load average before and
after is printed: on a machine shared with other jobs the rates move with it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's gnncli

TORCHRUN_ENV = ("WORLD_SIZE", "RANK", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _options(args):
    from gnncli import api
    from gnncli.domains import resolve_domain

    domain = resolve_domain([args.data], None)
    opts = api.TrainOptions(
        data=args.data, model=api.ModelConfig(name=args.model, hidden=args.hidden),
        loop=api.LoopConfig(epochs=args.epochs, batch_size=args.batch_size, device=args.device,
                            precision=args.precision, patience=None, checkpoint_seconds=1e9),
    )
    return domain, api.settle_options(opts, domain)


class _Timed:
    """A training loader whose complete passes are timed (partial ones, as fit's probe, are not)."""

    def __init__(self, loader, times: list, cuda: bool) -> None:
        self.loader, self.times, self.cuda = loader, times, cuda

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self):
        import torch

        started = time.perf_counter()
        yield from self.loader
        if self.cuda:
            torch.cuda.synchronize()
        self.times.append(time.perf_counter() - started)


def worker(args) -> None:
    """One process of a torchrun launch: train, and (rank 0) write the timings to ``args.result``."""
    import torch

    from gnncli.models import build_model
    from gnncli.progress import Reporter
    from gnncli.train import distributed
    from gnncli.train.loop import fit, precision_name, resolve_device, resolve_precision

    domain, opts = _options(args)
    with distributed.main_first():
        data = domain.prepare(opts, Reporter())
    train, val, _ = domain.split(opts, data)[0]
    task = domain.make_task(data, opts, train)
    torch.manual_seed(0)
    model = build_model(domain.model_config(data, opts.model))
    domain.prepare_model(model, data, train)
    device = distributed.rank_device(resolve_device(args.device))
    times: list[float] = []

    def make_loader(epoch: int):
        return _Timed(data.train_loader(train, batch_size=args.batch_size, seed=0, epoch=epoch), times, device.type == "cuda")

    result = fit(model, task, make_loader, data.loader(val, batch_size=256), opts.loop)
    per_epoch = len(distributed.shard(train, seed=0, epoch=0)) * distributed.world_size()
    if distributed.is_main():
        epoch_times = times[1:] if len(times) > 1 else times
        Path(args.result).write_text(json.dumps({
            "processes": distributed.world_size(), "threads": torch.get_num_threads(), "device": str(device),
            "precision": precision_name(resolve_precision(opts.loop.precision, device, model)),
            "molecules_per_epoch": per_epoch, "epoch_seconds": times,
            "molecules_per_s": per_epoch / statistics.median(epoch_times),
            "val": {k: round(float(v), 4) for k, v in result.best_metrics.items()},
        }))


def launch(args, processes: int, cache: str) -> dict:
    cores = os.cpu_count() or 1
    threads = args.threads or max(1, cores // processes)
    with tempfile.TemporaryDirectory() as tmp:
        result = Path(tmp) / "result.json"
        env = {k: v for k, v in os.environ.items() if k not in TORCHRUN_ENV}
        env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads), GNN_CACHE_DIR=cache)
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(processes),
                   __file__, args.data, "--worker", "--result", str(result), "--epochs", str(args.epochs),
                   "--batch-size", str(args.batch_size), "--model", args.model, "--hidden", str(args.hidden),
                   "--device", args.device, "--precision", args.precision]
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"torchrun with {processes} process(es) failed:\n{done.stderr[-4000:]}")
        return json.loads(result.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", help="a molecule CSV (e.g. tox21.csv)")
    parser.add_argument("--processes", default="1,2", help="comma-separated process counts (default 1,2)")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per setting; the first is warm-up (default 3)")
    parser.add_argument("--batch-size", type=int, default=64, help="molecules per step per process (default 64)")
    parser.add_argument("--model", default="dmpnn")
    parser.add_argument("--hidden", type=int, default=300)
    parser.add_argument("--device", default="cpu", help="cpu or cuda (one GPU per process)")
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--threads", type=int, default=0, help="threads per process on CPU (0: cores / processes)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return

    from gnncli.progress import Reporter

    counts = [int(p) for p in args.processes.split(",")]
    with tempfile.TemporaryDirectory() as cache:
        os.environ["GNN_CACHE_DIR"] = cache
        domain, opts = _options(args)
        started = time.perf_counter()
        data = domain.prepare(opts, Reporter())  # featurized once; the workers read the cache
        print(f"{args.data}: {len(data)} molecules featurized in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        before = load_average()
        rows = [launch(args, p, cache) for p in counts]
        after = load_average()
    base = rows[0]["molecules_per_s"]
    print(f"{args.model} hidden {args.hidden}, batch {args.batch_size} per process, {args.epochs} epochs "
          f"(first is warm-up), {os.cpu_count()} cores; load average before {before}, after {after}")
    print(f"{'processes':>9} {'threads':>7} {'device':>8} {'precision':>9} {'mol/epoch':>9} "
          f"{'epoch s':>16} {'molecules/s':>11} {'speed-up':>8}")
    for r in rows:
        epochs = ",".join(f"{t:.1f}" for t in r["epoch_seconds"])
        print(f"{r['processes']:>9} {r['threads']:>7} {r['device']:>8} {r['precision']:>9} {r['molecules_per_epoch']:>9} "
              f"{epochs:>16} {r['molecules_per_s']:>11.0f} {r['molecules_per_s'] / base:>7.2f}x")


if __name__ == "__main__":
    main()
