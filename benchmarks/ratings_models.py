#!/usr/bin/env python3
"""MovieLens 100k's canonical splits through ``gnn train`` itself: test RMSE over seeds, with and
without the side files, every ratings model, and Surprise's SVD on the same split.

    OMP_NUM_THREADS=1 python benchmarks/ratings_models.py --data ../shared/data/ratings/ml-100k \
        --rows default gcmc+files --seeds 0 1 2 3 4 --workdir /tmp/bench/ratings

Each run is the command line a user types, run as a process (so the benchmark is the CLI's recipe
and nothing else: no loop settings are restated here):

    gnn train DATA/u1.base --test DATA/u1.test [--model M] [--user-features DATA/u.user
        --item-features DATA/u.item] --seed K --out WORKDIR/ROW-u1-seedK --no-plots --json

Rows (``--rows``): ``default`` (no ``--model``: the kind's default model and all its defaults),
a model name (``--model NAME``, its defaults), or ``NAME+files`` (with MovieLens' user and item
attribute files; ``gcmc+files`` is the model that reads them, ``default+files`` when the default
model does). ``--fold u2`` uses u2.base/u2.test (the five
MovieLens folds), to check that a recipe is not tuned to u1. The seed sets the validation cut of
u1.base (1/9 of it, for early stopping) and the initialization. Test RMSE is over all 20,000 test
ratings: the few of an item (or user) absent from the training ratings are scored by the user's
(item's) mean, as ``gnn predict`` scores them. A run that refits (``kernel-ae``'s default: once
early stopping has picked the epoch count, it trains again on all of u1.base for that many
epochs) reports early stopping's validation RMSE, its train RMSE over all of u1.base, and its
epochs as early stopping's plus the refit's.

Prints a table (mean ± sample sd over seeds; the commands, per-seed figures and the machine's load
before and after each run are in WORKDIR/summary.json), and, with ``--surprise-python`` (a
virtual environment with scikit-surprise), Surprise's SVD with default settings on the same files.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

SIDE_FILES = {"--user-features": "u.user", "--item-features": "u.item"}

SURPRISE = r"""
import json, sys, time
from surprise import Dataset, Reader, SVD, accuracy
base, test, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
reader = Reader(line_format="user item rating timestamp", sep="\t", rating_scale=(1, 5))
data = Dataset.load_from_folds([(base, test)], reader)
from surprise.model_selection import PredefinedKFold
trainset, testset = next(PredefinedKFold().split(data))
started = time.perf_counter()
algo = SVD(random_state=seed)
algo.fit(trainset)
fit_s = time.perf_counter() - started
preds = algo.test(testset)
known = [p for p in preds if not p.details.get("was_impossible")]
train_preds = algo.test(trainset.build_testset())
print(json.dumps({"test_rmse": accuracy.rmse(preds, verbose=False), "test_rmse_known": accuracy.rmse(known, verbose=False),
                  "train_rmse": accuracy.rmse(train_preds, verbose=False), "fit_s": fit_s,
                  "wall_s": time.perf_counter() - started, "known": len(known), "test": len(preds)}))
"""


def load() -> str:
    return open("/proc/loadavg").read().split()[0] if os.path.exists("/proc/loadavg") else "?"


def mean_sd(values: list[float]) -> str:
    if not values:
        return "-"
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.4f} ± {sd:.4f}"


def command(data: Path, fold: str, row: str, seed: int, out: Path) -> list[str]:
    """The ``gnn train`` command line of one row and seed."""
    model, _, files = row.partition("+")
    if files not in ("", "files"):
        raise SystemExit(f"row {row}: expected NAME or NAME+files")
    args = ["gnn", "train", str(data / f"{fold}.base"), "--test", str(data / f"{fold}.test")]
    if model != "default":
        args += ["--model", model]
    if files:
        for flag, name in SIDE_FILES.items():
            args += [flag, str(data / name)]
    return args + ["--seed", str(seed), "--out", str(out), "--no-plots", "--json"]


def train_one(args: list[str], out: Path) -> dict:
    if out.exists():
        shutil.rmtree(out)
    before = load()
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "gnncli", *args[1:]], capture_output=True, text=True)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    summary = json.loads([line for line in proc.stdout.splitlines() if line.startswith("{")][-1])
    history = pd.read_csv(out / "metrics.csv")
    refit = history["stage"] == "refit" if "stage" in history else pd.Series(False, index=history.index)
    first = history[~refit]  # early stopping's epochs; the refit's (if any) apart
    return {"command": " ".join(args), "model": summary["model"], "train_rmse": summary["train"]["rmse"],
            "val_rmse": summary["val"]["rmse"], "test_rmse": summary["test"]["rmse"], "test_mae": summary["test"]["mae"],
            "test_pairs": summary["ratings"]["test"], "cold_test": summary["ratings"].get("cold_test"),
            "wall_s": round(wall, 1), "epochs": int(len(first)), "refit_epochs": int(refit.sum()),
            "epoch_s": round(float(first["seconds"].median()), 3) if "seconds" in first else None,
            "load_before": before, "load_after": load()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="the ml-100k folder (u1.base ... u5.test, u.user, u.item)")
    parser.add_argument("--fold", default="u1", help="u1 (default) to u5")
    parser.add_argument("--rows", nargs="+", default=["default", "gcmc+files"],
                        help="default, default+files, a model name, or NAME+files")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--surprise-python", help="python of a virtual environment with scikit-surprise")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    results_file = args.workdir / "summary.json"
    results = json.loads(results_file.read_text()) if results_file.exists() else {"runs": []}
    done = {(r["row"], r["fold"], r["seed"]) for r in results["runs"]}
    for row in args.rows:
        for seed in args.seeds:
            if (row, args.fold, seed) in done:
                continue
            out = args.workdir / f"{row}-{args.fold}-seed{seed}"
            r = {"row": row, "fold": args.fold, "seed": seed, **train_one(command(args.data, args.fold, row, seed, out), out)}
            results["runs"].append(r)
            results_file.write_text(json.dumps(results, indent=2))
            print(f"{row} ({r['model']}) {args.fold} seed {seed}: train {r['train_rmse']:.4f} val {r['val_rmse']:.4f} "
                  f"test {r['test_rmse']:.4f} ({r['test_pairs']} pairs, {r['cold_test']} cold)  {r['wall_s']} s, "
                  f"{r['epochs']} epochs (load {r['load_before']}-{r['load_after']})", flush=True)
    if args.surprise_python and "surprise" not in results:
        runs = []
        for seed in args.seeds:
            before = load()
            proc = subprocess.run([args.surprise_python, "-c", SURPRISE, str(args.data / f"{args.fold}.base"),
                                   str(args.data / f"{args.fold}.test"), str(seed)], capture_output=True, text=True, check=True)
            runs.append({**json.loads(proc.stdout.strip().splitlines()[-1]), "seed": seed, "load": before})
        results["surprise"] = runs
        results_file.write_text(json.dumps(results, indent=2))
    report(results)


def report(results: dict) -> None:
    groups: dict[tuple, list] = {}
    for r in results["runs"]:
        groups.setdefault((r["row"], r["fold"], r["model"]), []).append(r)
    print("\n| row | model | fold | seeds | train RMSE | validation RMSE | test RMSE | wall per run | epochs run (+ refit) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for (row, fold, model), runs in groups.items():
        refit = statistics.median(r.get("refit_epochs", 0) for r in runs)
        print(f"| {row} | {model} | {fold} | {len(runs)} | {mean_sd([r['train_rmse'] for r in runs])} | "
              f"{mean_sd([r['val_rmse'] for r in runs])} | **{mean_sd([r['test_rmse'] for r in runs])}** | "
              f"{statistics.median(r['wall_s'] for r in runs):.0f} s | {statistics.median(r['epochs'] for r in runs):.0f}"
              f"{f' (+ {refit:.0f})' if refit else ''} |")
    if "surprise" in results:
        s = results["surprise"]
        print(f"| Surprise SVD | - | - | {len(s)} | {mean_sd([r['train_rmse'] for r in s])} | - | "
              f"{mean_sd([r['test_rmse'] for r in s])} | {statistics.median(r['wall_s'] for r in s):.1f} s | 20 |")
    for (row, fold, model), runs in groups.items():
        per_seed = ", ".join(f"{r['test_rmse']:.4f}" for r in sorted(runs, key=lambda r: r["seed"]))
        mean = statistics.mean(r["test_rmse"] for r in runs)
        print(f"{row} on {fold}: per seed {per_seed}; mean at most 0.905: {mean <= 0.905}")


if __name__ == "__main__":
    main()
