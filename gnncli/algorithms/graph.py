"""The plain graph that ``gnn wl-test`` and ``gnn coarsen`` work on: :class:`Graph` (numpy arrays,
no torch) and :class:`GraphList` (the graphs one file held and the rows left out).

These are values, not file formats: the algorithms (:mod:`gnncli.algorithms.wl`,
:mod:`gnncli.algorithms.coarsen`) take them, and the readers and writers of the graph kind
(:mod:`gnncli.domains.graph.files`) make and write them. They live in the core so that the
algorithms import no kind of input.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from gnncli.errors import InputError

__all__ = ["Graph", "GraphList", "Skipped", "from_adjacency", "from_networkx"]


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
    repeated = pd.Series(key).duplicated().to_numpy()  # a hash table: no sort
    if repeated.any():
        first = ~repeated
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



@dataclass(frozen=True)
class Skipped:
    """An input row left out because it is invalid: ``where`` as ``file: line N``
    (as :meth:`gnncli.domains.molecules.MoleculeFrame.where` writes it), and why."""

    where: str
    reason: str


class GraphList(list):
    """The graphs read from one file (a ``list`` of :class:`Graph`) and ``skipped``, the
    rows left out as invalid (molecules RDKit cannot read), so a batch job keeps its
    good rows and can say which it dropped."""

    def __init__(self, graphs: Iterable[Graph] = (), *, skipped: Iterable[Skipped] = ()) -> None:
        super().__init__(graphs)
        self.skipped: list[Skipped] = list(skipped)

    def skipped_note(self) -> str | None:
        """One line for people: how many rows were skipped and the first one's place and reason."""
        if not self.skipped:
            return None
        first = self.skipped[0]
        total = len(self) + len(self.skipped)
        return (
            f"skipped {len(self.skipped)} of {total} molecules that RDKit could not read "
            f"(first: {first.where}: {first.reason})"
        )
