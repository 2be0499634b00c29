"""FIFOs and device nodes for the tests of writing outputs."""

import os
import stat
import threading
from pathlib import Path

import pytest


class FifoReader:
    """Reads a FIFO in a thread, as a downstream program would (`gnn ... --out fifo`)."""

    def __init__(self, path: Path) -> None:
        self.data = b""
        self._thread = threading.Thread(target=self._read, args=(path,), daemon=True)
        self._thread.start()

    def _read(self, path: Path) -> None:
        with open(path, "rb") as handle:
            self.data = handle.read()

    def result(self) -> bytes:
        self._thread.join(timeout=10)
        assert not self._thread.is_alive(), "nothing was ever written to the FIFO"
        return self.data


def make_fifo(path: Path) -> Path:
    """A FIFO at ``path`` (the test is skipped where there are none, e.g. on Windows)."""
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this system")
    os.mkfifo(path)
    return path


def make_device(path: Path, minor: int) -> Path:
    """A private copy of /dev/null (minor 3) or /dev/full (minor 7): a real character device a
    broken writer can only destroy in tmp_path, never for the whole machine."""
    try:
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, minor))
        with open(path, "wb"):
            pass
    except OSError as exc:
        pytest.skip(f"cannot make a device node here ({exc})")
    return path
