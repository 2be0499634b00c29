#!/usr/bin/env python3
"""`gnn benchmark --speed`'s measurements in one process, each printed as a JSON line when taken.

    python benchmarks/speed_in_process.py ../shared/data/molecules/tox21.csv --device cuda \\
        --batch-sizes 64,256,1024 --repeats 3
    python benchmarks/speed_in_process.py --kind wireless --option pairs=50 --option layout=density \\
        --option episode=10 --grid depth=5 --steps-per-epoch 50 --device cuda --batch-sizes 16,64

The same functions as ``gnn benchmark --speed`` (featurization once, then training and inference
throughput per batch size, ``--repeats`` times; medians at the end), without a fresh process per
measurement: on a machine where starting a process that imports torch, RDKit and CUDA takes many
seconds (the GPU machines lent to this project), that start-up is what a time-boxed run would spend.
Peak memory here is the process's peak so far, so it only grows from one row to the next; read
``gnn benchmark --speed`` for memory.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's gnncli


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", nargs="?", help="input file or folder (none: the kind's generated data)")
    ap.add_argument("--kind", default=None)
    ap.add_argument("--model", default=None, help="default: the kind's default model")
    ap.add_argument("--option", action="append", default=[], metavar="NAME=VALUE", help="a kind's option (repeatable)")
    ap.add_argument("--grid", action="append", default=[], metavar="NAME=VALUE", help="one model setting (repeatable)")
    ap.add_argument("--steps-per-epoch", type=int, default=None)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--batch-sizes", default="32,64,128")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=3, help="per measurement; the first is warm-up")
    a = ap.parse_args()

    from gnncli import api
    from gnncli.benchmark.grid import expand, parse_grid, parse_value
    from gnncli.benchmark.runner import run_options
    from gnncli.benchmark.speed import measure_featurization, measure_model
    from gnncli.domains import resolve_domain
    from gnncli.models import ModelConfig
    from gnncli.train.loop import LoopConfig

    options = {k.replace("-", "_"): parse_value(v) for k, v in (o.split("=", 1) for o in a.option)}
    base = api.TrainOptions(data=a.data, kind=a.kind, model=ModelConfig(name=None), loop=LoopConfig(device=a.device),
                            plots=False, options=options)
    model = a.model or resolve_domain(a.data, a.kind).default_model
    specs = expand([model], parse_grid(a.grid), [0])
    given = {"steps_per_epoch": a.steps_per_epoch} if a.steps_per_epoch else {}
    opts = run_options(base, specs[0], None, given_loop=given)
    started = time.perf_counter()
    featurize = measure_featurization(opts)
    print(json.dumps({"featurize": featurize, "wall_s": round(time.perf_counter() - started, 2)}), flush=True)
    rows = []
    for b in (int(x) for x in a.batch_sizes.split(",")):
        for _ in range(a.repeats):
            started = time.perf_counter()
            rows.append(measure_model(opts, a.device, b, a.epochs))
            print(json.dumps({**rows[-1], "wall_s": round(time.perf_counter() - started, 2)}), flush=True)
    print("\n| device | batch | train items/s | inference items/s | CUDA peak (MB) |\n|---|---|---|---|---|")
    for b in dict.fromkeys(r["batch_size"] for r in rows):
        mine = [r for r in rows if r["batch_size"] == b]
        med = {k: statistics.median(r[k] for r in mine) for k in ("train_items_per_s", "infer_items_per_s")}
        cuda = statistics.median(r["cuda_max_allocated_mb"] for r in mine) if "cuda_max_allocated_mb" in mine[0] else None
        print(f"| {a.device} | {b} | {med['train_items_per_s']:,.0f} | {med['infer_items_per_s']:,.0f} | "
              f"{'-' if cuda is None else f'{cuda:,.0f}'} |")
    print(f"\nfeaturization: {featurize['items_per_s']:,.0f} items/s on {featurize['items']:,} items")


if __name__ == "__main__":
    main()
