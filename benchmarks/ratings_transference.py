#!/usr/bin/env python3
"""Transference: a GNN trained on the item graph of the most-rated items runs, unchanged, on the full
item graph.

    python benchmarks/ratings_transference.py --data ../shared/data/ratings/ml-100k --items 200 \
        --seeds 0 1 2 3 4 --workdir /tmp/bench/transference

Per seed: the ratings of u1.base and u1.test are restricted to the ``--items`` items with the most
ratings in u1.base; ``gnn train`` fits a GNN (``--model gnn``, its defaults) on the restricted
u1.base with the restricted u1.test as test file. The trained weights are then run twice more,
without any retraining: on the item graph of the whole of u1.base (all its items; users' signals
now cover every item they rated), scoring (a) the test ratings of the same items and (b) every
test rating. Before and after, the graph and the users' signals are made from the whole of the
(restricted or full) u1.base, so the two differ only in the graph. Prints test RMSE before (small
graph) and after (full graph), mean ± sd over seeds,
and writes WORKDIR/summary.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gnncli import api  # noqa: E402
from gnncli.domains.ratings import DEFAULT_KNN, DEFAULT_MIN_COMMON  # noqa: E402
from gnncli.domains.ratings.data import RatingContext, RatingLoader  # noqa: E402
from gnncli.domains.ratings.task import score  # noqa: E402
from gnncli.models import ModelConfig  # noqa: E402
from gnncli.models.config import loop_defaults  # noqa: E402
from gnncli.runs import load_run  # noqa: E402

COLUMNS = ["user", "item", "rating", "timestamp"]


def read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", header=None, names=COLUMNS, dtype={"user": str, "item": str})


def on_graph(run, base: pd.DataFrame, test: pd.DataFrame, knn: int, min_common: int) -> np.ndarray:
    """Predictions of ``run``'s model for ``test`` pairs, in the context (item graph, signals) of ``base``."""
    users, items = pd.Index(pd.unique(base["user"])), pd.Index(pd.unique(base["item"]))
    context = RatingContext.build(users.get_indexer(base["user"]), items.get_indexer(base["item"]), base["rating"].to_numpy(),
                                  len(users), len(items), knn=knn, min_common=min_common)
    u, i = users.get_indexer(test["user"]), items.get_indexer(test["item"])
    assert (u >= 0).all() and (i >= 0).all()
    loader = RatingLoader(context, u, i, test["rating"].to_numpy(), batch_size=2048, signals=False)
    preds = [run.task.outputs(model, loader, "cpu")[0] for model in run.models]
    return np.mean(preds, axis=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--workdir", type=Path, required=True)
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    base, test = read(args.data / "u1.base"), read(args.data / "u1.test")
    top = base["item"].value_counts().index[: args.items]
    small_base, small_test = base[base["item"].isin(top)], test[test["item"].isin(top)]
    small_base.to_csv(args.workdir / "base.tsv", sep="\t", header=False, index=False)
    small_test.to_csv(args.workdir / "test.tsv", sep="\t", header=False, index=False)
    known_test = test[test["item"].isin(base["item"]) & test["user"].isin(base["user"])]
    small_known = small_test[small_test["user"].isin(small_base["user"])]
    d = loop_defaults("gnn")
    rows = []
    for seed in args.seeds:
        out = args.workdir / f"seed{seed}"
        if not (out / "metrics.json").exists():
            opts = api.TrainOptions(
                data=str(args.workdir / "base.tsv"), options={"test_file": str(args.workdir / "test.tsv")},
                model=ModelConfig(name="gnn"), plots=False, out=str(out),
                loop=api.LoopConfig(epochs=d["epochs"], batch_size=d["batch_size"], max_lr=d["lr"], init_lr=d["lr"] / 10,
                                    final_lr=d["lr"] / 10, warmup_epochs=d["warmup"], patience=d["patience"], seed=seed))
            api.train(opts)
        run = load_run(out)
        summary = json.loads((out / "metrics.json").read_text())
        knn, min_common = run.config["domain"]["knn"] or DEFAULT_KNN, run.config["domain"]["min_common"] or DEFAULT_MIN_COMMON
        before = summary["test"]["rmse"]
        small_graph = score(small_known["rating"].to_numpy(), on_graph(run, small_base, small_known, knn, min_common))["rmse"]
        after_same = score(small_known["rating"].to_numpy(), on_graph(run, base, small_known, knn, min_common))["rmse"]
        after_all = score(known_test["rating"].to_numpy(), on_graph(run, base, known_test, knn, min_common))["rmse"]
        rows.append({"seed": seed, "train_rmse": summary["train"]["rmse"], "run_test_rmse": before, "before": small_graph,
                     "after_same_items": after_same, "after_all_items": after_all})
        print(json.dumps(rows[-1]), flush=True)
    result = {"items": args.items, "small_graph_items": int(small_base["item"].nunique()),
              "full_graph_items": int(base["item"].nunique()), "test_ratings_same_items": len(small_known),
              "test_ratings_all": len(known_test), "runs": rows}
    for key in ("train_rmse", "before", "after_same_items", "after_all_items"):
        values = [r[key] for r in rows]
        result[key] = {"mean": statistics.mean(values), "sd": statistics.stdev(values) if len(values) > 1 else 0.0}
    (args.workdir / "summary.json").write_text(json.dumps(result, indent=2))
    print(f"trained on {result['small_graph_items']} items; test RMSE on their {len(small_known)} test ratings: "
          f"{result['before']['mean']:.4f} ± {result['before']['sd']:.4f} on their own graph, "
          f"{result['after_same_items']['mean']:.4f} ± {result['after_same_items']['sd']:.4f} on the full graph of "
          f"{result['full_graph_items']} items; on all {len(known_test)} test ratings: "
          f"{result['after_all_items']['mean']:.4f} ± {result['after_all_items']['sd']:.4f}")


if __name__ == "__main__":
    main()
