"""Spectral quality and time of `gnn coarsen` methods on a random geometric graph.

Builds a random geometric graph (``--nodes`` uniform points in the unit square, edges
closer than ``--radius``, default ``sqrt(2 ln N / (pi N))``, largest connected component),
coarsens it to ``--ratio`` with every method and reports the mean and max relative error
of the first ``--k`` Laplacian eigenvalues (Loukas's definition, L_c = C L C^T), the
restricted spectral approximation constant and the time. With ``--reference-python`` and
``--reference-script`` it also runs loukasa/graph-coarsening's ``variation_neighborhoods``
in that (separate) Python environment and scores its partition with the same code.

Example: python benchmarks/coarsen_quality.py --nodes 2000 --ratio 0.5 --k 10 \\
    --reference-python ~/venvs/gcoarsen/bin/python --reference-script ~/venvs/gc_ref/run_reference.py
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from gnncli.algorithms.coarsen import METHODS, Coarsening, coarsen_adjacency, coarsening_quality


def random_geometric(num_nodes: int, radius: float | None, seed: int) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    pos = rng.random((num_nodes, 2))
    radius = radius or float(np.sqrt(2 * np.log(num_nodes) / (np.pi * num_nodes)))
    pairs = cKDTree(pos).query_pairs(radius, output_type="ndarray")
    w = sp.coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(num_nodes, num_nodes))
    w = (w + w.T).tocsr()
    _, comp = connected_components(w, directed=False)
    keep = np.flatnonzero(comp == np.bincount(comp).argmax())
    return w[keep][:, keep].tocsr()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=2000)
    parser.add_argument("--radius", type=float, default=None)
    parser.add_argument("--ratio", type=float, default=0.5)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--reference-python", default=None, help="python of the venv with pygsp + graph_coarsening")
    parser.add_argument("--reference-script", default=None, help="script that runs graph_coarsening (see ALGORITHMS.md)")
    args = parser.parse_args()

    w = random_geometric(args.nodes, args.radius, args.seed)
    rows = []
    for method in args.methods.split(","):
        t0 = time.perf_counter()
        c = coarsen_adjacency(w, ratio=args.ratio, method=method, k=args.k, seed=args.seed)
        seconds = time.perf_counter() - t0
        q = coarsening_quality(w, c, k=args.k)
        rows.append({"method": method, "seconds": seconds, **{key: q[key] for key in
                     ("num_supernodes", "mean_relative_error", "max_relative_error", "rsa_epsilon")}})
    if args.reference_python and args.reference_script:
        with tempfile.TemporaryDirectory() as tmp:
            sp.save_npz(Path(tmp) / "w.npz", w)
            out = Path(tmp) / "assign.npy"
            proc = subprocess.run(
                [args.reference_python, args.reference_script, str(Path(tmp) / "w.npz"), str(args.ratio), str(args.k), str(out)],
                capture_output=True, text=True, check=True,
            )
            info = json.loads(proc.stdout.strip().splitlines()[-1])
            assign = np.load(out)
        _, assign = np.unique(assign, return_inverse=True)
        q = coarsening_quality(w, Coarsening(assignment=assign, method="reference"), k=args.k)
        rows.append({"method": "graph-coarsening variation_neighborhoods (reference)", "seconds": info["seconds"],
                     **{key: q[key] for key in ("num_supernodes", "mean_relative_error", "max_relative_error", "rsa_epsilon")}})
    print(f"random geometric graph: {w.shape[0]} nodes, {w.nnz // 2} edges; ratio {args.ratio}, k {args.k}")
    print(f"{'method':<55}{'n':>6}{'mean err':>10}{'max err':>10}{'RSA eps':>9}{'time s':>9}")
    for r in rows:
        eps = f"{r['rsa_epsilon']:.3f}" if r["rsa_epsilon"] is not None else "-"
        print(f"{r['method']:<55}{r['num_supernodes']:>6}{r['mean_relative_error']:>10.4f}"
              f"{r['max_relative_error']:>10.4f}{eps:>9}{r['seconds']:>9.2f}")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
