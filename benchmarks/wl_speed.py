"""Speed of colour refinement (1-WL) against networkx's ``weisfeiler_lehman_graph_hash``.

Builds a random graph with ``--nodes`` nodes and ``--edges`` distinct edges (G(n, m)),
runs ``--iterations`` rounds of our vectorized colour refinement and networkx's WL hash
(all nodes given the same label, so both start from one colour), and checks that both
split the nodes into the same colour classes after every iteration.

Example: python benchmarks/wl_speed.py --nodes 100000 --edges 500000 --iterations 3
"""

from __future__ import annotations

import argparse
import json
import time

import networkx as nx
import numpy as np

from gnncli.algorithms.wl import color_refinement
from gnncli.domains.graph.files import Graph


def random_graph(num_nodes: int, num_edges: int, seed: int) -> np.ndarray:
    """``num_edges`` distinct undirected edges without self-loops, shape [2, E]."""
    rng = np.random.default_rng(seed)
    keys = np.zeros(0, dtype=np.int64)
    while keys.size < num_edges:
        u = rng.integers(0, num_nodes, 2 * num_edges)
        v = rng.integers(0, num_nodes, 2 * num_edges)
        keep = u != v
        lo, hi = np.minimum(u, v)[keep], np.maximum(u, v)[keep]
        keys = np.unique(np.concatenate([keys, lo * num_nodes + hi]))
    keys = rng.permutation(keys)[:num_edges]
    return np.vstack([keys // num_nodes, keys % num_nodes])


def same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    pairs = np.unique(np.stack([a, b], axis=1), axis=0)
    return len(pairs) == len(np.unique(a)) == len(np.unique(b))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=100_000)
    parser.add_argument("--edges", type=int, default=500_000)
    parser.add_argument("--iterations", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3, help="ours: best of this many runs")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    edges = random_graph(args.nodes, args.edges, args.seed)
    graph = Graph(num_nodes=args.nodes, edge_index=edges)
    ours = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        result = color_refinement(graph, max_iterations=args.iterations)
        ours.append(time.perf_counter() - t0)

    g = nx.Graph()
    g.add_nodes_from(range(args.nodes), label="0")
    g.add_edges_from(edges.T.tolist())
    t0 = time.perf_counter()
    nx.weisfeiler_lehman_graph_hash(g, node_attr="label", iterations=args.iterations)
    t_nx = time.perf_counter() - t0
    t0 = time.perf_counter()
    node_hashes = nx.weisfeiler_lehman_subgraph_hashes(g, node_attr="label", iterations=args.iterations)
    t_nx_nodes = time.perf_counter() - t0
    agree = []
    for t in range(1, args.iterations + 1):
        theirs = np.unique([node_hashes[v][t - 1] for v in range(args.nodes)], return_inverse=True)[1].ravel()
        agree.append(same_partition(result.node_partition(t), theirs))
    report = {
        "nodes": args.nodes,
        "edges": int(edges.shape[1]),
        "iterations": args.iterations,
        "colours_per_iteration": [int(np.unique(c).size) for c in result.colors],
        "ours_s": min(ours),
        "networkx_graph_hash_s": t_nx,
        "networkx_subgraph_hashes_s": t_nx_nodes,
        "speedup_vs_graph_hash": t_nx / min(ours),
        "same_partition_each_iteration": agree,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
