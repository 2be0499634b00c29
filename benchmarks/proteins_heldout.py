#!/usr/bin/env python3
"""Binding sites on unseen protein families: ``gnn train`` with its defaults, scored on held-out
sequence clusters with ``gnn predict``.

    python benchmarks/proteins_heldout.py --data ../shared/data/proteins/pdbbind2020_sites_train \\
        --workdir /tmp/bench/heldout --folds 5 --seed 0

The complexes of a PDBbind folder (``index.csv`` with ``seq_cluster``) are dealt to ``--folds``
folds by whole sequence cluster (:func:`gnncli.domains.proteins.training.group_kfold`, seeded). For
each fold, the other folds' complexes become a folder of their own (links to the complexes and
their rows of index.csv), and

    gnn train FOLDER --task binding-site --seed SEED --out RUN --no-plots --json
    gnn predict RUN HELD_OUT_FOLDER --out predictions.csv

run as commands, with nothing else: the recipe measured is the defaults (``--no-plots`` and
``--json`` change what is written, not what is trained). Each held-out residue's score is joined to
its label (a heavy atom within 4 Å of the ligand, from the complex's own ligand file, as training
labels it) and residue ROC-AUC and PR-AUC are computed pooled over every fold's held-out residues
(as the issue's 0.763 on 55 unseen complexes was) and per fold. No held-out cluster is seen in
training, validation or early stopping.

``--train-args "..."`` adds options to ``gnn train`` (a recipe other than the defaults, to compare
with); the summary then says ``"defaults": false``. ``--only-folds`` runs some folds (the pooled
figure is then over those). Each run's recipe, read back from its ``config.json`` (width, depth,
dropout, epochs, batch size, learning rate, patience, weight decay, featurizer version, the column
its split kept whole), is in WORKDIR/summary.json beside the figures; :data:`MEASURED_RECIPE` is the
recipe of the published figure, and ``tests/domains/test_proteins_heldout.py`` fails when
``gnn train``'s defaults are no longer that recipe.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's gnncli, not an installed one

#: The recipe ``gnn train FOLDER --task binding-site`` ran with when the README's held-out-cluster
#: figure was measured (as :func:`run_recipe` reads it from a run folder).
MEASURED_RECIPE = {"model": "egnn", "hidden": 64, "depth": 4, "dropout": 0.0, "virtual_node": False, "epochs": 80,
                   "batch_size": 4, "lr": 1e-3, "patience": 20, "weight_decay": 0.0, "warmup": 2.0,
                   "featurizer_version": 2, "split": "random", "group_col": "seq_cluster"}


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def cluster_folds(index, folds: int, seed: int) -> list[list[str]]:
    """The complex ids held out in each of ``folds`` folds, dealt by whole ``seq_cluster``."""
    from gnncli.domains.proteins.training import group_kfold

    ids = index["id"].astype(str).to_numpy()
    return [sorted(ids[test].tolist()) for _, _, test in group_kfold(index["seq_cluster"].astype(str).to_numpy(), folds, seed)]


def subset_folder(data: Path, index, ids: list[str], out: Path) -> Path:
    """A PDBbind folder at ``out`` with the complexes ``ids`` of ``data`` (links) and their index rows."""
    out.mkdir(parents=True, exist_ok=True)
    for cid in ids:
        link = out / cid
        if not link.exists():
            link.symlink_to((data / cid).resolve(), target_is_directory=True)
    index[index["id"].astype(str).isin(ids)].to_csv(out / "index.csv", index=False)
    return out


def gnn(*args: str) -> list[str]:
    return [sys.executable, "-m", "gnncli", *map(str, args)]


def train_command(folder: Path, run: Path, seed: int, extra: list[str] | None = None) -> list[str]:
    """``gnn train`` on ``folder`` with the defaults (and ``extra``, if any)."""
    return gnn("train", folder, "--task", "binding-site", "--seed", seed, "--out", run, "--no-plots", "--json", *(extra or []))


def run_recipe(run: Path) -> dict:
    """What a ``gnn train`` run trained with, read back from its ``config.json``, in
    :data:`MEASURED_RECIPE`'s terms."""
    config = json.loads((run / "config.json").read_text())
    options, model = config["options"], config["model"]
    loop = options["loop"]
    return {"model": model["name"], "hidden": model["hidden"], "depth": model["depth"], "dropout": model["dropout"],
            "virtual_node": model["virtual_node"], "epochs": loop["epochs"], "batch_size": loop["batch_size"],
            "lr": loop["max_lr"], "patience": loop["patience"], "weight_decay": loop["weight_decay"],
            "warmup": loop["warmup_epochs"], "featurizer_version": config["featurizer"]["version"],
            "split": options["split"], "group_col": config["domain"].get("split_groups")}


def residue_labels(folder: Path) -> "pd.DataFrame":
    """Every residue of the complexes in ``folder`` with its binding-site label, as ``gnn train`` labels it."""
    import pandas as pd

    from gnncli import api
    from gnncli.domains import get_domain
    from gnncli.progress import Reporter

    data = get_domain("proteins").prepare(api.TrainOptions(data=str(folder), kind="proteins", task="binding-site"), Reporter())
    y = data.pack.y[:, 0].numpy()
    ptr = data.pack.node_ptr.numpy()
    parts = []
    for g, (item, res) in enumerate(zip(data.extra["items"], data.extra["residues"])):
        parts.append(pd.DataFrame({"complex": Path(item.path).parent.name, "chain": res["chain"],
                                   "resnum": np.asarray(res["resnum"]).astype(int), "icode": res["icode"],
                                   "site": y[ptr[g] : ptr[g + 1]].astype(int)}))
    return pd.concat(parts, ignore_index=True)


def scored_residues(predictions: Path, labels) -> "pd.DataFrame":
    """``gnn predict``'s rows joined to ``labels``; every labelled residue must have one score."""
    import pandas as pd

    table = pd.read_csv(predictions, keep_default_na=False, dtype={"chain": str, "icode": str})
    if (table["error"] != "").any():
        raise SystemExit(f"{predictions}: gnn predict failed on {table.loc[table['error'] != '', 'error'].iloc[0]}")
    table["complex"] = [Path(f).parent.name for f in table["file"]]
    table["resnum"] = table["resnum"].astype(int)
    table["score"] = table["score"].astype(float)
    joined = labels.merge(table[["complex", "chain", "resnum", "icode", "score"]], how="left",
                          on=["complex", "chain", "resnum", "icode"], validate="one_to_one")
    if joined["score"].isna().any():
        missing = joined[joined["score"].isna()].iloc[0]
        raise SystemExit(f"{predictions}: no score for {missing['complex']} {missing['chain']}:{missing['resnum']}")
    return joined


def scores(joined) -> dict:
    from gnncli.train.metrics import pr_auc, roc_auc

    y, p = joined["site"].to_numpy(float)[:, None], joined["score"].to_numpy(float)[:, None]
    mask = np.ones_like(y, dtype=bool)
    return {"roc_auc": float(roc_auc(y, p, mask)[0]), "pr_auc": float(pr_auc(y, p, mask)[0]),
            "complexes": int(joined["complex"].nunique()), "residues": int(len(joined)), "site_residues": int(joined["site"].sum())}


def run_fold(args, index, k: int, held_out: list[str]) -> tuple[dict, object]:
    import pandas as pd

    fold = args.workdir / f"fold{k}"
    train_ids = sorted(set(index["id"].astype(str)) - set(held_out))
    train_dir = subset_folder(args.data, index, train_ids, fold / "train")
    test_dir = subset_folder(args.data, index, held_out, fold / "held_out")
    run = fold / "run"
    before = load_average()
    started = time.perf_counter()
    cpu0 = os.times()
    command = train_command(train_dir, run, args.seed, shlex.split(args.train_args))
    print("$", shlex.join(command), file=sys.stderr, flush=True)
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    train_wall = time.perf_counter() - started
    predictions = fold / "predictions.csv"
    command = gnn("predict", run, test_dir, "--out", predictions)
    print("$", shlex.join(command), file=sys.stderr, flush=True)
    subprocess.run(command, check=True)
    cpu1 = os.times()
    joined = scored_residues(predictions, residue_labels(test_dir))
    metrics = json.loads((run / "metrics.json").read_text())
    history = pd.read_csv(run / "metrics.csv")
    clusters = sorted(set(index.loc[index["id"].astype(str).isin(held_out), "seq_cluster"].astype(str)), key=int)
    row = {"fold": k, **scores(joined), "clusters": clusters, "recipe": run_recipe(run),
           "val_roc_auc": metrics.get("val", {}).get("roc_auc"), "internal_test_roc_auc": metrics.get("test", {}).get("roc_auc"),
           "epochs_run": int(history["epoch"].max()), "best_epoch": int(history.loc[history["val_roc_auc"].idxmax(), "epoch"]),
           "train_wall_s": round(train_wall, 1), "wall_s": round(time.perf_counter() - started, 1),
           "cpu_s": round((cpu1.children_user + cpu1.children_system) - (cpu0.children_user + cpu0.children_system), 1),
           "load_before": before, "load_after": load_average(), "run": str(run)}
    return row, joined


def main() -> None:
    import pandas as pd

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="a PDBbind folder with index.csv (id, seq_cluster)")
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--only-folds", type=int, nargs="+", help="run these folds only (0-based)")
    parser.add_argument("--seed", type=int, default=0, help="seeds the folds and gnn train --seed")
    parser.add_argument("--train-args", default="", help="options added to gnn train (default: none, the defaults)")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    if (args.workdir / "summary.json").exists() or any(args.workdir.glob("fold*/run")):
        sys.exit(f"{args.workdir} holds earlier runs; use a fresh --workdir")
    index = pd.read_csv(args.data / "index.csv", dtype=str, keep_default_na=False)
    folds = cluster_folds(index, args.folds, args.seed)
    rows, joined = [], []
    for k, held_out in enumerate(folds):
        if args.only_folds is not None and k not in args.only_folds:
            continue
        row, scored = run_fold(args, index, k, held_out)
        rows.append(row)
        joined.append(scored)
        print(json.dumps(row), flush=True)
    pooled = scores(pd.concat(joined, ignore_index=True))
    defaults = not args.train_args.strip()
    summary = {"data": str(args.data), "folds": args.folds, "only_folds": args.only_folds, "seed": args.seed,
               "train_args": args.train_args, "defaults": defaults,
               "recipe_is_measured_recipe": all(r["recipe"] == MEASURED_RECIPE for r in rows),
               "threads": os.environ.get("OMP_NUM_THREADS"), "pooled": pooled,
               "mean_fold_roc_auc": float(np.mean([r["roc_auc"] for r in rows])), "rows": rows}
    (args.workdir / "summary.json").write_text(json.dumps(summary, indent=2))
    print("\n| fold | held-out complexes | residues | sites | residue ROC-AUC | PR-AUC | val ROC-AUC | epochs (best) | train wall |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['fold']} | {r['complexes']} | {r['residues']:,} | {r['site_residues']:,} | {r['roc_auc']:.3f} | "
              f"{r['pr_auc']:.3f} | {r['val_roc_auc']:.3f} | {r['epochs_run']} ({r['best_epoch']}) | {r['train_wall_s']:.0f} s |")
    print(f"| pooled | {pooled['complexes']} | {pooled['residues']:,} | {pooled['site_residues']:,} | **{pooled['roc_auc']:.3f}** | "
          f"{pooled['pr_auc']:.3f} | | | |")
    print(f"\nrecipe (defaults: {defaults}, the measured recipe: {summary['recipe_is_measured_recipe']}): "
          f"{json.dumps(rows[0]['recipe']) if rows else '-'}")


if __name__ == "__main__":
    main()
