from pathlib import Path

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp

from gnncli.errors import InputError, UsageError
from gnncli.graphs import detect_format, from_networkx, read_graph, read_graphs, write_graph

GALLERY = Path(__file__).parents[1] / "examples" / "graphs"


def test_edgelist_with_header_weights_and_node_labels(tmp_path):
    f = tmp_path / "g.csv"
    f.write_text("source,target,weight\na,b,2.5\nb,c,1\n")
    labels = tmp_path / "labels.csv"
    labels.write_text("node,label\na,C\nb,O\nc,N\nd,S\n")
    g = read_graph(f, node_labels=labels)
    assert g.num_nodes == 4 and g.num_edges == 2
    assert g.node_names == ["a", "b", "c", "d"]
    assert g.node_label.tolist() == ["C", "O", "N", "S"]
    assert g.edge_weight.tolist() == [2.5, 1.0]
    assert g.adjacency().sum() == pytest.approx(7.0)


def test_edgelist_whitespace_integer_ids_and_edge_labels(tmp_path):
    f = tmp_path / "g.txt"
    f.write_text("# comment\n10 2 single\n2 3 double\n3 10 single\n")
    g = read_graph(f)
    assert g.node_names == ["2", "3", "10"]
    assert sorted(g.edge_label.tolist()) == ["double", "single", "single"]
    assert g.edge_weight is None


def test_edgelist_bad_row_names_file_and_line(tmp_path):
    f = tmp_path / "g.csv"
    f.write_text("0,1,1.0\n1,2,heavy\n")
    with pytest.raises(InputError, match=r"g.csv:2: weight 'heavy' is not a number"):
        read_graphs(f)
    f.write_text("0,1\n2\n")
    with pytest.raises(InputError, match=r"g.csv:2:"):
        read_graph(f)


def test_smiles_labels_and_bad_smiles(tmp_path):
    g = read_graph(GALLERY / "decalin.smi")
    assert g.num_nodes == 10 and g.num_edges == 11
    assert set(g.node_label) == {"C"} and set(g.edge_label) == {"SINGLE"}
    f = tmp_path / "m.csv"
    f.write_text("name,smiles\nok,CCO\nbad,C1CC\n")
    assert detect_format(f) == "smiles"
    with pytest.raises(InputError, match=r"m.csv:3: SMILES 'C1CC' could not be parsed"):
        read_graphs(f)


def test_graph6_graphml_mtx_npz_round_trip(tmp_path):
    g = from_networkx(nx.petersen_graph())
    g.edge_weight = np.arange(1, g.num_edges + 1, dtype=float)
    for ext in ("graphml", "mtx", "npz", "csv"):
        out = tmp_path / f"p.{ext}"
        write_graph(g, out)
        h = read_graph(out)
        assert h.num_nodes == 10 and h.num_edges == 15
        assert (h.adjacency() != g.adjacency()).nnz == 0, ext
    write_graph(g, tmp_path / "p.g6")
    assert read_graph(tmp_path / "p.g6").num_edges == 15
    rook = read_graph(GALLERY / "rook4x4.g6")
    assert rook.num_nodes == 16 and rook.num_edges == 48


def test_npz_edge_index_and_dense(tmp_path):
    np.savez(tmp_path / "e.npz", edge_index=np.array([[0, 1], [1, 2]]), num_nodes=4)
    g = read_graph(tmp_path / "e.npz")
    assert g.num_nodes == 4 and g.num_edges == 2
    np.savez(tmp_path / "d.npz", adjacency=np.array([[0, 1], [0, 0]]))
    assert read_graph(tmp_path / "d.npz").directed


def test_directed_mtx_is_symmetrized_in_adjacency(tmp_path):
    import scipy.io

    scipy.io.mmwrite(str(tmp_path / "d.mtx"), sp.coo_matrix(([1.0, 3.0], ([0, 1], [1, 2])), shape=(3, 3)))
    g = read_graph(tmp_path / "d.mtx")
    assert g.directed
    a = g.adjacency().toarray()
    assert np.allclose(a, a.T) and a[2, 1] == 3.0
    assert not g.symmetrized().directed


def test_pdb_is_calpha_radius_graph(tmp_path):
    lines = []
    for i in range(5):
        lines.append(
            f"ATOM  {i + 1:5d}  CA  ALA A{i + 1:4d}    {3.8 * i:8.3f}{0.0:8.3f}{0.0:8.3f}  1.00  0.00           C"
        )
    (tmp_path / "p.pdb").write_text("\n".join(lines) + "\nEND\n")
    g = read_graph(tmp_path / "p.pdb", cutoff=8.0)
    assert g.num_nodes == 5 and g.pos.shape == (5, 3)
    # neighbours at 3.8 and 7.6 Angstrom, not 11.4
    assert g.num_edges == 4 + 3
    assert set(g.node_label) == {"ALA"}


def test_bad_inputs(tmp_path):
    f = tmp_path / "g.xyz"
    f.write_text("hello\n")
    with pytest.raises(InputError, match=r"g.xyz: unknown graph format '.xyz'"):
        read_graphs(f)
    e = tmp_path / "e.csv"
    e.write_text("")
    with pytest.raises(InputError, match="file is empty"):
        read_graphs(e)
    c = tmp_path / "c.csv"
    c.write_text("# nothing\n")
    with pytest.raises(InputError, match="no edges"):
        read_graphs(c)
    with pytest.raises(UsageError, match="--format"):
        read_graphs("-")
    g6 = tmp_path / "x.g6"
    g6.write_text("not a graph6 string!\n")
    with pytest.raises(InputError, match=r"x.g6:1:"):
        read_graphs(g6)
