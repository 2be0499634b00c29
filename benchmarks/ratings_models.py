#!/usr/bin/env python3
"""Every ratings model on MovieLens 100k's canonical split: train/test RMSE over seeds, speed, and
Surprise's SVD on the same split.

    python benchmarks/ratings_models.py --data ../shared/data/ratings/ml-100k --seeds 0 1 2 3 4 \
        --workdir /tmp/bench/ratings --surprise-python ~/venvs/surprise/bin/python

For each model and seed: ``gnn train u1.base --test u1.test --model M --seed K`` through the Python API
(each model's default settings; the seed sets the train/validation cut of u1.base and the
initialization), timed as a whole and per epoch (the median time between the training bar's
epoch updates, which includes the epoch's evaluation of validation and test pairs). Then, with
the seed-0 run of the default model: ``gnn predict RUN u1.test`` (pairs per second, in process,
model loaded) and ``gnn predict RUN --recommend 10`` for every user (seconds). Surprise's SVD
(default settings, seeded) runs in its own virtual environment on u1.base/u1.test.

Prints a table (mean ± sample sd over seeds), the lectures' overfitting claims checked on these
numbers, and writes WORKDIR/summary.json. The machine's load (``/proc/loadavg``) is recorded
before and after each timing.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gnncli import api  # noqa: E402
from gnncli.models import ModelConfig  # noqa: E402
from gnncli.models.config import loop_defaults  # noqa: E402
from gnncli.progress import Reporter  # noqa: E402

MODELS = ["gnn", "graph-filter", "gcmc", "linear", "fcnn"]
#: Rows of the table that are a model with more inputs: name -> (model, files of the data folder
#: given as domain options). ``gcmc+feat`` is GC-MC with MovieLens' user and item attributes.
VARIANTS = {"gcmc+feat": ("gcmc", {"user_features": "u.user", "item_features": "u.item"})}

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


class EpochClock(Reporter):
    """Times between the training bar's per-epoch updates."""

    def __init__(self) -> None:
        super().__init__(None)
        self.marks: list[float] = []

    def start(self, description, total, **fields):
        if description == "training" or description.startswith("member"):
            self.marks = [time.perf_counter()]
            return "training"
        return None

    def advance(self, task, amount=1, **fields) -> None:
        if task == "training":
            self.marks.append(time.perf_counter())

    def epoch_times(self) -> list[float]:
        return [b - a for a, b in zip(self.marks, self.marks[1:])]


def mean_sd(values: list[float]) -> str:
    if not values:
        return "-"
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.4f} ± {sd:.4f}"


def train_one(data: Path, row: str, seed: int, out: Path) -> dict:
    model, files = VARIANTS.get(row, (row, {}))
    defaults = loop_defaults(model)
    lr = defaults["lr"]
    options = {"test_file": str(data / "u1.test"), **{k: str(data / v) for k, v in files.items()}}
    opts = api.TrainOptions(
        data=str(data / "u1.base"), options=options, model=ModelConfig(name=model),
        loop=api.LoopConfig(epochs=defaults["epochs"], batch_size=defaults["batch_size"], max_lr=lr, init_lr=lr / 10,
                            final_lr=lr / 10, warmup_epochs=defaults["warmup"], patience=defaults["patience"] or None,
                            seed=seed),
        plots=False, out=str(out),
    )
    clock = EpochClock()
    before = load()
    started = time.perf_counter()
    summary = api.train(opts, clock)
    wall = time.perf_counter() - started
    epochs = clock.epoch_times()
    return {"model": row, "seed": seed, "train_rmse": summary["train"]["rmse"], "val_rmse": summary["val"]["rmse"],
            "test_rmse": summary["test"]["rmse"], "test_mae": summary["test"]["mae"], "wall_s": round(wall, 1),
            "epochs": len(epochs), "epoch_s": round(statistics.median(epochs), 3) if epochs else None,
            "load_before": before, "load_after": load(), "test_scored": summary["ratings"]["test"]}


def speed(run: Path, data: Path) -> dict:
    from gnncli.runs import load_run

    trained = load_run(run)
    out = {}
    for batch in (64, 1024):
        sink = io.StringIO()
        before = load()
        started = time.perf_counter()
        counts = api.predict(trained, [str(data / "u1.test")], sink, batch_size=batch)
        wall = time.perf_counter() - started
        out[f"predict_batch{batch}"] = {"pairs": counts["predicted"], "wall_s": round(wall, 2),
                                        "pairs_per_s": round(counts["predicted"] / wall), "load": before}
    sink = io.StringIO()
    before = load()
    started = time.perf_counter()
    counts = api.predict(trained, [str(data / "u1.test")], sink, recommend=10)
    out["recommend10_all_users"] = {"users": counts["predicted"], "wall_s": round(time.perf_counter() - started, 2),
                                    "load": before, **{k: v for k, v in counts.items() if "@" in k}}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="the ml-100k folder (u1.base, u1.test)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--models", nargs="+", default=MODELS, help=f"models, or these variants: {', '.join(VARIANTS)}")
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--surprise-python", help="python of a virtual environment with scikit-surprise")
    parser.add_argument("--merge", type=Path, nargs="+", default=[],
                        help="workdirs of earlier runs of this script (e.g. one per model, run side by side) whose "
                             "runs join WORKDIR's summary")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    results_file = args.workdir / "summary.json"
    results = json.loads(results_file.read_text()) if results_file.exists() else {"runs": []}
    for other in args.merge:
        found = json.loads((other / "summary.json").read_text())
        have = {(r["model"], r["seed"]) for r in results["runs"]}
        for r in found["runs"]:
            if (r["model"], r["seed"]) not in have:
                results["runs"].append({**r, "workdir": str(other)})
        for key in ("surprise", "speed"):
            if key in found and key not in results:
                results[key] = found[key]
    results_file.write_text(json.dumps(results, indent=2))
    if args.merge:
        args.models = []
    done = {(r["model"], r["seed"]) for r in results["runs"]}
    for model in args.models:
        for seed in args.seeds:
            if (model, seed) in done:
                continue
            out = args.workdir / f"{model}-seed{seed}"
            if out.exists():
                import shutil

                shutil.rmtree(out)
            r = train_one(args.data, model, seed, out)
            results["runs"].append(r)
            results_file.write_text(json.dumps(results, indent=2))
            print(f"{model} seed {seed}: train {r['train_rmse']:.4f} test {r['test_rmse']:.4f}  "
                  f"{r['wall_s']} s, {r['epochs']} epochs, {r['epoch_s']} s/epoch (load {r['load_before']}-{r['load_after']})",
                  flush=True)
    if args.surprise_python and "surprise" not in results:
        runs = []
        for seed in args.seeds:
            before = load()
            proc = subprocess.run([args.surprise_python, "-c", SURPRISE, str(args.data / "u1.base"),
                                   str(args.data / "u1.test"), str(seed)], capture_output=True, text=True, check=True)
            runs.append({**json.loads(proc.stdout.strip().splitlines()[-1]), "seed": seed, "load": before})
            print(f"surprise SVD seed {seed}: {runs[-1]}", flush=True)
        results["surprise"] = runs
        results_file.write_text(json.dumps(results, indent=2))
    from gnncli.domains import get_domain

    default = get_domain("ratings").default_model
    run0 = next((Path(r.get("workdir", args.workdir)) / f"{default}-seed0" for r in results["runs"]
                 if r["model"] == default and r["seed"] == 0), args.workdir / f"{default}-seed0")
    if (run0 / "metrics.json").exists() and "speed" not in results:
        results["speed"] = speed(run0, args.data)
        results_file.write_text(json.dumps(results, indent=2))
    report(results, default)


def report(results: dict, default: str) -> None:
    rows = {}
    for r in results["runs"]:
        rows.setdefault(r["model"], []).append(r)
    print("\n| model | train RMSE | test RMSE | test - train | wall per run | s per epoch | epochs |")
    print("|---|---|---|---|---|---|---|")
    for model, runs in rows.items():
        tr, te = [r["train_rmse"] for r in runs], [r["test_rmse"] for r in runs]
        gap = [b - a for a, b in zip(tr, te)]
        print(f"| {model}{' (default)' if model == default else ''} | {mean_sd(tr)} | {mean_sd(te)} | {mean_sd(gap)} | "
              f"{statistics.median(r['wall_s'] for r in runs):.0f} s | "
              f"{statistics.median(r['epoch_s'] for r in runs if r['epoch_s']):.2f} | "
              f"{statistics.median(r['epochs'] for r in runs):.0f} |")
    if "surprise" in results:
        s = results["surprise"]
        print(f"| Surprise SVD | {mean_sd([r['train_rmse'] for r in s])} | {mean_sd([r['test_rmse_known'] for r in s])} "
              f"(all {s[0]['test']}: {mean_sd([r['test_rmse'] for r in s])}) | "
              f"{mean_sd([r['test_rmse_known'] - r['train_rmse'] for r in s])} | "
              f"{statistics.median(r['wall_s'] for r in s):.1f} s | - | 20 |")
    means = {m: statistics.mean(r["test_rmse"] for r in runs) for m, runs in rows.items()}
    gaps = {m: statistics.mean(r["test_rmse"] - r["train_rmse"] for r in runs) for m, runs in rows.items()}
    print("\nclaims:")
    for m in ("linear", "fcnn", "graph-filter", "gnn"):
        if m in gaps:
            print(f"  {m}: test - train = {gaps[m]:+.4f}")
    if "gnn" in means and "graph-filter" in means:
        print(f"  gnn beats graph-filter on test RMSE: {means['gnn'] < means['graph-filter']} "
              f"({means['gnn']:.4f} vs {means['graph-filter']:.4f})")
    if means:
        best = min(means, key=means.get)
        is_default = VARIANTS.get(best, (best,))[0] == default  # gcmc+feat is the default model with more input
        print(f"  best test RMSE: {best} {means[best]:.4f}; default model {default}: best = {is_default}; "
              f"at most 0.905: {means[best] <= 0.905}")
    if "speed" in results:
        print("\nspeed:", json.dumps(results["speed"]))


if __name__ == "__main__":
    main()
