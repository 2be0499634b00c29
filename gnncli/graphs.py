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

import csv
import io
import os
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from gnncli.errors import InputError, UsageError
from gnncli.io import STDIN, atomic_path, check_input_file, read_stdin_bytes

__all__ = [
    "Graph",
    "READERS",
    "WRITERS",
    "detect_format",
    "read_graphs",
    "read_graph",
    "write_graph",
    "from_networkx",
    "from_adjacency",
]


@dataclass
class Graph:
    r"""A graph as numpy arrays.

    Args:
        num_nodes (int): number of nodes :math:`N`.
        edge_index (np.ndarray): edges, shape :obj:`[2, E]`, int64. Undirected graphs
            store each edge once.
        edge_weight (np.ndarray, optional): shape :obj:`[E]`, float64.
        node_label (np.ndarray, optional): shape :obj:`[N]`, strings.
        edge_label (np.ndarray, optional): shape :obj:`[E]`, strings.
        pos (np.ndarray, optional): node coordinates, shape :obj:`[N, D]`.
        directed (bool): whether ``edge_index`` holds arcs.
        name (str): a name for messages (file name, molecule name).
        node_names (list[str], optional): the node ids as written in the input file.
        meta (dict): format-specific extras (``smiles``, ``chain``, ``residue`` ...).
    """

    num_nodes: int
    edge_index: np.ndarray
    edge_weight: np.ndarray | None = None
    node_label: np.ndarray | None = None
    edge_label: np.ndarray | None = None
    pos: np.ndarray | None = None
    directed: bool = False
    name: str = ""
    node_names: list[str] | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def num_edges(self) -> int:
        return int(self.edge_index.shape[1])

    def weights(self) -> np.ndarray:
        """Edge weights, ones when the graph is unweighted. Shape :obj:`[E]`."""
        if self.edge_weight is None:
            return np.ones(self.num_edges, dtype=np.float64)
        return self.edge_weight

    def adjacency(self) -> sp.csr_matrix:
        """The symmetric weighted adjacency matrix, shape :obj:`[N, N]`.

        Directed graphs are symmetrized with ``W = max(A, A^T)``.
        """
        n = self.num_nodes
        row, col = self.edge_index
        a = sp.csr_matrix((self.weights(), (row, col)), shape=(n, n))
        if self.directed:
            a = a.maximum(a.T)
        else:
            loops = sp.diags(a.diagonal())
            a = a + a.T - loops
        a = a.tocsr()
        a.sum_duplicates()
        return a

    def symmetrized(self) -> "Graph":
        """An undirected copy (``max(A, A^T)``); labels of directed arcs are dropped."""
        if not self.directed:
            return self
        a = sp.triu(self.adjacency()).tocoo()
        return Graph(
            num_nodes=self.num_nodes,
            edge_index=np.vstack([a.row, a.col]).astype(np.int64),
            edge_weight=None if self.edge_weight is None else a.data.astype(np.float64),
            node_label=self.node_label,
            pos=self.pos,
            name=self.name,
            node_names=self.node_names,
            meta=dict(self.meta),
        )

    def to_networkx(self):
        """A networkx (Di)Graph with attributes ``label`` and ``weight``."""
        import networkx as nx

        g = nx.DiGraph() if self.directed else nx.Graph()
        for i in range(self.num_nodes):
            attrs = {}
            if self.node_label is not None:
                attrs["label"] = str(self.node_label[i])
            g.add_node(i, **attrs)
        w = self.weights()
        for e, (u, v) in enumerate(self.edge_index.T.tolist()):
            attrs = {"weight": float(w[e])}
            if self.edge_label is not None:
                attrs["label"] = str(self.edge_label[e])
            g.add_edge(u, v, **attrs)
        return g

    def describe(self) -> str:
        kind = "directed" if self.directed else "undirected"
        return f"{self.name or 'graph'}: {self.num_nodes} nodes, {self.num_edges} edges ({kind})"


def _clean_edges(
    num_nodes: int,
    edge_index: np.ndarray,
    *,
    directed: bool,
    edge_weight: np.ndarray | None = None,
    edge_label: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Orient undirected edges ``u <= v`` and drop duplicates (first one kept)."""
    edge_index = np.asarray(edge_index, dtype=np.int64).reshape(2, -1)
    if not directed:
        edge_index = np.vstack([edge_index.min(0), edge_index.max(0)])
    key = edge_index[0] * max(num_nodes, 1) + edge_index[1]
    _, first = np.unique(key, return_index=True)
    if len(first) < edge_index.shape[1]:
        first = np.sort(first)
        edge_index = edge_index[:, first]
        edge_weight = None if edge_weight is None else edge_weight[first]
        edge_label = None if edge_label is None else edge_label[first]
    return edge_index, edge_weight, edge_label


def from_adjacency(adj: sp.spmatrix | np.ndarray, *, name: str = "", directed: bool | None = None) -> Graph:
    """A :class:`Graph` from a square (sparse) adjacency matrix.

    The graph is undirected when the matrix is symmetric (unless ``directed`` says
    otherwise); all-ones weights are dropped.
    """
    a = sp.csr_matrix(adj, dtype=np.float64)
    a.eliminate_zeros()
    if a.shape[0] != a.shape[1]:
        raise InputError(f"{name}: adjacency matrix is {a.shape[0]}x{a.shape[1]}, expected square")
    if directed is None:
        directed = (abs(a - a.T) > 1e-12 * max(1.0, abs(a).max() if a.nnz else 1.0)).nnz > 0
    coo = (a if directed else sp.triu(a)).tocoo()
    weight = coo.data.astype(np.float64)
    edge_index = np.vstack([coo.row, coo.col]).astype(np.int64)
    return Graph(
        num_nodes=a.shape[0],
        edge_index=edge_index,
        edge_weight=None if np.all(weight == 1.0) else weight,
        directed=bool(directed),
        name=name,
    )


def from_networkx(g, *, name: str = "") -> Graph:
    """A :class:`Graph` from a networkx graph.

    Node labels come from the first of the node attributes ``label``, ``element``,
    ``type``, ``atom``; edge weights from ``weight``; edge labels from ``label``,
    ``bond``, ``type``; coordinates from ``x``, ``y`` (, ``z``) or ``pos``.
    """
    nodes = list(g.nodes())
    index = {v: i for i, v in enumerate(nodes)}
    n = len(nodes)
    node_attrs = [g.nodes[v] for v in nodes]

    def first_key(dicts: list[dict], keys: tuple[str, ...]) -> str | None:
        for key in keys:
            if dicts and all(key in d for d in dicts):
                return key
        return None

    nkey = first_key(node_attrs, ("label", "element", "type", "atom"))
    node_label = np.array([str(d[nkey]) for d in node_attrs], dtype=object) if nkey else None
    pos = None
    if n and all("x" in d and "y" in d for d in node_attrs):
        cols = ["x", "y"] + (["z"] if all("z" in d for d in node_attrs) else [])
        pos = np.array([[float(d[c]) for c in cols] for d in node_attrs])
    elif n and all("pos" in d for d in node_attrs):
        pos = np.array([np.asarray(d["pos"], dtype=float) for d in node_attrs])
    edges = list(g.edges(data=True))
    edge_index = np.array([[index[u] for u, _, _ in edges], [index[v] for _, v, _ in edges]], dtype=np.int64)
    edge_attrs = [d for _, _, d in edges]
    weight = None
    if edges and all("weight" in d for d in edge_attrs):
        weight = np.array([float(d["weight"]) for d in edge_attrs])
    ekey = first_key(edge_attrs, ("label", "bond", "type"))
    edge_label = np.array([str(d[ekey]) for d in edge_attrs], dtype=object) if ekey else None
    directed = g.is_directed()
    edge_index, weight, edge_label = _clean_edges(
        n, edge_index.reshape(2, -1), directed=directed, edge_weight=weight, edge_label=edge_label
    )
    return Graph(
        num_nodes=n,
        edge_index=edge_index,
        edge_weight=weight,
        node_label=node_label,
        edge_label=edge_label,
        pos=pos,
        directed=directed,
        name=name,
        node_names=[str(v) for v in nodes],
    )


# --------------------------------------------------------------------------- readers

_HEADER_WORDS = {
    "source", "target", "src", "dst", "u", "v", "from", "to", "node1", "node2", "i", "j",
    "weight", "w", "label", "type", "bond", "head", "tail", "id1", "id2",
}  # fmt: skip


def _is_number(text: str) -> bool:
    try:
        float(text)
    except (TypeError, ValueError):
        return False
    return True


def _read_rows(path: Path, sep: str | None) -> list[tuple[int, list[str]]]:
    """Rows of a delimited text file with their 1-based line numbers; skips comments."""
    rows = []
    with open(path, encoding="utf-8", errors="replace", newline="") as handle:
        for lineno, line in enumerate(handle, start=1):
            text = line.strip()
            if not text or text[0] in "#%":
                continue
            if sep is None:
                fields = text.split()
            else:
                fields = next(csv.reader([text], delimiter=sep))
            rows.append((lineno, [f.strip() for f in fields]))
    return rows


def _sep_for(path: Path, first_line: str) -> str | None:
    ext = path.suffix.lower()
    if ext == ".tsv" or "\t" in first_line:
        return "\t"
    if ext == ".csv" or "," in first_line:
        return ","
    return None


def read_edgelist(path: Path, *, node_labels: str | os.PathLike | None = None, directed: bool = False, **_: Any) -> list[Graph]:
    """Read an edge list ``source,target[,weight|label][,label]``.

    Integer node ids are kept in sorted order; other ids in order of first appearance.
    A third column that is numeric is an edge weight, otherwise an edge label.
    """
    with open(path, encoding="utf-8", errors="replace") as handle:
        first_line = next((ln for ln in handle if ln.strip() and ln.lstrip()[0] not in "#%"), "")
    rows = _read_rows(path, _sep_for(path, first_line))
    if not rows:
        raise InputError(f"{path}: no edges found (file holds only comments or blank lines)")
    header = None
    first = [f.lower() for f in rows[0][1]]
    if any(f in _HEADER_WORDS for f in first) or (
        len(rows) > 1 and not _is_number(first[0]) and len(first) > 2 and not _is_number(first[2])
        and _is_number(rows[1][1][2] if len(rows[1][1]) > 2 else "x")
    ):
        header = first
        rows = rows[1:]
    if not rows:
        raise InputError(f"{path}: header only, no edges")
    width = len(rows[0][1])
    for lineno, fields in rows:
        if len(fields) < 2 or not fields[0] or not fields[1]:
            raise InputError(f"{path}:{lineno}: expected 'source,target[,weight]', got {','.join(fields)!r}")
        if len(fields) != width:
            raise InputError(f"{path}:{lineno}: {len(fields)} columns, expected {width} as on the first row")
    src = [f[0] for _, f in rows]
    dst = [f[1] for _, f in rows]
    weight = label = None
    extra = list(range(2, width))
    if header is not None:
        named = {name: i for i, name in enumerate(header)}
        wcol = next((named[k] for k in ("weight", "w") if k in named), None)
        lcol = next((named[k] for k in ("label", "type", "bond") if k in named), None)
    else:
        wcol = lcol = None
        if extra:
            numeric = [_is_number(f[2]) for _, f in rows]
            if any(numeric):  # all numeric: weights; mixed: a bad weight, reported below
                wcol = 2
                lcol = 3 if width > 3 else None
            else:
                lcol = 2
    if wcol is not None:
        bad = next(((ln, f) for ln, f in rows if not _is_number(f[wcol])), None)
        if bad is not None:
            raise InputError(f"{path}:{bad[0]}: weight {bad[1][wcol]!r} is not a number")
        weight = np.array([float(f[wcol]) for _, f in rows])
        if not np.all(np.isfinite(weight)):
            raise InputError(f"{path}: weights must be finite numbers")
    if lcol is not None:
        label = np.array([f[lcol] for _, f in rows], dtype=object)

    names = src + dst
    label_map: dict[str, str] = {}
    if node_labels is not None:
        lpath = check_input_file(node_labels)
        lrows = _read_rows(lpath, "," if lpath.suffix.lower() != ".tsv" else "\t")
        if lrows and lrows[0][1][0].lower() in {"node", "id", "name"}:
            lrows = lrows[1:]
        for lineno, fields in lrows:
            if len(fields) < 2:
                raise InputError(f"{lpath}:{lineno}: expected 'node,label'")
            label_map[fields[0]] = fields[1]
        names = names + list(label_map)
    if all(s.lstrip("-").isdigit() for s in names):
        uniq = sorted(set(names), key=int)
    else:
        uniq = list(dict.fromkeys(names))
    index = {s: i for i, s in enumerate(uniq)}
    n = len(uniq)
    edge_index = np.array([[index[s] for s in src], [index[t] for t in dst]], dtype=np.int64)
    node_label = None
    if node_labels is not None:
        missing = [s for s in uniq if s not in label_map]
        if missing:
            raise InputError(f"{node_labels}: no label for node {missing[0]!r} (and {len(missing) - 1} more)")
        node_label = np.array([label_map[s] for s in uniq], dtype=object)
    edge_index, weight, label = _clean_edges(n, edge_index, directed=directed, edge_weight=weight, edge_label=label)
    return [
        Graph(
            num_nodes=n,
            edge_index=edge_index,
            edge_weight=weight,
            node_label=node_label,
            edge_label=label,
            directed=directed,
            name=path.name,
            node_names=uniq,
        )
    ]


def _smiles_rows(path: Path) -> list[tuple[int, str, str]]:
    """(row, smiles, name) from a ``.smi`` file or a CSV with a ``smiles`` column."""
    if path.suffix.lower() in {".smi", ".smiles"}:
        out = []
        for lineno, fields in _read_rows(path, None):
            if lineno == 1 and fields[0].lower() == "smiles":
                continue
            out.append((lineno, fields[0], fields[1] if len(fields) > 1 else f"{path.name}:{lineno}"))
        return out
    import pandas as pd

    sep = "\t" if path.suffix.lower() == ".tsv" else ","
    try:
        frame = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False)
    except Exception as exc:  # pandas raises several types for bad CSV
        raise InputError(f"{path}: could not be read as CSV ({exc})") from None
    col = _smiles_column(list(frame.columns))
    if col is None:
        raise InputError(f"{path}: no 'smiles' column (columns: {', '.join(map(str, frame.columns))})")
    name_col = next((c for c in frame.columns if str(c).lower() in {"name", "id", "compound id", "mol_id"}), None)
    return [
        (i + 2, s, str(frame[name_col].iloc[i]) if name_col else f"{path.name}:{i + 2}")
        for i, s in enumerate(frame[col].tolist())
    ]


def _smiles_column(columns: list) -> str | None:
    return next((c for c in columns if "smiles" in str(c).lower()), None)


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


def read_smiles(path: Path, **_: Any) -> list[Graph]:
    """Read molecules from a ``.smi`` file or a CSV with a ``smiles`` column."""
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    graphs = []
    for row, smi, name in _smiles_rows(path):
        mol = Chem.MolFromSmiles(smi) if smi else None
        if mol is None:
            raise InputError(f"{path}:{row}: SMILES {smi!r} could not be parsed")
        graphs.append(mol_to_graph(mol, name=name, smiles=smi))
    if not graphs:
        raise InputError(f"{path}: no molecules found")
    return graphs


def read_pdb(path: Path, *, cutoff: float = 8.0, pdb_nodes: str = "ca", **_: Any) -> list[Graph]:
    """Read the first model of a PDB/mmCIF file as a radius graph.

    ``pdb_nodes="ca"``: one node per residue with a C-alpha atom, labelled by residue
    name, edges between C-alphas closer than ``cutoff`` Angstrom. ``pdb_nodes="atoms"``:
    one node per heavy atom, labelled by element, with ``meta["residue"]`` giving each
    atom's residue index (for ``coarsen --method residues``).
    """
    from Bio.PDB import MMCIFParser, PDBParser
    from scipy.spatial import cKDTree

    if cutoff <= 0:
        raise UsageError(f"--cutoff must be positive, got {cutoff}")
    parser = MMCIFParser(QUIET=True) if path.suffix.lower() in {".cif", ".mmcif"} else PDBParser(QUIET=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            structure = parser.get_structure(path.stem, str(path))
        except Exception as exc:  # Biopython raises many types for bad files
            raise InputError(f"{path}: not a readable structure file ({exc})") from None
    models = list(structure)
    if not models:
        raise InputError(f"{path}: no models (no ATOM records)")
    labels, coords, chains, residues, resnames = [], [], [], [], []
    res_index = -1
    for chain in models[0]:
        for residue in chain:
            if residue.id[0] == "W":
                continue
            if pdb_nodes == "ca":
                if "CA" not in residue or residue.id[0] != " ":
                    continue
                res_index += 1
                labels.append(residue.get_resname())
                coords.append(residue["CA"].coord)
                chains.append(chain.id)
                residues.append(res_index)
            else:
                if residue.id[0] != " ":
                    continue
                res_index += 1
                for atom in residue:
                    if atom.element == "H":
                        continue
                    labels.append(atom.element)
                    coords.append(atom.coord)
                    chains.append(chain.id)
                    residues.append(res_index)
                resnames.append(residue.get_resname())
    if not coords:
        raise InputError(f"{path}: no {'C-alpha' if pdb_nodes == 'ca' else 'heavy'} atoms in the first model")
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


#: Format name -> reader ``(path, **options) -> list[Graph]``.
READERS: dict[str, Callable[..., list[Graph]]] = {
    "edgelist": read_edgelist,
    "smiles": read_smiles,
    "pdb": read_pdb,
    "graph6": read_graph6,
    "sparse6": read_graph6,
    "graphml": read_graphml,
    "mtx": read_mtx,
    "npz": read_npz,
}

_EXTENSIONS = {
    ".csv": "edgelist", ".tsv": "edgelist", ".txt": "edgelist", ".edges": "edgelist",
    ".edgelist": "edgelist", ".el": "edgelist",
    ".smi": "smiles", ".smiles": "smiles",
    ".pdb": "pdb", ".ent": "pdb", ".cif": "pdb", ".mmcif": "pdb",
    ".g6": "graph6", ".graph6": "graph6", ".s6": "sparse6", ".sparse6": "sparse6",
    ".graphml": "graphml", ".mtx": "mtx", ".npz": "npz",
}  # fmt: skip


def detect_format(path: str | os.PathLike) -> str:
    """The format of ``path`` from its extension (a CSV with a SMILES column is ``smiles``)."""
    path = Path(path)
    fmt = _EXTENSIONS.get(path.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(_EXTENSIONS))
        raise InputError(f"{path}: unknown graph format '{path.suffix or '(no extension)'}'; use --format or one of {known}")
    if fmt == "edgelist" and path.suffix.lower() in {".csv", ".tsv"}:
        with open(path, encoding="utf-8", errors="replace") as handle:
            first = handle.readline()
        sep = "\t" if path.suffix.lower() == ".tsv" else ","
        if _smiles_column([c.strip() for c in first.split(sep)]):
            return "smiles"
    return fmt


def read_graphs(
    path: str | os.PathLike,
    *,
    format: str | None = None,
    node_labels: str | os.PathLike | None = None,
    directed: bool = False,
    cutoff: float = 8.0,
    pdb_nodes: str = "ca",
) -> list[Graph]:
    r"""Read every graph in ``path`` (``-`` for stdin, with ``format``).

    Args:
        path (str): the file.
        format (str, optional): one of :data:`READERS`; from the extension if not given.
        node_labels (str, optional): for edge lists, a ``node,label`` file.
        directed (bool): for edge lists, keep arcs as directed. (default: :obj:`False`)
        cutoff (float): for PDB files, the radius in Angstrom. (default: :obj:`8.0`)
        pdb_nodes (str): for PDB files, ``"ca"`` (residues) or ``"atoms"``.
    """
    if format is not None and format not in READERS:
        raise UsageError(f"unknown --format {format!r}; choose from {', '.join(READERS)}")
    if str(path) == STDIN:
        if format is None:
            raise UsageError("reading from '-' (stdin) needs --format")
        data = read_stdin_bytes()
        suffix = {"smiles": ".smi", "edgelist": ".txt"}.get(format, "." + format)
        with tempfile.TemporaryDirectory() as tmp:
            tmp_path = Path(tmp) / f"stdin{suffix}"
            tmp_path.write_bytes(data)
            graphs = read_graphs(
                tmp_path, format=format, node_labels=node_labels, directed=directed, cutoff=cutoff, pdb_nodes=pdb_nodes
            )
        for g in graphs:
            g.name = g.name.replace(tmp_path.name, "-")
        return graphs
    path = check_input_file(path)
    fmt = format or detect_format(path)
    graphs = READERS[fmt](path, node_labels=node_labels, directed=directed, cutoff=cutoff, pdb_nodes=pdb_nodes)
    for g in graphs:
        if g.num_nodes == 0:
            raise InputError(f"{path}: empty graph (no nodes){'' if len(graphs) == 1 else f' in {g.name}'}")
    return graphs


def read_graph(path: str | os.PathLike, **kwargs: Any) -> Graph:
    """Read exactly one graph from ``path``; see :func:`read_graphs` for the options."""
    graphs = read_graphs(path, **kwargs)
    if len(graphs) != 1:
        raise InputError(f"{path}: holds {len(graphs)} graphs, expected one")
    return graphs[0]


# --------------------------------------------------------------------------- writers


def _write_edgelist(graph: Graph, tmp: Path, target: Path) -> None:
    sep = "\t" if target.suffix.lower() == ".tsv" else ","
    w = graph.weights()
    buf = io.StringIO()
    buf.write(sep.join(["source", "target", "weight"]) + "\n")
    for (u, v), x in zip(graph.edge_index.T.tolist(), w.tolist()):
        buf.write(f"{u}{sep}{v}{sep}{x:.10g}\n")
    tmp.write_text(buf.getvalue(), encoding="utf-8")


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
    if format is None:
        fmt = _EXTENSIONS.get(path.suffix.lower(), "edgelist")
        fmt = {"sparse6": "graph6"}.get(fmt, fmt)
    else:
        fmt = format
    if fmt not in WRITERS:
        raise UsageError(f"{path}: cannot write graphs as {fmt!r}; use .csv, .tsv, .graphml, .mtx, .npz or .g6")
    with atomic_path(path) as tmp:
        WRITERS[fmt](graph, tmp, path)
    return fmt
