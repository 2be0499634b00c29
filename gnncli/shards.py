"""Sharded prediction: ``gnn predict --shard I/N`` and ``gnn predict --merge``.

A shard is a share of the input that one of N independent jobs predicts, with no coordination
between the jobs (a Slurm array, GNU parallel). Shard ``I/N`` (1-based ``I``) takes the chunks of
``--chunk-size`` rows whose index ``k`` (0-based, counted over all input files in turn) has
``k % N == I - 1``: every N-th chunk. Round-robin rather than N contiguous blocks, because a job
cannot know where block ``I`` begins without counting the rows first (and standard input cannot
be read twice), and because it spreads a library sorted by size or by source evenly over the
jobs. Every job still reads (parses) the whole input to find its chunks; it featurizes and
predicts only its own, which is where the time goes.

The header rule: a shard's CSV is the unsharded output's, with one leading column named
``row (shard I/N)``, the 0-based number of each row in the input (over all input files in
turn, valid and invalid rows alike). The name says which shard the file is, even when the shard
has no rows. :func:`merge_shards` checks that its files are shards ``1..N`` of one job (one N,
the same other columns, no row twice, none missing) and writes their rows in input order
without that column: the header and rows of the unsharded output. (Rows missing after the last
row of every shard cannot be seen in the files; N shards of the same inputs and ``--chunk-size``,
each written whole or not at all, leave none.)

The reader side: :func:`shard_scope` makes a shard the one of the prediction in progress (a
context variable, so that it reaches a domain's chunk reader through
:meth:`~gnncli.domains.base.Domain.infer`), and a domain that can skip chunks before featurizing
them passes its chunks through :func:`take_shard`. A kind whose reader does not
(:func:`require_applied`), or whose predict writes something other than a table of input rows
(:func:`check_table_output`), is a one-line usage error.
"""

from __future__ import annotations

import contextlib
import contextvars
import csv
import heapq
import re
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any, Callable

from gnncli.errors import InputError, UsageError

_COLUMN = re.compile(r"row \(shard (\d+)/(\d+)\)")


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` (1-based) of ``count``: the chunks ``k`` with ``k % count == index - 1``."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str | Shard) -> Shard:
        """``"3/16"`` as a shard; a usage error says what a good value looks like."""
        if isinstance(text, Shard):
            return text
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(text))
        if not match:
            raise UsageError(f"--shard {text}: give I/N, shard I of N jobs (1-based), e.g. --shard 3/16")
        index, count = int(match[1]), int(match[2])
        if count < 1 or not 1 <= index <= count:
            raise UsageError(f"--shard {text}: I must be 1..N (shards are numbered from 1), e.g. --shard 1/{max(count, 1)}")
        return cls(index, count)

    def takes(self, chunk: int) -> bool:
        """Whether chunk ``chunk`` (0-based) is this shard's."""
        return chunk % self.count == self.index - 1

    @property
    def column(self) -> str:
        """The name of the leading row-number column of this shard's output."""
        return f"row (shard {self})"

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


# ------------------------------------------------------------------------------- reading in shards


@dataclass
class ShardPass:
    """What one sharded prediction learns as it reads: set by :func:`take_shard`, read by the
    table writer (:func:`gnncli.inference.predict_table`)."""

    shard: Shard
    kind: str
    table: bool = False  # the table writer took charge of the output
    applied: bool = False  # the domain's reader skips the other shards' chunks
    rows: int = 0  # input rows read, this shard's and the others'
    columns: list[str] | None = None  # the input's columns (for the header of an empty shard)
    starts: deque = field(default_factory=deque)  # (first row, rows) of each chunk handed on

    def next_rows(self, n: int):
        """The input row numbers of the next chunk the writer receives (``n`` rows)."""
        import numpy as np

        if not self.starts:
            raise RuntimeError("a chunk came through that the shard reader did not hand on")
        start, size = self.starts.popleft()
        if size != n:
            raise RuntimeError(f"a chunk of {size} rows came back with {n}")
        return np.arange(start, start + n, dtype=np.int64)


_ACTIVE: contextvars.ContextVar[ShardPass | None] = contextvars.ContextVar("gnn_shard", default=None)


def current() -> ShardPass | None:
    """The sharded prediction in progress, or None."""
    return _ACTIVE.get()


@contextlib.contextmanager
def shard_scope(domain, shard: Shard | None) -> Iterator[ShardPass | None]:
    """Make ``shard`` the shard of the prediction run inside (None: no sharding). A kind of input
    without :meth:`~gnncli.domains.base.Domain.infer` streams no rows and cannot be sharded."""
    if shard is None:
        yield None
        return
    active = _ACTIVE.get()
    if active is not None and active.shard == shard:  # api.predict opened it; predict_table reuses it
        yield active
        return
    if not domain.streams_rows():
        raise UsageError(f"--shard: gnn predict of {domain.name} input writes no table of input rows to shard; "
                         f"run it without --shard")
    token = _ACTIVE.set(ShardPass(shard, domain.name))
    try:
        yield _ACTIVE.get()
    finally:
        _ACTIVE.reset(token)


def check_table_output() -> None:
    """Raise a usage error if a shard was asked for and the output being opened is not the
    table of input rows (``--recommend``, per-residue scores): those are not sharded."""
    active = _ACTIVE.get()
    if active is not None and not active.table:
        raise UsageError(f"--shard: this gnn predict of {active.kind} input writes no table of input rows "
                         f"(e.g. --recommend, per-residue scores); run it without --shard")


def results_stream(out: str | IO[str] | None):
    """``out`` as a context manager yielding a text stream: a stream as it is, else
    :func:`gnncli.io.output_stream` (stdout for None or ``-``; a file written atomically).
    Inside a sharded prediction only the table of input rows may open it (see
    :func:`check_table_output`)."""
    from gnncli.io import output_stream

    check_table_output()

    return contextlib.nullcontext(out) if hasattr(out, "write") else output_stream(out)


def require_applied(state: ShardPass) -> None:
    """Raise a usage error if the domain's reader did not read in shards (before any output)."""
    if not state.applied:
        raise UsageError(f"--shard: {state.kind} input is not read in shards yet; run it without --shard")


def take_shard(chunks: Iterable[Any], frame: Callable[[Any], Any] = lambda chunk: chunk.frame) -> Iterator[Any]:
    """The chunks of the active shard (all of them when no shard is active), in order.

    ``chunks`` are a domain's chunks of input rows, over all input files in turn; ``frame``
    gives a chunk's rows (a DataFrame). Call it before the expensive work (featurizing), so that
    a job pays only for its own chunks.
    """
    state = _ACTIVE.get()
    if state is None:
        yield from chunks
        return
    state.applied = True
    for k, chunk in enumerate(chunks):
        rows = frame(chunk)
        n = len(rows)
        if state.columns is None:
            state.columns = [str(c) for c in rows.columns]
        if state.shard.takes(k):
            state.starts.append((state.rows, n))
            state.rows += n
            yield chunk
        else:
            state.rows += n


# ------------------------------------------------------------------------------- merging


class _ShardFile:
    def __init__(self, path: str) -> None:
        from gnncli.io import check_input_file

        check_input_file(path)
        self.path = path
        self.handle = open(path, newline="", encoding="utf-8")
        self.reader = csv.reader(self.handle)
        try:
            self.header = next(self.reader)
        except (StopIteration, csv.Error) as exc:
            self.handle.close()
            raise InputError(f"{path}: no CSV header ({exc or 'file is empty'})") from None
        except UnicodeDecodeError:
            self.handle.close()
            raise InputError(f"{path}: not a UTF-8 text file") from None
        match = _COLUMN.fullmatch(self.header[0]) if self.header else None
        if match is None:
            self.handle.close()
            first = self.header[0] if self.header else ""
            raise UsageError(f"{path}: not an output of gnn predict --shard (its first column is '{first}', "
                             f"expected 'row (shard I/N)')")
        self.shard = Shard(int(match[1]), int(match[2]))

    def rows(self, order: int) -> Iterator[tuple[int, int, list[str]]]:
        """``(row, order, fields without the row)`` of every data row, checked as it is read."""
        width, last, path = len(self.header), -1, self.path
        try:
            for fields in self.reader:
                line = self.reader.line_num
                if len(fields) != width:
                    raise InputError(f"{path}: line {line}: {len(fields)} fields, the header has {width}")
                try:
                    row = int(fields[0])
                except ValueError:
                    raise InputError(f"{path}: line {line}: row number '{fields[0]}' is not a whole number") from None
                if row <= last:
                    raise InputError(f"{path}: line {line}: row {row} after row {last} (a shard's rows increase)")
                last = row
                yield row, order, fields
        except csv.Error as exc:
            raise InputError(f"{path}: line {self.reader.line_num}: {exc}") from None
        except UnicodeDecodeError:
            raise InputError(f"{path}: not a UTF-8 text file") from None


def _check_job(files: list[_ShardFile]) -> int:
    """The shard count N, after checking that ``files`` are shards 1..N of one job."""
    first = files[0]
    count = first.shard.count
    seen: dict[int, str] = {}
    for f in files:
        if f.shard.count != count:
            raise UsageError(f"{f.path}: shard {f.shard}, and {first.path} is shard {first.shard}: "
                             f"give the outputs of one sharded job")
        if f.shard.index in seen:
            raise UsageError(f"{f.path}: shard {f.shard} again (also {seen[f.shard.index]})")
        seen[f.shard.index] = f.path
        if f.header[1:] != first.header[1:]:
            raise UsageError(f"{f.path}: columns {f.header[1:]} differ from {first.path}'s {first.header[1:]}")
    missing = [f"{i}/{count}" for i in range(1, count + 1) if i not in seen]
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise UsageError(f"shard{'s' if len(missing) > 1 else ''} {shown} missing: give all {count} outputs of the job")
    return count


def merge_shards(paths: list[str], out: str | IO[str] | None, *, top_k: int | None = None,
                 sort_by: str | None = None, ascending: bool = False) -> dict:
    """Write the rows of the shard outputs ``paths`` to ``out`` (a path, a stream, or None for
    stdout) in input order, without their ``row (shard I/N)`` column: the unsharded output's
    header and rows (see the module docstring).

    Streams: a k-way merge by row number, holding one row per file. A file that is not a shard
    output, shards of different jobs, a missing shard, a row in two shards or in none are usage
    errors naming the file or the row; a damaged file is an input error. Problems found while
    streaming (a gap, an overlap) come after the rows before them: on stdout those rows are
    already written, a file ``out`` is left as it was (written atomically). With ``top_k``, only
    the best ``top_k`` predicted rows (empty last column, ``error``) by the column ``sort_by``,
    best first, ties in input order: what ``gnn predict --top-k`` writes, ranked by the values
    as the shards wrote them. Returns counts: ``rows``, ``shards`` (and ``written``).
    """
    if not paths:
        raise UsageError("--merge needs the shard outputs to join (e.g. gnn predict --merge part*.csv)")
    if top_k is None and (sort_by is not None or ascending):
        raise UsageError("--sort-by and --ascending rank rows for --top-k: give --top-k K with them")
    if top_k is not None:
        if top_k < 1:
            raise UsageError(f"--top-k {top_k}: must be at least 1")
        if sort_by is None:
            raise UsageError("--merge --top-k needs --sort-by COLUMN (a prediction column of the shards)")
    files: list[_ShardFile] = []
    try:
        for path in paths:
            files.append(_ShardFile(path))
        count = _check_job(files)
        header = files[0].header[1:]
        if sort_by is not None and sort_by not in header:
            raise UsageError(f"--sort-by {sort_by}: no such column in {files[0].path} (choose from {', '.join(header)})")
        rows = _merged(files)
        with results_stream(out) as stream:
            writer = csv.writer(stream, lineterminator="\n")
            writer.writerow(header)
            if top_k is None:
                written = 0
                for fields in rows:
                    writer.writerow(fields)
                    written += 1
                total = written
            else:
                best, total = _best(rows, top_k, header.index(sort_by), ascending)
                writer.writerows(best)
                written = len(best)
    finally:
        for f in files:
            f.handle.close()
    return {"rows": total, "shards": count, "written": written}


def _merged(files: list[_ShardFile]) -> Iterator[list[str]]:
    """Every row of ``files`` in input order (without the row number), checked for overlap and gaps."""
    expected = 0
    previous = ""
    for row, order, fields in heapq.merge(*(f.rows(i) for i, f in enumerate(files))):
        path = files[order].path
        if row != expected:
            if row < expected:
                raise UsageError(f"row {row} is in both {previous} and {path}: the shards overlap "
                                 f"(run every job with the same inputs and --chunk-size)")
            raise UsageError(f"rows {expected}..{row - 1} are in no shard (the next, row {row}, is in {path}): "
                             f"run every job with the same inputs and --chunk-size")
        yield fields[1:]
        expected += 1
        previous = path


def _best(rows: Iterable[list[str]], k: int, column: int, ascending: bool) -> tuple[list[list[str]], int]:
    """The ``k`` best predicted rows by ``column``, best first (ties: earlier rows first), and
    the number of rows seen. A row with an error (last column) is not ranked; an empty or
    non-numeric value ranks last, as NaN does in ``gnn predict --top-k``."""
    import math

    heap: list[tuple[float, int, list[str]]] = []  # (goodness, -row): the worst kept row on top
    sign = -1.0 if ascending else 1.0
    n = 0
    for n, fields in enumerate(rows, 1):
        if fields[-1]:
            continue
        try:
            value = float(fields[column])
        except ValueError:
            value = math.nan
        entry = (-math.inf if math.isnan(value) else sign * value, -(n - 1), fields)
        if len(heap) < k:
            heapq.heappush(heap, entry)
        elif entry[:2] > heap[0][:2]:
            heapq.heapreplace(heap, entry)
    return [fields for _, _, fields in sorted(heap, key=lambda e: e[:2], reverse=True)], n
