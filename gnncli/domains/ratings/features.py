"""Side features of users and items (GC-MC's ``--user-features`` and ``--item-features``).

A feature file is a table with one row per user (or item): the ID first, or in a column named
like the rating file's (``user``/``userId``/``item``/``movieId``/``id``...), then any columns of
attributes. MovieLens ``u.user`` (``id|age|gender|occupation|zip``) and ``u.item`` (``id|title|
release date|video date|url|19 genre flags``, Latin-1) work as they are; the separator (tab, ``|``,
comma, semicolon, ``::``) is found from the first line, and a header is recognised when its first
field names the ID column, or when the first row has no number, is not a known ID and the row
below it has numbers.

Each column becomes numbers by a fixed rule, reported back to the caller:

* numeric columns are standardized (mean 0, sd 1 over the rows read; a missing value is the mean);
* text columns with at most :data:`MAX_LEVELS` distinct values are one-hot encoded (a missing
  value is all zeros);
* other text columns (free text, URLs, dates, zip codes) are left out, by name.

Users or items with no row get all-zero features (they are counted); rows of IDs with no training
rating are ignored.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from gnncli.domains.ratings.reader import _is_number, _norm, _sep_of
from gnncli.errors import InputError

#: Text columns with more distinct values than this are not one-hot encoded but left out.
MAX_LEVELS = 64
_ID_NAMES = {"user": ("user", "userid", "user_id", "uid", "id", "customer", "customerid", "customer_id"),
             "item": ("item", "itemid", "item_id", "iid", "id", "movie", "movieid", "movie_id", "product",
                      "productid", "product_id", "book", "bookid", "isbn")}


@dataclass
class SideFeatures:
    """Features [n, F] (float32) in the order of the ID map, with what each column became."""

    matrix: np.ndarray
    names: list[str]
    skipped: list[str] = field(default_factory=list)
    missing: int = 0
    duplicates: int = 0

    def notes(self, path: str, what: str) -> list[str]:
        """Warnings for the run's summary: IDs with no row, repeated rows, columns left out."""
        out = []
        if self.missing:
            out.append(f"{path}: {self.missing} {what}s with training ratings have no row; their features are zeros")
        if self.duplicates:
            out.append(f"{path}: {self.duplicates} repeated {what} IDs; kept the last row of each")
        if self.skipped:
            out.append(f"{path}: columns left out (empty, or text with more than {MAX_LEVELS} distinct values): "
                       f"{', '.join(self.skipped)}")
        return out


def _sep(line: str) -> str:
    """The rating reader's separator (:func:`~gnncli.domains.ratings.reader._sep_of`), but with ``|``
    (MovieLens ``u.user``, ``u.item``) before commas and semicolons, which titles contain."""
    if "|" in line and "\t" not in line and "::" not in line:
        return "|"
    return _sep_of(line)


def read_side_features(path: str, ids, what: str) -> SideFeatures:
    """Features of the IDs ``ids`` (text, in ID-map order) from the table at ``path``.

    ``what`` is ``user`` or ``item`` (for the ID column's name and messages). Raises
    :class:`InputError` naming the file for a missing or empty file, an unreadable table, a file
    with no column besides the ID, or one whose IDs match none of the training ratings'.
    """
    p = Path(path)
    if not p.exists():
        raise InputError(f"{path}: file not found")
    if p.is_dir():
        raise InputError(f"{path}: is a folder, expected a table of {what} features")
    text = p.read_bytes().decode("utf-8", errors="replace")
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise InputError(f"{path}: file is empty")
    sep = _sep(lines[0])
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, header=None, dtype=str, keep_default_na=False,
                            na_values=[""], skip_blank_lines=True, quoting=csv.QUOTE_MINIMAL,
                            engine="python" if len(sep) > 1 else "c")
    except (pd.errors.ParserError, ValueError) as exc:
        raise InputError(f"{path}: cannot be read as a table ({str(exc).strip().splitlines()[-1]})") from None
    ids = pd.Index([str(i) for i in ids])
    first = ["" if pd.isna(c) else str(c).strip() for c in frame.iloc[0]]
    lines_of = np.arange(1, len(frame) + 1)
    # A header names the ID column, or is a first row of names only (no field a number) that is
    # not a known ID, above rows that have numbers.
    header = _norm(first[0]) in _ID_NAMES[what] or (
        first[0] not in ids and not any(_is_number(f) for f in first)
        and len(frame) > 1 and any(_is_number(str(f)) for f in frame.iloc[1]))
    id_col = 0
    if header:
        names = [c or f"column_{k + 1}" for k, c in enumerate(first)]
        by_norm = {_norm(n): k for k, n in enumerate(names)}
        id_col = next((by_norm[n] for n in _ID_NAMES[what] if n in by_norm), 0)
        frame = frame.iloc[1:].reset_index(drop=True)
        lines_of = lines_of[1:]
    else:
        names = [f"column_{k + 1}" for k in range(frame.shape[1])]
    frame.columns = names
    if frame.shape[1] < 2:
        raise InputError(f"{path}: line 1: expected a {what} ID and at least one feature column "
                         f"(found {frame.shape[1]} field{'s' if frame.shape[1] != 1 else ''})")
    key = frame[names[id_col]].astype(str).str.strip()
    empty = (key == "") | (key == "nan")  # astype(str) made a missing ID "nan"
    if empty.any():
        raise InputError(f"{path}: line {int(lines_of[int(np.flatnonzero(empty.to_numpy())[0])])}: no {what} ID")
    keep = ~key.duplicated(keep="last").to_numpy()
    duplicates = int((~keep).sum())
    frame, key = frame[keep].reset_index(drop=True), key[keep].reset_index(drop=True)
    position = pd.Index(key).get_indexer(ids)
    if (position < 0).all():
        raise InputError(f"{path}: none of its {len(key)} {what} IDs has a training rating "
                         f"(first ID in the file: '{key.iloc[0]}'; first with ratings: '{ids[0] if len(ids) else ''}')")
    columns, out_names, skipped = [], [], []
    for name in names:
        if name == names[id_col]:
            continue
        col = frame[name].str.strip()
        number = pd.to_numeric(col, errors="coerce")
        given = col.notna() & (col != "")
        if given.any() and number[given].notna().all():
            values = number.to_numpy(np.float64)
            mean = np.nanmean(values)
            sd = np.nanstd(values)
            z = np.where(np.isnan(values), 0.0, (values - mean) / (sd if sd > 0 else 1.0))
            columns.append(z[:, None])
            out_names.append(name)
            continue
        levels = pd.unique(col[given])
        if 0 < len(levels) <= MAX_LEVELS:
            onehot = (col.to_numpy()[:, None] == np.asarray(levels, dtype=object)[None, :]).astype(np.float64)
            columns.append(onehot)
            out_names.extend(f"{name}={level}" for level in levels)
        else:
            skipped.append(name)
    if not columns:
        raise InputError(f"{path}: no usable feature column (numbers, or text with at most {MAX_LEVELS} "
                         f"distinct values); left out: {', '.join(skipped)}")
    table = np.concatenate(columns, axis=1)
    matrix = np.zeros((len(ids), table.shape[1]), np.float32)
    found = position >= 0
    matrix[found] = table[position[found]]
    return SideFeatures(matrix, out_names, skipped, int((~found).sum()), duplicates)
