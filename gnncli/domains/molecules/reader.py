"""Reading molecule files: CSV/TSV (SMILES column), ``.smi``, SDF, or ``-`` for stdin.

Reading yields :class:`MoleculeFrame` objects (a pandas frame plus where its rows came from);
:func:`featurize_frame` turns one into a :class:`~gnncli.domains.pack.GraphPack` in parallel
worker processes, with an on-disk cache keyed by the file's content and the featurizer spec.
Invalid molecules never stop a job: they are reported per row.
"""

from __future__ import annotations

import bisect
import gzip
import hashlib
import io
import json
import os
import sys
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from gnncli.domains.pack import GraphPack
from gnncli.domains.tables import is_number
from gnncli.errors import InputError
from gnncli.formats import check_format
from gnncli.featurizers.molecule import DEFAULT_MAX_ATOMS, MoleculeFeaturizer, featurize_batch, parse_smiles
from gnncli.domains.molecules.rows import RowFeaturizer, featurize_rows
from gnncli.io import STDIN, check_input_file, load_tensors, save_tensors, sha256_file
from gnncli.parallel import BLOCK_SIZE, BlockPool, lower_priority

FORMATS = ("csv", "tsv", "smi", "sdf")
_EXTENSIONS = {
    ".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".smi": "smi", ".smiles": "smi",
    ".ism": "smi", ".txt": "smi", ".sdf": "sdf", ".sd": "sdf", ".mol": "sdf",
}
_SMILES_NAMES = ("smiles", "smi", "canonical_smiles", "isomeric_smiles", "mol", "molecule")
#: The column a ``.smi`` file's SMILES and an SDF record's SMILES are given.
SMILES = "smiles"


@dataclass
class MoleculeFrame:
    """Rows read from one file (or one chunk of it).

    Attributes:
        frame: the rows, every column as text (empty cells are NaN).
        smiles_col: the column holding SMILES.
        source: the file name as the user gave it (``-`` for stdin).
        first_line: the line (``.smi``/CSV) or record (SDF) number of the first row.
        unit: ``"line"`` or ``"record"``: what ``first_line`` counts.
        record_errors: row position -> reason, for rows that failed before featurization
            (an SDF record RDKit could not read).
        positions: SDF only: per row, the heavy atoms' 3D coordinates [n, 3] in the order of
            the row's SMILES (so of the featurized atoms), or None for a record without a 3D
            conformer; None for other formats.
        parts: for rows of several files joined (:func:`read_molecule_files`), where each file
            after the first begins: ``(row position, source, first_line, unit)``, in order.
    """

    frame: pd.DataFrame
    smiles_col: str
    source: str
    first_line: int = 2
    unit: str = "line"
    record_errors: dict[int, str] = field(default_factory=dict)
    positions: list | None = None
    parts: list[tuple[int, str, int, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.frame)

    def where(self, position: int) -> str:
        """``file:line N`` for the row at ``position`` (0-based) of this frame."""
        start, source, first_line, unit = 0, self.source, self.first_line, self.unit
        if self.parts:
            at = bisect.bisect_right([part[0] for part in self.parts], position)
            if at:
                start, source, first_line, unit = self.parts[at - 1]
        return f"{source}: {unit} {first_line + position - start}"

    @property
    def smiles(self) -> list:
        return self.frame[self.smiles_col].tolist()

    def smiles_to_featurize(self) -> list:
        """The SMILES, with None for rows the reader already failed (so they stay invalid)."""
        smiles = self.smiles
        for pos in self.record_errors:
            smiles[pos] = None
        return smiles

    def require(self, columns: Sequence[str], hint: str = "") -> None:
        """Raise :class:`InputError` naming the first of ``columns`` this file lacks."""
        for column in columns:
            if column not in self.frame.columns:
                raise InputError(f"{self.source}: no column '{column}' (columns: {', '.join(map(str, self.frame.columns))}){hint}")

    def rows_to_featurize(self, columns: Sequence[str]) -> list:
        """Tuples of the ``columns`` of every row (NaN as None), with None for rows the reader
        already failed (what :func:`~gnncli.domains.molecules.rows.featurize_rows` takes)."""
        values = [[None if isinstance(v, float) and v != v else v for v in self.frame[c].tolist()] for c in columns]
        rows: list = list(zip(*values)) if columns else [()] * len(self.frame)
        for pos in self.record_errors:
            rows[pos] = None
        return rows

    def to_featurize(self, featurizer) -> list:
        """What ``featurizer`` featurizes of every row: SMILES, or rows of several columns."""
        columns = getattr(featurizer, "input_columns", None)
        return self.smiles_to_featurize() if columns is None else self.rows_to_featurize(columns)


def detect_format(path: str, fmt: str | None = None) -> str:
    """The input format: ``fmt`` if given, else from the extension (``.gz`` allowed)."""
    if fmt is not None:
        return check_format(fmt, FORMATS)
    if path == STDIN:
        return "auto"
    name = path.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    suffix = os.path.splitext(name)[1]
    if suffix not in _EXTENSIONS:
        raise InputError(
            f"{path}: unknown file type '{suffix or name}' (expected .csv, .tsv, .smi or .sdf; or say --format)"
        )
    return _EXTENSIONS[suffix]


def read_molecules(
    path: str, *, smiles_col: str | None = None, fmt: str | None = None
) -> MoleculeFrame:
    """Read a whole molecule file (for training)."""
    chunks = list(iter_molecules(path, smiles_col=smiles_col, fmt=fmt, chunk_size=None))
    first = chunks[0]
    if len(chunks) == 1:
        return first
    frame = pd.concat([c.frame for c in chunks], ignore_index=True)
    errors, offset = {}, 0
    for c in chunks:
        errors.update({offset + k: v for k, v in c.record_errors.items()})
        offset += len(c)
    positions = None if first.positions is None else [p for c in chunks for p in c.positions]
    return MoleculeFrame(frame, first.smiles_col, first.source, first.first_line, first.unit, errors, positions)


def read_molecule_files(
    paths: Sequence[str], *, smiles_col: str | None = None, fmt: str | None = None
) -> MoleculeFrame:
    """Read several molecule files as one table, rows in file order (for training on several).

    The first file's SMILES column is every file's; every file must have the first one's columns
    (an :class:`InputError` names the one that differs). :meth:`MoleculeFrame.where` names each
    row's own file and line.
    """
    frames: list[MoleculeFrame] = []
    for path in paths:
        mf = read_molecules(path, smiles_col=frames[0].smiles_col if frames else smiles_col, fmt=fmt)
        if frames and list(mf.frame.columns) != list(frames[0].frame.columns):
            raise InputError(f"{path}: columns {', '.join(map(str, mf.frame.columns))} differ from "
                             f"{frames[0].source}'s {', '.join(map(str, frames[0].frame.columns))}; "
                             "files trained on together need the same columns")
        frames.append(mf)
    first = frames[0]
    if len(frames) == 1:
        return first
    frame = pd.concat([f.frame for f in frames], ignore_index=True)
    errors, parts, offset = {}, [], 0
    for f in frames:
        if offset:
            parts.append((offset, f.source, f.first_line, f.unit))
        errors.update({offset + k: v for k, v in f.record_errors.items()})
        offset += len(f)
    positions = None
    if any(f.positions is not None for f in frames):  # SDF records with 3D conformers, and rows without
        positions = [p for f in frames for p in (f.positions if f.positions is not None else [None] * len(f))]
    return MoleculeFrame(frame, first.smiles_col, first.source, first.first_line, first.unit, errors, positions, parts)


def iter_molecules(
    path: str, *, smiles_col: str | None = None, fmt: str | None = None, chunk_size: int | None = 10_000
) -> Iterator[MoleculeFrame]:
    """Stream a molecule file as frames of at most ``chunk_size`` rows (all at once if None)."""
    if path != STDIN:
        check_input_file(path)
    kind = detect_format(path, fmt)
    if path == STDIN:
        handle: io.TextIOBase = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", newline="") \
            if hasattr(sys.stdin, "buffer") else sys.stdin
        first = handle.readline()
        if not first.strip():
            raise InputError("-: standard input is empty")
        if kind == "auto":
            kind = "tsv" if "\t" in first else "csv" if "," in first else "smi"
        if kind == "sdf":
            text = first + handle.read()
            yield from _iter_sdf(io.BytesIO(text.encode()), STDIN, chunk_size)
            return
        stream = _Prepend(first, handle)
        yield from _dispatch(kind, stream, STDIN, smiles_col, chunk_size)
        return
    opener = gzip.open if path.lower().endswith(".gz") else open  # pandas sees .gz itself
    try:
        if kind == "sdf":
            with opener(path, "rb") as raw:
                yield from _iter_sdf(raw, path, chunk_size)
        elif kind == "smi":
            with opener(path, "rt", encoding="utf-8", newline="") as text:
                yield from _iter_smi(text, path, chunk_size)
        else:
            yield from _iter_table(path, path, "," if kind == "csv" else "\t", smiles_col, chunk_size)
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:  # pandas raises these too
        raise InputError(f"{path}: not a valid gzip file ({exc})") from None


def _dispatch(kind: str, stream, source: str, smiles_col, chunk_size) -> Iterator[MoleculeFrame]:
    if kind == "smi":
        yield from _iter_smi(stream, source, chunk_size)
    else:
        yield from _iter_table(stream, source, "," if kind == "csv" else "\t", smiles_col, chunk_size)


class _Prepend(io.TextIOBase):
    """A text stream that yields ``head`` and then the rest of ``stream`` (to peek at stdin)."""

    def __init__(self, head: str, stream) -> None:
        self._head, self._stream = head, stream

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> str:
        if self._head:
            out, self._head = self._head, ""
            if size is None or size < 0:
                return out + self._stream.read()
            return out
        return self._stream.read(size if size is not None else -1)

    def readline(self, size: int = -1) -> str:
        if self._head:
            out, self._head = self._head, ""
            return out
        return self._stream.readline(size)

    def __iter__(self):
        while line := self.readline():
            yield line


def _iter_table(source_obj, source: str, sep: str, smiles_col, chunk_size) -> Iterator[MoleculeFrame]:
    try:
        reader = pd.read_csv(
            source_obj, sep=sep, dtype=str, keep_default_na=False, na_values=[""],
            chunksize=chunk_size, skipinitialspace=False,
        )
        chunks = [reader] if chunk_size is None else reader
        line = 2
        col = None
        for chunk in chunks:
            chunk.columns = [str(c) for c in chunk.columns]
            if col is None:
                col = find_smiles_column(chunk, source, smiles_col)
            yield MoleculeFrame(chunk.reset_index(drop=True), col, source, line)
            line += len(chunk)
        if col is None:
            raise InputError(f"{source}: no rows")
    except pd.errors.EmptyDataError:
        raise InputError(f"{source}: file is empty") from None
    except pd.errors.ParserError as exc:
        raise InputError(f"{source}: not a valid {'CSV' if sep == ',' else 'TSV'} file ({_first_line(exc)})") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{source}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _iter_smi(stream, source: str, chunk_size) -> Iterator[MoleculeFrame]:
    """``.smi``: one molecule a line, ``SMILES [name ...]``; an optional header naming SMILES."""
    rows: list[tuple[str, str]] = []
    first_line = 1
    line_no = 0
    any_rows = False
    pending_blank = 0
    try:
        for line_no, line in enumerate(stream, start=1):
            text = line.rstrip("\r\n")
            if line_no == 1 and text.split(None, 1)[:1] and text.split(None, 1)[0].lower() in _SMILES_NAMES:
                first_line = 2
                continue
            if not text.strip():
                pending_blank += 1  # kept as invalid rows only if a molecule follows (not trailing)
                continue
            rows.extend([("", "")] * pending_blank)
            pending_blank = 0
            parts = text.strip().split(None, 1)
            rows.append((parts[0], parts[1] if len(parts) > 1 else ""))
            if chunk_size is not None and len(rows) >= chunk_size:
                yield _smi_frame(rows, source, first_line)
                any_rows = True
                first_line += len(rows)
                rows = []
    except UnicodeDecodeError as exc:
        raise InputError(f"{source}: line {line_no + 1}: not UTF-8 text ({exc.reason})") from None
    if rows or not any_rows:
        if not rows and not any_rows:
            raise InputError(f"{source}: no molecules (the file has no SMILES lines)")
        yield _smi_frame(rows, source, first_line)


def _smi_frame(rows: list[tuple[str, str]], source: str, first_line: int) -> MoleculeFrame:
    frame = pd.DataFrame(rows, columns=[SMILES, "name"], dtype=object).replace("", np.nan)
    return MoleculeFrame(frame, SMILES, source, first_line)


def _iter_sdf(raw, source: str, chunk_size) -> Iterator[MoleculeFrame]:
    """SDF: one row per record with the record's properties as columns and its SMILES."""
    from rdkit import Chem

    supplier = Chem.ForwardSDMolSupplier(raw, sanitize=True, removeHs=True)
    rows, errors, positions, first = [], {}, [], 1
    count = 0
    for record, mol in enumerate(supplier, start=1):
        count = record
        if mol is None:
            errors[len(rows)] = f"SDF record {record} could not be read by RDKit"
            rows.append({SMILES: np.nan})
            positions.append(None)
        else:
            row = {SMILES: Chem.MolToSmiles(mol)}
            positions.append(_smiles_order_positions(mol))
            if mol.HasProp("_Name") and mol.GetProp("_Name").strip():
                row["name"] = mol.GetProp("_Name").strip()
            row.update({str(k): str(v) for k, v in mol.GetPropsAsDict(includePrivate=False).items()})
            rows.append(row)
        if chunk_size is not None and len(rows) >= chunk_size:
            yield MoleculeFrame(pd.DataFrame(rows, dtype=object), SMILES, source, first, "record", errors, positions)
            first += len(rows)
            rows, errors, positions = [], {}, []
    if count == 0:
        raise InputError(f"{source}: no SDF records")
    if rows:
        yield MoleculeFrame(pd.DataFrame(rows, dtype=object), SMILES, source, first, "record", errors, positions)


def _smiles_order_positions(mol) -> np.ndarray | None:
    """The 3D coordinates of ``mol``'s atoms in the order its last ``MolToSmiles`` wrote them
    (which is the order RDKit parses that SMILES back in), or None without a 3D conformer."""
    if not mol.GetNumConformers() or not mol.GetConformer().Is3D():
        return None
    order = list(mol.GetPropsAsDict(includePrivate=True, includeComputed=True)["_smilesAtomOutputOrder"])
    return np.asarray(mol.GetConformer().GetPositions(), dtype=np.float32)[order]


def attach_positions(pack: GraphPack, valid: np.ndarray, errors: dict[int, str], positions: list | None,
                     ) -> tuple[GraphPack, np.ndarray, dict[int, str]]:
    """Give every featurized molecule its 3D coordinates as ``pos``, from ``positions`` (one
    [n, 3] array or None per row, :attr:`MoleculeFrame.positions`). A molecule without them, or
    whose atoms they do not match, leaves the pack and becomes an error of its row."""
    counts = pack.num_nodes.tolist()
    keep, blocks = [], []
    for i, (row, n) in enumerate(zip(np.asarray(valid).tolist(), counts)):
        p = positions[row] if positions is not None else None
        if p is None:
            errors[row] = "no 3D coordinates (a model on coordinates reads them from SDF records with a 3D conformer)"
        elif len(p) != n:
            errors[row] = f"3D coordinates for {len(p)} atoms, but the molecule has {n} heavy atoms"
        else:
            keep.append(i)
            blocks.append(p)
    if len(keep) < len(counts):
        pack, valid = pack.subset(keep), np.asarray(valid)[keep]
    pos = torch.from_numpy(np.concatenate(blocks)) if blocks else torch.zeros(0, 3)
    return pack.with_attrs(node={"pos": pos}), valid, errors


def find_smiles_column(frame: pd.DataFrame, source: str, requested: str | None = None) -> str:
    """The SMILES column: ``requested``, else by name, else the first column that parses as SMILES."""
    columns = list(frame.columns)
    if requested is not None:
        if requested not in columns:
            raise InputError(f"{source}: no column '{requested}' (columns: {', '.join(columns)})")
        return requested
    lowered = {c.strip().lower(): c for c in columns}
    for name in _SMILES_NAMES:
        if name in lowered:
            return lowered[name]
    for c in columns:
        if "smiles" in c.lower():
            return c
    for c in columns:
        values = frame[c].dropna().head(20).tolist()
        if not values or is_number(values).all():
            continue
        ok = 0
        for v in values:
            try:
                parse_smiles(v)
                ok += 1
            except ValueError:
                pass
        if ok >= 0.8 * len(values):
            return c
    raise InputError(
        f"{source}: no SMILES column found (columns: {', '.join(columns)}); name it with --smiles-col"
    )


# ---------------------------------------------------------------------------------------------
# Featurization: in parallel worker processes, cached on disk.

def block_function(featurizer) -> Callable:
    """What featurizes a block of inputs for ``featurizer``: SMILES for a
    :class:`MoleculeFeaturizer`, rows of several columns for a :class:`RowFeaturizer`."""
    return featurize_rows if isinstance(featurizer, RowFeaturizer) else featurize_batch


def pack_arrays(arrays: Sequence[np.ndarray]) -> GraphPack:
    """A pack from a featurizer's arrays ``(x, edge_index, edge_attr, num_atoms, num_edges)``,
    plus ``(part, features)`` for rows of several columns."""
    pack = GraphPack.from_arrays(*arrays[:5])
    if len(arrays) > 5:
        pack = pack.with_attrs(node={"part": torch.from_numpy(np.ascontiguousarray(arrays[5], np.int64))},
                               graph={"features": torch.from_numpy(np.ascontiguousarray(arrays[6], np.float32))})
    return pack


class Featurizer:
    """Featurizes lists of SMILES, or of rows (:meth:`submit`, then :meth:`collect`), in ``workers``
    processes kept alive across calls (lists of a few blocks are featurized in-process).

    Use as a context manager so worker processes are closed. ``workers=1`` runs in-process.
    """

    def __init__(self, featurizer: MoleculeFeaturizer | RowFeaturizer, workers: int = 1,
                 max_atoms: int | None = DEFAULT_MAX_ATOMS) -> None:
        self.featurizer = featurizer
        # The workers run only RDKit and numpy, never torch, so inheriting torch's thread pools
        # through fork is harmless.
        self._blocks = BlockPool(partial(block_function(featurizer), featurizer, max_atoms=max_atoms), workers,
                                 initializer=lower_priority, min_items=2 * BLOCK_SIZE)

    def __enter__(self) -> Featurizer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._blocks.close()

    def submit(self, smiles: Sequence) -> tuple:
        """Start featurizing ``smiles`` (in the workers when there are any); see :meth:`collect`."""
        return self._blocks.submit(smiles)

    def collect(
        self, submitted: tuple, extra_errors: dict[int, str] | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> tuple[GraphPack, np.ndarray, dict[int, str]]:
        """Wait for a :meth:`submit`; returns ``(pack, valid_positions, errors)``.

        ``pack`` holds the valid molecules in input order, ``valid_positions`` their positions
        in the submitted list, and ``errors`` maps each invalid position to its reason
        (``extra_errors`` from the reader take precedence).
        """
        parts, valid, errors = self._blocks.collect(submitted, progress)
        errors.update(extra_errors or {})
        parts = parts or [self.featurizer.stack([])]  # no input: empty arrays of the right widths
        arrays = [np.concatenate([p[i] for p in parts], axis=1 if i == 1 else 0) for i in range(len(parts[0]))]
        return pack_arrays(arrays), valid, errors


def default_workers(n_items: int) -> int:
    """Worker processes worth starting for ``n_items`` molecules."""
    if n_items < 4 * BLOCK_SIZE:
        return 1
    return max(1, min(os.cpu_count() or 1, 8))


#: Bumped when what a cache entry holds changes, so old entries are never misread.
_CACHE_LAYOUT = 2


def cache_dir() -> Path:
    """Where featurized files are cached: ``$GNN_CACHE_DIR``, else ``~/.cache/gnncli``."""
    root = os.environ.get("GNN_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "gnncli")
    return Path(root) / "features"


def featurize_frame(
    mol_frame: MoleculeFrame,
    featurizer: MoleculeFeaturizer,
    *,
    workers: int | None = None,
    cache_key: str | None = None,
    progress: Callable[[int], None] | None = None,
    max_atoms: int | None = DEFAULT_MAX_ATOMS,
) -> tuple[GraphPack, np.ndarray, dict[int, str]]:
    """Featurize a frame's SMILES, using the on-disk cache when ``cache_key`` is given (make the
    key with :func:`file_cache_key`, which includes ``max_atoms``).

    Returns ``(pack, valid_positions, errors)`` as :class:`Featurizer` does; errors from the
    reader (``record_errors``) are included.
    """
    path = None
    if cache_key is not None:
        path = cache_dir() / f"{cache_key}.pt"
        if path.is_file():
            try:
                saved = load_tensors(path)
                pack = GraphPack.from_tensors(saved)
                errors = {int(k): v for k, v in json.loads(saved["errors"]).items()}
                if progress is not None:
                    progress(len(mol_frame))
                return pack, saved["valid"].numpy(), errors
            except Exception:
                path.unlink(missing_ok=True)  # a damaged cache entry is rebuilt, never fatal
    smiles = mol_frame.to_featurize(featurizer)
    n_workers = default_workers(len(smiles)) if workers is None or workers <= 0 else workers
    with Featurizer(featurizer, n_workers, max_atoms) as run:
        pack, valid, errors = run.collect(run.submit(smiles), mol_frame.record_errors, progress)
    if path is not None:
        try:
            save_tensors(path, {
                **pack.tensors(), "valid": torch.from_numpy(valid),
                "errors": json.dumps({str(k): v for k, v in errors.items()}),
            })
        except OSError:
            pass  # a read-only cache folder only costs speed
    return pack, valid, errors


def file_cache_key(path: str | Sequence[str], smiles_col: str, featurizer: MoleculeFeaturizer | RowFeaturizer, fmt: str,
                   max_atoms: int | None = DEFAULT_MAX_ATOMS) -> str | None:
    """Cache key for a file (or several read as one, in order): its content hash, the SMILES
    column, the format, the featurizer spec and the size limit (which decides what is valid)."""
    paths = [path] if isinstance(path, str) else list(path)
    if STDIN in paths:
        return None
    h = hashlib.sha256()
    for one in paths:
        h.update(sha256_file(one).encode())
    spec = getattr(featurizer, "cache_spec", featurizer.spec)  # with the columns, for rows of several
    h.update(json.dumps([smiles_col, fmt, spec, _CACHE_LAYOUT, max_atoms], sort_keys=True).encode())
    return h.hexdigest()[:32]
