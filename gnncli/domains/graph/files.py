"""Reading and writing plain graphs for ``gnn wl-test`` and ``gnn coarsen``.

A :class:`Graph` is a small container of numpy arrays (no torch): ``edge_index``
holds each undirected edge once (or each arc once when ``directed``), with optional
``edge_weight``, node and edge labels and coordinates ``pos``. Readers are
registered by format name in :data:`READERS`; :func:`read_graphs` picks one from the
file extension or an explicit ``format``.

Formats:

* ``edgelist``: CSV/TSV/whitespace edge list ``source,target[,weight|label]``, with an
  optional header and an optional node-label file (``node,label``).
* ``smiles``: ``.smi`` (``SMILES [name]`` per line) or a CSV with a ``smiles`` column;
  atoms labelled by element, bonds by bond type.
* ``pdb``: PDB/mmCIF, first model, as a C-alpha radius graph (``cutoff`` in Angstrom),
  or a heavy-atom radius graph (``pdb_nodes="atoms"``) whose nodes know their residue.
* ``graph6`` / ``sparse6``: one graph per line.
* ``graphml``, ``mtx`` (Matrix Market), ``npz`` (scipy sparse adjacency, a dense
  ``adjacency`` array, or ``edge_index`` [+ ``edge_weight``]).
"""

from __future__ import annotations

import codecs
import csv
import importlib.util
import io
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from gnncli.algorithms.graph import (  # noqa: F401 (re-exported: the values read and written)
    Graph,
    GraphList,
    Skipped,
    _clean_edges,
    from_adjacency,
    from_networkx,
)
from gnncli.errors import InputError, UsageError
from gnncli.formats import GRAPH_FORMATS, check_format
from gnncli.io import STDIN, atomic_path, check_input_file, read_stdin_bytes

__all__ = [
    "Graph",
    "GraphList",
    "Skipped",
    "READERS",
    "WRITERS",
    "detect_format",
    "read_graphs",
    "read_graph",
    "write_graph",
    "from_networkx",
    "from_adjacency",
]


# --------------------------------------------------------------------------- readers


def _numbers(text: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """``text`` as float64, and which entries are numbers as Python's ``float()`` reads
    them (``nan`` and ``inf`` spellings included), vectorized with ``pd.to_numeric``."""
    text = pd.Series(text, dtype=str)
    values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64)
    numeric = ~np.isnan(values)
    if not numeric.all():
        maybe_nan = ~numeric
        numeric[maybe_nan] = text[maybe_nan].str.lower().isin(["nan", "+nan", "-nan"]).to_numpy()
    return values, numeric


_SPACE = np.zeros(256, dtype=bool)
_SPACE[list(b" \t\r\v\f")] = True  # whitespace inside a line
_HASH, _PERCENT, _NEWLINE, _QUOTE, _TAB = (ord(c) for c in '#%\n"\t')


@dataclass
class _TextTable:
    """The data lines of a delimited text file, found with numpy over the file's bytes:
    every line that is neither blank nor a comment (first visible character ``#`` or
    ``%``). Rows are parsed by pandas (its pyarrow engine when pyarrow is installed).

    Attributes:
        path (Path): the file, for messages.
        raw (bytes): the file's bytes (UTF-8; a BOM dropped, undecodable bytes replaced).
        newlines (np.ndarray): byte offsets of every line break, shape :obj:`[B]`.
        rows (np.ndarray): 0-based line index of every data line, shape :obj:`[L]`.
        sep (str, optional): ``","`` or ``"\\t"``; ``None`` for runs of whitespace.
    """

    path: Path
    raw: bytes
    newlines: np.ndarray
    rows: np.ndarray
    sep: str | None = None

    @classmethod
    def scan(cls, path: Path) -> "_TextTable":
        raw = path.read_bytes()
        if raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8):]
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            raw = raw.decode("utf-8", errors="replace").encode("utf-8")
        b = np.frombuffer(raw, dtype=np.uint8)
        newlines = np.flatnonzero(b == _NEWLINE)
        starts = np.concatenate([[0], newlines + 1])
        ends = np.concatenate([newlines, [len(b)]])
        padded = np.append(b, np.uint8(_NEWLINE))  # reading at len(b) gives a line break
        first = starts.copy()  # first visible byte of each line
        indented = (first < ends) & _SPACE[padded[first]]
        if indented.any():
            visible = np.append(np.flatnonzero(~_SPACE[b] & (b != _NEWLINE)), len(b))
            first[indented] = visible[np.searchsorted(visible, starts[indented])]
        head = padded[np.minimum(first, len(b))]
        data = (first < ends) & (head != _HASH) & (head != _PERCENT)
        return cls(path=path, raw=raw, newlines=newlines, rows=np.flatnonzero(data))

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def lineno(self) -> np.ndarray:
        """1-based line numbers of the data lines, shape :obj:`[L]`."""
        return self.rows + 1

    def _bounds(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        starts = np.concatenate([[0], self.newlines + 1])[rows]
        ends = np.append(self.newlines, len(self.raw))[rows]
        return starts, ends

    def text(self, row: int) -> str:
        """Data line ``row`` without surrounding whitespace."""
        start, end = (int(x[0]) for x in self._bounds(self.rows[row:row + 1]))
        return self.raw[start:end].decode("utf-8").strip()

    def fields(self, row: int) -> list[str]:
        """The stripped fields of data line ``row`` (for a header and for messages)."""
        text = self.text(row)
        parts = text.split() if self.sep is None else next(csv.reader([text], delimiter=self.sep))
        return [f.strip() for f in parts]

    def field_counts(self) -> np.ndarray:
        """The number of fields on every data line, shape :obj:`[L]` (a separator inside
        double quotes does not count)."""
        b = np.frombuffer(self.raw, dtype=np.uint8)
        if self.sep is None:
            visible = ~_SPACE[b] & (b != _NEWLINE)
            marks = np.flatnonzero(visible & ~np.concatenate([[False], visible[:-1]]))  # field starts
            extra = 0
        else:
            marks = np.flatnonzero(b == ord(self.sep))
            extra = 1
            if b'"' in self.raw:
                quotes = np.flatnonzero(b == _QUOTE)
                line_start = np.concatenate([[0], self.newlines + 1])[np.searchsorted(self.newlines, marks)]
                inside = (np.searchsorted(quotes, marks) - np.searchsorted(quotes, line_start)) % 2 == 1
                marks = marks[~inside]
        per_line = np.bincount(np.searchsorted(self.newlines, marks), minlength=len(self.newlines) + 1)
        return per_line[self.rows] + extra

    def frame(self, width: int, skip: int = 0, *, ragged: bool = False) -> pd.DataFrame:
        """Data lines ``skip`` onwards as a frame of ``width`` text columns named 0, 1, ...,
        fields stripped; with ``ragged``, lines may hold other numbers of fields (short
        ones are padded with "", the rest cut)."""
        rows = self.rows[skip:]
        if len(rows) == 0:
            return pd.DataFrame({c: pd.Series([], dtype=str) for c in range(width)})
        starts, ends = self._bounds(rows)
        if rows[-1] - rows[0] + 1 == len(rows):  # no blank or comment lines among them
            buf = self.raw[starts[0]:ends[-1] + 1]
        else:
            b = np.frombuffer(self.raw, dtype=np.uint8)
            edge = np.zeros(len(b) + 2, dtype=np.int32)
            edge[starts] += 1  # starts, and ends, are distinct: no np.add.at needed
            edge[ends + 1] -= 1  # keep each line's break
            buf = b[np.cumsum(edge[: len(b)]) > 0].tobytes()
        if not buf.endswith(b"\n"):
            buf += b"\n"  # pandas' pyarrow engine reads no row from one line without a line break
        sep, options = self.sep, {}
        if sep is None:  # runs of whitespace: one tab between fields, none at either end
            buf = _tabs_for_spaces(buf)
            sep = "\t"
            if b'"' in buf:  # quotes are plain characters in whitespace-separated files
                options["quoting"] = csv.QUOTE_NONE
        engine = "pyarrow" if _HAVE_PYARROW and not ragged and not options else "c"
        columns = max(width, int(self.field_counts()[skip:].max())) if ragged else width
        try:
            frame = pd.read_csv(
                io.BytesIO(buf), sep=sep, header=None, names=list(range(columns)), usecols=list(range(width)),
                dtype=str, keep_default_na=False, engine=engine, **options,
            )
        except ValueError as exc:  # pandas' ParserError and pyarrow's ArrowInvalid
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise InputError(f"{self.path}: could not be read as a table ({first})") from None
        if len(frame) != len(rows):
            raise InputError(
                f"{self.path}: {len(frame)} rows parsed from {len(rows)} lines; a quoted field spans lines"
            )
        frame = frame.fillna("") if ragged else frame
        if b" " in buf or (sep != "\t" and b"\t" in buf):
            frame = frame.apply(lambda col: col.str.strip())
        return frame

    def canonical_integers(self) -> bool:
        """Whether every integer in the file is written as Python's ``str(int)`` would
        (no ``+``, no ``-0``, no leading zero), so integers parsed from it print back as
        written. May say no for text that only looks like such a number."""
        if b"+" in self.raw or b"-0" in self.raw:
            return False
        b = np.frombuffer(self.raw, dtype=np.uint8)
        digit = (b >= ord("0")) & (b <= ord("9"))
        zero = np.flatnonzero(b[:-1] == ord("0"))
        follows_digit = digit[zero + 1]
        starts_number = (zero == 0) | ~(digit[zero - 1] | (b[zero - 1] == ord(".")))
        return not (follows_digit & starts_number).any()


def _tabs_for_spaces(buf: bytes) -> bytes:
    """Whitespace-separated lines as tab-separated ones: each run of spaces between two
    fields becomes one tab; spaces at either end of a line are dropped."""
    b = np.frombuffer(buf, dtype=np.uint8)
    space = _SPACE[b]
    visible = ~space & (b != _NEWLINE)
    run_start = np.flatnonzero(space & ~np.concatenate([[False], space[:-1]]))
    run_end = np.flatnonzero(space & ~np.concatenate([space[1:], [False]]))
    between = np.concatenate([[False], visible])[run_start] & np.append(visible, False)[run_end + 1]
    keep = ~space
    keep[run_start[between]] = True
    return np.where(space, np.uint8(_TAB), b)[keep].tobytes()


_HAVE_PYARROW = importlib.util.find_spec("pyarrow") is not None

_HEADER_WORDS = {
    "source", "target", "src", "dst", "u", "v", "from", "to", "node1", "node2", "i", "j",
    "weight", "w", "label", "type", "bond", "head", "tail", "id1", "id2",
}  # fmt: skip


def _is_header(first: list[str], second: list[str]) -> bool:
    """Whether the first row names the columns: a known column name, or text where the
    next row has a number (``a,b,weight`` above ``a,b,2.5``)."""
    lowered = [f.lower() for f in first]
    if any(f in _HEADER_WORDS for f in lowered):
        return True
    if not second or len(first) <= 2:
        return False
    _, numeric = _numbers(pd.Series([first[0], first[2], second[2] if len(second) > 2 else "x"]))
    return bool(not numeric[0] and not numeric[1] and numeric[2])


def _sep_for(path: Path, first_line: str) -> str | None:
    ext = path.suffix.lower()
    if ext == ".tsv" or "\t" in first_line:
        return "\t"
    if ext == ".csv" or "," in first_line:
        return ","
    return None


def _first_bad(mask: np.ndarray) -> int | None:
    """Index of the first True in ``mask``, or None."""
    return int(np.argmax(mask)) if mask.any() else None


def read_edgelist(path: Path, *, node_labels: str | os.PathLike | None = None, directed: bool = False, **_: Any) -> GraphList:
    """Read an edge list ``source,target[,weight|label][,label]``, vectorized.

    Separators: tab (``.tsv`` or a tab on the first line), comma (``.csv`` or a comma
    on it), else runs of whitespace. Blank lines and lines starting with ``#`` or ``%``
    are skipped; a first row of column names is detected. Integer node ids are kept in
    sorted order; other ids in order of first appearance (sources, then targets). A
    third column that is numeric is an edge weight, otherwise an edge label. A bad row
    is reported with its file and line.
    """
    table = _TextTable.scan(path)
    if not len(table):
        raise InputError(f"{path}: no edges found (file holds only comments or blank lines)")
    table.sep = _sep_for(path, table.text(0))
    header = [f.lower() for f in table.fields(0)]
    skip = int(_is_header(header, table.fields(1) if len(table) > 1 else []))
    if len(table) == skip:
        raise InputError(f"{path}: header only, no edges")
    lines = table.lineno[skip:]
    counts = table.field_counts()[skip:]
    width = int(counts[0])
    bad = _first_bad((counts != width) | (counts < 2))
    if bad is not None:
        if counts[bad] < 2:
            got = ",".join(table.fields(skip + bad))
            raise InputError(f"{path}:{lines[bad]}: expected 'source,target[,weight]', got {got!r}")
        raise InputError(f"{path}:{lines[bad]}: {counts[bad]} columns, expected {width} as on the first row")
    frame = table.frame(width, skip)
    bad = _first_bad(((frame[0] == "") | (frame[1] == "")).to_numpy())
    if bad is not None:
        got = ",".join(table.fields(skip + bad))
        raise InputError(f"{path}:{lines[bad]}: expected 'source,target[,weight]', got {got!r}")

    weight_col = label_col = None
    if skip:
        named = {name: i for i, name in enumerate(header)}
        weight_col = next((named[k] for k in ("weight", "w") if k in named), None)
        label_col = next((named[k] for k in ("label", "type", "bond") if k in named), None)
        beyond = [c for c in (weight_col, label_col) if c is not None and c >= width]
        if beyond:
            raise InputError(
                f"{path}:{table.lineno[0]}: the header names column '{header[beyond[0]]}' but rows have {width} columns"
            )
    elif width > 2:
        if _numbers(frame[2])[1].any():  # all numeric: weights; mixed: a bad weight, reported below
            weight_col, label_col = 2, (3 if width > 3 else None)
        else:
            label_col = 2
    weight = label = None
    if weight_col is not None:
        weight, numeric = _numbers(frame[weight_col])
        bad = _first_bad(~numeric)
        if bad is not None:
            raise InputError(f"{path}:{lines[bad]}: weight {frame[weight_col].iloc[bad]!r} is not a number")
        bad = _first_bad(~np.isfinite(weight))
        if bad is not None:
            raise InputError(f"{path}:{lines[bad]}: weight {frame[weight_col].iloc[bad]!r} is not a finite number")
    if label_col is not None:
        label = frame[label_col].to_numpy(dtype=object)

    labels = _read_node_labels(check_input_file(node_labels)) if node_labels is not None else None
    ids = [frame[0], frame[1]] + ([pd.Series(labels.index, dtype=str)] if labels is not None else [])
    codes, names = _node_ids(ids, canonical=labels is None and table.canonical_integers())
    n, num_edges = len(names), len(frame)
    edge_index = np.vstack([codes[:num_edges], codes[num_edges:2 * num_edges]]).astype(np.int64)
    node_label = None
    if labels is not None:
        node_label = labels.reindex(names)
        missing = node_label.isna().to_numpy()
        if missing.any():
            first = names[int(np.argmax(missing))]
            raise InputError(f"{node_labels}: no label for node {first!r} (and {int(missing.sum()) - 1} more)")
        node_label = node_label.to_numpy(dtype=object)
    edge_index, weight, label = _clean_edges(n, edge_index, directed=directed, edge_weight=weight, edge_label=label)
    return GraphList([
        Graph(
            num_nodes=n,
            edge_index=edge_index,
            edge_weight=weight,
            node_label=node_label,
            edge_label=label,
            directed=directed,
            name=path.name,
            node_names=names.tolist(),
        )
    ])


def _node_ids(columns: list[pd.Series], *, canonical: bool = False) -> tuple[np.ndarray, pd.Index]:
    """The node of every entry of the text ``columns`` (concatenated), shape
    :obj:`[sum of lengths]`, and the node ids as text: integers sorted by value when every
    id is one, else in order of first appearance. With ``canonical`` (every integer
    written as ``str(int)`` writes it) and pyarrow, integer ids are parsed with
    ``pyarrow.compute.cast``: a faster path to the same result."""
    ints = _int64(columns) if canonical else None
    if ints is not None:
        codes, uniq = pd.factorize(ints)
        order = np.argsort(uniq, kind="stable")
        names = pd.Index(uniq.astype(str), dtype=str)
    else:
        codes, names = pd.factorize(pd.concat(columns, ignore_index=True))
        names = pd.Index(names, dtype=str)
        if not (len(names) and names.str.fullmatch(r"-?\d+").all()):
            return codes, names
        try:  # integer ids: sorted by value
            order = np.argsort(names.astype(np.int64).to_numpy(), kind="stable")
        except (OverflowError, ValueError):  # beyond int64
            order = np.array(sorted(range(len(names)), key=lambda i: int(names[i])), dtype=np.int64)
    rank = np.empty(len(names), dtype=np.int64)
    rank[order] = np.arange(len(names))
    return rank[codes], names[order]


def _int64(columns: list[pd.Series]) -> np.ndarray | None:
    """The text ``columns`` parsed as int64 and concatenated, or None when pyarrow is
    missing or an entry is not an integer."""
    if not _HAVE_PYARROW:
        return None
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        return np.concatenate([pc.cast(pa.array(c), pa.int64()).to_numpy() for c in columns])
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # not an integer, or beyond int64
        return None


def _read_node_labels(path: Path) -> pd.Series:
    """A ``node,label`` file (tab-separated for ``.tsv``; an optional ``node``/``id``/``name``
    header) as labels indexed by node id, in order of first appearance; a node listed
    twice keeps its last label."""
    table = _TextTable.scan(path)
    table.sep = "\t" if path.suffix.lower() == ".tsv" else ","
    skip = int(len(table) > 0 and table.fields(0)[0].lower() in {"node", "id", "name"})
    counts = table.field_counts()[skip:]
    bad = _first_bad(counts < 2)
    if bad is not None:
        raise InputError(f"{path}:{table.lineno[skip + bad]}: expected 'node,label'")
    frame = table.frame(2, skip, ragged=True)
    return frame[1].groupby(frame[0].to_numpy(), sort=False).last()


def mol_to_graph(mol, *, name: str = "", smiles: str = "") -> Graph:
    """A :class:`Graph` of an RDKit molecule: heavy atoms labelled by element (with
    formal charge when nonzero), bonds by bond type."""
    from rdkit import Chem

    labels = []
    for atom in mol.GetAtoms():
        charge = atom.GetFormalCharge()
        labels.append(atom.GetSymbol() + (f"{charge:+d}" if charge else ""))
    bonds = list(mol.GetBonds())
    edge_index = np.array(
        [[b.GetBeginAtomIdx() for b in bonds], [b.GetEndAtomIdx() for b in bonds]], dtype=np.int64
    ).reshape(2, -1)
    edge_label = np.array([str(b.GetBondType()) for b in bonds], dtype=object)
    pos = None
    if mol.GetNumConformers():
        pos = np.asarray(mol.GetConformer().GetPositions(), dtype=float)
    edge_index, _, edge_label = _clean_edges(mol.GetNumAtoms(), edge_index, directed=False, edge_label=edge_label)
    return Graph(
        num_nodes=mol.GetNumAtoms(),
        edge_index=edge_index,
        node_label=np.array(labels, dtype=object),
        edge_label=edge_label,
        pos=pos,
        name=name,
        meta={"smiles": smiles, "canonical_smiles": Chem.MolToSmiles(mol), "mol": mol},
    )


_NAME_COLUMNS = ("name", "id", "compound id", "mol_id")


def read_smiles(path: Path, *, fmt: str | None = None, **_: Any) -> GraphList:
    """Read molecules with the molecule reader of ``gnn train``
    (:func:`gnncli.domains.molecules.read_molecules`: ``.smi``, CSV/TSV with a SMILES
    column found by the same rules, SDF). Graphs are named by a ``name``/``id``/
    ``compound id``/``mol_id`` column, else ``file:line``. Rows RDKit cannot read are
    skipped and listed in ``skipped``; a file without one valid molecule is an error.
    """
    from gnncli.domains.molecules import read_molecules
    from gnncli.featurizers.molecule import parse_smiles

    mf = read_molecules(str(path), fmt=fmt)
    where = [f"{path.name}:{mf.first_line + i}" for i in range(len(mf))]
    name_col = next((c for c in mf.frame.columns if c != mf.smiles_col and c.strip().lower() in _NAME_COLUMNS), None)
    names = mf.frame[name_col].fillna(pd.Series(where)).tolist() if name_col else where
    graphs, skipped = [], []
    for pos, smiles in enumerate(mf.smiles):
        try:
            if pos in mf.record_errors:
                raise ValueError(mf.record_errors[pos])
            mol = parse_smiles(smiles)
        except ValueError as exc:  # parse_smiles raises InvalidMolecule, a ValueError, with the reason
            skipped.append(Skipped(mf.where(pos), str(exc)))
            continue
        graphs.append(mol_to_graph(mol, name=str(names[pos]), smiles=smiles))
    if not graphs:
        first = skipped[0]
        raise InputError(f"{path}: no valid molecules (first: {first.where}: {first.reason})")
    return GraphList(graphs, skipped=skipped)


def read_pdb(path: Path, *, cutoff: float = 8.0, pdb_nodes: str = "ca", mmcif: bool | None = None, **_: Any) -> list[Graph]:
    """Read the first model of a PDB/mmCIF file as a radius graph, with the structure reader of
    the proteins kind (:func:`gnncli.domains.proteins.reader.read_structure`: protein residues,
    non-standard ones under their parent's name, highest-occupancy altlocs, no waters or ligands).

    ``pdb_nodes="ca"``: one node per residue with a C-alpha atom, labelled by residue
    name, edges between C-alphas closer than ``cutoff`` Angstrom. ``pdb_nodes="atoms"``:
    one node per heavy atom, labelled by element, with ``meta["residue"]`` giving each
    atom's residue index (for ``coarsen --method residues``).
    """
    from scipy.spatial import cKDTree

    from gnncli.domains.proteins.reader import read_structure  # the one structure reader (gemmi)

    if cutoff <= 0:
        raise UsageError(f"--cutoff must be positive, got {cutoff}")
    structure = read_structure(str(path), fmt=None if mmcif is None else ("cif" if mmcif else "pdb"),
                               elements=pdb_nodes != "ca")
    if pdb_nodes == "ca":
        labels, coords = structure.resname, structure.ca
        chains, residues = structure.chain, np.arange(len(structure))
    else:
        labels, coords, residues = structure.atom_element, structure.atom_xyz, structure.atom_residue
        chains = structure.chain[residues]
    pos = np.asarray(coords, dtype=np.float64)
    # torch_geometric.nn.radius_graph needs torch-cluster, which is not installed here;
    # a scipy KD-tree gives the same pairs.
    pairs = cKDTree(pos).query_pairs(r=cutoff, output_type="ndarray").T.astype(np.int64)
    dist = np.linalg.norm(pos[pairs[0]] - pos[pairs[1]], axis=1) if pairs.size else np.zeros(0)
    return [
        Graph(
            num_nodes=len(pos),
            edge_index=pairs.reshape(2, -1),
            node_label=np.array(labels, dtype=object),
            pos=pos,
            name=path.name,
            meta={
                "chain": np.array(chains, dtype=object),
                "residue": np.asarray(residues, dtype=np.int64),
                "distance": dist,
                "pdb_nodes": pdb_nodes,
            },
        )
    ]


def read_graph6(path: Path, **_: Any) -> list[Graph]:
    """Read graph6 or sparse6 strings, one graph per line."""
    import networkx as nx

    graphs = []
    with open(path, "rb") as handle:
        for lineno, line in enumerate(handle, start=1):
            line = line.strip()
            for head in (b">>graph6<<", b">>sparse6<<"):
                if line.startswith(head):
                    line = line[len(head):]
            if not line:
                continue
            try:
                g = nx.from_sparse6_bytes(line) if line.startswith(b":") else nx.from_graph6_bytes(line)
            except Exception as exc:  # networkx raises NetworkXError / ValueError / IndexError
                raise InputError(f"{path}:{lineno}: not a graph6/sparse6 string ({exc})") from None
            if isinstance(g, nx.MultiGraph):
                g = nx.Graph(g)
            graphs.append(from_networkx(g, name=f"{path.name}:{lineno}"))
    if not graphs:
        raise InputError(f"{path}: no graphs found")
    return graphs


def read_graphml(path: Path, **_: Any) -> list[Graph]:
    """Read a GraphML file (one graph)."""
    import networkx as nx

    try:
        g = nx.read_graphml(path)
    except Exception as exc:  # ParseError, NetworkXError, KeyError ...
        raise InputError(f"{path}: not valid GraphML ({exc})") from None
    if isinstance(g, (nx.MultiGraph, nx.MultiDiGraph)):
        g = nx.DiGraph(g) if g.is_directed() else nx.Graph(g)
    return [from_networkx(g, name=path.name)]


def read_mtx(path: Path, **_: Any) -> list[Graph]:
    """Read a Matrix Market adjacency matrix."""
    import scipy.io

    try:
        a = scipy.io.mmread(str(path))
    except Exception as exc:  # scipy raises ValueError and others
        raise InputError(f"{path}: not a Matrix Market file ({exc})") from None
    return [from_adjacency(a, name=path.name)]


def read_npz(path: Path, **_: Any) -> list[Graph]:
    """Read a ``.npz``: ``scipy.sparse.save_npz`` output, a dense ``adjacency``
    (``adj``, ``A``, ``W``) array, or ``edge_index`` with optional ``edge_weight``."""
    try:
        data = np.load(path, allow_pickle=False)
    except Exception as exc:  # bad zip, pickled content ...
        raise InputError(f"{path}: not a readable .npz file ({exc})") from None
    keys = set(data.files)
    if {"format", "shape", "data"} <= keys:
        return [from_adjacency(sp.load_npz(path), name=path.name)]
    for key in ("adjacency", "adj", "A", "W"):
        if key in keys:
            return [from_adjacency(data[key], name=path.name)]
    if "edge_index" in keys:
        ei = np.asarray(data["edge_index"], dtype=np.int64)
        if ei.ndim != 2 or ei.shape[0] != 2:
            raise InputError(f"{path}: edge_index has shape {ei.shape}, expected [2, E]")
        n = int(data["num_nodes"]) if "num_nodes" in keys else int(ei.max()) + 1 if ei.size else 0
        w = np.asarray(data["edge_weight"], dtype=np.float64) if "edge_weight" in keys else None
        a = sp.csr_matrix((w if w is not None else np.ones(ei.shape[1]), (ei[0], ei[1])), shape=(n, n))
        g = from_adjacency(a, name=path.name)
        if "pos" in keys:
            g.pos = np.asarray(data["pos"], dtype=np.float64)
        return [g]
    if len(keys) == 1:
        return [from_adjacency(data[next(iter(keys))], name=path.name)]
    raise InputError(f"{path}: no adjacency in .npz (found arrays: {', '.join(sorted(keys))})")


def read_table(path: Path, **options: Any) -> list[Graph]:
    """A CSV/TSV: molecules when its header names a SMILES column, else an edge list."""
    if _names_smiles_column(path):
        return read_smiles(path, **options)
    return read_edgelist(path, **options)


def _names_smiles_column(path: Path) -> bool:
    with open(path, encoding="utf-8", errors="replace") as handle:
        first = handle.readline()
    sep = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    return any("smiles" in column.lower() for column in first.split(sep))


def read_sdf(path: Path, **_: Any) -> GraphList:
    """Molecules from an SD file (through the molecule reader, like :func:`read_smiles`)."""
    return read_smiles(path, fmt="sdf")


def read_cif(path: Path, **options: Any) -> list[Graph]:
    """An mmCIF structure, whatever its file is called (see :func:`read_pdb`)."""
    return read_pdb(path, mmcif=True, **options)


#: Format name (the one vocabulary of :mod:`gnncli.formats`) -> reader ``(path, **options) -> list[Graph]``.
READERS: dict[str, Callable[..., list[Graph]]] = {
    "csv": read_table,
    "tsv": read_table,
    "edgelist": read_edgelist,
    "smi": read_smiles,
    "sdf": read_sdf,
    "pdb": read_pdb,
    "cif": read_cif,
    "graph6": read_graph6,
    "sparse6": read_graph6,
    "graphml": read_graphml,
    "mtx": read_mtx,
    "npz": read_npz,
}
assert tuple(READERS) == GRAPH_FORMATS, "gnncli.formats.GRAPH_FORMATS lists what the graph commands read"

_EXTENSIONS = {
    ".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".txt": "edgelist", ".edges": "edgelist",
    ".edgelist": "edgelist", ".el": "edgelist",
    ".smi": "smi", ".smiles": "smi", ".sdf": "sdf", ".sd": "sdf",
    ".pdb": "pdb", ".ent": "pdb", ".cif": "cif", ".mmcif": "cif",
    ".g6": "graph6", ".graph6": "graph6", ".s6": "sparse6", ".sparse6": "sparse6",
    ".graphml": "graphml", ".mtx": "mtx", ".npz": "npz",
}  # fmt: skip


def detect_format(path: str | os.PathLike) -> str:
    """The format of ``path`` from its extension; a CSV/TSV whose header names a SMILES
    column (a name containing ``smiles``) is ``smi``."""
    path = Path(path)
    fmt = _EXTENSIONS.get(path.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(_EXTENSIONS))
        raise InputError(f"{path}: unknown graph format '{path.suffix or '(no extension)'}'; use --format or one of {known}")
    if fmt in ("csv", "tsv") and _names_smiles_column(path):
        return "smi"
    return fmt


def read_graphs(
    path: str | os.PathLike,
    *,
    format: str | None = None,
    node_labels: str | os.PathLike | None = None,
    directed: bool = False,
    cutoff: float = 8.0,
    pdb_nodes: str = "ca",
) -> GraphList:
    r"""Read every graph in ``path`` (``-`` for stdin, with ``format``).

    Args:
        path (str): the file.
        format (str, optional): one of :data:`GRAPH_FORMATS` (aliases of :mod:`gnncli.formats`
            allowed, e.g. ``smiles``); from the extension if not given.
        node_labels (str, optional): for edge lists, a ``node,label`` file.
        directed (bool): for edge lists, keep arcs as directed. (default: :obj:`False`)
        cutoff (float): for PDB files, the radius in Angstrom. (default: :obj:`8.0`)
        pdb_nodes (str): for PDB files, ``"ca"`` (residues) or ``"atoms"``.

    Returns:
        GraphList: the graphs, with the rows skipped as invalid in ``skipped``.
    """
    format = check_format(format, GRAPH_FORMATS)
    if str(path) == STDIN:
        if format is None:
            raise UsageError("reading from '-' (stdin) needs --format")
        data = read_stdin_bytes()
        return _read_stdin(data, format, node_labels=node_labels, directed=directed, cutoff=cutoff, pdb_nodes=pdb_nodes)
    path = check_input_file(path)
    fmt = format or detect_format(path)
    graphs = READERS[fmt](path, node_labels=node_labels, directed=directed, cutoff=cutoff, pdb_nodes=pdb_nodes)
    for g in graphs:
        if g.num_nodes == 0:
            raise InputError(f"{path}: empty graph (no nodes){'' if len(graphs) == 1 else f' in {g.name}'}")
    return graphs if isinstance(graphs, GraphList) else GraphList(graphs)


def _read_stdin(data: bytes, format: str, **options: Any) -> GraphList:
    """Read standard input through a temporary file named for ``format``; messages and
    names say ``-``, not the temporary path."""
    first = data.split(b"\n", 1)[0]
    if format == "smi":  # SMILES hold no commas or tabs: a header line with one is a table
        suffix = ".tsv" if b"\t" in first else ".csv" if b"," in first else ".smi"
    else:
        suffix = {"edgelist": ".txt"}.get(format, "." + format)
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp) / f"stdin{suffix}"
        tmp_path.write_bytes(data)
        try:
            graphs = read_graphs(tmp_path, format=format, **options)
        except InputError as exc:
            raise InputError(str(exc).replace(str(tmp_path), STDIN).replace(tmp_path.name, STDIN)) from None
        for g in graphs:
            g.name = g.name.replace(tmp_path.name, STDIN)
        graphs.skipped = [
            replace(s, where=s.where.replace(str(tmp_path), STDIN).replace(tmp_path.name, STDIN)) for s in graphs.skipped
        ]
    return graphs


def read_graph(path: str | os.PathLike, **kwargs: Any) -> Graph:
    """Read exactly one graph from ``path``; see :func:`read_graphs` for the options."""
    graphs = read_graphs(path, **kwargs)
    if len(graphs) != 1:
        raise InputError(f"{path}: holds {len(graphs)} graphs, expected one")
    return graphs[0]


# --------------------------------------------------------------------------- writers


def _write_edgelist(graph: Graph, tmp: Path, target: Path) -> None:
    frame = pd.DataFrame({"source": graph.edge_index[0], "target": graph.edge_index[1], "weight": graph.weights()})
    sep = "\t" if target.suffix.lower() == ".tsv" else ","
    frame.to_csv(tmp, sep=sep, index=False, float_format="%.10g", lineterminator="\n", encoding="utf-8")


def _write_graphml(graph: Graph, tmp: Path, target: Path) -> None:
    import networkx as nx

    g = graph.to_networkx()
    if graph.pos is not None:
        for i, p in enumerate(graph.pos):
            for c, x in zip("xyz", p):
                g.nodes[i][c] = float(x)
    nx.write_graphml(g, tmp)


def _write_mtx(graph: Graph, tmp: Path, target: Path) -> None:
    import scipy.io

    with open(tmp, "wb") as handle:
        scipy.io.mmwrite(handle, graph.adjacency(), symmetry="symmetric" if not graph.directed else "general")


def _write_npz(graph: Graph, tmp: Path, target: Path) -> None:
    with open(tmp, "wb") as handle:
        sp.save_npz(handle, graph.adjacency().tocsr())


def _write_graph6(graph: Graph, tmp: Path, target: Path) -> None:
    import networkx as nx

    g = nx.Graph()
    g.add_nodes_from(range(graph.num_nodes))
    g.add_edges_from(graph.edge_index.T.tolist())
    g.remove_edges_from(nx.selfloop_edges(g))
    tmp.write_bytes(nx.to_graph6_bytes(g, header=False))


#: Format name -> writer ``(graph, tmp_path, target_path)``. graph6 drops weights.
WRITERS: dict[str, Callable[[Graph, Path, Path], None]] = {
    "edgelist": _write_edgelist,
    "graphml": _write_graphml,
    "mtx": _write_mtx,
    "npz": _write_npz,
    "graph6": _write_graph6,
}


def write_graph(graph: Graph, path: str | os.PathLike, *, format: str | None = None) -> str:
    """Write ``graph`` atomically; the format comes from the extension (edge list for
    ``.csv``/``.tsv``/``.txt`` and unknown ones). Returns the format used."""
    path = Path(path)
    fmt = format or _EXTENSIONS.get(path.suffix.lower(), "edgelist")
    fmt = {"sparse6": "graph6", "csv": "edgelist", "tsv": "edgelist"}.get(fmt, fmt)
    if fmt not in WRITERS:
        raise UsageError(f"{path}: cannot write graphs as {fmt!r}; use .csv, .tsv, .graphml, .mtx, .npz or .g6")
    with atomic_path(path) as tmp:
        WRITERS[fmt](graph, tmp, path)
    return fmt
