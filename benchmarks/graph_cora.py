"""Node classification on Cora's public split: every model of the graph kind over seeds.

Each run is ``gnn train DATA --model M --seed S`` with the model's defaults (the graph kind's
registrations), trained in worker processes of one thread each; the table gives test accuracy
(at the best validation epoch) as mean ± sd over the seeds, and the mean wall time of a run.
``--process`` also times one whole ``gnn train DATA`` process (the default model), start to exit.

Example (Cora as ../shared/data/graphs/cora: edges.csv, nodes.csv with the public split, features.npz)::

    python benchmarks/graph_cora.py --data ../shared/data/graphs/cora --seeds 10 --workers 2 --process \
        --out /tmp/bench/cora.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

MODELS = ("gcn", "gat", "sgc", "appnp", "gcnii", "sage", "gin", "mlp")


def run_one(data: str, model: str, seed: int, workdir: str) -> dict:
    os.environ["OMP_NUM_THREADS"] = "1"
    import torch

    torch.set_num_threads(1)
    from gnncli import api
    from gnncli.domains import get_domain
    from gnncli.models import ModelConfig
    from gnncli.models.config import loop_defaults
    from gnncli.train.loop import LoopConfig

    d = loop_defaults(model, "graph")
    start = d["lr"] if d["schedule"] == "constant" else d["lr"] / 10
    loop = LoopConfig(epochs=d["epochs"], batch_size=d["batch_size"], max_lr=d["lr"], init_lr=start, final_lr=start,
                      warmup_epochs=d["warmup"], patience=d["patience"] or None, weight_decay=d["weight_decay"],
                      seed=seed, checkpoint_seconds=1e9)
    get_domain("graph")
    opts = api.TrainOptions(data=data, kind="graph", model=ModelConfig(name=model, kind="graph"), loop=loop,
                            plots=False, out=str(Path(workdir) / f"{model}-{seed}"))
    t = time.perf_counter()
    summary = api.train(opts)
    return {"model": model, "seed": seed, "test_accuracy": summary["test"]["accuracy"],
            "val_accuracy": summary["val"]["accuracy"], "seconds": time.perf_counter() - t}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="the Cora folder (edges.csv, nodes.csv, features.npz)")
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--process", action="store_true", help="also time one whole `gnn train DATA` process")
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--out", default=None, help="write every run's row and the table as JSON")
    args = parser.parse_args()
    workdir = args.workdir or tempfile.mkdtemp(prefix="cora-")
    models = args.models.split(",")
    rows = []
    with ProcessPoolExecutor(args.workers) as pool:
        futures = [pool.submit(run_one, args.data, m, s, workdir) for m in models for s in range(args.seeds)]
        for f in futures:
            row = f.result()
            rows.append(row)
            print(f"{row['model']:6s} seed {row['seed']}: test {row['test_accuracy']:.3f} "
                  f"({row['seconds']:.0f} s)", file=sys.stderr, flush=True)
    table = {}
    print(f"{'model':8s} {'test accuracy':>16s} {'s/run':>7s}")
    for m in models:
        acc = np.array([r["test_accuracy"] for r in rows if r["model"] == m]) * 100
        sec = np.mean([r["seconds"] for r in rows if r["model"] == m])
        table[m] = {"mean": float(acc.mean()), "sd": float(acc.std(ddof=1)) if len(acc) > 1 else 0.0,
                    "runs": len(acc), "seconds": float(sec)}
        print(f"{m:8s} {acc.mean():8.1f} ± {table[m]['sd']:4.1f} {sec:7.1f}")
    process = None
    if args.process:
        out = Path(workdir) / "default-process"
        t = time.perf_counter()
        subprocess.run(["gnn", "train", args.data, "--out", str(out), "--no-plots"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        process = time.perf_counter() - t
        print(f"whole process, gnn train {args.data} (default model): {process:.1f} s")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({"rows": rows, "table": table, "process_seconds": process}, indent=1))


if __name__ == "__main__":
    main()
