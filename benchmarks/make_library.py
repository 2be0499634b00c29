#!/usr/bin/env python3
"""Build a large SMILES "screening library" for prediction-throughput benchmarks.

Example::

    python benchmarks/make_library.py --source /path/to/HIV.csv --rows 100000 \\
        --invalid-frac 0.01 --seed 0 --out /tmp/bench/library_100k.smi

SMILES are drawn from the ``--smiles-col`` column of ``--source`` (a CSV).
Source SMILES that RDKit cannot parse are left out of the pool. If more rows
are requested than the pool holds, the pool is repeated (each pass is a fresh
random permutation, so every molecule occurs about equally often).

A seeded random fraction (``--invalid-frac``) of the rows is then replaced by
invalid entries of several kinds (cycled so that every kind occurs):

* ``unclosed_ring``: ring-bond digit never closed, e.g. ``C1CC``
* ``bad_valence``: a pentavalent carbon, e.g. ``C(C)(C)(C)(C)C``
* ``empty``: an empty line (an empty quoted cell ``""`` with --with-header)
* ``garbage``: text that is not SMILES, e.g. ``not_a_smiles``
* ``unbalanced_paren``: a real SMILES from the pool with a ``(`` appended
* ``unknown_element``: an unknown element symbol in brackets, e.g. ``C[Xx]C``
* ``bad_aromatic``: non-kekulizable aromatic ring, e.g. ``c1cccc1``

Every invalid entry is checked to fail ``Chem.MolFromSmiles`` (RDKit default
sanitization).

Outputs:

* ``--out``: the library, one SMILES per line and no header by default; with
  ``--with-header`` a one-column CSV with the header ``smiles``.
* the *valid twin* (``library_100k.valid.smi`` next to ``library_100k.smi``):
  the same rows in the same order with the invalid rows left out. Tools that
  stop at the first invalid SMILES (e.g. Chemprop) are timed on it.
* ``<out stem>.meta.json``: parameters, counts per invalid kind, and the
  0-based row numbers (data rows, header not counted) of the invalid entries.

Needs numpy, pandas and RDKit (all in the project's environment).
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from gnncli.io import sha256_file

try:
    from rdkit import Chem, RDLogger
except ImportError:  # pragma: no cover
    sys.exit("make_library.py needs RDKit (pip install rdkit)")

RDLogger.DisableLog("rdApp.*")

# Fixed examples for each kind of invalid entry; "unbalanced_paren" is built
# from real SMILES instead.
INVALID_TEMPLATES: dict[str, list[str]] = {
    "unclosed_ring": ["C1CC", "c1ccccc", "CC1CCC(C)C", "O=C1NC(=O)C"],
    "bad_valence": ["C(C)(C)(C)(C)C", "CC(C)(C)(C)(C)O", "O(C)(C)C", "FC(F)(F)(F)F"],
    "empty": [""],
    "garbage": ["not_a_smiles", "xyz123", "???", "C%%C", "hello world", "NaN!", "#####", "12345"],
    "unbalanced_paren": [],
    "unknown_element": ["C[Xx]C", "[Zz]", "CC[Qq]O"],
    "bad_aromatic": ["c1cccc1", "c1ccc1", "n1cccc1C"],
}
KINDS = list(INVALID_TEMPLATES)


def is_valid(smi: str) -> bool:
    return bool(smi) and Chem.MolFromSmiles(smi) is not None


def twin_path(out: Path) -> Path:
    """``x/library.smi`` -> ``x/library.valid.smi``."""
    return out.with_name(f"{out.stem}.valid{out.suffix}")


def meta_path(out: Path) -> Path:
    return out.with_name(f"{out.stem}.meta.json")


def load_pool(source: Path, smiles_col: str) -> tuple[list[str], int]:
    df = pd.read_csv(source, usecols=[smiles_col], dtype=str, keep_default_na=False)
    raw = [s.strip() for s in df[smiles_col].tolist()]
    pool = [s for s in raw if is_valid(s)]
    return pool, len(raw) - len(pool)


def draw_rows(pool: list[str], rows: int, rng: np.random.Generator) -> list[str]:
    """``rows`` SMILES from ``pool``; repeats the pool (fresh permutation each pass) if needed."""
    idx = []
    remaining = rows
    while remaining > 0:
        perm = rng.permutation(len(pool))[:remaining]
        idx.append(perm)
        remaining -= len(perm)
    return [pool[i] for i in np.concatenate(idx)]


def make_invalid(kind: str, rng: np.random.Generator, pool: list[str]) -> str:
    for _ in range(100):
        if kind == "unbalanced_paren":
            cand = pool[int(rng.integers(len(pool)))] + "("
        else:
            choices = INVALID_TEMPLATES[kind]
            cand = choices[int(rng.integers(len(choices)))]
        if not is_valid(cand):
            return cand
    raise RuntimeError(f"could not make an invalid SMILES of kind {kind!r}")


def write_lines(path: Path, smiles: list[str], with_header: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="") as fh:
        if with_header:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(["smiles"])
            w.writerows([s] for s in smiles)  # an empty SMILES is written as ""
        else:
            fh.write("\n".join(smiles))
            fh.write("\n")
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", type=Path, required=True, help="CSV file with a SMILES column")
    ap.add_argument("--smiles-col", default="smiles", help="SMILES column of --source (default: smiles)")
    ap.add_argument("--rows", type=int, required=True, help="number of rows to write")
    ap.add_argument("--invalid-frac", type=float, default=0.01,
                    help="fraction of rows replaced by invalid SMILES (default 0.01)")
    ap.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    ap.add_argument("--out", type=Path, required=True, help="output path, e.g. library_100k.smi")
    ap.add_argument("--with-header", action="store_true",
                    help="write a one-column CSV with the header 'smiles' instead of a bare .smi")
    args = ap.parse_args(argv)

    if args.rows < 1:
        ap.error("--rows must be at least 1")
    if not 0.0 <= args.invalid_frac <= 1.0:
        ap.error("--invalid-frac must be in [0, 1]")

    pool, n_bad_source = load_pool(args.source, args.smiles_col)
    if not pool:
        sys.exit(f"no valid SMILES in column {args.smiles_col!r} of {args.source}")
    print(f"pool: {len(pool)} valid SMILES from {args.source} ({n_bad_source} unparsable left out)",
          file=sys.stderr)

    rng = np.random.default_rng(args.seed)
    smiles = draw_rows(pool, args.rows, rng)

    n_invalid = int(round(args.rows * args.invalid_frac))
    inv_rows = np.sort(rng.choice(args.rows, size=n_invalid, replace=False))
    kinds = [KINDS[k % len(KINDS)] for k in rng.permutation(n_invalid)]
    counts = {k: 0 for k in KINDS}
    invalid_entries = []
    for row, kind in zip(inv_rows.tolist(), kinds):
        smiles[row] = make_invalid(kind, rng, pool)
        counts[kind] += 1
        invalid_entries.append({"row": row, "kind": kind, "smiles": smiles[row]})

    inv_set = set(inv_rows.tolist())
    valid = [s for i, s in enumerate(smiles) if i not in inv_set]

    out = args.out
    twin = twin_path(out)
    write_lines(out, smiles, args.with_header)
    write_lines(twin, valid, args.with_header)

    meta = {
        "source": str(args.source),
        "source_sha256": sha256_file(args.source),
        "smiles_col": args.smiles_col,
        "pool_size": len(pool),
        "source_unparsable": n_bad_source,
        "rows": args.rows,
        "valid_rows": len(valid),
        "invalid_rows": n_invalid,
        "invalid_frac": args.invalid_frac,
        "invalid_counts": counts,
        "seed": args.seed,
        "with_header": args.with_header,
        "library": str(out),
        "valid_twin": str(twin),
        "invalid_entries": invalid_entries,
    }
    with open(meta_path(out), "w") as fh:
        json.dump(meta, fh, indent=1)
    print(f"wrote {out} ({args.rows} rows, {n_invalid} invalid: "
          + ", ".join(f"{k}={v}" for k, v in counts.items()) + ")", file=sys.stderr)
    print(f"wrote {twin} ({len(valid)} valid rows)", file=sys.stderr)
    print(f"wrote {meta_path(out)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
