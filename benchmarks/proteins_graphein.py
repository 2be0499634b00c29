#!/usr/bin/env python3
"""Graphein's residue graphs of the same files, for benchmarks/proteins_speed.py. Runs in Graphein's
own virtual environment (not a gnn dependency):

    python3 -m venv ~/venvs/graphein && ~/venvs/graphein/bin/pip install graphein==1.7.8
    ~/venvs/graphein/bin/python benchmarks/proteins_graphein.py FILE... --repeats 3

The graph is the closest to gnn's default: C-alpha nodes (Graphein's default granularity) with
its default node features (amino-acid one-hot), peptide bonds, C-alpha pairs within 8 Angstrom and
the 10 nearest neighbours. Prints one JSON object: wall-clock and CPU seconds per repeat over all
files, and failures. (Graphein is single-threaded here: OMP/MKL/OpenBLAS threads are set to 1.)
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from functools import partial


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("files", nargs="+")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    from graphein.protein.config import ProteinGraphConfig
    from graphein.protein.edges.distance import add_distance_threshold, add_k_nn_edges, add_peptide_bonds
    from graphein.protein.graphs import construct_graph

    config = ProteinGraphConfig(verbose=False, edge_construction_functions=[
        add_peptide_bonds, partial(add_distance_threshold, long_interaction_threshold=0, threshold=8.0),
        partial(add_k_nn_edges, k=10, long_interaction_threshold=0)])
    construct_graph(config=config, path=args.files[0])  # warm-up: imports and caches
    times, cpu, failed, nodes = [], [], {}, 0
    for _ in range(args.repeats):
        started, cpu_started = time.perf_counter(), time.process_time()
        for path in args.files:
            try:
                g = construct_graph(config=config, path=path)
                nodes += g.number_of_nodes()
            except Exception as exc:  # noqa: BLE001 -- record and go on, as a batch job would
                failed[path] = f"{type(exc).__name__}: {exc}"[:200]
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
    print(json.dumps({"tool": "graphein", "seconds": times, "cpu_seconds": cpu, "files": len(args.files), "failed": failed,
                      "nodes_per_repeat": nodes // args.repeats}))


if __name__ == "__main__":
    main()
