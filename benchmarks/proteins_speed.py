#!/usr/bin/env python3
"""Structures per second per core: parse + residue graph, gnn against Biopython and Graphein.

    python benchmarks/proteins_speed.py ../shared/data/proteins/pdb --repeats 5 \
        --graphein-python ~/venvs/graphein/bin/python

One process, one thread (OMP/MKL/OpenBLAS set to 1 before numpy loads), no cache: for each
file, ``read_structure`` (gemmi) and ``ResidueFeaturizer()(structure)`` (node features, KD-tree
sequence/radius/k-NN edges, edge features), i.e. everything ``gnn train`` does per file before
the model; and gemmi's parse alone, for what the rest costs. On a busy shared machine wall-clock time says more about the other jobs than about
the code, so the figure per core is structures per CPU-second of this one single-threaded process
(``time.process_time``); wall-clock rates are printed beside it. Beside it, on the same files: Biopython's ``PDBParser(QUIET=True)`` parsing alone
(the reader the project first named), and Graphein's ``construct_graph`` in its own virtual
environment (benchmarks/proteins_graphein.py). Reports the median over ``--repeats`` passes
(after one warm-up pass) and the load average before and after.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's gnncli


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def timed(fn, files, repeats):
    """Wall-clock and CPU seconds (this process) of each pass over ``files``, after a warm-up pass."""
    for path in files:
        fn(path)
    wall, cpu = [], []
    for _ in range(repeats):
        started, cpu_started = time.perf_counter(), time.process_time()
        for path in files:
            fn(path)
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", nargs="+", help="structure files or folders of them")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--graphein-python", help="python of a virtual environment with graphein installed")
    parser.add_argument("--no-biopython", action="store_true")
    args = parser.parse_args()
    from gnncli.domains.proteins.reader import is_structure_file, read_structure
    from gnncli.domains.proteins.featurizer import ResidueFeaturizer

    files = []
    for given in args.inputs:
        p = Path(given)
        files += sorted(str(f) for f in p.iterdir() if is_structure_file(f.name)) if p.is_dir() else [given]
    featurizer = ResidueFeaturizer()
    residues = sum(len(read_structure(f)) for f in files)
    rows = []
    before = load_average()
    wall, cpu = timed(lambda f: featurizer(read_structure(f)), files, args.repeats)
    rows.append({"tool": "gnn (gemmi + residue graph)", "seconds": wall, "cpu_seconds": cpu, "load": f"{before} / {load_average()}"})
    import gemmi

    before = load_average()
    wall, cpu = timed(lambda f: gemmi.read_structure(f), files, args.repeats)
    rows.append({"tool": "gemmi read_structure (parse only)", "seconds": wall, "cpu_seconds": cpu,
                 "load": f"{before} / {load_average()}"})
    if not args.no_biopython:
        from Bio.PDB import PDBParser

        bio = PDBParser(QUIET=True)
        before = load_average()
        wall, cpu = timed(lambda f: bio.get_structure("x", f), files, args.repeats)
        rows.append({"tool": "Biopython PDBParser (parse only)", "seconds": wall, "cpu_seconds": cpu,
                     "load": f"{before} / {load_average()}"})
    if args.graphein_python:
        before = load_average()
        script = Path(__file__).resolve().parent / "proteins_graphein.py"
        proc = subprocess.run([args.graphein_python, str(script), *files, "--repeats", str(args.repeats)],
                              capture_output=True, text=True, env={**os.environ})
        if proc.returncode != 0:
            sys.exit(f"graphein failed: {proc.stderr.strip().splitlines()[-1:]}")
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        rows.append({"tool": "Graphein construct_graph (C-alpha graph)", "seconds": result["seconds"],
                     "cpu_seconds": result["cpu_seconds"],
                     "load": f"{before} / {load_average()}", "failed": result["failed"]})
    print(f"{len(files)} files, {residues} residues; median of {args.repeats} passes, one core\n")
    print("| tool | wall s per pass | structures/s (wall) | CPU s per pass | structures per CPU-second (one core) | load avg before / after |")
    print("|---|---|---|---|---|---|")
    base = None
    for r in rows:
        median, median_cpu = statistics.median(r["seconds"]), statistics.median(r["cpu_seconds"])
        rate = len(files) / median_cpu
        base = base or rate
        r.update(median_s=round(median, 3), median_cpu_s=round(median_cpu, 3), per_second=round(rate, 1),
                 per_second_wall=round(len(files) / median, 1))
        print(f"| {r['tool']} | {median:.2f} | {len(files) / median:.1f} | {median_cpu:.2f} | {rate:.1f} | {r['load']} |")
    for r in rows[2:]:
        print(f"\ngnn is {base / r['per_second']:.1f}x {r['tool']}")
        if r.get("failed"):
            print(f"  ({len(r['failed'])} files failed there: {', '.join(Path(f).name for f in r['failed'])})")
    print(json.dumps({"files": len(files), "residues": residues, "rows": rows}))


if __name__ == "__main__":
    main()
