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


def test_dataset_with_invalid_smiles_skips_them_and_reports(tmp_path):
    f = tmp_path / "mols.csv"
    f.write_text(
        "name,smiles\ndecalin,C1CCC2CCCCC2C1\nbroken,C1CC\nbicyclopentyl,C1CCC(C1)C1CCCC1\n"
        "pentavalent,CC(C)(C)(C)(C)C\nethanol,CCO\n"
    )
    result = _run("wl-test", f, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["num_graphs"] == 3 and report["num_skipped"] == 2
    assert [s["where"] for s in report["skipped"]] == [f"{f}: line 3", f"{f}: line 5"]
    assert "C1CC" in report["skipped"][0]["reason"]
    (group,) = report["groups"]
    assert sorted(m["name"] for cls in group["classes"] for m in cls) == ["bicyclopentyl", "decalin"]
    assert f"note: skipped 2 of 5 molecules that RDKit could not read (first: {f}: line 3:" in result.stderr
    text = _run("wl-test", f)
    assert text.exit_code == 0 and "3 graphs" in text.stdout and "skipped 2 of 5" in text.stderr


def test_help_paragraphs_wrap_as_whole_sentences():
    import textwrap

    from gnncli.cli.wl_test import HELP

    paragraphs = [p for p in HELP.strip().split("\n\n")]
    assert all("\n" not in p for p in paragraphs)  # one line each: Rich does the wrapping
    result = runner.invoke(app, ["wl-test", "--help"], env={"COLUMNS": "80", "TERMINAL_WIDTH": "80"})
    rendered = [line.strip() for line in result.output.splitlines()]
    for p in paragraphs:
        lines = textwrap.wrap(p, 78)  # 80 columns less Rich's one-space margins
        start = rendered.index(lines[0])
        assert rendered[start:start + len(lines)] == lines


def test_format_uses_the_one_vocabulary(tmp_path):
    from .conftest import invoke

    (tmp_path / "g.txt").write_text("0 1\n1 2\n")
    bad = invoke("wl-test", tmp_path / "g.txt", tmp_path / "g.txt", "--format", "xyz")
    assert bad.exit_code == 2 and "--format xyz: not a format this command reads (choose from csv, tsv, edgelist, smi" in bad.output
    ok = invoke("wl-test", tmp_path / "g.txt", tmp_path / "g.txt", "--format", "edgelist")
    assert ok.exit_code == 0, ok.output
