from pathlib import Path

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp

from gnncli.errors import InputError, UsageError
from gnncli.domains.graph.files import detect_format, from_networkx, read_graph, read_graphs, write_graph

GALLERY = Path(__file__).parents[2] / "examples" / "graphs"


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


def test_smiles_labels_and_invalid_rows_are_skipped_with_their_line(tmp_path):
    g = read_graph(GALLERY / "decalin.smi")
    assert g.num_nodes == 10 and g.num_edges == 11 and g.name == "decalin"
    assert set(g.node_label) == {"C"} and set(g.edge_label) == {"SINGLE"}
    f = tmp_path / "m.csv"
    f.write_text("name,smiles\nok,CCO\nbad,C1CC\nempty,\nalso ok,c1ccccc1\n")
    assert detect_format(f) == "smi"
    graphs = read_graphs(f)
    assert [g.name for g in graphs] == ["ok", "also ok"]
    assert [s.where for s in graphs.skipped] == [f"{f}: line 3", f"{f}: line 4"]
    assert "SMILES 'C1CC' could not be parsed" in graphs.skipped[0].reason
    assert graphs.skipped_note().startswith(f"skipped 2 of 4 molecules that RDKit could not read (first: {f}: line 3: ")
    f.write_text("smiles\nC1CC\n")
    with pytest.raises(InputError, match=r"m.csv: no valid molecules \(first: .*m.csv: line 2: SMILES 'C1CC'"):
        read_graphs(f)


def test_smiles_column_found_as_gnn_train_finds_it(tmp_path):
    # no column named like SMILES: the molecule reader of gnn train finds it by content
    f = tmp_path / "m.tsv"
    f.write_text("id\tstructure\nm1\tCCO\nm2\tCCN\n")
    graphs = read_graphs(f, format="smiles")
    assert [g.name for g in graphs] == ["m1", "m2"] and graphs[1].meta["smiles"] == "CCN"


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


# --------------------------------------------------------------------------- edge lists, vectorized


def _reference_edges(text: str) -> tuple[list[str], list[tuple[str, str]]]:
    """What the reader must find in a whitespace edge list with integer ids: a plain
    line-by-line parse (comments and blank lines skipped), ids sorted by value, edges
    oriented and without repeats, first kept."""
    rows = [ln.split() for ln in text.splitlines() if ln.strip() and ln.strip()[0] not in "#%"]
    names = sorted({x for r in rows for x in r[:2]}, key=int)
    seen, edges = set(), []
    for u, v in (r[:2] for r in rows):
        key = tuple(sorted((names.index(u), names.index(v))))
        if key not in seen:
            seen.add(key)
            edges.append(key)
    return names, edges


@pytest.mark.parametrize("pyarrow", [True, False], ids=["pyarrow", "c-engine"])
def test_edgelist_matches_a_line_by_line_parse(tmp_path, monkeypatch, pyarrow):
    import gnncli.domains.graph.files

    monkeypatch.setattr(gnncli.domains.graph.files, "_HAVE_PYARROW", pyarrow and gnncli.domains.graph.files._HAVE_PYARROW)
    rng = np.random.default_rng(7)
    lines = []
    for _ in range(300):
        u, v = rng.integers(-20, 60, 2)
        kind = rng.integers(0, 12)
        if kind == 0:
            lines.append(rng.choice(["# a comment", "  % another", "", "   "]))
        else:
            gap = " " * int(rng.integers(1, 4)) if kind > 2 else "\t"
            lines.append(f"{' ' * int(kind == 5)}{u}{gap}{v}{' ' * int(kind == 6)}")
    text = "\n".join(lines)
    f = tmp_path / "g.txt"
    f.write_text(text)
    g = read_graph(f)
    names, edges = _reference_edges(text)
    assert g.node_names == names
    assert [tuple(e) for e in g.edge_index.T.tolist()] == edges


def test_edgelist_string_ids_keep_first_appearance_order_and_directed_arcs(tmp_path):
    f = tmp_path / "g.csv"
    f.write_text("u,v\nb,a\nc,b\na,b\nb,a\n")
    g = read_graph(f)
    assert g.node_names == ["b", "c", "a"]  # sources first, then targets
    assert g.edge_index.tolist() == [[0, 0], [2, 1]]  # b-a once, c-b
    d = read_graph(f, directed=True)
    assert d.edge_index.tolist() == [[0, 1, 2], [2, 0, 0]]  # b->a, c->b, a->b; the repeated b->a dropped


def test_edgelist_csv_details(tmp_path):
    f = tmp_path / "g.csv"
    f.write_bytes(b'\xef\xbb\xbfsource , target,weight\r\n# note\r\n"a,1" , b ,2\r\n\r\nb,c, 0.5\r\n')
    g = read_graph(f)
    assert g.node_names == ["a,1", "b", "c"]
    assert g.edge_weight.tolist() == [2.0, 0.5]
    f.write_text("src\tdst\tbond\n1\t2\tdouble\n2\t10\tsingle\n")
    g = read_graph(f, format="edgelist")
    assert g.node_names == ["1", "2", "10"] and g.edge_label.tolist() == ["double", "single"]
    f.write_text("a,b,c\nx,y,1.5\n")  # no known names, but text above a number: a header
    g = read_graph(f)
    assert g.num_edges == 1 and g.edge_weight is None  # column 'c' is neither weight nor label


def test_edgelist_errors_name_the_line_past_comments(tmp_path):
    f = tmp_path / "g.csv"
    cases = {
        "# c\n\n0,1\n1,2,3\n": r"g.csv:4: 3 columns, expected 2 as on the first row",
        "0,1\n% c\n2\n": r"g.csv:3: expected 'source,target\[,weight\]', got '2'",
        "0,1\n\n,2\n": r"g.csv:3: expected 'source,target\[,weight\]', got ',2'",
        "0,1,1\n1,2,2\n2,3,inf\n": r"g.csv:3: weight 'inf' is not a finite number",
        "source,target,weight\n0,1,1\n1,2,\n": r"g.csv:3: weight '' is not a number",
        "source,target\n": r"header only, no edges",
    }
    for text, message in cases.items():
        f.write_text(text)
        with pytest.raises(InputError, match=message):
            read_graphs(f)


def test_node_label_file_last_label_wins_and_missing_label_is_named(tmp_path):
    f = tmp_path / "g.txt"
    f.write_text("1 2\n2 3\n")
    labels = tmp_path / "labels.csv"
    labels.write_text("id,label\n1,C\n2,O\n3,N,extra\n2,S\n4,P\n")
    g = read_graph(f, node_labels=labels)
    assert g.node_names == ["1", "2", "3", "4"] and g.node_label.tolist() == ["C", "S", "N", "P"]
    labels.write_text("1,C\n3,N\n")
    with pytest.raises(InputError, match=r"labels.csv: no label for node '2' \(and 0 more\)"):
        read_graph(f, node_labels=labels)
    labels.write_text("1,C\n2\n")
    with pytest.raises(InputError, match=r"labels.csv:2: expected 'node,label'"):
        read_graph(f, node_labels=labels)


def test_smiles_from_stdin_reports_dash(monkeypatch):
    import io
    import sys

    data = b"name,smiles\nok,CCO\nbad,C1CC\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    graphs = read_graphs("-", format="smiles")
    assert len(graphs) == 1 and graphs.skipped[0].where == "-: line 3"


def test_integer_ids_are_sorted_by_value_and_kept_as_written(tmp_path):
    f = tmp_path / "g.csv"
    f.write_text("10,-3\n-3,2\n2,10\n")  # plain integers (parsed as int64 when pyarrow is there)
    assert read_graph(f).node_names == ["-3", "2", "10"]
    f.write_text("007,8\n7,8\n")  # written otherwise: distinct ids, kept as text, sorted by value
    assert read_graph(f).node_names == ["007", "7", "8"]
    f.write_text("007,7\n7,+8\n")  # not all integers: text in order of first appearance
    assert read_graph(f).node_names == ["007", "7", "+8"]
