"""Reading rating tables: ``user, item, rating[, timestamp]`` rows from CSV/TSV, with or without a header.

MovieLens files work as they are: ``u.data``/``u1.base`` (tab separated, no header, ``user item
rating timestamp``) and ``ratings.csv`` (``userId,movieId,rating,timestamp``, half-star ratings).
Columns are found by name (``user``/``userId``/``user_id``, ``item``/``movie``/``movieId``/...,
``rating``, ``timestamp``) or given by the caller; without a header they are taken by position.
IDs are kept as text, so string IDs work. The same reader takes the (user, item) pairs of
``gnn predict``, where the rating column is optional.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from gnncli.errors import InputError, UsageError
from gnncli.io import STDIN, read_stdin_bytes

USER_NAMES = ("user", "userid", "user_id", "users", "uid", "customer", "customerid", "customer_id")
ITEM_NAMES = ("item", "itemid", "item_id", "items", "iid", "movie", "movieid", "movie_id", "product",
              "productid", "product_id", "book", "bookid", "isbn")
RATING_NAMES = ("rating", "ratings", "score", "stars", "value")
TIME_NAMES = ("timestamp", "time", "date", "unix_timestamp", "ts")


@dataclass
class RatingTable:
    """Rows of a rating (or pair) file.

    Attributes:
        source: the file as the user named it.
        frame: the file's rows as text, every column kept (for ``gnn predict`` output).
        user, item: the ID of each row (text).
        rating: float ratings (NaN where the file has no rating column).
        timestamp: float timestamps, or None.
        lines: the 1-based line of each row in the file (for messages).
        columns: the column names used, ``{"user": ..., "item": ..., "rating": ..., "timestamp": ...}``.
        header: whether the file has a header line.
        duplicates: rows dropped as repeated (user, item) pairs (the last one is kept).
        sources: for rows of several files joined (:func:`join_tables`), each row's file; None
            when every row is ``source``'s.
    """

    source: str
    frame: pd.DataFrame
    user: np.ndarray
    item: np.ndarray
    rating: np.ndarray
    timestamp: np.ndarray | None
    lines: np.ndarray
    columns: dict = field(default_factory=dict)
    header: bool = True
    duplicates: int = 0
    sources: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.user)

    def where(self, row: int) -> str:
        source = self.source if self.sources is None else self.sources[row]
        return f"{source}: line {int(self.lines[row])}"


def _norm(name: str) -> str:
    return str(name).strip().lower().replace(" ", "_").replace("-", "_")


def _find(columns: list[str], names: tuple[str, ...]) -> str | None:
    by_norm = {_norm(c): c for c in columns}
    for name in names:
        if name in by_norm:
            return by_norm[name]
    return None


def _sep_of(first_line: str) -> str:
    if "\t" in first_line:
        return "\t"
    if "::" in first_line:  # MovieLens 1M/10M
        return "::"
    if "," in first_line:
        return ","
    if ";" in first_line:
        return ";"
    return r"\s+"


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _first_lines(path: str, n: int = 20) -> list[str]:
    import gzip

    opener = gzip.open if path.lower().endswith(".gz") else open
    lines = []
    with opener(path, "rt", encoding="utf-8", errors="replace", newline="") as handle:
        for line in handle:
            if line.strip():
                lines.append(line.rstrip("\r\n"))
            if len(lines) >= n:
                break
    return lines


def _split_line(line: str, sep: str) -> list[str]:
    import re

    if sep == r"\s+":
        return line.split()
    if sep == "::":
        return line.split("::")
    return next(csv.reader([line], delimiter=sep))


def has_header(first: list[str], user_col=None, item_col=None, rating_col=None) -> bool:
    """A header names columns; a data row has a number in its third field (the rating)."""
    named = {_norm(c) for c in first}
    if named & set(USER_NAMES + ITEM_NAMES + RATING_NAMES) or {user_col, item_col, rating_col} & set(first):
        return True
    return not (len(first) >= 3 and _is_number(first[2]))


def looks_like_ratings(path: str) -> bool:
    """Whether ``path`` reads as a rating table: named user, item and rating columns, or (no header)
    rows of at least three fields whose third is a number and whose first two are IDs."""
    try:
        lines = _first_lines(path)
    except (OSError, UnicodeDecodeError, EOFError):
        return False
    if not lines:
        return False
    sep = _sep_of(lines[0])
    first = _split_line(lines[0], sep)
    if has_header(first):
        return bool(_find(first, USER_NAMES) and _find(first, ITEM_NAMES) and _find(first, RATING_NAMES))
    rows = [_split_line(line, sep) for line in lines]
    return all(len(r) >= 3 and r[0].strip() and r[1].strip() and _is_number(r[2]) for r in rows)


def _read_text(path: str) -> tuple[str, io.StringIO | str]:
    if path == STDIN:
        text = read_stdin_bytes().decode("utf-8", errors="replace")
        return text, io.StringIO(text)
    p = Path(path)
    if not p.exists():
        raise InputError(f"{path}: file not found")
    if p.is_dir():
        raise InputError(f"{path}: is a folder, expected a file of ratings")
    if p.stat().st_size == 0:
        raise InputError(f"{path}: file is empty")
    return "", path


def read_ratings(
    path: str, *, user_col: str | None = None, item_col: str | None = None, rating_col: str | None = None,
    time_col: str | None = None, need_rating: bool = True, chunk_size: int | None = None, fmt: str | None = None,
) -> RatingTable | Iterator[RatingTable]:
    """Read a rating table (or, with ``need_rating=False``, a table of (user, item) pairs).

    ``fmt`` (``csv`` or ``tsv``) fixes the separator; by default it is found from the first line
    (tab, ``::``, comma, semicolon, or runs of spaces). With ``chunk_size``, an iterator of tables of at most that many rows (line numbers continue).
    Raises :class:`InputError` naming the file and line for an empty file, a missing column, a
    rating that is not a finite number, or a row without a user or item.
    """
    text, source = _read_text(path)
    try:
        if text:
            lines = [line for line in text.splitlines() if line.strip()][:20]
        else:
            lines = _first_lines(path)
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a text file") from None
    if not lines:
        raise InputError(f"{path}: file is empty")
    sep = {"csv": ",", "tsv": "\t"}.get(fmt or "", None) or _sep_of(lines[0])
    first = [c.strip() for c in _split_line(lines[0], sep)]
    header = has_header(first, user_col, item_col, rating_col)
    if header:
        names = first
        cols = {
            "user": user_col or _find(names, USER_NAMES),
            "item": item_col or _find(names, ITEM_NAMES),
            "rating": rating_col or _find(names, RATING_NAMES),
            "timestamp": time_col or _find(names, TIME_NAMES),
        }
        for role, flag in (("user", "--user-col"), ("item", "--item-col")):
            if cols[role] is None:
                raise InputError(f"{path}: no {role} column found (columns: {', '.join(names)}); name it with {flag}")
            if cols[role] not in names:
                raise InputError(f"{path}: no column '{cols[role]}' (columns: {', '.join(names)})")
        for role in ("rating", "timestamp"):
            if cols[role] is not None and cols[role] not in names:
                raise InputError(f"{path}: no column '{cols[role]}' (columns: {', '.join(names)})")
        if need_rating and cols["rating"] is None:
            raise InputError(f"{path}: no rating column found (columns: {', '.join(names)}); name it with --rating-col")
    else:
        if any(c is not None for c in (user_col, item_col, rating_col, time_col)):
            raise UsageError(f"{path}: has no header line, so columns cannot be named; they are taken by position "
                             "(user, item, rating, timestamp)")
        width = len(first)
        if width < (3 if need_rating else 2):
            raise InputError(f"{path}: line 1: expected user, item{', rating' if need_rating else ''} "
                             f"(found {width} field{'s' if width != 1 else ''})")
        names = ["user", "item", "rating", "timestamp"][:width] + [f"column_{i}" for i in range(4, width)]
        cols = {"user": "user", "item": "item", "rating": "rating" if width >= 3 else None,
                "timestamp": "timestamp" if width >= 4 else None}
    kwargs = dict(sep=sep, dtype=str, keep_default_na=False, na_values=[], header=0 if header else None,
                  skip_blank_lines=True, engine="python" if sep in ("::", r"\s+") else "c")
    if not header:
        kwargs["names"] = names
    handle = io.StringIO(text) if text else source
    try:
        if chunk_size:
            reader = pd.read_csv(handle, chunksize=chunk_size, **kwargs)
            return _chunks(path, reader, cols, header, need_rating)
        frame = pd.read_csv(handle, **kwargs)
    except pd.errors.ParserError as exc:
        raise InputError(f"{path}: cannot be read as a table ({str(exc).strip().splitlines()[-1]})") from None
    table = _table(path, frame, cols, header, need_rating, offset=0)
    if len(table) == 0:
        raise InputError(f"{path}: no rows")
    return table


def _chunks(path, reader, cols, header, need_rating) -> Iterator[RatingTable]:
    offset = 0
    try:
        for frame in reader:
            table = _table(path, frame, cols, header, need_rating, offset)
            offset += len(frame)
            yield table
    except pd.errors.ParserError as exc:
        raise InputError(f"{path}: cannot be read as a table ({str(exc).strip().splitlines()[-1]})") from None
    if offset == 0:
        raise InputError(f"{path}: no rows")


def _table(path: str, frame: pd.DataFrame, cols: dict, header: bool, need_rating: bool, offset: int) -> RatingTable:
    frame = frame.reset_index(drop=True)
    frame.columns = [str(c).strip() for c in frame.columns]
    lines = np.arange(len(frame)) + offset + (2 if header else 1)  # blank lines are not counted
    user = frame[cols["user"]].astype(str).str.strip().to_numpy(dtype=object)
    item = frame[cols["item"]].astype(str).str.strip().to_numpy(dtype=object)
    if need_rating:
        for role, ids in (("user", user), ("item", item)):
            empty = np.flatnonzero(ids == "")
            if len(empty):
                raise InputError(f"{path}: line {lines[empty[0]]}: no {role}")
    rating = np.full(len(frame), np.nan)
    if cols.get("rating") is not None:
        raw = frame[cols["rating"]].astype(str).str.strip()
        rating = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
        bad = np.flatnonzero(~np.isfinite(rating))
        if need_rating and len(bad):
            i = bad[0]
            raise InputError(f"{path}: line {lines[i]}: rating '{raw.iloc[i]}' is not a number")
    timestamp = None
    if cols.get("timestamp") is not None:
        raw = frame[cols["timestamp"]].astype(str).str.strip()
        timestamp = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
        if need_rating and np.isnan(timestamp).any():
            parsed = pd.to_datetime(raw, errors="coerce", utc=True)
            if parsed.notna().all():
                timestamp = (parsed.astype("int64") // 10**9).to_numpy(dtype=float)
            else:
                i = int(np.flatnonzero(np.isnan(timestamp) & parsed.isna().to_numpy())[0])
                raise InputError(f"{path}: line {lines[i]}: timestamp '{raw.iloc[i]}' is neither a number nor a date")
    return RatingTable(path, frame, user, item, rating, timestamp, lines, dict(cols), header)


def drop_duplicates(table: RatingTable) -> RatingTable:
    """The table with repeated (user, item) pairs removed, keeping the last; ``duplicates`` counts them."""
    key = pd.DataFrame({"u": table.user, "i": table.item})
    keep = ~key.duplicated(keep="last").to_numpy()
    n = int((~keep).sum())
    if not n:
        return table
    idx = np.flatnonzero(keep)
    return RatingTable(table.source, table.frame.iloc[idx].reset_index(drop=True), table.user[idx], table.item[idx],
                       table.rating[idx], None if table.timestamp is None else table.timestamp[idx], table.lines[idx],
                       table.columns, table.header, table.duplicates + n,
                       None if table.sources is None else table.sources[idx])


def join_tables(tables: list[RatingTable], source: str) -> RatingTable:
    """Several rating tables as one, rows in order (``source`` names them together); each file's
    rows keep their file and line for messages. Every table must use the first one's columns
    (user, item, rating, timestamp); an :class:`InputError` names the one that does not."""
    first = tables[0]
    if len(tables) == 1:
        return first
    for table in tables[1:]:
        if table.columns != first.columns:
            def shown(t: RatingTable) -> str:
                return ", ".join(f"{role} '{name}'" for role, name in t.columns.items() if name is not None)

            raise InputError(f"{table.source}: columns {shown(table)} differ from {first.source}'s {shown(first)}; "
                             "files trained on together need the same columns")
    timestamp = None if first.timestamp is None else np.concatenate([t.timestamp for t in tables])
    sources = np.concatenate([np.full(len(t), t.source, dtype=object) if t.sources is None else t.sources for t in tables])
    return RatingTable(
        source, pd.concat([t.frame for t in tables], ignore_index=True), np.concatenate([t.user for t in tables]),
        np.concatenate([t.item for t in tables]), np.concatenate([t.rating for t in tables]), timestamp,
        np.concatenate([t.lines for t in tables]), dict(first.columns), first.header,
        sum(t.duplicates for t in tables), sources,
    )
