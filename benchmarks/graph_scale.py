"""One large graph on one machine: a generated graph of 2 million nodes and 20 million edges.

``generate`` writes a graph of the graph kind to a folder: ``edges.npz`` (``edge_index`` [2, E],
each undirected edge once), ``nodes.csv`` (``id,label,split``: 16 planted communities, half the
nodes for training, a tenth for validation, the rest for test) and ``features.npy`` (float32
[N, 128], memory-mapped in training: noise plus a direction of the node's community). Each edge
joins a random node to one of its own community with probability ``--homophily``, else to any node.

``run`` trains, each as a separate ``gnn train`` process so that its peak memory (max RSS) is its own:

* GraphSAGE with neighbour sampling (fan-out 15,10, batch 1,024), one epoch;
* Cluster-GCN (``--batching cluster``), one epoch;
* SGC, end to end (read, propagate twice, train, score every node);
* full-batch GraphSAGE, one epoch, under an address-space limit (``--full-limit-gb``) so that
  running out of memory fails that process alone;

and reads each run's seconds per epoch (``metrics.csv``), test accuracy (layer-wise inference over
all nodes) and the process's wall time and peak memory. ``sampler`` times our neighbour sampler
(and PyG's ``NeighborLoader`` where pyg-lib or torch-sparse is importable) in sampled nodes per second.

Example::

    python benchmarks/graph_scale.py generate /tmp/big --nodes 2000000 --edges 20000000
    python benchmarks/graph_scale.py run /tmp/big --workdir /tmp/bench/scale --json /tmp/bench/scale.json
    python benchmarks/graph_scale.py sampler /tmp/big
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np


def generate(folder: Path, nodes: int, edges: int, features: int, classes: int, homophily: float, seed: int) -> None:
    import pandas as pd

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, nodes)
    order = np.argsort(labels, kind="stable")  # the members of each community, for same-community ends
    bounds = np.searchsorted(labels[order], np.arange(classes + 1))
    t = time.perf_counter()
    src = rng.integers(0, nodes, edges)
    same = rng.random(edges) < homophily
    dst = rng.integers(0, nodes, edges)
    c = labels[src[same]]
    lo, hi = bounds[c], bounds[c + 1]
    dst[same] = order[lo + (rng.random(len(c)) * (hi - lo)).astype(np.int64)]
    np.savez(folder / "edges.npz", edge_index=np.stack([src, dst]), num_nodes=np.int64(nodes))
    centers = rng.normal(size=(classes, features)).astype(np.float32)
    x = np.lib.format.open_memmap(folder / "features.npy", mode="w+", dtype=np.float32, shape=(nodes, features))
    for a in range(0, nodes, 1 << 18):
        b = min(nodes, a + (1 << 18))
        x[a:b] = rng.normal(size=(b - a, features)).astype(np.float32) * 2.0 + 0.3 * centers[labels[a:b]]
    x.flush()
    del x
    split = np.where(rng.random(nodes) < 0.5, "train", np.where(rng.random(nodes) < 0.2, "val", "test"))
    pd.DataFrame({"id": np.arange(nodes), "label": labels, "split": split}).to_csv(folder / "nodes.csv", index=False)
    print(f"wrote {folder}: {nodes:,} nodes, {edges:,} edges, {features} features in {time.perf_counter() - t:.0f} s")


def _measured(cmd: list[str], *, limit_gb: float | None = None) -> dict:
    """Run ``cmd`` as a child of a fresh Python (so its max RSS is its own): wall seconds, peak MB, exit code."""
    code = (
        "import resource, subprocess, sys, time, json\n"
        f"limit = {limit_gb!r}\n"
        "def cap():\n"
        "    if limit: resource.setrlimit(resource.RLIMIT_AS, (int(limit * 2**30), int(limit * 2**30)))\n"
        "t = time.perf_counter()\n"
        f"p = subprocess.run({cmd!r}, preexec_fn=cap, capture_output=True, text=True)\n"
        "print(json.dumps({'seconds': time.perf_counter() - t, 'peak_mb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,"
        " 'exit': p.returncode, 'tail': (p.stdout + p.stderr).strip().splitlines()[-1:]}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(folder: Path, workdir: Path, full_limit_gb: float, skip: list[str]) -> dict:
    import pandas as pd

    workdir.mkdir(parents=True, exist_ok=True)
    base = ["gnn", "train", str(folder), "--no-plots", "--json"]
    configs = {
        "sage-neighbor": ["--model", "sage", "--batching", "neighbor", "--fanout", "15,10", "--batch-size", "1024",
                          "--hidden", "256", "--epochs", "1"],
        "cluster-gcn": ["--model", "sage", "--batching", "cluster", "--hidden", "256", "--epochs", "1"],
        "sgc": ["--model", "sgc"],
        "sage-full": ["--model", "sage", "--batching", "full", "--hidden", "256", "--epochs", "1"],
    }
    results = {}
    for name, args in configs.items():
        if name in skip:
            continue
        out = workdir / name
        if out.exists():
            import shutil

            shutil.rmtree(out)
        measured = _measured([*base, *args, "--out", str(out)], limit_gb=full_limit_gb if name == "sage-full" else None)
        row = {"process_seconds": round(measured["seconds"], 1), "peak_gb": round(measured["peak_mb"] / 1024, 2),
               "exit": measured["exit"]}
        if measured["exit"] == 0:
            history = pd.read_csv(out / "metrics.csv")
            summary = json.loads((out / "metrics.json").read_text())
            row.update(epoch_seconds=float(history["seconds"].iloc[0]), epochs=int(len(history)),
                       test_accuracy=round(summary["test"]["accuracy"], 4))
        else:
            row["error"] = " ".join(measured["tail"])
        results[name] = row
        print(name, row, flush=True)
    return results


def sampler(folder: Path, batches: int, batch_size: int, fanouts: tuple[int, ...]) -> dict:
    import torch

    from gnncli.domains.graph import sampling
    from gnncli.domains.graph.reader import GraphFiles, read_graph_input
    from gnncli.domains.graph.data import NodeGraph

    table = read_graph_input(GraphFiles.find(str(folder), None, None))
    g = NodeGraph.from_edges(table.ids, table.x, table.src, table.dst)
    gen = torch.Generator().manual_seed(0)
    seeds = torch.randperm(g.num_nodes, generator=gen)[: batches * batch_size]
    out = {}
    t, total = time.perf_counter(), 0
    for b in range(batches):
        nodes, _, _ = sampling.sample_neighbors(g.rowptr, g.col, seeds[b * batch_size:(b + 1) * batch_size], fanouts,
                                                generator=gen, mapping=g.mapping())
        total += nodes.numel()
    out["ours"] = {"nodes_per_second": total / (time.perf_counter() - t), "batches": batches}
    if sampling.have_pyg_sampler():
        from torch_geometric.data import Data
        from torch_geometric.loader import NeighborLoader

        loader = NeighborLoader(Data(edge_index=g.edge_index(), num_nodes=g.num_nodes), num_neighbors=list(fanouts),
                                input_nodes=seeds, batch_size=batch_size)
        t, total = time.perf_counter(), 0
        for sub in loader:
            total += sub.num_nodes
        out["pyg"] = {"nodes_per_second": total / (time.perf_counter() - t), "batches": batches}
    else:
        out["pyg"] = "not importable here (needs pyg-lib or torch-sparse)"
    print(json.dumps(out, indent=1))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    g = sub.add_parser("generate")
    g.add_argument("folder", type=Path)
    g.add_argument("--nodes", type=int, default=2_000_000)
    g.add_argument("--edges", type=int, default=20_000_000)
    g.add_argument("--features", type=int, default=128)
    g.add_argument("--classes", type=int, default=16)
    g.add_argument("--homophily", type=float, default=0.7)
    g.add_argument("--seed", type=int, default=0)
    r = sub.add_parser("run")
    r.add_argument("folder", type=Path)
    r.add_argument("--workdir", type=Path, default=Path("/tmp/bench/scale"))
    r.add_argument("--full-limit-gb", type=float, default=20.0)
    r.add_argument("--skip", default="", help="configurations to leave out, comma-separated")
    r.add_argument("--json", type=Path, default=None)
    s = sub.add_parser("sampler")
    s.add_argument("folder", type=Path)
    s.add_argument("--batches", type=int, default=50)
    s.add_argument("--batch-size", type=int, default=1024)
    s.add_argument("--fanout", default="15,10")
    args = parser.parse_args()
    if args.command == "generate":
        generate(args.folder, args.nodes, args.edges, args.features, args.classes, args.homophily, args.seed)
    elif args.command == "run":
        results = run(args.folder, args.workdir, args.full_limit_gb, [s for s in args.skip.split(",") if s])
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(results, indent=1))
    else:
        sampler(args.folder, args.batches, args.batch_size, tuple(int(f) for f in args.fanout.split(",")))


if __name__ == "__main__":
    main()
