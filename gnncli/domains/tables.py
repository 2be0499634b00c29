"""Target columns of input tables: finding them, reading their values, and inferring the task.

Shared by every kind of input whose labels sit in a table (a molecule CSV, a labels CSV of
protein structures). Tables are read with every cell as text; a cell is a missing label when it
is empty or spelled as pandas spells missing values (``NA``, ``N/A``, ``nan``, ``None``,
``NULL``, ``-``, ...).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd

from gnncli.errors import InputError

#: Cell texts that mean "no value": pandas' default missing-value strings, and a lone dash.
MISSING = frozenset({
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>",
    "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null", "-",
})
#: Column names that identify rows rather than hold a property to learn.
ID_LIKE = ("id", "name", "index", "num", "compound id", "mol_id", "cid")


def missing(text: pd.Series) -> pd.Series:
    """Which cells of a text column hold no value (NaN, empty, or a missing-value spelling)."""
    stripped = text.astype("string").str.strip()
    return stripped.isna() | stripped.isin(MISSING)


def numbers(column: pd.Series) -> tuple[np.ndarray, pd.Series, pd.Series]:
    """A text column as floats: ``(values, missing, bad)``, NaN where missing or not a number."""
    absent = missing(column)
    text = column.astype("string").str.strip().mask(absent)
    values = pd.to_numeric(text, errors="coerce")
    bad = ~absent & values.isna()
    return values.to_numpy(dtype=float, na_value=np.nan), absent, bad


def is_number(values: Iterable[object]) -> np.ndarray:
    """Whether each value reads as a number (vectorized)."""
    series = pd.Series(list(values), dtype="string").str.strip()
    return pd.to_numeric(series, errors="coerce").notna().to_numpy()


def target_columns(frame: pd.DataFrame, requested: list[str] | None, exclude: set[str], source: str) -> list[str]:
    """The target columns: ``requested``, else every column whose values are all numbers or missing
    (id-like names and ``exclude`` left out)."""
    if requested:
        absent = [t for t in requested if t not in frame.columns]
        if absent:
            raise InputError(f"{source}: no target column '{absent[0]}' (columns: {', '.join(frame.columns)})")
        return list(requested)
    found = []
    for col in frame.columns:
        if col in exclude or col.strip().lower() in ID_LIKE:
            continue
        values, absent, bad = numbers(frame[col])
        if not bad.any() and not absent.all():
            found.append(col)
    if not found:
        raise InputError(f"{source}: no numeric target column found (columns: {', '.join(frame.columns)}); name one with --target")
    return found


def parse_targets(frame: pd.DataFrame, targets: list[str], where: Callable[[int], str], source: str
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Target values ``y`` [N, T] (0 where missing) and ``mask`` [N, T] (True where present).

    ``where(position)`` names a row in messages (``file: line N``).
    """
    y = np.zeros((len(frame), len(targets)))
    mask = np.zeros((len(frame), len(targets)), dtype=bool)
    for t, col in enumerate(targets):
        raw = frame[col]
        arr, absent, bad = numbers(raw)
        if bad.any():
            pos = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(f"{where(pos)}: target '{col}' value '{raw.iloc[pos]}' is not a number")
        if np.isinf(arr).any():
            pos = int(np.flatnonzero(np.isinf(arr))[0])
            raise InputError(f"{where(pos)}: target '{col}' value '{raw.iloc[pos]}' is not finite")
        if np.isnan(arr).all():
            raise InputError(f"{source}: target '{col}' is empty in every row")
        mask[:, t] = ~np.isnan(arr)
        y[:, t] = np.nan_to_num(arr)
    return y, mask


def infer_task(y: np.ndarray, mask: np.ndarray, requested: str, targets: list[str], source: str) -> str:
    """``classification`` when every label is 0/1 (or when asked), else ``regression``; a
    classification target must hold both classes."""
    binary = all(set(np.unique(y[mask[:, t], t])) <= {0.0, 1.0} for t in range(y.shape[1]))
    task = requested if requested != "auto" else ("classification" if binary else "regression")
    if task == "classification":
        for t, name in enumerate(targets):
            values = set(np.unique(y[mask[:, t], t]))
            if not values <= {0.0, 1.0}:
                bad = sorted(values - {0.0, 1.0})[0]
                raise InputError(f"{source}: target '{name}' has value {bad:g}; classification needs 0/1 labels")
            if len(values) < 2:
                raise InputError(
                    f"{source}: target '{name}' has a single class ({int(next(iter(values)))}); a classifier needs both 0 and 1"
                )
    return task
