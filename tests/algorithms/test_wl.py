import json
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gnncli.algorithms.wl import (
    color_refinement,
    compare_graphs,
    fwl_cost,
    folklore_wl,
    gin_embeddings,
    group_equivalent,
    wl_hash,
)
from gnncli.errors import UsageError
from gnncli.domains.graph.files import Graph, from_networkx, read_graph, read_graphs

GALLERY = Path(__file__).parents[2] / "examples" / "graphs"
PAIRS = json.loads((GALLERY / "gallery.json").read_text())["pairs"]


def _case(pair, k):
    return pytest.param(pair, k, id=f"{pair['name']}-k{k}")


@pytest.mark.parametrize(
    "pair,k", [_case(p, k) for p in PAIRS for k in (1, 2, 3) if not (k == 3 and p["name"].startswith("CFI"))]
)
def test_gallery_verdicts(pair, k):
    g1, g2 = (read_graph(GALLERY / name) for name in pair["graphs"])
    result = compare_graphs(g1, g2, k=k, check_isomorphism=k == 1)
    assert result.distinguished == pair["separated_by"][str(k)]
    if k == 1 or result.distinguished:
        assert result.isomorphic is pair["isomorphic"]


def test_cfi_pair_needs_3fwl():
    pair = next(p for p in PAIRS if p["name"].startswith("CFI"))
    g1, g2 = (read_graph(GALLERY / name) for name in pair["graphs"])
    assert compare_graphs(g1, g2, k=3, check_isomorphism=False).distinguished


def test_isomorphic_pair_is_isomorphic():
    g = nx.petersen_graph()
    perm = np.random.default_rng(0).permutation(10)
    h = nx.relabel_nodes(g, dict(enumerate(perm.tolist())))
    result = compare_graphs(from_networkx(g), from_networkx(h))
    assert not result.distinguished
    assert result.isomorphic is True
    assert result.verdict == "isomorphic"


def test_labels_separate_otherwise_equal_graphs():
    path = nx.path_graph(3)
    a = from_networkx(path)
    b = from_networkx(path)
    a.node_label = np.array(["C", "C", "O"], dtype=object)
    b.node_label = np.array(["C", "O", "C"], dtype=object)
    result = compare_graphs(a, b)
    assert result.distinguished and result.iteration == 1


def test_edge_labels_matter():
    a = from_networkx(nx.path_graph(3))
    b = from_networkx(nx.path_graph(3))
    a.edge_label = np.array(["SINGLE", "DOUBLE"], dtype=object)
    b.edge_label = np.array(["SINGLE", "SINGLE"], dtype=object)
    assert compare_graphs(a, b).distinguished


def test_different_sizes_distinguished_at_iteration_0():
    result = compare_graphs(from_networkx(nx.cycle_graph(5)), from_networkx(nx.cycle_graph(6)))
    assert result.distinguished and result.iteration == 0


def test_same_partition_as_networkx():
    g = nx.gnm_random_graph(300, 900, seed=1)
    nx.set_node_attributes(g, "0", "label")
    ours = color_refinement(from_networkx(g), max_iterations=3)
    theirs = nx.weisfeiler_lehman_subgraph_hashes(g, node_attr="label", iterations=3)
    # networkx returns the hashes after iterations 1..3
    for t in range(1, 4):
        a = ours.node_partition(t)
        b = np.array([theirs[v][t - 1] for v in g.nodes()])
        pairs = set(zip(a.tolist(), b.tolist()))
        assert len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(2, 14),
    p=st.floats(0.1, 0.9),
    seed=st.integers(0, 10_000),
    labelled=st.booleans(),
)
def test_wl_hash_invariant_to_relabelling(n, p, seed, labelled):
    rng = np.random.default_rng(seed)
    g = nx.gnp_random_graph(n, p, seed=seed)
    if labelled:
        nx.set_node_attributes(g, {v: "CNO"[rng.integers(3)] for v in g}, "label")
    perm = rng.permutation(n)
    h = nx.relabel_nodes(g, dict(enumerate(perm.tolist())))
    h2 = nx.Graph()
    h2.add_nodes_from(sorted(h.nodes(data=True)))
    h2.add_edges_from(h.edges())
    assert wl_hash(from_networkx(g)) == wl_hash(from_networkx(h2))


def test_fwl_refuses_large_graphs_with_memory_estimate():
    g = from_networkx(nx.path_graph(400))
    with pytest.raises(UsageError, match="MiB"):
        folklore_wl(g, 3)
    memory, ops = fwl_cost(400, 3)
    assert memory > 1 << 30 and ops == 400**4


def test_gin_cannot_separate_1wl_equivalent_pair_but_separates_others():
    c6, tt = (read_graph(GALLERY / n) for n in ("c6.csv", "two_triangles.csv"))
    emb = gin_embeddings([c6, tt], num_layers=3)
    assert float((emb[0] - emb[1]).abs().max()) < 1e-9
    p = from_networkx(nx.path_graph(6))
    emb = gin_embeddings([c6, p], num_layers=3)
    assert float((emb[0] - emb[1]).abs().max()) > 1e-6


def test_dataset_groups_decalin_and_bicyclopentyl():
    graphs = read_graphs(GALLERY / "molecules.csv")
    _, groups = group_equivalent(graphs)
    names = [sorted(graphs[cls[0]].name for cls in group) for group in groups]
    assert names == [["bicyclopentyl", "decalin"]]


def test_directed_edges_tell_in_from_out():
    a = Graph(num_nodes=3, edge_index=np.array([[0, 1], [1, 2]]), directed=True)
    b = Graph(num_nodes=3, edge_index=np.array([[0, 2], [1, 1]]), directed=True)
    assert compare_graphs(a, b).distinguished


def test_unlabelled_degrees_separate_at_iteration_1():
    result = compare_graphs(from_networkx(nx.path_graph(5)), from_networkx(nx.star_graph(4)))
    assert result.distinguished and result.iteration == 1



def _refine_by_arcs(graphs: list[Graph], iterations: int) -> list[np.ndarray]:
    """Colour refinement written arc by arc (np.add.at), as the formula in the module
    docstring reads: the vectorized version must give the very same 64-bit colours."""
    from gnncli.algorithms import wl

    offsets = np.cumsum([0] + [g.num_nodes for g in graphs])
    src, dst, tag = [], [], []
    for g, off in zip(graphs, offsets):
        lab = wl._label_hash(g.edge_label, g.num_edges)
        for (u, v), t in zip(g.edge_index.T.tolist(), lab):
            if g.directed:
                with np.errstate(over="ignore"):
                    arcs = [(u, v, wl._mix(t + wl._K1)), (v, u, wl._mix(t + wl._K2))]
            else:
                arcs = [(u, v, t)] if u == v else [(u, v, t), (v, u, t)]
            for a, b, x in arcs:
                src.append(a + off), dst.append(b + off), tag.append(x)
    src, dst, tag = np.array(src, dtype=np.int64), np.array(dst, dtype=np.int64), np.array(tag, dtype=np.uint64)
    labels = np.concatenate([g.node_label if g.node_label is not None else np.full(g.num_nodes, "", object) for g in graphs])
    colors = [wl._label_hash(labels if any(g.node_label is not None for g in graphs) else None, int(offsets[-1]))]
    for _ in range(iterations):
        c = colors[-1]
        with np.errstate(over="ignore"):
            total = np.zeros(len(c), dtype=np.uint64)
            np.add.at(total, src, wl._mix(c[dst] + tag * wl._K1 + wl._K2))
            colors.append(wl._pair(c, total + wl._K4))
    return colors


@pytest.mark.parametrize("num_labels", [1, 3, 40], ids=["unlabelled", "few-labels", "label-per-edge"])
def test_colours_equal_an_arc_by_arc_refinement(num_labels):
    # few tags (labels x directions): one mat-vec over a (tag, node) table; many: one message per arc
    rng = np.random.default_rng(num_labels)
    graphs = []
    for directed in (False, True):
        n, m = 12, 100
        edges = rng.integers(0, n, (2, m))  # loops and repeated edges included
        label = None if num_labels == 1 else np.array([f"L{i}" for i in rng.integers(0, num_labels, m)], dtype=object)
        graphs.append(Graph(num_nodes=n, edge_index=edges, edge_label=label, directed=directed,
                            node_label=np.array(list("CCNOCCCCNCCS"), dtype=object)))
    ours = color_refinement(graphs, max_iterations=4)
    reference = _refine_by_arcs(graphs, ours.num_iterations)
    for t, (a, b) in enumerate(zip(ours.colors, reference)):
        assert np.array_equal(a, b), f"iteration {t}"


def test_differences_are_counted_largest_first():
    # path P5 vs star K1,4 at iteration 1: degree-1 nodes 2 vs 4, degree-2 nodes 3 vs 0, degree 4: 0 vs 1
    result = compare_graphs(from_networkx(nx.path_graph(5)), from_networkx(nx.star_graph(4)))
    counts = sorted(((a, b) for _, a, b in result.differences), key=lambda ab: -abs(ab[0] - ab[1]))
    assert [(a, b) for _, a, b in result.differences] == counts
    assert sorted(counts) == [(0, 1), (2, 4), (3, 0)]
