"""Reading one graph: an edge file, a node table and a feature matrix, matched by node id.

* Edges: any edge file of :mod:`gnncli.domains.graph.files` (the reader ``gnn wl-test`` and
  ``gnn coarsen`` use), directed or not, with optional weights.
* Node table (CSV/TSV/Parquet): an id column (``--id-col``; else ``id``, ``node``, ``node_id``
  or ``name``; else the first column), target columns, an optional ``split`` column
  (``train``/``val``/``test``, anything else unlabelled for training purposes) and numeric
  feature columns (every other numeric column).
* Features: ``.npy`` (memory-mapped: it may be larger than RAM), ``.npz`` (dense, or SciPy sparse
  from ``save_npz``), Parquet (with an id column, matched by id; else by position). Rows follow
  the node table's order (without a node table: the edge file's node order).

Ids are text, so ``7`` in the edge list is ``7`` in the node table. An edge naming an id absent
from a node table adds that node without features (a warning with the count and the first id),
or is refused with ``strict``. Nodes without features get zeros, counted in a warning.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from gnncli.domains.graph import EDGE_FILE_NAMES, FEATURE_FILE_NAMES, NODE_FILE_NAMES
from gnncli.errors import InputError

ID_NAMES = ("id", "node", "node_id", "nodeid", "name")
LABEL_NAMES = ("label", "labels", "class", "y", "target")
SPLIT_NAMES = ("split", "set", "fold")
SPLIT_VALUES = {"train": 0, "training": 0, "val": 1, "valid": 1, "validation": 1, "dev": 1, "test": 2}


@dataclass
class GraphFiles:
    """The files one graph is read from."""

    edges: str
    nodes: str | None = None
    features: str | None = None

    @classmethod
    def find(cls, path: str, nodes: str | None, features: str | None) -> GraphFiles:
        """The files named by ``path`` (an edge file, or a folder of ``edges.csv``, ``nodes.csv``
        and ``features.npz``) and the options."""
        if os.path.isdir(path):
            def first(names):
                return next((os.path.join(path, n) for n in names if os.path.isfile(os.path.join(path, n))), None)

            edges = first(EDGE_FILE_NAMES)
            if edges is None:
                raise InputError(f"{path}: no edge file in the folder (expected one of {', '.join(EDGE_FILE_NAMES)})")
            return cls(edges, nodes or first(NODE_FILE_NAMES), features or first(FEATURE_FILE_NAMES))
        if not os.path.exists(path):
            raise InputError(f"{path}: file not found")
        return cls(path, nodes, features)

    def absolute(self) -> dict:
        return {k: (os.path.abspath(v) if v else None) for k, v in (("edges", self.edges), ("nodes", self.nodes),
                                                                    ("features", self.features))}


@dataclass
class GraphTable:
    """What was read: node ids, features, the edges in node numbering, and the node table's
    columns (targets, split) in node order."""

    ids: np.ndarray
    x: object
    src: np.ndarray
    dst: np.ndarray
    weight: np.ndarray | None
    columns: dict[str, np.ndarray] = field(default_factory=dict)
    id_col: str | None = None
    feature_names: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


def _sep(path: str) -> str | None:
    name = path.lower().removesuffix(".gz")
    if name.endswith((".tsv", ".tab")):
        return "\t"
    if name.endswith(".csv"):
        return ","
    return None


def has_label_column(path: str) -> bool:
    """Whether the node table at ``path`` has a column named as labels are (:data:`LABEL_NAMES`),
    by its header alone: without one, a graph's task is link prediction."""
    if path.lower().endswith(".parquet"):
        import pyarrow.parquet as pq

        columns = pq.read_schema(path).names
    else:
        sep = _sep(path)
        columns = pd.read_csv(path, sep=sep, nrows=0, engine="python" if sep is None else "c").columns
    return any(str(c).strip().lower() in LABEL_NAMES for c in columns)


def read_node_table(path: str, id_col: str | None) -> tuple[pd.DataFrame, str]:
    """The node table with its id column as text (``id_col``, else found by name or the first)."""
    from gnncli.io import check_input_file

    check_input_file(path)
    try:
        if path.lower().endswith(".parquet"):
            frame = pd.read_parquet(path)
        else:
            sep = _sep(path)
            head = pd.read_csv(path, sep=sep, nrows=0, engine="python" if sep is None else "c")
            named = id_col or next((c for c in head.columns if str(c).strip().lower() in ID_NAMES), head.columns[0])
            frame = pd.read_csv(path, sep=sep, dtype={named: str}, keep_default_na=True,
                                engine="python" if sep is None else "c")
    except (ValueError, pd.errors.ParserError, OSError, ImportError) as exc:
        raise InputError(f"{path}: not a readable node table ({str(exc).splitlines()[0]})") from None
    if frame.shape[1] == 0:
        raise InputError(f"{path}: the node table has no columns")
    if id_col is not None and id_col not in frame.columns:
        raise InputError(f"{path}: no id column '{id_col}' (columns: {', '.join(map(str, frame.columns))})")
    col = id_col or next((c for c in frame.columns if str(c).strip().lower() in ID_NAMES), frame.columns[0])
    ids = frame[col]
    missing = ids.isna().to_numpy()
    if missing.any():
        row = int(np.argmax(missing))
        raise InputError(f"{path}:{row + 2}: empty node id")
    frame[col] = ids.astype(str).str.strip()
    dup = frame[col].duplicated().to_numpy()
    if dup.any():
        row = int(np.argmax(dup))
        raise InputError(f"{path}:{row + 2}: node id '{frame[col].iloc[row]}' appears twice in the node table")
    return frame, col


def read_features(path: str, n_rows: int, ids: pd.Index | None, what: str):
    """The feature matrix of ``path``: a float32 array (memory-mapped for ``.npy``) with one row
    per node of ``ids`` (the node table's order), and its column names."""
    from gnncli.io import check_input_file

    check_input_file(path)
    lower = path.lower()
    names: list[str] = []
    try:
        if lower.endswith(".npy"):
            x = np.load(path, mmap_mode="r", allow_pickle=False)
        elif lower.endswith(".npz"):
            import scipy.sparse as sp

            with np.load(path, allow_pickle=False) as data:
                keys = set(data.files)
                if {"format", "shape", "data"} <= keys:
                    x = sp.load_npz(path).astype(np.float32).toarray()
                else:
                    key = next((k for k in ("x", "features", "X") if k in keys), None)
                    if key is None and len(keys) == 1:
                        key = next(iter(keys))
                    if key is None:
                        raise InputError(f"{path}: no feature array in the .npz (found {', '.join(sorted(keys))}; "
                                         "name it x or features)")
                    x = np.asarray(data[key], dtype=np.float32)
        elif lower.endswith(".parquet"):
            frame = pd.read_parquet(path)
            id_col = next((c for c in frame.columns if str(c).strip().lower() in ID_NAMES), None)
            if id_col is not None and ids is not None:
                frame[id_col] = frame[id_col].astype(str)
                frame = frame.set_index(id_col)
                extra = ~frame.index.isin(ids)
                if extra.any():
                    raise InputError(f"{path}: {int(extra.sum())} feature rows name ids that are not nodes "
                                     f"(first: '{frame.index[int(np.argmax(extra))]}')")
                frame = frame.reindex(ids)
            numeric = frame.select_dtypes("number")
            names = [str(c) for c in numeric.columns]
            x = numeric.to_numpy(dtype=np.float32)
            n_rows = len(x)
        else:
            raise InputError(f"{path}: unknown feature file type (expected .npy, .npz or .parquet)")
    except InputError:
        raise
    except (ValueError, OSError, ImportError) as exc:
        raise InputError(f"{path}: not a readable feature file ({str(exc).splitlines()[0]})") from None
    if x.ndim != 2:
        raise InputError(f"{path}: features have shape {tuple(x.shape)}, expected [nodes, features]")
    if x.shape[0] != n_rows:
        raise InputError(f"{path}: {x.shape[0]:,} feature rows, and {what} has {n_rows:,} nodes; "
                         "give one row per node, in its order")
    if x.dtype != np.float32 and not isinstance(x, np.memmap):
        x = x.astype(np.float32)
    return x, names or [f"f{i}" for i in range(x.shape[1])]


def read_graph_input(files: GraphFiles, *, id_col: str | None = None, directed: bool = False,
                     strict: bool = False, targets: list[str] | None = None) -> GraphTable:
    """Read ``files`` into one :class:`GraphTable`; ``targets`` are the node table's target columns
    (kept out of the features)."""
    from gnncli.domains.graph.files import read_graph

    graph = read_graph(files.edges, directed=directed)
    edge_ids = np.asarray(graph.node_names if graph.node_names is not None else
                          [str(i) for i in range(graph.num_nodes)], dtype=object).astype(str)
    warnings: list[str] = []
    counts: dict[str, int] = {}
    columns: dict[str, np.ndarray] = {}
    feature_names: list[str] = []
    x = None
    table_col = None
    if files.nodes:
        frame, table_col = read_node_table(files.nodes, id_col)
        table_ids = pd.Index(frame[table_col].to_numpy(dtype=str))
        unknown = ~pd.Index(edge_ids).isin(table_ids)
        if unknown.any():
            first = edge_ids[int(np.argmax(unknown))]
            n_unknown = int(unknown.sum())
            if strict:
                raise InputError(f"{files.edges}: {n_unknown:,} node ids in edges are not in {files.nodes} "
                                 f"(first: '{first}'); drop --strict to add them without features")
            warnings.append(f"{files.edges}: {n_unknown:,} node ids in edges are not in {files.nodes} "
                            f"(first: '{first}'); added without features (--strict refuses them)")
        ids = np.concatenate([table_ids.to_numpy(dtype=str), edge_ids[unknown]]).astype(str)
        extra = int(unknown.sum())
        counts["nodes_added"] = extra
        # the columns that are not features: id, targets, split
        lower = {str(c).strip().lower(): c for c in frame.columns}
        split_col = next((lower[n] for n in SPLIT_NAMES if n in lower), None)
        wanted = list(targets or [])
        for t in wanted:
            if t not in frame.columns:
                raise InputError(f"{files.nodes}: no target column '{t}' (columns: {', '.join(map(str, frame.columns))})")
        if not wanted:
            found = next((lower[n] for n in LABEL_NAMES if n in lower), None)
            wanted = [found] if found is not None else []
        for name in frame.columns:
            values = frame[name].to_numpy()
            columns[str(name)] = np.concatenate([values, np.full(extra, None, dtype=object)]) if extra else values
        skip = {table_col, split_col, *wanted}
        numeric = [c for c in frame.columns if c not in skip and pd.api.types.is_numeric_dtype(frame[c])]
        if numeric:
            table_x = frame[numeric].to_numpy(dtype=np.float32)
            nan = np.isnan(table_x)
            if nan.any():
                warnings.append(f"{files.nodes}: {int(nan.any(1).sum()):,} nodes have empty feature cells; read as 0")
                table_x = np.nan_to_num(table_x, nan=0.0)
            x = table_x
            feature_names = [str(c) for c in numeric]
        columns["__targets__"] = np.asarray(wanted, dtype=object)
        columns["__split__"] = np.asarray([split_col] if split_col is not None else [], dtype=object)
        n_table = len(frame)
    else:
        ids = edge_ids
        n_table = len(ids)
        extra = 0
        if targets:
            raise InputError(f"--target {','.join(targets)}: targets are read from a node table (--nodes FILE)")
        columns["__targets__"] = np.asarray([], dtype=object)
        columns["__split__"] = np.asarray([], dtype=object)
    if files.features:
        fx, names = read_features(files.features, n_table, pd.Index(ids[:n_table]),
                                  f"the node table {files.nodes}" if files.nodes else f"the edge file {files.edges}")
        if x is not None:
            x = np.concatenate([x, np.asarray(fx, dtype=np.float32)], axis=1)
            feature_names += names
        else:
            x = fx
            feature_names = names
    if x is None:
        x = np.ones((n_table, 1), np.float32)
        feature_names = ["constant"]
        warnings.append(f"{files.nodes or files.edges}: no node features (no numeric columns, no --features); "
                        "every node gets the constant 1")
    if extra:
        if isinstance(x, np.memmap):
            raise InputError(f"{files.edges}: {extra:,} edge ids are not in {files.nodes}, and the memory-mapped "
                             f"{files.features} cannot grow; list every node in the node table (or use --strict)")
        x = np.concatenate([np.asarray(x), np.zeros((extra, x.shape[1]), np.float32)])
        warnings.append(f"{extra:,} nodes have no features (ids only in the edges); their features are zeros")
    # edges in the final numbering
    position = pd.Index(ids).get_indexer(edge_ids)
    src = position[graph.edge_index[0]] if graph.edge_index.size else np.zeros(0, np.int64)
    dst = position[graph.edge_index[1]] if graph.edge_index.size else np.zeros(0, np.int64)
    if len(ids) == 0:
        raise InputError(f"{files.edges}: empty graph (no nodes)")
    if len(src) == 0:
        raise InputError(f"{files.edges}: empty graph (no edges)")
    counts.update(nodes=len(ids), edges=int(len(src)))
    return GraphTable(ids, x, np.asarray(src, np.int64), np.asarray(dst, np.int64), graph.edge_weight,
                      columns, table_col, feature_names, warnings, counts)
