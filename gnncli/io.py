"""Reading and writing files: ``-`` for stdin/stdout, atomic writes, content hashes."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import json
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, NamedTuple

from gnncli.errors import CheckpointError, InputError, OutputError

STDIN = "-"


# --------------------------------------------------------------------------- writing
#
# Where the bytes of an output go depends on what the path is, checked when it is opened:
#
# - a regular file, or a path that does not exist yet: a temporary file beside it, renamed
#   onto it on success (a reader never sees a half-written file; on failure the old file
#   stays). A symlink is followed to its final target, which is replaced the same way, so
#   the link itself stays a link.
# - ``-``: standard output.
# - anything else (a character or block device such as /dev/null, a FIFO, /dev/stdout when
#   stdout is not a regular file): written as it is, never renamed over.
#
# Errors name the path the user gave, never a temporary file: ``OutputError("out/x.csv:
# cannot write (No space left on device)")``.

#: Write errors that can only be about the file being written (they carry no file name).
_WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS})


class _Target(NamedTuple):
    kind: str  # "file" (replaced atomically), "stream" (written as it is) or "stdout"
    path: Path  # "file": the final path after symlinks; "stream": the path as given
    fd: int | None = None  # "stream" naming one of our own descriptors (/dev/stdout, /dev/fd/N)


def _output_target(path: str | os.PathLike) -> _Target:
    shown = str(path)
    if shown == STDIN:
        return _Target("stdout", Path(STDIN))
    p = Path(path)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        st = None  # a new file (or a dangling symlink), or a missing folder to create
    except OSError as exc:
        raise _output_error(shown, exc) from exc
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise OutputError(f"{shown}: is a folder, expected a file")
    fd = _own_fd(p)
    if fd is not None or (st is not None and not stat.S_ISREG(st.st_mode)):
        return _Target("stream", p, fd)
    if p.is_symlink():
        p = Path(os.path.realpath(p))
    return _Target("file", p)


def _own_fd(path: Path) -> int | None:
    """The descriptor ``path`` names when it is one of this process's (/dev/stdout, /dev/fd/1,
    /proc/self/fd/1), else None. Such a path is written through the descriptor: opening it anew
    would truncate a redirected stdout behind the shell's back."""
    p = str(path)
    for _ in range(40):  # follow the chain of links by hand: realpath would go past /proc/self/fd/N
        parent = os.path.realpath(os.path.dirname(os.path.abspath(p)))
        name = os.path.basename(p)
        if parent in (f"/proc/{os.getpid()}/fd", "/dev/fd") and name.isdigit():
            return int(name)
        if not os.path.islink(p):
            return None
        p = os.path.join(os.path.dirname(p), os.readlink(p))
    return None


def is_stream_output(path: str | os.PathLike) -> bool:
    """True when ``path`` is written as it is rather than replaced atomically: ``-`` (stdout),
    a device such as /dev/null, a FIFO, or another file that is not a regular file."""
    return _output_target(path).kind != "file"


def _output_error(shown: str, exc: OSError, staging: Path | None = None) -> OutputError:
    """``<path>: cannot write (<reason>)``, with the path as the user gave it; ``staging`` is
    the folder of the temporary file when the error is about that file instead."""
    reason = exc.strerror or str(exc)
    if staging is not None:
        reason = f"temporary file in {staging}: {reason}"
    elif exc.errno in (errno.ENOTDIR, errno.EEXIST):
        blocker = _file_in_the_way(Path(shown))
        if blocker is not None:
            reason = f"{blocker} is a file, not a folder"
    return OutputError(f"{shown}: cannot write ({reason})")


def _file_in_the_way(path: Path) -> Path | None:
    """The first folder of ``path`` that exists but is not a folder."""
    for parent in reversed(path.parents):
        if parent.exists() and not parent.is_dir():
            return parent
    return None


@contextlib.contextmanager
def _write_errors_name(shown: str, *paths: Path, staging: Path | None = None) -> Iterator[None]:
    """Turn write errors raised inside the block into OutputError naming ``shown``.

    Only errors that are about the output: those naming one of ``paths`` (the temporary file,
    the target) and those that only a write can raise (disk full, quota, read-only file
    system). A broken pipe is left alone: the reader went away, which is no error of ours.
    """
    try:
        yield
    except BrokenPipeError:
        raise
    except OSError as exc:
        names = {str(p) for p in paths}
        if (exc.filename is None and exc.errno in _WRITE_ERRNOS) or (
            exc.filename is not None and str(exc.filename) in names
        ):
            raise _output_error(shown, exc, staging) from exc
        raise


@contextlib.contextmanager
def _replaced(shown: str, final: Path) -> Iterator[Path]:
    """A temporary path beside ``final``, renamed onto it when the block succeeds."""
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
        os.close(fd)
        os.chmod(tmp, _mode_for(final))  # mkstemp makes 0600; outputs get the usual permissions
    except OSError as exc:
        raise _output_error(shown, exc) from exc
    tmp_path = Path(tmp)
    try:
        with _write_errors_name(shown, tmp_path, final):
            yield tmp_path
        try:
            os.replace(tmp_path, final)
        except OSError as exc:
            raise _output_error(shown, exc) from exc
    finally:
        with contextlib.suppress(OSError):
            tmp_path.unlink()


def _mode_for(final: Path) -> int:
    """The permissions of the file being replaced, or the usual ones (umask) for a new file."""
    try:
        st = os.stat(final)
    except OSError:
        return 0o666 & ~_umask()
    return stat.S_IMODE(st.st_mode) if stat.S_ISREG(st.st_mode) else 0o666 & ~_umask()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def _stream(shown: str, target: _Target, mode: str, **kwargs: Any) -> Iterator[IO]:
    """Open a device, FIFO, descriptor or stdout for writing, as it is; errors name ``shown``."""
    if target.kind == "stdout":
        sys.stdout.flush()
        handle = getattr(sys.stdout, "buffer", None) if "b" in mode else sys.stdout
        if handle is None:
            raise OutputError(f"{shown}: standard output takes no binary data here")
        with _write_errors_name(shown):
            yield handle
            handle.flush()
        return
    try:
        if target.fd is not None:
            sys.stdout.flush()
            fd = os.dup(target.fd)
            try:
                handle = open(fd, mode, **kwargs)
            except BaseException:
                os.close(fd)
                raise
        else:
            handle = open(target.path, mode, **kwargs)
    except OSError as exc:
        raise _output_error(shown, exc) from exc
    with _write_errors_name(shown, target.path), _closed_after(handle):
        yield handle


@contextlib.contextmanager
def _closed_after(handle: IO) -> Iterator[IO]:
    """Close ``handle`` after the block: quietly when the block failed (its error is the one to
    report), and letting a failing close (a full disk) raise when it succeeded."""
    try:
        yield handle
    except BaseException:
        with contextlib.suppress(OSError):
            handle.close()
        raise
    handle.close()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a path for another library to write (``torch.save``, ``savefig``, ``np.save``);
    its bytes reach ``path`` only when the block succeeds.

    A regular file (or a new one) is replaced atomically: the yielded path is a temporary file
    beside it, renamed onto it on success, so a reader never sees a half-written file and a
    failure leaves the old file in place. A symlink is followed: its target is replaced and
    the link stays. For ``-``, a device or a FIFO, the yielded path is a temporary file in the
    system's temporary folder whose bytes are copied to ``path`` on success (any library can
    write and seek in it; nothing is ever renamed over the device). Raises OutputError naming
    ``path`` when it cannot be written.
    """
    shown = str(path)
    target = _output_target(path)
    if target.kind == "file":
        with _replaced(shown, target.path) as tmp:
            yield tmp
        return
    staging = Path(tempfile.gettempdir())
    try:
        fd, tmp = tempfile.mkstemp(prefix="gnn-", suffix=".tmp", dir=staging)
        os.close(fd)
    except OSError as exc:
        raise _output_error(shown, exc, staging) from exc
    tmp_path = Path(tmp)
    try:
        with _write_errors_name(shown, tmp_path, staging=staging):
            yield tmp_path
        with open(tmp_path, "rb") as src, _stream(shown, target, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
    finally:
        with contextlib.suppress(OSError):
            tmp_path.unlink()


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", **kwargs: Any) -> Iterator[IO]:
    """Open ``path`` for writing: a regular file atomically (see :func:`atomic_path`), and
    ``-`` (stdout), a device or a FIFO directly, so the bytes stream as they are written.
    Raises OutputError naming ``path`` when it cannot be written."""
    shown = str(path)
    target = _output_target(path)
    if target.kind != "file":
        with _stream(shown, target, mode, **kwargs) as handle:
            yield handle
        return
    with _replaced(shown, target.path) as tmp:
        try:
            handle = open(tmp, mode, **kwargs)
        except OSError as exc:
            raise _output_error(shown, exc) from exc
        with _closed_after(handle):  # a full disk can first show at close; _replaced names the path
            yield handle


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    with atomic_open(path, "w", encoding="utf-8") as handle:
        json.dump(obj, handle, indent=2, sort_keys=False)
        handle.write("\n")


def read_json(path: str | os.PathLike) -> Any:
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise CheckpointError(f"{path}: is a folder, expected a file") from None
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{path}: not valid JSON ({exc})") from None


def save_tensors(path: str | os.PathLike, obj: dict) -> None:
    """Save a dict of tensors and plain values atomically, loadable with ``weights_only=True``."""
    import torch  # here, not at the top: commands that need no tensors (wl-test, coarsen) start without torch

    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def load_tensors(path: str | os.PathLike) -> dict:
    """Load what :func:`save_tensors` wrote, without unpickling code."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: file not found")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a damaged file
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"{path}: corrupt or unreadable checkpoint ({first})") from None


def check_input_file(path: str | os.PathLike) -> Path:
    """Return ``path`` as a Path if it is a readable, non-empty file, else raise InputError."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: file not found")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, expected a file")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: file is empty")
    return path


def read_stdin_bytes() -> bytes:
    """Read all of standard input (for ``-``)."""
    data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode()
    if not data.strip():
        raise InputError("-: standard input is empty")
    return data


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            h.update(block)
    return h.hexdigest()


def text_stream(data: bytes) -> io.TextIOWrapper:
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", newline="")


@contextlib.contextmanager
def output_stream(path: str | os.PathLike | None) -> Iterator[IO[str]]:
    """A text stream for results: stdout when ``path`` is None or ``-``; else :func:`atomic_open`
    (a regular file replaced atomically, a device or FIFO written as it is)."""
    if path is None or str(path) == STDIN:
        yield sys.stdout
        sys.stdout.flush()
    else:
        with atomic_open(path, "w", encoding="utf-8", newline="") as handle:
            yield handle
