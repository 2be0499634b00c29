#!/usr/bin/env python3
"""Binding sites on PDBbind complexes: k-fold cross-validation by sequence cluster.

    python benchmarks/proteins_sites.py --data ../shared/data/proteins/pdbbind2020_sites_train \
        --workdir /tmp/bench/sites --folds 5

Width, depth, epochs, patience, batch size and learning rate default to ``gnn train``'s for
proteins (EGNN at 64 wide, 4 deep, 80 epochs, patience 20, batch 4, 1e-3); for held-out clusters
scored through the commands themselves, see ``benchmarks/proteins_heldout.py``.

Trains ``gnn train DATA --task binding-site --split kfold --folds K --group-col seq_cluster`` once
with plain EGNN and once with VN-EGNN (``--virtual-node``), through ``gnncli.api`` (the same code
as the CLI); ``--ensemble E`` trains E models per fold and averages them (``gnn train --ensemble``). With k-fold, every complex is predicted once, by the model of the fold that held out
its whole sequence cluster. Beside them, on the same folds and the same per-residue features
(the node features, 38 with featurizer version 2, no graph), a logistic regression (L2, fitted with L-BFGS on each fold's
training and validation residues, features standardized on them). Reports per-residue ROC-AUC,
PR-AUC, MCC and F1 (threshold 0.5; the logistic regression is class-weighted like the GNN), and
the top-1 (n = 1 ligand per complex) DCA and DCC success rates of the ranked pockets
(:mod:`gnncli.domains.proteins.pockets`). Writes WORKDIR/summary.json and prints a Markdown table,
with the load average (``uptime``) before and after each run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's gnncli, not an installed one


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def train_gnn(args, name: str, virtual_node: bool) -> dict:
    from gnncli import api
    from gnncli.models import ModelConfig

    out = args.workdir / name
    opts = api.TrainOptions(
        data=str(args.data), kind="proteins", task="binding-site", split="kfold", folds=args.folds, ensemble=args.ensemble,
        model=ModelConfig(name="egnn", hidden=args.hidden, depth=args.depth, virtual_node=virtual_node, level="node"),
        loop=api.LoopConfig(epochs=args.epochs, batch_size=args.batch_size, patience=args.patience, seed=args.seed,
                            device="cpu", max_lr=args.lr, init_lr=args.lr / 10, final_lr=args.lr / 10),
        out=str(out), plots=False, options={"group_col": "seq_cluster"},
    )
    before = load_average()
    started = time.perf_counter()
    summary = api.train(opts)
    wall = time.perf_counter() - started
    test = summary["test"]
    return {"model": name, **{k: test[k] for k in ("roc_auc", "pr_auc", "mcc", "f1", "dca_top_n", "dcc_top_n",
                                                   "dca_top_n2", "ligands")},
            "wall_s": round(wall, 1), "load_before": before, "load_after": load_average(), "run": str(out)}


def logistic_baseline(args, run: Path) -> dict:
    """Logistic regression on the node features, on the folds of ``run`` (its splits.json)."""
    import torch

    from gnncli import api
    from gnncli.domains import get_domain
    from gnncli.domains.proteins.pockets import find_pockets, success_rates
    from gnncli.domains.proteins.task import f1
    from gnncli.io import read_json
    from gnncli.progress import Reporter
    from gnncli.train.metrics import mcc, pr_auc, roc_auc

    domain = get_domain("proteins")
    opts = api.TrainOptions(data=str(args.data), kind="proteins", task="binding-site", options={"group_col": "seq_cluster"})
    data = domain.prepare(opts, Reporter())
    pack = data.pack
    x_all, y_all = pack.x.double(), pack.y[:, 0].double()
    ptr = pack.node_ptr.numpy()
    splits = read_json(run / "splits.json")
    before = load_average()
    started = time.perf_counter()
    ys, ps, per_protein = [], [], []
    for split in splits:
        fit_graphs = np.concatenate([split["train"], split["val"]]).astype(int)
        fit = np.concatenate([np.arange(ptr[g], ptr[g + 1]) for g in fit_graphs])
        x, y = x_all[fit], y_all[fit]
        mean, sd = x.mean(0), x.std(0).clamp(min=1e-6)
        pos_weight = float(np.sqrt(float((1 - y).sum()) / float(y.sum())))
        w = torch.zeros(x.size(1), dtype=torch.float64, requires_grad=True)
        b = torch.zeros(1, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.LBFGS([w, b], max_iter=200, line_search_fn="strong_wolfe")
        xs = (x - mean) / sd
        weight = torch.where(y > 0.5, pos_weight, 1.0)

        def closure():
            opt.zero_grad()
            logits = xs @ w + b
            loss = (torch.nn.functional.binary_cross_entropy_with_logits(logits, y, reduction="none") * weight).sum() / weight.sum()
            loss = loss + 1e-3 * (w * w).sum()
            loss.backward()
            return loss

        opt.step(closure)
        with torch.no_grad():
            for g in split["test"]:
                nodes = slice(ptr[g], ptr[g + 1])
                p = torch.sigmoid(((x_all[nodes] - mean) / sd) @ w + b).numpy()
                ys.append(y_all[nodes].numpy())
                ps.append(p)
                res = data.extra["residues"][g]
                per_protein.append((find_pockets(p, res["pos"], res["center"]), data.extra["ligands"][g]))
    y, p = np.concatenate(ys)[:, None], np.concatenate(ps)[:, None]
    mask = np.ones_like(y, dtype=bool)
    rates = success_rates(per_protein)
    return {"model": "logistic regression (same features)", "roc_auc": float(roc_auc(y, p, mask)[0]),
            "pr_auc": float(pr_auc(y, p, mask)[0]), "mcc": float(mcc(y, p, mask)[0]), "f1": f1(y[:, 0], p[:, 0], mask[:, 0]),
            "dca_top_n": rates["dca_top_n"], "dcc_top_n": rates["dcc_top_n"], "dca_top_n2": rates["dca_top_n2"],
            "ligands": rates["ligands"], "wall_s": round(time.perf_counter() - started, 1), "load_before": before,
            "load_after": load_average(), "run": str(run)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--workdir", type=Path, required=True)
    from gnncli.models import ModelConfig
    from gnncli.models.config import loop_defaults

    # the defaults are gnn train's for proteins (EGNN's registration for the kind), one recipe
    model, loop = ModelConfig(name="egnn", kind="proteins"), loop_defaults("egnn", "proteins")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=loop["epochs"])
    parser.add_argument("--patience", type=int, default=loop["patience"])
    parser.add_argument("--hidden", type=int, default=model.hidden)
    parser.add_argument("--depth", type=int, default=model.depth)
    parser.add_argument("--batch-size", type=int, default=loop["batch_size"])
    parser.add_argument("--lr", type=float, default=loop["lr"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ensemble", type=int, default=1, help="models per fold (seeds seed, seed+1, ...), averaged")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--models", nargs="+", default=["egnn", "vn-egnn"], choices=["egnn", "vn-egnn"])
    args = parser.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    args.workdir.mkdir(parents=True, exist_ok=True)
    if any((args.workdir / m).exists() for m in args.models):
        sys.exit(f"{args.workdir} holds earlier runs; use a fresh --workdir")
    rows = []
    for name in args.models:
        rows.append(train_gnn(args, name, virtual_node=name == "vn-egnn"))
        print(json.dumps(rows[-1]), flush=True)
    rows.append(logistic_baseline(args, args.workdir / args.models[0]))
    print(json.dumps(rows[-1]), flush=True)
    summary = {"data": str(args.data), "folds": args.folds, "ensemble": args.ensemble, "epochs": args.epochs, "hidden": args.hidden,
               "depth": args.depth, "batch_size": args.batch_size, "seed": args.seed, "cpu_threads": os.cpu_count(),
               "rows": rows}
    (args.workdir / "summary.json").write_text(json.dumps(summary, indent=2))
    print("\n| model | residue ROC-AUC | PR-AUC | MCC | F1 | top-1 DCA | top-1 DCC | top-3 DCA | wall | load avg before / after |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['model']} | {r['roc_auc']:.3f} | {r['pr_auc']:.3f} | {r['mcc']:.3f} | {r['f1']:.3f} | "
              f"{r['dca_top_n']:.3f} | {r['dcc_top_n']:.3f} | {r['dca_top_n2']:.3f} | {r['wall_s']:.0f} s | "
              f"{r['load_before']} / {r['load_after']} |")


if __name__ == "__main__":
    main()
