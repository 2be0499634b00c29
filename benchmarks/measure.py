#!/usr/bin/env python3
"""Run a command and measure its wall time and peak memory (whole process tree).

Usage as a command-line tool::

    python benchmarks/measure.py [--interval 0.05] [--stdout FILE] [--stderr FILE] -- CMD ARGS...

It prints one JSON object on stdout, for example::

    {"wall_s": 12.34, "peak_rss_mb": 812.5, "returncode": 0, ...}

The command's own stdout and stderr go to this script's stderr (so that stdout
holds only the JSON), or to the files named by --stdout / --stderr.

Use as a library::

    from measure import measure
    res = measure(["chemprop", "train", ...], stdout_path="log.out")

How memory is measured: every ``interval`` seconds (default 50 ms) the
resident set sizes (RSS) of the child process and all of its descendants
(e.g. data-loader worker processes) are summed; ``peak_rss_mb`` is the largest
sum seen. Pages shared between processes (e.g. after fork) are counted once per
process, so this can overstate the true footprint of multi-process programs;
spikes shorter than the polling interval can be missed. The list of
processes is refreshed every 4th poll (200 ms), so a child that lives for less
than that may be missed. ``max_procs`` is the largest number of processes seen
at once in the tree.

Needs psutil (a benchmark-only dependency, not a dependency of the project).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from typing import IO, Mapping, Sequence

import psutil

MB = 1024.0 * 1024.0


def _tree(root: psutil.Process) -> list[psutil.Process]:
    """``root`` and all its live descendants."""
    try:
        return [root] + root.children(recursive=True)
    except psutil.Error:
        return [root]


def _rss_bytes(procs: list[psutil.Process]) -> tuple[int, int]:
    """Sum of RSS over ``procs``; also how many could be read."""
    total = 0
    n = 0
    for p in procs:
        try:
            total += p.memory_info().rss
            n += 1
        except psutil.Error:  # exited between listing and reading, or a zombie
            pass
    return total, n


def _pss_bytes(procs: list[psutil.Process]) -> int:
    """Sum of PSS (proportional set size) over ``procs``: each shared page is split between the
    processes that share it, so forked workers are not charged for their parent's pages."""
    total = 0
    for p in procs:
        try:
            total += p.memory_full_info().pss
        except (psutil.Error, AttributeError):  # exited, or PSS not available on this OS
            pass
    return total


def measure(
    cmd: Sequence[str],
    *,
    interval: float = 0.05,
    stdout: IO | int | None = None,
    stderr: IO | int | None = None,
    stdout_path: str | os.PathLike | None = None,
    stderr_path: str | os.PathLike | None = None,
    cwd: str | os.PathLike | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
) -> dict:
    """Run ``cmd`` to completion and return a dict with timing and memory figures.

    Keys: ``wall_s``, ``peak_rss_mb`` (RSS summed over the process tree: shared pages counted once
    per process), ``peak_pss_mb`` (PSS summed: shared pages split, the tree's real footprint),
    ``returncode`` and, in addition,
    ``max_procs``, ``timed_out``, ``cmd``.

    Output redirection: pass open files / subprocess constants as ``stdout`` /
    ``stderr``, or paths as ``stdout_path`` / ``stderr_path`` (files are
    overwritten). With neither, the child inherits this process's streams.
    ``timeout`` (seconds) kills the whole process tree when exceeded;
    ``returncode`` is then negative (the signal) and ``timed_out`` is True.
    """
    cmd = [os.fspath(c) for c in cmd]
    opened: list[IO] = []
    try:
        if stdout_path is not None:
            stdout = open(stdout_path, "wb")
            opened.append(stdout)
        if stderr_path is not None:
            stderr = open(stderr_path, "wb")
            opened.append(stderr)

        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=stdout, stderr=stderr, cwd=cwd,
                                env=dict(env) if env is not None else None)
        try:
            ps_root = psutil.Process(proc.pid)
        except psutil.Error:
            ps_root = None

        peak = 0
        peak_pss = 0
        max_procs = 0
        timed_out = False
        tick = 0
        procs: list[psutil.Process] = []
        while proc.poll() is None:
            if ps_root is not None:
                # Listing the tree scans /proc; do it on every 4th tick only
                # (and on the first), reading the memory of known processes every tick.
                if tick % 4 == 0:
                    procs = _tree(ps_root)
                tick += 1
                rss, n = _rss_bytes(procs)
                peak = max(peak, rss)
                max_procs = max(max_procs, n)
                if tick % 4 == 1:  # PSS reads /proc/PID/smaps_rollup: every 4th tick
                    peak_pss = max(peak_pss, _pss_bytes(procs))
            if timeout is not None and time.perf_counter() - t0 > timeout and not timed_out:
                timed_out = True
                _kill_tree(ps_root)
            try:  # sleeps up to `interval`, but wakes as soon as the child exits
                proc.wait(timeout=interval)
            except subprocess.TimeoutExpired:
                pass
        wall = time.perf_counter() - t0
        returncode = proc.returncode
    finally:
        for f in opened:
            f.close()

    return {
        "wall_s": round(wall, 3),
        "peak_rss_mb": round(peak / MB, 1),
        "peak_pss_mb": round(peak_pss / MB, 1),
        "returncode": returncode,
        "max_procs": max_procs,
        "timed_out": timed_out,
        "cmd": cmd,
    }


def _kill_tree(root: psutil.Process | None) -> None:
    if root is None:
        return
    try:
        procs = root.children(recursive=True) + [root]
    except psutil.Error:
        procs = [root]
    for p in procs:
        try:
            p.kill()
        except psutil.Error:
            pass


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--" in argv:
        i = argv.index("--")
        own, cmd = argv[:i], argv[i + 1:]
    elif argv and argv[0] in ("-h", "--help"):
        own, cmd = argv, []
    else:
        own, cmd = [], argv
    ap = argparse.ArgumentParser(
        prog="measure.py",
        description="Run CMD, poll the peak RSS of its whole process tree, print JSON "
                    '{"wall_s", "peak_rss_mb", "returncode", ...} on stdout.',
        usage="%(prog)s [--interval S] [--stdout FILE] [--stderr FILE] [--timeout S] -- CMD [ARGS...]",
    )
    ap.add_argument("--interval", type=float, default=0.05, help="polling interval in seconds (default 0.05)")
    ap.add_argument("--stdout", metavar="FILE", help="write the command's stdout here (default: our stderr)")
    ap.add_argument("--stderr", metavar="FILE", help="write the command's stderr here (default: our stderr)")
    ap.add_argument("--timeout", type=float, default=None, help="kill the command tree after this many seconds")
    args = ap.parse_args(own)
    if not cmd:
        ap.error("no command given (put it after --)")

    try:
        res = measure(
            cmd,
            interval=args.interval,
            stdout=None if args.stdout else sys.stderr.buffer,
            stderr=None if args.stderr else sys.stderr.buffer,
            stdout_path=args.stdout,
            stderr_path=args.stderr,
            timeout=args.timeout,
        )
    except OSError as exc:  # command not found, not executable, ...
        print(f"measure.py: cannot run {cmd[0]!r}: {exc}", file=sys.stderr)
        res = {"wall_s": 0.0, "peak_rss_mb": 0.0, "returncode": 127, "error": str(exc), "cmd": cmd}
    sys.stderr.flush()
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
