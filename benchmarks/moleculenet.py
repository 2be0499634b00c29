#!/usr/bin/env python3
"""Train gnn's default model on a MoleculeNet dataset over several seeds and report the test metric.

    python benchmarks/moleculenet.py --data ../shared/data/molecules/BBBP.csv --target p_np \
        --split scaffold --seeds 0 1 2 --workdir /tmp/bench/bbbp
    python benchmarks/moleculenet.py --data ../shared/data/molecules/SAMPL.csv --target expt \
        --split random --seeds 0 1 2 --workdir /tmp/bench/freesolv

Each seed runs ``gnn train DATA --target T --split S --seed K --epochs N --out WORKDIR/seedK --json``
(80/10/10 split; the seed sets both the split and the model). Prints one line per seed and the
mean ± sample standard deviation of the test metric (ROC-AUC for 0/1 targets, else RMSE), and writes
WORKDIR/summary.json. Extra ``gnn train`` options go after ``--``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True)
    parser.add_argument("--target", required=True)
    parser.add_argument("--split", default="random", choices=["random", "scaffold"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--gnn", default="gnn", help="command that runs gnn")
    parser.add_argument("extra", nargs="*", help="extra gnn train options (after --)")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    runs = []
    for seed in args.seeds:
        out = args.workdir / f"seed{seed}"
        cmd = [args.gnn, "train", args.data, "--target", args.target, "--split", args.split, "--seed", str(seed),
               "--epochs", str(args.epochs), "--out", str(out), "--json", "--no-plots", *args.extra]
        if out.exists():
            sys.exit(f"{out} exists; use a fresh --workdir")
        started = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.perf_counter() - started
        if proc.returncode != 0:
            sys.exit(f"seed {seed} failed ({proc.returncode}): {proc.stderr.strip().splitlines()[-1:]}")
        summary = json.loads([line for line in proc.stdout.splitlines() if line.startswith("{")][-1])
        metric = "roc_auc" if summary["task"] == "classification" else "rmse"
        value = summary["test"][metric]
        runs.append({"seed": seed, metric: value, "wall_s": round(wall, 1), "molecules": summary["molecules"], "cmd": cmd})
        print(f"seed {seed}: test {metric} {value:.4f}  ({wall:.0f} s)", flush=True)
    values = [r[metric] for r in runs]
    result = {
        "data": args.data, "target": args.target, "split": args.split, "epochs": args.epochs, "metric": metric,
        "mean": statistics.mean(values), "sd": statistics.stdev(values) if len(values) > 1 else 0.0, "runs": runs,
    }
    (args.workdir / "summary.json").write_text(json.dumps(result, indent=2))
    print(f"{Path(args.data).name} {args.split} test {metric}: {result['mean']:.4f} ± {result['sd']:.4f} over {len(values)} seeds")


if __name__ == "__main__":
    main()
