"""Binding-site labels per residue: from ligand atoms, or from a CSV of site residues.

A residue is a site residue when any of its heavy atoms lies within ``cutoff`` (default 4.0
Angstrom) of any heavy atom of a ligand. This is VN-EGNN's and most residue-level benchmarks'
convention (a heavy-atom contact); P2Rank instead labels its surface points within 4 Angstrom of
the ligand, which we do not reproduce.
"""

from __future__ import annotations

import numpy as np

from gnncli.errors import InputError

DEFAULT_CUTOFF = 4.0


def site_labels(atom_xyz: np.ndarray, atom_residue: np.ndarray, n_residues: int, ligands: list[np.ndarray],
                cutoff: float = DEFAULT_CUTOFF) -> np.ndarray:
    """[R] 1.0 for residues with a heavy atom within ``cutoff`` of a ligand heavy atom, else 0.0."""
    from scipy.spatial import cKDTree

    labels = np.zeros(n_residues, np.float32)
    if not ligands or not len(atom_xyz):
        return labels
    lig = np.concatenate([np.asarray(x, np.float64).reshape(-1, 3) for x in ligands])
    if not len(lig):
        return labels
    dist, _ = cKDTree(lig).query(atom_xyz, k=1, distance_upper_bound=cutoff)
    close = np.isfinite(dist)
    labels[np.unique(atom_residue[close])] = 1.0
    return labels


def read_site_table(path: str) -> dict[str, set[tuple[str, int, str]]]:
    """A CSV of site residues (columns ``file``, ``chain``, ``resnum`` and optionally ``icode``),
    as file -> {(chain, resnum, icode)}; files are matched by path, name or stem."""
    import pandas as pd

    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a readable CSV ({exc})") from None
    cols = {c.strip().lower(): c for c in frame.columns}
    for need in ("file", "chain", "resnum"):
        if need not in cols:
            raise InputError(f"{path}: no '{need}' column (a site table has file, chain, resnum and optionally icode)")
    sites: dict[str, set] = {}
    for i, row in enumerate(frame.to_dict("records")):
        text = str(row[cols["resnum"]]).strip()
        digits = text.lstrip("-")
        j = len(digits) - len(digits.lstrip("0123456789"))
        number, icode = (text[: len(text) - len(digits) + j], digits[j:].strip()) if j else ("", "")
        if not number or number == "-":
            raise InputError(f"{path}: line {i + 2}: resnum '{text}' is not a residue number")
        if "icode" in cols and str(row[cols["icode"]]).strip():
            icode = str(row[cols["icode"]]).strip()
        sites.setdefault(str(row[cols["file"]]).strip(), set()).add((str(row[cols["chain"]]).strip(), int(number), icode))
    return sites


def match_sites(sites: dict[str, set], path: str) -> set | None:
    """The site residues the table lists for structure ``path`` (by path, file name or stem)."""
    from pathlib import Path

    p = Path(path)
    stem = p.name.split(".")[0]
    for key in (path, p.name, stem, stem.replace("_protein", "")):
        if key in sites:
            return sites[key]
    return None
