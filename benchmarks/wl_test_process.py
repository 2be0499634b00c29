"""Whole-process speed of ``gnn wl-test`` on two edge-list files, against networkx.

Writes two seeded edge-list CSVs (``source,target``): a random G(n, m) graph with
``--nodes`` nodes and ``--edges`` distinct edges (nodes without an edge do not appear in
an edge list), and a random relabelling of it with its rows shuffled. Then runs, as
separate processes, ``--repeats`` times each and alternating:

* ours: ``python -m gnncli.cli.main wl-test A.csv B.csv`` (read both files, 1-WL to
  stable colours, compare the colour histograms of every iteration);
* networkx: read both files with ``pandas.read_csv``, build ``nx.Graph`` objects with
  ``nx.from_pandas_edgelist`` and hash them with ``nx.weisfeiler_lehman_graph_hash``
  (``--iterations`` rounds).

Start-up (interpreter, imports) is taken out by running the same two commands on a
pair of 3-node files: the *marginal* time of each tool is its median time on the large
pair minus its median time on the small pair. Prints the medians, the marginal times
and their ratio, as JSON.

Example: python benchmarks/wl_test_process.py --nodes 100000 --edges 500000 --repeats 5
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from wl_speed import random_graph

ROOT = Path(__file__).resolve().parents[1]

NETWORKX = """
import sys
import networkx as nx
import pandas as pd

hashes = []
for path in sys.argv[2:4]:
    edges = pd.read_csv(path)
    graph = nx.from_pandas_edgelist(edges, "source", "target")
    hashes.append(nx.weisfeiler_lehman_graph_hash(graph, iterations=int(sys.argv[1])))
print("same WL hash" if hashes[0] == hashes[1] else "different WL hashes")
"""


def write_pair(folder: Path, num_nodes: int, num_edges: int, seed: int, stem: str) -> tuple[Path, Path]:
    """A random graph and a random relabelling of it (rows shuffled, ends swapped at random)."""
    edges = random_graph(num_nodes, num_edges, seed)
    rng = np.random.default_rng(seed + 1)
    relabelled = rng.permutation(num_nodes)[edges][:, rng.permutation(edges.shape[1])]
    swap = rng.random(edges.shape[1]) < 0.5
    relabelled[:, swap] = relabelled[::-1, swap]
    paths = folder / f"{stem}_a.csv", folder / f"{stem}_b.csv"
    for path, e in zip(paths, (edges, relabelled)):
        pd.DataFrame({"source": e[0], "target": e[1]}).to_csv(path, index=False)
    return paths


def timed(command: list[str]) -> tuple[float, str]:
    """Wall-clock seconds of ``command`` and its verdict (the output line saying it)."""
    t0 = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr}")
    lines = done.stdout.strip().splitlines()
    return elapsed, next((line for line in lines if line.startswith("verdict")), lines[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=100_000)
    parser.add_argument("--edges", type=int, default=500_000)
    parser.add_argument("--iterations", type=int, default=3, help="networkx WL iterations")
    parser.add_argument("--repeats", type=int, default=5, help="runs of each command (the median is kept)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        pairs = {
            "large": write_pair(folder, args.nodes, args.edges, args.seed, "large"),
            "small": write_pair(folder, 3, 2, args.seed, "small"),
        }
        commands = {
            "gnn wl-test": lambda a, b: [sys.executable, "-m", "gnncli.cli.main", "wl-test", str(a), str(b)],
            "networkx": lambda a, b: [sys.executable, "-c", NETWORKX, str(args.iterations), str(a), str(b)],
        }
        times = {(tool, size): [] for tool in commands for size in pairs}
        verdicts = {}
        for _ in range(args.repeats):
            for size, (a, b) in pairs.items():
                for tool, make in commands.items():
                    elapsed, line = timed(make(a, b))
                    times[tool, size].append(elapsed)
                    verdicts[tool, size] = line
    median = {key: statistics.median(values) for key, values in times.items()}
    marginal = {tool: median[tool, "large"] - median[tool, "small"] for tool in commands}
    report = {
        "nodes": args.nodes,
        "edges": args.edges,
        "repeats": args.repeats,
        "median_s": {f"{tool} ({size})": round(t, 3) for (tool, size), t in median.items()},
        "runs_s": {f"{tool} ({size})": [round(t, 2) for t in values] for (tool, size), values in times.items()},
        "marginal_s": {tool: round(t, 3) for tool, t in marginal.items()},
        "speedup_marginal": round(marginal["networkx"] / marginal["gnn wl-test"], 1),
        "verdict": {f"{tool} ({size})": line for (tool, size), line in verdicts.items()},
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
