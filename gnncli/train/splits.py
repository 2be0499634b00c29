"""Train/validation/test splits: random, by group (no group on two sides), k-fold, or from a column.

Each function returns index arrays into the list of usable (valid) items.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Sequence

import numpy as np

Split = tuple[np.ndarray, np.ndarray, np.ndarray]


def _counts(n: int, sizes: Sequence[float]) -> tuple[int, int, int]:
    n_train = int(round(sizes[0] * n))
    n_val = int(round(sizes[1] * n))
    n_val = min(n_val, n - n_train)
    return n_train, n_val, n - n_train - n_val


def random_split(n: int, sizes: Sequence[float], seed: int) -> Split:
    """Shuffle ``range(n)`` with ``seed`` and cut it by ``sizes`` (fractions summing to 1)."""
    order = np.random.default_rng(seed).permutation(n)
    n_train, n_val, _ = _counts(n, sizes)
    return order[:n_train], order[n_train : n_train + n_val], order[n_train + n_val :]


def group_split(groups: Sequence[Hashable], sizes: Sequence[float], seed: int) -> Split:
    """Split items so that no group is on two sides (molecules by scaffold, proteins by sequence
    cluster).

    As in Chemprop's balanced scaffold split: groups larger than half the validation or test
    size go to training first; the rest are placed in a seeded random order.
    """
    members: dict[Hashable, list[int]] = defaultdict(list)
    for i, group in enumerate(groups):
        members[group].append(i)
    n = len(groups)
    n_train, n_val, n_test = _counts(n, sizes)
    sets = list(members.values())
    rng = np.random.default_rng(seed)
    big = [s for s in sets if len(s) > n_val / 2 or len(s) > n_test / 2]
    small = [s for s in sets if not (len(s) > n_val / 2 or len(s) > n_test / 2)]
    rng.shuffle(big)
    rng.shuffle(small)
    train, val, test = [], [], []
    for group in big + small:
        if len(train) + len(group) <= n_train:
            train += group
        elif len(val) + len(group) <= n_val:
            val += group
        else:
            test += group
    return np.asarray(train, np.int64), np.asarray(val, np.int64), np.asarray(test, np.int64)


def kfold_splits(n: int, folds: int, seed: int, val_fraction: float = 0.1) -> list[Split]:
    """``folds`` splits: fold ``k`` is the test set; a seeded ``val_fraction`` of the rest validates."""
    order = np.random.default_rng(seed).permutation(n)
    parts = np.array_split(order, folds)
    out = []
    for k in range(folds):
        rest = np.concatenate([p for j, p in enumerate(parts) if j != k])
        rest = np.random.default_rng(seed + k + 1).permutation(rest)
        n_val = max(1, int(round(val_fraction * n)))
        out.append((rest[n_val:], rest[:n_val], parts[k]))
    return out


_NAMES = {"train": 0, "training": 0, "val": 1, "valid": 1, "validation": 1, "dev": 1, "test": 2, "testing": 2}


def column_split(values: Sequence[object]) -> Split:
    """Split by a column of ``train``/``val``/``test`` labels. Raises ValueError naming a bad row."""
    sides: list[list[int]] = [[], [], []]
    for i, value in enumerate(values):
        key = str(value).strip().lower()
        if key not in _NAMES:
            raise ValueError(f"row {i}: split value '{value}' is not train, val or test")
        sides[_NAMES[key]].append(i)
    return tuple(np.asarray(s, np.int64) for s in sides)  # type: ignore[return-value]
