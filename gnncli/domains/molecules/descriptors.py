"""Whole-molecule features computed by RDKit, appended to the learned vector before the head
(Chemprop's ``--molecule-featurizers``).

* ``morgan``: Morgan (ECFP4-like) count fingerprint, radius 2, 2048 bits (Chemprop's ``morgan_count``);
* ``morgan_binary``: the same as bits (``morgan_binary``);
* ``rdkit2d``: every 2D descriptor RDKit's ``Descriptors`` module lists (Chemprop's ``rdkit_2d``);
  values that are not finite become 0.

They are scaled like any per-molecule feature (standardized on the training rows, inside the
model). Imports only numpy and RDKit (it runs in worker processes).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache

import numpy as np
from rdkit import Chem

MORGAN_RADIUS = 2
MORGAN_BITS = 2048


@lru_cache(maxsize=1)
def _morgan():
    from rdkit.Chem import rdFingerprintGenerator

    return rdFingerprintGenerator.GetMorganGenerator(radius=MORGAN_RADIUS, fpSize=MORGAN_BITS)


def morgan_counts(mols: Sequence[Chem.Mol]) -> np.ndarray:
    gen = _morgan()
    return np.array([gen.GetCountFingerprintAsNumPy(m) for m in mols], dtype=np.float32).reshape(len(mols), MORGAN_BITS)


def morgan_bits(mols: Sequence[Chem.Mol]) -> np.ndarray:
    gen = _morgan()
    return np.array([gen.GetFingerprintAsNumPy(m) for m in mols], dtype=np.float32).reshape(len(mols), MORGAN_BITS)


@lru_cache(maxsize=1)
def rdkit2d_names() -> tuple[str, ...]:
    from rdkit.Chem import Descriptors

    return tuple(name for name, _ in Descriptors._descList)


def rdkit2d(mols: Sequence[Chem.Mol]) -> np.ndarray:
    from rdkit.Chem import Descriptors

    fns = [fn for _, fn in Descriptors._descList]
    out = np.zeros((len(mols), len(fns)), dtype=np.float64)
    for i, mol in enumerate(mols):
        for j, fn in enumerate(fns):
            try:
                out[i, j] = fn(mol)
            except Exception:  # a descriptor RDKit cannot compute for this molecule
                out[i, j] = np.nan
    out[~np.isfinite(out)] = 0.0
    return np.clip(out, -3e38, 3e38).astype(np.float32)


#: name -> (width, function of a list of molecules giving [len(mols), width])
MOLECULE_FEATURES: dict[str, tuple[Callable[[], int], Callable[[Sequence[Chem.Mol]], np.ndarray]]] = {
    "morgan": (lambda: MORGAN_BITS, morgan_counts),
    "morgan_binary": (lambda: MORGAN_BITS, morgan_bits),
    "rdkit2d": (lambda: len(rdkit2d_names()), rdkit2d),
}


def feature_width(name: str) -> int:
    return MOLECULE_FEATURES[name][0]()


def compute(names: Sequence[str], mols: Sequence[Chem.Mol]) -> np.ndarray:
    """The features ``names`` of every molecule, side by side: [len(mols), sum of widths]."""
    parts = [MOLECULE_FEATURES[name][1](mols) for name in names]
    return np.concatenate(parts, axis=1) if parts else np.zeros((len(mols), 0), np.float32)
