import json

import networkx as nx
import numpy as np
from typer.testing import CliRunner

from gnncli.cli.main import app

runner = CliRunner()


def _edgelist(tmp_path, g, name="g.csv"):
    f = tmp_path / name
    f.write_text("source,target\n" + "".join(f"{u},{v}\n" for u, v in g.edges()))
    return f


def test_coarsen_writes_graph_assignment_plot_and_json(tmp_path):
    rgg = nx.random_geometric_graph(80, 0.25, seed=3)
    f = _edgelist(tmp_path, rgg)
    out = tmp_path / "coarse.csv"
    result = runner.invoke(
        app,
        ["coarsen", str(f), "--ratio", "0.5", "--method", "variation-neighborhoods", "--out", str(out),
         "--k", "5", "--plot", str(tmp_path / "c.png"), "--json"],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert abs(report["num_supernodes"] - 40) <= 1 and len(report["relative_errors"]) == 5
    assert report["rsa_epsilon"] is not None
    lines = (tmp_path / "coarse.assignment.csv").read_text().splitlines()
    assert lines[0] == "node,supernode" and len(lines) == 81
    header, *rows = out.read_text().splitlines()
    assert header == "source,target,weight"
    total = sum(float(r.split(",")[2]) for r in rows)
    assert total == rgg.number_of_edges()  # unit weights: total edge weight is kept
    assert (tmp_path / "c.png").stat().st_size > 1000


def test_coarsen_text_report_and_graphml_output(tmp_path):
    f = _edgelist(tmp_path, nx.cycle_graph(20))
    result = runner.invoke(app, ["coarsen", str(f), "--method", "metis", "--out", str(tmp_path / "c.graphml"), "--k", "4"])
    assert result.exit_code == 0, result.output
    assert "20 nodes -> 10 supernodes" in result.stdout
    g = nx.read_graphml(tmp_path / "c.graphml")
    assert g.number_of_nodes() == 10


def test_disconnected_input_is_reported(tmp_path):
    f = _edgelist(tmp_path, nx.disjoint_union(nx.cycle_graph(8), nx.cycle_graph(8)))
    result = runner.invoke(app, ["coarsen", str(f), "--k", "3"])
    assert result.exit_code == 0, result.output
    assert "2 connected components" in result.output


def test_bad_inputs(tmp_path):
    f = _edgelist(tmp_path, nx.cycle_graph(6))
    result = runner.invoke(app, ["coarsen", str(f), "--ratio", "1.5"])
    assert result.exit_code == 2 and "--ratio must be between 0 and 1" in result.output
    result = runner.invoke(app, ["coarsen", str(f), "--k", "50"])
    assert result.exit_code == 2 and "--k 50 is larger than the coarse graph allows" in result.output
    bad = tmp_path / "g.weird"
    bad.write_text("x")
    result = runner.invoke(app, ["coarsen", str(bad)])
    assert result.exit_code == 1 and "g.weird: unknown graph format" in result.output
    np.savez(tmp_path / "empty.npz", edge_index=np.zeros((2, 0), dtype=np.int64), num_nodes=0)
    result = runner.invoke(app, ["coarsen", str(tmp_path / "empty.npz")])
    assert result.exit_code == 1 and "empty graph" in result.output
    result = runner.invoke(app, ["coarsen", str(f), "--method", "bogus"])
    assert result.exit_code == 2 and "unknown coarsening method" in result.output
    assert "Traceback" not in result.output


def test_help_has_example():
    result = runner.invoke(app, ["coarsen", "--help"])
    assert result.exit_code == 0 and "Example:" in result.output


def test_rings_on_a_small_molecule_with_the_default_k(tmp_path):
    f = tmp_path / "decalin.smi"
    f.write_text("C1CCC2CCCCC2C1 decalin\n")
    result = runner.invoke(app, ["coarsen", str(f), "--method", "rings", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["num_supernodes"] == 2 and report["k"] == 2
    assert "note: comparing the first 2 Laplacian eigenvalues" in result.stderr


def test_help_paragraphs_are_single_lines():
    from gnncli.cli.coarsen import HELP

    assert all("\n" not in p for p in HELP.strip().split("\n\n"))
    result = runner.invoke(app, ["coarsen", "--help"], env={"COLUMNS": "80", "TERMINAL_WIDTH": "80"})
    assert "Example: gnn coarsen graph.csv --ratio 0.5 --out coarse.csv --plot coarse.png" in result.output


def test_coarse_graph_to_a_device_writes_no_assignment_beside_it(tmp_path):
    from tests.special_files import FifoReader, make_fifo

    graph = tmp_path / "g.txt"
    graph.write_text("".join(f"{i} {i + 1}\n" for i in range(12)))
    fifo = make_fifo(tmp_path / "out.csv")
    reader = FifoReader(fifo)
    result = runner.invoke(app, ["coarsen", str(graph), "--ratio", "0.5", "--out", str(fifo)])
    assert result.exit_code == 0, result.output
    assert reader.result().startswith(b"source,target,weight")
    assert not (tmp_path / "out.assignment.csv").exists()
