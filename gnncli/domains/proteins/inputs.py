"""Finding protein inputs, and featurizing them (in worker processes, cached on disk).

Inputs are structure files (``.pdb``, ``.ent``, ``.cif``, ``.mmcif``, gzipped or not), folders of
them, glob patterns, a folder in PDBbind's layout (``<id>/<id>_protein.pdb`` with
``<id>_ligand.sdf`` or ``.mol2``; an ``index.csv`` beside them with an ``id`` column gives each
complex's columns, e.g. ``seq_cluster``), or a labels CSV with a column naming structure files or
IDs. Each becomes a :class:`ProteinItem`; :func:`featurize_items` turns items into records of
arrays (the residue graph, residue ids, ligands, protein heavy atoms) with one error per item
that could not be read.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gnncli.domains.proteins.reader import STRUCTURE_EXTENSIONS, is_structure_file
from gnncli.errors import InputError

#: Column names of a labels CSV that name a structure (file path or ID), in order of preference.
STRUCTURE_COLUMNS = ("file", "path", "structure", "pdb", "pdb_file", "filename", "id", "pdb_id", "pdbid", "name")
_CACHE_LAYOUT = 1


@dataclass
class ProteinItem:
    """One structure to read: ``path``, an optional separate ligand file, and the values of its
    row in a labels CSV or index (``row``), with ``where`` naming it in messages."""

    path: str
    ligand_path: str | None = None
    row: dict = field(default_factory=dict)
    where: str = ""
    error: str | None = None  # set when the item is known bad before reading (a missing file)
    from_table: bool = False  # ``row`` is the item's row of a labels table the user gave

    @property
    def name(self) -> str:
        return self.path


def _has_glob(text: str) -> bool:
    return any(ch in text for ch in "*?[")


def _structures_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and is_structure_file(p.name))


def pdbbind_complexes(folder: Path) -> list[Path]:
    """Sub-folders of ``folder`` in PDBbind's layout (``<id>/<id>_protein.pdb`` + a ligand file)."""
    found = []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        if _protein_file(sub) is not None and _ligand_file(sub) is not None:
            found.append(sub)
    return found


def _protein_file(sub: Path) -> Path | None:
    for ext in (".pdb", ".pdb.gz", ".cif", ".cif.gz"):
        p = sub / f"{sub.name}_protein{ext}"
        if p.is_file():
            return p
    return None


def _ligand_file(sub: Path) -> Path | None:
    for ext in (".sdf", ".mol2"):
        p = sub / f"{sub.name}_ligand{ext}"
        if p.is_file():
            return p
    return None


def looks_like_structures(path: str) -> bool:
    """A folder holding structure files, or PDBbind-style complexes; a CSV naming structures."""
    p = Path(path)
    if p.is_dir():
        try:
            return bool(_structures_in(p)) or bool(pdbbind_complexes(p))
        except OSError:
            return False
    if p.suffix.lower() in (".csv", ".tsv"):
        try:
            import pandas as pd

            head = pd.read_csv(p, sep="," if p.suffix.lower() == ".csv" else "\t", dtype=str, nrows=20,
                               keep_default_na=False)
            column = structure_column(head, str(p))
            return any(_resolve(v, p.parent, None) is not None for v in head[column].head(5))
        except Exception:  # not readable as a labels table: not ours by content
            return False
    return False


def structure_column(frame, source: str, requested: str | None = None) -> str:
    if requested:
        if requested not in frame.columns:
            raise InputError(f"{source}: no column '{requested}' (columns: {', '.join(frame.columns)})")
        return requested
    lower = {str(c).strip().lower(): c for c in frame.columns}
    for name in STRUCTURE_COLUMNS:
        if name in lower:
            return lower[name]
    raise InputError(f"{source}: no column naming structures (expected one of {', '.join(STRUCTURE_COLUMNS[:6])}, ...)")


def _resolve(value: str, base: Path, structures: str | None) -> str | None:
    """The structure file a labels cell names: a path (relative to the CSV's folder or to
    ``structures``), or an ID found as ``ID.pdb``, ``ID.cif`` (gzipped or not) or ``ID/ID_protein.pdb``."""
    value = str(value).strip()
    if not value:
        return None
    roots = [Path(structures)] if structures else []
    roots.append(base)
    for root in roots:
        direct = root / value
        if direct.is_file():
            return str(direct)
        for ext in STRUCTURE_EXTENSIONS:
            for candidate in (root / f"{value}{ext}", root / f"{value}{ext}.gz", root / f"{value.lower()}{ext}",
                              root / value / f"{value}_protein{ext}"):
                if candidate.is_file():
                    return str(candidate)
    return None


def items_from_table(path: str, *, structures: str | None = None) -> tuple[list[ProteinItem], "object"]:
    """Items of a labels CSV/TSV (every column kept as text in ``row``) and the table itself."""
    import pandas as pd

    p = Path(path)
    try:
        frame = pd.read_csv(p, sep="\t" if p.suffix.lower() in (".tsv", ".tab") else ",", dtype=str,
                            keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"{path}: not a readable table ({str(exc).strip().splitlines()[0] if str(exc).strip() else 'empty'})") from None
    frame.columns = [str(c) for c in frame.columns]
    column = structure_column(frame, path)
    items = []
    for i, value in enumerate(frame[column].tolist()):
        where = f"{path}: line {i + 2}"
        resolved = _resolve(value, p.parent, structures) if isinstance(value, str) else None
        item = ProteinItem(resolved or str(value), row=frame.iloc[i].to_dict(), where=where, from_table=True)
        if resolved is None:
            looked = f"{structures} or {p.parent}" if structures else str(p.parent)
            item.error = f"{where}: structure '{value}' not found (looked in {looked})"
        items.append(item)
    return items, frame


def discover(inputs: Sequence[str], *, structures: str | None = None) -> list[ProteinItem]:
    """Every item named by ``inputs`` (files, folders, globs, PDBbind folders, labels tables), in order."""
    items: list[ProteinItem] = []
    for given in inputs:
        p = Path(given)
        if not p.exists() and _has_glob(given):
            matched = sorted(glob.glob(given))
            if not matched:
                raise InputError(f"{given}: no file matches")
            items.extend(discover(matched, structures=structures))
            continue
        if not p.exists():
            items.append(ProteinItem(given, where=given, error=f"{given}: file not found"))
            continue
        if p.is_dir():
            complexes = pdbbind_complexes(p)
            if complexes:
                items.extend(_pdbbind_items(p, complexes))
                continue
            files = _structures_in(p)
            if not files:
                raise InputError(f"{given}: no structure files ({', '.join(STRUCTURE_EXTENSIONS)}, optionally .gz) "
                                 "and no PDBbind-style complexes in this folder")
            items.extend(ProteinItem(str(f), where=str(f)) for f in files)
            continue
        if p.suffix.lower() in (".csv", ".tsv", ".tab"):
            items.extend(items_from_table(given, structures=structures)[0])
            continue
        items.append(ProteinItem(given, where=given))
    return items


def _pdbbind_items(folder: Path, complexes: list[Path]) -> list[ProteinItem]:
    index = {}
    table = folder / "index.csv"
    if table.is_file():
        import pandas as pd

        frame = pd.read_csv(table, dtype=str, keep_default_na=False)
        if "id" in frame.columns:
            index = {str(r["id"]): r for r in frame.to_dict("records")}
    return [ProteinItem(str(_protein_file(sub)), str(_ligand_file(sub)), row=dict(index.get(sub.name, {"id": sub.name})),
                        where=str(_protein_file(sub))) for sub in complexes]


# ------------------------------------------------------------------------------- featurizing


@dataclass(frozen=True)
class ReadSettings:
    """How structures are read (part of the cache key)."""

    model_index: int = 1
    chains: tuple[str, ...] | None = None
    fmt: str | None = None
    excluded_het: tuple[str, ...] | None = None
    ligand_names: tuple[str, ...] | None = None

    def key(self) -> list:
        return [self.model_index, list(self.chains or []), self.fmt, sorted(self.excluded_het or []) if self.excluded_het is not None else None,
                list(self.ligand_names or [])]


def featurize_structure(path: str, featurizer, settings: ReadSettings) -> dict:
    """The record of one structure: its residue graph and what labels and outputs need."""
    from gnncli.domains.proteins.reader import read_structure

    st = read_structure(path, model_index=settings.model_index, chains=list(settings.chains) if settings.chains else None,
                        fmt=settings.fmt,
                        excluded_het=frozenset(settings.excluded_het) if settings.excluded_het is not None else None,
                        ligand_names=list(settings.ligand_names) if settings.ligand_names else None)
    graph = featurizer(st)
    return {
        **graph,
        "chain": [str(c) for c in st.chain], "resnum": st.resnum.astype(np.int64), "icode": [str(c) for c in st.icode],
        "resname": [str(r) for r in st.resname], "center": st.center.astype(np.float32),
        "atom_xyz": st.atom_xyz.astype(np.float32), "atom_residue": st.atom_residue.astype(np.int64),
        "ligands": [(lig.name, lig.xyz.astype(np.float32)) for lig in st.ligands], "notes": list(st.notes),
    }


def _cache_file(path: str, featurizer, settings: ReadSettings) -> Path | None:
    from gnncli.domains.molecules.reader import cache_dir
    from gnncli.io import sha256_file

    try:
        digest = sha256_file(path)
    except OSError:
        return None
    h = hashlib.sha256(digest.encode())
    h.update(json.dumps([featurizer.spec, settings.key(), _CACHE_LAYOUT], sort_keys=True).encode())
    return cache_dir() / "proteins" / f"{h.hexdigest()[:32]}.pt"


def _to_saved(record: dict) -> dict:
    import torch

    out = {}
    for k, v in record.items():
        if isinstance(v, np.ndarray):
            out[k] = torch.from_numpy(np.ascontiguousarray(v))
        elif k == "ligands":
            out[k] = [[name, torch.from_numpy(np.ascontiguousarray(xyz))] for name, xyz in v]
        else:
            out[k] = v
    return out


def _from_saved(saved: dict) -> dict:
    out = {}
    for k, v in saved.items():
        if hasattr(v, "numpy"):
            out[k] = v.numpy()
        elif k == "ligands":
            out[k] = [(name, xyz.numpy()) for name, xyz in v]
        else:
            out[k] = v
    return out


def load_or_featurize(path: str, featurizer, settings: ReadSettings, cache: bool = True) -> dict:
    """:func:`featurize_structure`, through the on-disk cache (keyed by the file's content, the
    featurizer spec and the read settings)."""
    from gnncli.io import load_tensors, save_tensors

    file = _cache_file(path, featurizer, settings) if cache else None
    if file is not None and file.is_file():
        try:
            return _from_saved(load_tensors(file))
        except Exception:
            file.unlink(missing_ok=True)  # a damaged cache entry is rebuilt, never fatal
    record = featurize_structure(path, featurizer, settings)
    if file is not None:
        try:
            save_tensors(file, _to_saved(record))
        except OSError:
            pass  # a read-only cache folder only costs speed
    return record


def _work(args) -> tuple[dict | None, str | None]:
    from gnncli.errors import GnnError

    item, featurizer, settings, cache = args
    if item.error:
        return None, item.error
    try:
        record = load_or_featurize(item.path, featurizer, settings, cache)
        if item.ligand_path:
            from gnncli.domains.proteins.reader import read_ligand_file

            ligand = read_ligand_file(item.ligand_path)
            record["ligands"] = [(ligand.name, ligand.xyz.astype(np.float32))]
        return record, None
    except GnnError as exc:
        return None, str(exc)
    except Exception as exc:  # a reader bug on one odd file must not end a batch job
        return None, f"{item.path}: could not be read ({type(exc).__name__}: {exc})"


def featurize_items(items: Sequence[ProteinItem], featurizer, settings: ReadSettings, *, workers: int | None = None,
                    cache: bool = True, progress: Callable[[int], None] | None = None,
                    ) -> tuple[list[dict | None], dict[int, str]]:
    """Records of ``items`` in order (None where it failed) and item position -> error."""
    from gnncli.parallel import lower_priority, pool_context

    jobs = [(item, featurizer, settings, cache) for item in items]
    n_workers = workers if workers and workers > 0 else min(os.cpu_count() or 1, 8)
    if n_workers > 1 and len(jobs) >= 8:
        with pool_context().Pool(min(n_workers, len(jobs)), initializer=lower_priority) as pool:
            results = []
            for result in pool.imap(_work, jobs, chunksize=2):
                results.append(result)
                if progress is not None:
                    progress(1)
    else:
        results = []
        for job in jobs:
            results.append(_work(job))
            if progress is not None:
                progress(1)
    records = [r for r, _ in results]
    errors = {i: e for i, (_, e) in enumerate(results) if e is not None}
    return records, errors
