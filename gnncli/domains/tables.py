"""Target columns of input tables: finding them, reading their values, and inferring the task.

Shared by every kind of input whose labels sit in a table (a molecule CSV, a labels CSV of
protein structures). Tables are read with every cell as text; a cell is a missing label when it
is empty or spelled as pandas spells missing values (``NA``, ``N/A``, ``nan``, ``None``,
``NULL``, ``-``, ...). Where a caller allows it, a cell may be a bound rather than a value
(``<-0.77``, ``>3``, as assays report values beyond their range): :func:`parse_targets` with
``bounds=True`` gives its side (-1 below, +1 above) beside the number.
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


def bounded_numbers(column: pd.Series) -> tuple[np.ndarray, np.ndarray, pd.Series, pd.Series]:
    """A text column as floats that may be bounds (``<x``, ``>x``, ``<=x``, ``>=x``):
    ``(values, side, missing, bad)`` where ``side`` is -1 for an upper bound (the true value is
    below), +1 for a lower bound and 0 for an exact value."""
    absent = missing(column)
    text = column.astype("string").str.strip().mask(absent)
    first = text.str[:1].fillna("")
    side = np.where(first == "<", -1, np.where(first == ">", 1, 0)).astype(np.int8)
    number = text.str.replace(r"^[<>]=?\s*", "", regex=True)
    values = pd.to_numeric(number, errors="coerce")
    bad = ~absent & values.isna()
    side[absent.to_numpy() | bad.to_numpy()] = 0
    return values.to_numpy(dtype=float, na_value=np.nan), side, absent, bad


def is_number(values: Iterable[object]) -> np.ndarray:
    """Whether each value reads as a number (vectorized)."""
    series = pd.Series(list(values), dtype="string").str.strip()
    return pd.to_numeric(series, errors="coerce").notna().to_numpy()


def target_columns(frame: pd.DataFrame, requested: list[str] | None, exclude: set[str], source: str,
                   *, bounds: bool = False) -> list[str]:
    """The target columns: ``requested``, else every column whose values are all numbers or missing
    (or bounds such as ``<-0.77``, with ``bounds``; id-like names and ``exclude`` left out)."""
    if requested:
        absent = [t for t in requested if t not in frame.columns]
        if absent:
            raise InputError(f"{source}: no target column '{absent[0]}' (columns: {', '.join(frame.columns)})")
        return list(requested)
    found = []
    for col in frame.columns:
        if col in exclude or col.strip().lower() in ID_LIKE:
            continue
        absent, bad = (bounded_numbers(frame[col]) if bounds else numbers(frame[col]))[-2:]
        if not bad.any() and not absent.all():
            found.append(col)
    if not found:
        raise InputError(f"{source}: no numeric target column found (columns: {', '.join(frame.columns)}); name one with --target")
    return found


def parse_targets(frame: pd.DataFrame, targets: list[str], where: Callable[[int], str], source: str,
                  *, bounds: bool = False) -> tuple[np.ndarray, ...]:
    """Target values ``y`` [N, T] (0 where missing) and ``mask`` [N, T] (True where present).

    ``where(position)`` names a row in messages (``file: line N``). With ``bounds``, cells such as
    ``<-0.77`` are read too, and a third array ``side`` [N, T] says which are bounds (-1: the true
    value is below, +1: above, 0: exact).
    """
    y = np.zeros((len(frame), len(targets)))
    mask = np.zeros((len(frame), len(targets)), dtype=bool)
    sides = np.zeros((len(frame), len(targets)), dtype=np.int8)
    for t, col in enumerate(targets):
        raw = frame[col]
        if bounds:
            arr, sides[:, t], absent, bad = bounded_numbers(raw)
        else:
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
    return (y, mask, sides) if bounds else (y, mask)


#: The most integer classes a target may have for ``--task auto`` to call it multiclass.
MAX_AUTO_CLASSES = 10


def infer_task(y: np.ndarray, mask: np.ndarray, requested: str, targets: list[str], source: str,
               notes: list[str] | None = None, *, tasks: tuple[str, ...] = ("regression", "classification")) -> str:
    """The task of targets ``y`` [N, T] (``mask`` [N, T] True where labelled).

    ``auto`` gives ``classification`` when every label is 0/1; ``multiclass`` (when ``tasks``
    allows it) when every label is an integer and some target has 3 to :data:`MAX_AUTO_CLASSES`
    classes, with a line saying so appended to ``notes``; else ``regression``. A classification
    target must hold both classes, a multiclass one integers and at least two classes.
    """
    values = [np.unique(y[mask[:, t], t]) for t in range(y.shape[1])]
    binary = all(set(v) <= {0.0, 1.0} for v in values)
    integer = all(np.all(v == np.round(v)) for v in values)
    task = requested
    if requested == "auto":
        task = "classification" if binary else "regression"
        if not binary and integer and "multiclass" in tasks and max(len(v) for v in values) <= MAX_AUTO_CLASSES:
            task = "multiclass"
            if notes is not None:
                shown = ", ".join(f"'{name}' ({', '.join(f'{c:g}' for c in v)})" for name, v in zip(targets, values))
                notes.append(f"every label is an integer with at most {MAX_AUTO_CLASSES} classes ({shown}): "
                             "training multiclass classification; say --task regression to fit them as numbers")
    if task == "classification":
        for t, name in enumerate(targets):
            found = set(values[t])
            if not found <= {0.0, 1.0}:
                bad = sorted(found - {0.0, 1.0})[0]
                hint = " (or --task multiclass)" if "multiclass" in tasks and integer else ""
                raise InputError(f"{source}: target '{name}' has value {bad:g}; classification needs 0/1 labels{hint}")
            if len(found) < 2:
                raise InputError(
                    f"{source}: target '{name}' has a single class ({int(next(iter(found)))}); a classifier needs both 0 and 1"
                )
    if task == "multiclass":
        for t, name in enumerate(targets):
            fractional = values[t][values[t] != np.round(values[t])]
            if fractional.size:
                raise InputError(f"{source}: target '{name}' has value {fractional[0]:g}; multiclass needs integer class labels")
            if len(values[t]) < 2:
                raise InputError(f"{source}: target '{name}' has a single class ({values[t][0]:g}); a classifier needs two or more")
    return task
