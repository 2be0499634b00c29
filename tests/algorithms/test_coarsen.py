import networkx as nx
import numpy as np
import pytest
import torch
from torch_geometric.data import Data

from gnncli.algorithms.coarsen import (
    METHODS,
    Coarsen,
    Coarsening,
    coarsen_adjacency,
    coarsen_graph,
    coarsening_figure,
    coarsening_quality,
)
from gnncli.errors import UsageError
from gnncli.domains.graph.files import Graph, from_networkx, read_graphs


def _geometric(n=120, seed=0):
    g = nx.random_geometric_graph(n, 0.2, seed=seed)
    g = g.subgraph(max(nx.connected_components(g), key=len)).copy()
    graph = from_networkx(nx.convert_node_labels_to_integers(g))
    rng = np.random.default_rng(seed)
    graph.edge_weight = rng.uniform(0.5, 2.0, graph.num_edges)
    return graph


@pytest.mark.parametrize("method", list(METHODS))
def test_assignment_covers_every_node_once_and_ratio_within_one(method):
    g = _geometric()
    result = coarsen_graph(g, ratio=0.4, method=method, k=5)
    a = result.coarsening.assignment
    assert a.shape == (g.num_nodes,)
    # every supernode is used, ids are 0..n-1
    assert set(a.tolist()) == set(range(result.coarsening.num_supernodes))
    assert abs(result.coarsening.num_supernodes - 0.4 * g.num_nodes) <= 1
    assert result.quality["ratio"] == pytest.approx(result.coarsening.num_supernodes / g.num_nodes)


@pytest.mark.parametrize("method", [m for m in METHODS if m != "kron"])
def test_partition_methods_keep_total_edge_weight(method):
    g = _geometric(seed=1)
    result = coarsen_graph(g, ratio=0.5, method=method, k=5)
    assert result.coarse.weights().sum() == pytest.approx(g.weights().sum())


def test_identity_coarsening_has_zero_error():
    g = _geometric(60)
    identity = Coarsening(assignment=np.arange(g.num_nodes), method="identity")
    q = coarsening_quality(g.adjacency(), identity, k=10)
    assert q["max_relative_error"] == pytest.approx(0.0, abs=1e-9)
    assert q["rsa_epsilon"] == pytest.approx(0.0, abs=1e-6)


def test_merging_nodes_gives_positive_error_and_interlacing():
    g = _geometric(60)
    result = coarsen_graph(g, ratio=0.5, method="heavy-edge", k=8)
    q = result.quality
    assert q["mean_relative_error"] > 0
    # Q has orthonormal columns: coarse eigenvalues lie above the original ones
    assert all(c >= a - 1e-9 for a, c in zip(q["eigenvalues"], q["coarse_eigenvalues"]))
    assert q["rsa_epsilon"] > 0


def test_weighted_path_heavy_edge_gives_expected_graph():
    # 0-1 (5), 1-2 (1), 2-3 (4), 3-4 (1), 4-5 (3): heavy edges pair (0,1), (2,3), (4,5)
    g = Graph(num_nodes=6, edge_index=np.array([[0, 1, 2, 3, 4], [1, 2, 3, 4, 5]]),
              edge_weight=np.array([5.0, 1.0, 4.0, 1.0, 3.0]))
    result = coarsen_graph(g, ratio=0.5, method="heavy-edge", k=3)
    assert result.coarsening.assignment.tolist() == [0, 0, 1, 1, 2, 2]
    w = result.coarse.adjacency().toarray()
    expected = np.array([[5.0, 1.0, 0.0], [1.0, 4.0, 1.0], [0.0, 1.0, 3.0]])
    assert np.allclose(w, expected)


def test_unweighted_path_multilevel_reaches_ratio():
    g = from_networkx(nx.path_graph(40))
    result = coarsen_graph(g, ratio=0.1, method="heavy-edge", k=3)
    assert result.coarsening.num_supernodes == 4
    # supernodes of a path coarsened by matchings are contiguous runs
    a = result.coarsening.assignment
    assert all(len(set(a[a == s].tolist())) == 1 for s in set(a.tolist()))
    assert np.all(np.diff(np.flatnonzero(np.diff(a) != 0)) > 0)


def test_disconnected_graph_is_coarsened_per_component():
    g = from_networkx(nx.disjoint_union(nx.cycle_graph(10), nx.path_graph(6)))
    result = coarsen_adjacency(g.adjacency(), ratio=0.5, method="variation-neighborhoods", k=3, name="two.csv")
    assert any("2 connected components" in n for n in result.notes)
    a = result.assignment
    assert set(a[:10]).isdisjoint(set(a[10:]))
    assert result.num_supernodes == 8


def test_bad_ratio_k_and_components():
    g = from_networkx(nx.cycle_graph(8))
    for ratio in (0.0, 1.0, -0.5, 1.5):
        with pytest.raises(UsageError, match="--ratio"):
            coarsen_graph(g, ratio=ratio)
    with pytest.raises(UsageError, match="--k 20 is larger"):
        coarsening_quality(g.adjacency(), coarsen_adjacency(g.adjacency(), ratio=0.5), k=20)
    sparse = Graph(num_nodes=10, edge_index=np.array([[0], [1]]))
    with pytest.raises(UsageError, match="9 connected components"):
        coarsen_graph(sparse, ratio=0.5)
    with pytest.raises(UsageError, match="unknown coarsening method"):
        coarsen_graph(g, ratio=0.5, method="nope")


def test_rings_method_makes_beads_for_aspirin(tmp_path):
    f = tmp_path / "aspirin.smi"
    f.write_text("CC(=O)Oc1ccccc1C(=O)O aspirin\n")
    (g,) = read_graphs(f)
    result = coarsen_graph(g, ratio=0.5, method="rings", k=3)
    a = result.coarsening.assignment
    # methyl, ester C(=O)O, benzene ring, carboxylic acid C(=O)O
    assert result.coarsening.num_supernodes == 4
    assert len(set(a[4:10].tolist())) == 1  # the ring atoms share a bead
    assert a[1] == a[2] == a[3] and a[10] == a[11] == a[12]
    with pytest.raises(UsageError, match="needs a molecule"):
        coarsen_graph(from_networkx(nx.path_graph(4)), ratio=0.5, method="rings")


def test_segments_method_on_calpha_graph(tmp_path):
    lines = [
        f"ATOM  {i + 1:5d}  CA  GLY {'A' if i < 6 else 'B'}{i + 1:4d}    {3.8 * i:8.3f}{0.0:8.3f}{0.0:8.3f}  1.00  0.00           C"
        for i in range(10)
    ]
    (tmp_path / "p.pdb").write_text("\n".join(lines) + "\nEND\n")
    (g,) = read_graphs(tmp_path / "p.pdb")
    result = coarsen_graph(g, ratio=0.5, method="segments", k=3)
    assert result.coarsening.assignment.tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    with pytest.raises(UsageError, match="--pdb-nodes atoms"):
        coarsen_graph(g, ratio=0.5, method="residues")


def test_coarsen_data_pools_features_and_is_valid():
    g = nx.grid_2d_graph(4, 4)
    g = nx.convert_node_labels_to_integers(g)
    ei = torch.tensor(list(g.edges())).t()
    ei = torch.cat([ei, ei.flip(0)], dim=1)
    x = torch.randn(16, 3)
    pos = torch.randn(16, 2)
    data = Data(x=x, pos=pos, edge_index=ei, edge_attr=torch.ones(ei.size(1), 2), y=torch.tensor([1.5]))
    out = Coarsen(0.5, "heavy-edge")(data)
    assert out.num_nodes == 8 and out.x.shape == (8, 3) and out.pos.shape == (8, 2)
    a = out.assignment
    for s in range(8):
        assert torch.allclose(out.x[s], x[a == s].mean(0))
    assert out.edge_index.max() < 8 and (out.edge_index[0] != out.edge_index[1]).all()
    assert out.edge_weight.shape == (out.edge_index.size(1),)
    assert out.edge_attr.shape == (out.edge_index.size(1), 2)
    # each original undirected edge between supernodes counts once per direction
    assert float(out.edge_attr[:, 0].sum()) == pytest.approx(float(out.edge_weight.sum()))
    assert torch.equal(out.y, data.y)
    assert data.num_nodes == 16 and data.x is x  # input untouched
    out.validate(raise_on_error=True)


def test_default_k_is_as_many_eigenvalues_as_the_coarse_graph_has(tmp_path):
    f = tmp_path / "decalin.smi"
    f.write_text("C1CCC2CCCCC2C1 decalin\n")
    (g,) = read_graphs(f)
    result = coarsen_graph(g, ratio=0.5, method="rings")  # two ring beads: two eigenvalues at most
    assert result.quality["k"] == 2 and len(result.quality["eigenvalues"]) == 2
    assert any("first 2 Laplacian eigenvalues" in note for note in result.coarsening.notes)
    with pytest.raises(UsageError, match="--k 5 is larger than the coarse graph allows"):
        coarsen_graph(g, ratio=0.5, method="rings", k=5)  # a k asked for is kept, or refused
    big = coarsen_graph(_geometric(), ratio=0.5)
    assert big.quality["k"] == 10 and not any("Laplacian eigenvalues" in n for n in big.coarsening.notes)


def test_figure_colours_nodes_by_supernode_and_eigenvalue_ticks_are_integers():
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_hex

    g = _geometric(60, seed=2)
    result = coarsen_graph(g, ratio=0.3, k=3)
    fig = coarsening_figure(g, result)
    original, coarse, eigen = fig.axes
    node_colour = [to_hex(c) for c in original.collections[-1].get_facecolors()]
    super_colour = [to_hex(c) for c in coarse.collections[-1].get_facecolors()]
    assign = result.coarsening.assignment
    assert len(node_colour) == g.num_nodes and len(super_colour) == result.coarsening.num_supernodes
    assert node_colour == [super_colour[s] for s in assign]  # every node in its supernode's colour
    ei = result.coarse.edge_index
    assert all(super_colour[u] != super_colour[v] for u, v in ei.T.tolist() if u != v)  # neighbours differ
    fig.canvas.draw()
    ticks = [t for t in eigen.get_xticks() if eigen.get_xlim()[0] <= t <= eigen.get_xlim()[1]]
    assert ticks and all(float(t).is_integer() for t in ticks)
    plt.close(fig)
