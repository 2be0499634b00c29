#!/usr/bin/env python3
"""How fast torch's CPU matrix product runs at D-MPNN's width, and at that width padded to 8.

D-MPNN's hot loop is ``[E, H] @ [H, H]`` with E about 3,500 directed bonds per batch of 64 molecules
and H = 300. ``DMPNNEncoder.padded`` widens H to a multiple of 8 with zero weights for inference
(same outputs, more FLOPs); this script shows whether that pays on the machine at hand.

With ``--dtype bf16`` it also shows what training in bf16 meets: every batch has its own row
count, and oneDNN (which runs CPU bf16 products) compiles a kernel per shape. ``--vary-rows``
times a training step's three products (forward, and the two of its backward) at random row
counts between rows/2 and rows, unpadded and padded to a multiple of 128 (as D-MPNN pads them
under CPU autocast), beside the same at a fixed row count.

Usage::

    python benchmarks/gemm_width.py [--rows 3500] [--widths 300 304] [--threads 1] [--repeats 200]
    python benchmarks/gemm_width.py --rows 2400 --widths 300 --threads 2 --dtype fp32 bf16 --vary-rows

Prints one line per width (and dtype): the median time of one product and the GFLOP/s it reaches.
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import time

import torch


def time_product(rows: int, width: int, repeats: int, dtype: torch.dtype = torch.float32) -> float:
    """Median seconds of ``addmm(bias, a, w.T)`` at [rows, width] x [width, width]."""
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(rows, width, generator=gen).to(dtype)
    w = torch.randn(width, width, generator=gen).to(dtype)
    bias = torch.randn(rows, width, generator=gen).to(dtype)
    for _ in range(5):
        torch.addmm(bias, a, w.t())
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        torch.addmm(bias, a, w.t())
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}


def time_step(rows: int, width: int, repeats: int, dtype: torch.dtype, vary: bool, pad: int) -> float:
    """Mean seconds of a training step's three products (``x @ w.T``, ``g @ w``, ``g.T @ x``),
    at ``rows`` rows, or at seeded random row counts in [rows/2, rows] when ``vary``, rounded up
    to a multiple of ``pad``."""
    rng = random.Random(0)
    w = torch.randn(width, width, dtype=dtype)
    total = 0.0
    for i in range(repeats + 5):
        n = rng.randint(rows // 2, rows) if vary else rows
        n = -(-n // pad) * pad
        x, g = torch.randn(n, width, dtype=dtype), torch.randn(n, width, dtype=dtype)
        t0 = time.perf_counter()
        x @ w.t()
        g @ w
        g.t() @ x
        if i >= 5:
            total += time.perf_counter() - t0
    return total / repeats


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=3500, help="rows of the left matrix (directed bonds per batch)")
    ap.add_argument("--widths", type=int, nargs="+", default=[300, 304], help="hidden widths to time")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (inference workers use 1)")
    ap.add_argument("--repeats", type=int, default=200)
    ap.add_argument("--dtype", nargs="+", choices=sorted(DTYPES), default=["fp32"])
    ap.add_argument("--vary-rows", action="store_true",
                    help="time training steps at fixed and random row counts, unpadded and padded to 128")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.vary_rows:
        steps = []
        for name in args.dtype:
            for width in args.widths:
                for label, vary, pad in (("fixed rows", False, 1), ("random rows", True, 1), ("random rows padded to 128", True, 128)):
                    ms = time_step(args.rows, width, args.repeats, DTYPES[name], vary, pad) * 1e3
                    steps.append({"dtype": name, "width": width, "rows": label, "ms": round(ms, 3)})
        report(args, "steps", steps,
               f"three products of a training step, rows up to {args.rows}, {args.threads} thread(s), mean of {args.repeats}",
               "{dtype:>4} H={width:>4} {rows:<27} {ms:8.3f} ms")
        return
    results = []
    for name in args.dtype:
        for width in args.widths:
            seconds = time_product(args.rows, width, args.repeats, DTYPES[name])
            results.append({"dtype": name, "width": width, "ms": round(seconds * 1e3, 3),
                            "gflops": round(2 * args.rows * width * width / seconds / 1e9, 1)})
    report(args, "results", results, f"[{args.rows}, H] @ [H, H], {args.threads} thread(s), median of {args.repeats}",
           "{dtype:>4} H={width:>4}: {ms:8.3f} ms  {gflops:6.1f} GFLOP/s")


def report(args, key: str, rows: list[dict], title: str, line: str) -> None:
    """``rows`` as one JSON object (``--json``) or as a title and one formatted line each."""
    if args.json:
        print(json.dumps({"rows": args.rows, "threads": args.threads, key: rows}))
        return
    print(title)
    for r in rows:
        print(line.format(**r))


if __name__ == "__main__":
    main()
