import json
from pathlib import Path

from typer.testing import CliRunner

from gnncli.cli.main import app

runner = CliRunner()
GALLERY = Path(__file__).parents[2] / "examples" / "graphs"


def _run(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_pair_json_verdict():
    result = _run("wl-test", GALLERY / "c6.csv", GALLERY / "two_triangles.csv", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["verdict"] == "not isomorphic, but 1-WL-equivalent"
    assert report["distinguished"] is False and report["isomorphic"] is False


def test_k2_separates_decalin_and_bicyclopentyl_text():
    result = _run("wl-test", GALLERY / "decalin.smi", GALLERY / "bicyclopentyl.smi", "--k", "2")
    assert result.exit_code == 0, result.output
    assert "2-FWL distinguishes them at iteration 2" in result.stdout
    assert "colour counts that differ" in result.stdout


def test_gnn_flag_reports_identical_embeddings():
    result = _run("wl-test", GALLERY / "shrikhande.g6", GALLERY / "rook4x4.g6", "--gnn", "--json")
    assert result.exit_code == 0, result.output
    gnn = json.loads(result.stdout)["gnn"]
    assert gnn["differ"] is False


def test_dataset_mode_lists_groups():
    result = _run("wl-test", GALLERY / "molecules.csv", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["num_graphs"] == 9
    (group,) = report["groups"]
    assert sorted(m["name"] for cls in group["classes"] for m in cls) == ["bicyclopentyl", "decalin"]


def test_bad_inputs_exit_codes(tmp_path):
    bad = tmp_path / "g.xyz"
    bad.write_text("x\n")
    result = _run("wl-test", bad, GALLERY / "c6.csv")
    assert result.exit_code == 1
    assert "g.xyz: unknown graph format" in result.output
    assert "Traceback" not in result.output
    result = _run("wl-test", GALLERY / "c6.csv", GALLERY / "c6.csv", "--k", "4")
    assert result.exit_code == 2
    result = _run("wl-test", GALLERY / "c6.csv")
    assert result.exit_code == 2 and "one graph" in result.output


def test_help_has_example():
    result = _run("wl-test", "--help")
    assert result.exit_code == 0 and "Example:" in result.output
