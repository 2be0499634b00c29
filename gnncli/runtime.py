"""Process-level tuning that pays off for every command."""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_done = False


def tune_allocator() -> None:
    """Keep freed tensor memory in the process (glibc only; a no-op elsewhere).

    Message passing allocates many short-lived tensors of tens of MB. Above glibc's default
    mmap threshold each is mapped and unmapped, so every allocation page-faults afresh:
    measured 11% of CPU inference time on 2 cores. Raising the thresholds lets malloc reuse them.
    """
    global _done
    if _done or not sys.platform.startswith("linux"):
        return
    _done = True
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, 1 << 30)
        libc.mallopt(_M_TRIM_THRESHOLD, 1 << 30)
    except (OSError, AttributeError):  # not glibc (e.g. musl): nothing to tune
        pass
