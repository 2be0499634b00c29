#!/usr/bin/env python3
"""Sharded prediction against one process: ``gnn predict --shard I/N`` x N concurrently, then
``gnn predict --merge``, against one ``gnn predict`` over the same library.

    python benchmarks/make_library.py --source ../shared/data/molecules/HIV.csv --rows 1000000 \\
        --out /tmp/library_1m.smi
    gnn train ../shared/data/molecules/delaney-processed.csv --target "measured log solubility in mols per litre" \\
        --epochs 5 --no-plots --out /tmp/shardrun
    python benchmarks/sharding.py --run /tmp/shardrun --library /tmp/library_1m.smi --shards 4

Each prediction is its own ``gnn`` process (as N jobs of a Slurm array or GNU parallel would be),
all N shards started at once on this machine; every process chooses its own worker count unless
``--workers`` says. The library is read once beforehand so that every run finds it in the page
cache. Reported: the wall time of the single process, of the N shards (start of the first to end
of the last) and of the merge, each shard's own time and rows, and whether the merged CSV is the
single process's byte for byte (compared by SHA-256; where not, the rows are compared with a
relative float tolerance of 1e-6 and the largest difference is reported). Exit code 1 when the
outputs differ.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's gnncli

from gnncli.io import sha256_file  # noqa: E402


def gnn() -> list[str]:
    exe = shutil.which("gnn")
    return [exe] if exe else [sys.executable, "-c", "from gnncli.cli.main import main; main()"]


def predict_args(args, out: Path, *extra: str) -> list[str]:
    cmd = [*gnn(), "predict", args.run, args.library, "--chunk-size", str(args.chunk_size), "--out", str(out), "--json"]
    if args.workers is not None:
        cmd += ["--workers", str(args.workers)]
    if args.device:
        cmd += ["--device", args.device]
    return cmd + list(extra)


def counts_of(stdout: str) -> dict:
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    return json.loads(lines[-1]) if lines else {}


def run_one(cmd: list[str]) -> tuple[float, dict]:
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr.strip().splitlines()[-1:]}")
    return seconds, counts_of(done.stdout)


def run_shards(args, folder: Path) -> tuple[float, list[dict], list[Path]]:
    """All N shards at once; the wall time from the first start to the last end, and each shard's."""
    parts = [folder / f"part{i}.csv" for i in range(1, args.shards + 1)]
    logs = [(folder / f"part{i}.json", folder / f"part{i}.log") for i in range(1, args.shards + 1)]
    start = time.perf_counter()
    procs = []
    for i, (part, (out_log, err_log)) in enumerate(zip(parts, logs), 1):
        with open(out_log, "w") as out, open(err_log, "w") as err:
            procs.append(subprocess.Popen(predict_args(args, part, "--shard", f"{i}/{args.shards}"), stdout=out, stderr=err))
    ended: dict[int, float] = {}
    try:
        while len(ended) < len(procs):
            for i, proc in enumerate(procs):
                if i not in ended and proc.poll() is not None:
                    ended[i] = time.perf_counter()
            time.sleep(0.05)
    finally:  # interrupted: leave no shard running
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
    report = []
    for i, proc in enumerate(procs):
        if proc.returncode != 0:
            sys.exit(f"shard {i + 1}/{args.shards} failed ({proc.returncode}): {logs[i][1].read_text().strip().splitlines()[-1:]}")
        counts = counts_of(logs[i][0].read_text())
        report.append({"shard": f"{i + 1}/{args.shards}", "rows": counts.get("rows"), "invalid": counts.get("invalid"),
                       "seconds": round(ended[i] - start, 2)})
    return max(ended.values()) - start, report, parts


def compare(single: Path, merged: Path) -> dict:
    if sha256_file(single) == sha256_file(merged):
        return {"identical": "byte for byte"}
    import numpy as np
    import pandas as pd

    a = pd.read_csv(single, keep_default_na=False, dtype=str)
    b = pd.read_csv(merged, keep_default_na=False, dtype=str)
    if list(a.columns) != list(b.columns) or len(a) != len(b):
        return {"identical": False, "why": f"shape {a.shape} vs {b.shape}, columns {list(a.columns)} vs {list(b.columns)}"}
    worst = 0.0
    for col in a.columns:
        if (a[col] == b[col]).all():
            continue
        x, y = pd.to_numeric(a[col], errors="coerce"), pd.to_numeric(b[col], errors="coerce")
        if ((x.isna() != y.isna()) | (x.isna() & (a[col] != b[col]))).any():
            return {"identical": False, "why": f"column {col} differs in text"}
        rel = (np.abs(x - y) / np.maximum(np.abs(x), 1e-12)).max()
        worst = max(worst, float(rel))
    return {"identical": "rows within 1e-6 relative" if worst <= 1e-6 else False, "max_relative_difference": worst}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", required=True, help="run folder written by gnn train")
    ap.add_argument("--library", required=True, help="molecule file to predict (e.g. from make_library.py)")
    ap.add_argument("--shards", type=int, default=4, help="N: concurrent gnn predict --shard I/N processes (default 4)")
    ap.add_argument("--chunk-size", type=int, default=10_000, help="gnn predict --chunk-size (default 10000)")
    ap.add_argument("--workers", type=int, default=None, help="gnn predict --workers for every process (default: its own choice)")
    ap.add_argument("--device", default=None, help="gnn predict --device (default: its own, auto)")
    ap.add_argument("--out-dir", type=Path, default=None, help="where the CSVs go (default: a temporary folder, removed)")
    args = ap.parse_args()
    if args.shards < 1:
        ap.error("--shards must be at least 1")

    folder = args.out_dir or Path(tempfile.mkdtemp(prefix="gnn-sharding-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        with open(args.library, "rb") as handle:  # into the page cache, for every run alike
            while handle.read(1 << 24):
                pass
        single_path = folder / "single.csv"
        single_s, single = run_one(predict_args(args, single_path))
        print(f"one process: {single.get('rows', 0):,} rows in {single_s:.1f} s", file=sys.stderr)
        shards_s, shards, parts = run_shards(args, folder)
        print(f"{args.shards} shards at once: {shards_s:.1f} s", file=sys.stderr)
        merged_path = folder / "merged.csv"
        merge_s, merged = run_one([*gnn(), "predict", "--merge", *map(str, parts), "--out", str(merged_path), "--json"])
        print(f"merge: {merged.get('rows', 0):,} rows in {merge_s:.1f} s", file=sys.stderr)
        check = compare(single_path, merged_path)
        result = {
            "library": args.library, "rows": single.get("rows"), "invalid": single.get("invalid"),
            "cpus": os.cpu_count(), "chunk_size": args.chunk_size, "workers": args.workers,
            "single_seconds": round(single_s, 2), "shards": args.shards, "shards_seconds": round(shards_s, 2),
            "merge_seconds": round(merge_s, 2), "sharded_total_seconds": round(shards_s + merge_s, 2),
            "per_shard": shards, "merged_rows": merged.get("rows"), **check,
        }
        print(json.dumps(result))
        print(f"| {result['rows']:,} rows | one process {single_s:.1f} s | {args.shards} shards {shards_s:.1f} s "
              f"+ merge {merge_s:.1f} s = {shards_s + merge_s:.1f} s | identical: {check['identical']} |", file=sys.stderr)
        if not check["identical"]:
            sys.exit(1)
    finally:
        if args.out_dir is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
