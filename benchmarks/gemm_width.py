#!/usr/bin/env python3
"""How fast torch's CPU matrix product runs at D-MPNN's width, and at that width padded to 8.

D-MPNN's hot loop is ``[E, H] @ [H, H]`` with E about 3,500 directed bonds per batch of 64 molecules
and H = 300. ``DMPNNEncoder.padded`` widens H to a multiple of 8 with zero weights for inference
(same outputs, more FLOPs); this script shows whether that pays on the machine at hand.

Usage::

    python benchmarks/gemm_width.py [--rows 3500] [--widths 300 304] [--threads 1] [--repeats 200]

Prints one line per width: the median time of one product and the GFLOP/s it reaches.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time

import torch


def time_product(rows: int, width: int, repeats: int) -> float:
    """Median seconds of ``addmm(bias, a, w.T)`` at [rows, width] x [width, width]."""
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(rows, width, generator=gen)
    w = torch.randn(width, width, generator=gen)
    bias = torch.randn(rows, width, generator=gen)
    for _ in range(5):
        torch.addmm(bias, a, w.t())
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        torch.addmm(bias, a, w.t())
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=3500, help="rows of the left matrix (directed bonds per batch)")
    ap.add_argument("--widths", type=int, nargs="+", default=[300, 304], help="hidden widths to time")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (inference workers use 1)")
    ap.add_argument("--repeats", type=int, default=200)
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    results = []
    for width in args.widths:
        seconds = time_product(args.rows, width, args.repeats)
        results.append({"width": width, "ms": round(seconds * 1e3, 3),
                        "gflops": round(2 * args.rows * width * width / seconds / 1e9, 1)})
    if args.json:
        print(json.dumps({"rows": args.rows, "threads": args.threads, "results": results}))
        return
    print(f"[{args.rows}, H] @ [H, H], {args.threads} thread(s), median of {args.repeats}")
    for r in results:
        print(f"H={r['width']:>4}: {r['ms']:8.3f} ms  {r['gflops']:6.1f} GFLOP/s")


if __name__ == "__main__":
    main()
