#!/usr/bin/env python3
"""Training time at the scale of MovieLens-latest-small (610 users, 9,724 items, 100,836 ratings).

    python benchmarks/ratings_scale.py --workdir /tmp/bench/scale --models gnn graph-filter gcmc linear fcnn
    python benchmarks/ratings_scale.py --data ml-latest-small/ratings.csv --workdir /tmp/bench/scale

With ``--data``, the given ratings file; without, a generated one of the same shape (written to
WORKDIR/ratings.csv): half-star ratings, item popularity following a Zipf law, every user with
at least 20 ratings, and ratings from two latent tastes plus noise, so the item graph has structure.
For each model, ``gnn train FILE --model M --epochs E`` runs in process, timed as a whole (reading,
item graph, training, evaluation) and per epoch (median time between epoch updates). Prints one
line per model and writes WORKDIR/summary.json, with the machine's load.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.ratings_models import EpochClock, load  # noqa: E402
from gnncli import api  # noqa: E402
from gnncli.models import ModelConfig  # noqa: E402
from gnncli.models.config import loop_defaults  # noqa: E402


def generate(path: Path, users: int = 610, items: int = 9724, ratings: int = 100_836, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    popularity = 1.0 / np.arange(1, items + 1) ** 0.9
    popularity /= popularity.sum()
    weight = rng.pareto(1.5, users) + 1
    per_user = 20 + rng.multinomial(ratings - 20 * users, weight / weight.sum())
    per_user = np.minimum(per_user, items // 2)
    taste_u, taste_i = rng.normal(size=(users, 2)), rng.normal(size=(2, items))
    bias_i = rng.normal(0, 0.5, items)
    rows = []
    for u, n in enumerate(per_user):
        n = min(n, items)
        chosen = rng.choice(items, size=n, replace=False, p=popularity)
        value = 3.5 + bias_i[chosen] + 0.6 * taste_u[u] @ taste_i[:, chosen] + rng.normal(0, 0.7, n)
        value = np.clip(np.round(value * 2) / 2, 0.5, 5.0)
        rows += [f"{u + 1},{i + 1},{v:g},{1_000_000 + k}" for k, (i, v) in enumerate(zip(chosen, value))]
    path.write_text("userId,movieId,rating,timestamp\n" + "\n".join(rows) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path)
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--models", nargs="+", default=["gnn", "graph-filter", "gcmc", "linear", "fcnn"])
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    data = args.data
    if data is None:
        data = args.workdir / "ratings.csv"
        if not data.exists():
            generate(data)
    n = sum(1 for _ in open(data)) - 1
    results = {"data": str(data), "ratings": n, "runs": []}
    for model in args.models:
        d = loop_defaults(model)
        out = args.workdir / model
        if out.exists():
            import shutil

            shutil.rmtree(out)
        opts = api.TrainOptions(data=str(data), model=ModelConfig(name=model), plots=False, out=str(out),
                                loop=api.LoopConfig(epochs=args.epochs, batch_size=d["batch_size"], max_lr=d["lr"],
                                                    init_lr=d["lr"] / 10, final_lr=d["lr"] / 10, patience=None))
        clock = EpochClock()
        before = load()
        started = time.perf_counter()
        summary = api.train(opts, clock)
        wall = time.perf_counter() - started
        epochs = clock.epoch_times()
        run = {"model": model, "wall_s": round(wall, 1), "epochs": len(epochs),
               "epoch_s": round(statistics.median(epochs), 2), "first_epoch_s": round(epochs[0], 2),
               "items": summary["ratings"]["items"], "users": summary["ratings"]["users"],
               "test_rmse": summary["test"]["rmse"], "load_before": before, "load_after": load(),
               "threads": os.environ.get("OMP_NUM_THREADS", "default")}
        results["runs"].append(run)
        print(json.dumps(run), flush=True)
    (args.workdir / "summary.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
