import shutil

import pytest

from gnncli.testing import write_molecule_csv

from .conftest import FAST, invoke


def _one_line_error(result, code, *fragments):
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.output
    for fragment in fragments:
        assert fragment in errors[0], errors[0]


def test_missing_file(tmp_path):
    _one_line_error(invoke("train", tmp_path / "nope.csv", *FAST), 1, "nope.csv", "file not found")


def test_empty_file(tmp_path):
    (tmp_path / "e.csv").write_text("")
    _one_line_error(invoke("train", tmp_path / "e.csv", *FAST), 1, "e.csv", "empty")


def test_unknown_extension(tmp_path):
    (tmp_path / "d.xyz").write_text("x")
    _one_line_error(invoke("train", tmp_path / "d.xyz", *FAST), 1, "d.xyz", "unknown file type")


def test_no_smiles_column(tmp_path):
    (tmp_path / "d.csv").write_text("a,b\n1,2\n3,4\n")
    _one_line_error(invoke("train", tmp_path / "d.csv", *FAST), 1, "d.csv", "no SMILES column")


def test_non_numeric_target_names_the_line(tmp_path):
    (tmp_path / "d.csv").write_text("smiles,y\nCCO,1.5\nCCN,abc\n")
    _one_line_error(invoke("train", tmp_path / "d.csv", "-t", "y", *FAST), 1, "d.csv: line 3", "'abc' is not a number")


def test_all_empty_target(tmp_path):
    (tmp_path / "d.csv").write_text("smiles,y,z\nCCO,,1\nCCN,,2\n")
    _one_line_error(invoke("train", tmp_path / "d.csv", "-t", "y", *FAST), 1, "target 'y' is empty in every row")


def test_missing_target_column(tmp_path):
    (tmp_path / "d.csv").write_text("smiles,y\nCCO,1\n")
    _one_line_error(invoke("train", tmp_path / "d.csv", "-t", "logS", *FAST), 1, "no target column 'logS'")


def test_single_class(tmp_path):
    (tmp_path / "d.csv").write_text("smiles,y\nCCO,1\nCCN,1\nCCC,1\n")
    _one_line_error(invoke("train", tmp_path / "d.csv", "-t", "y", "--task", "classification", *FAST), 1, "single class")


def test_too_few_molecules(tmp_path):
    (tmp_path / "d.csv").write_text("smiles,y\nCCO,1.0\nCCN,2.0\n")
    _one_line_error(invoke("train", tmp_path / "d.csv", "-t", "y", *FAST), 1, "too few")


def test_no_valid_molecules(tmp_path):
    (tmp_path / "d.csv").write_text("smiles,y\nC1CC,1.0\nxyz,2.0\n")
    _one_line_error(invoke("train", tmp_path / "d.csv", "-t", "y", *FAST), 1, "no valid molecules", "line 2")


def test_bad_split_sizes_is_usage_error(tmp_path):
    data = write_molecule_csv(tmp_path / "d.csv", n=20)
    _one_line_error(invoke("train", data, "-t", "logp", *FAST, "--split-sizes", "0.5,0.5"), 2, "--split-sizes")


def test_out_folder_not_empty(tmp_path):
    data = write_molecule_csv(tmp_path / "d.csv", n=20)
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "x").write_text("x")
    _one_line_error(invoke("train", data, "-t", "logp", *FAST, "--out", tmp_path / "run"), 2, "not empty")


def test_debug_shows_traceback(tmp_path):
    result = invoke("--debug", "train", tmp_path / "nope.csv", *FAST)
    assert result.exit_code != 0 and result.exception is not None


def test_corrupt_checkpoint(trained_run, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(trained_run, broken)
    (broken / "models" / "model_0.pt").write_bytes(b"not a checkpoint")
    (tmp_path / "l.smi").write_text("CCO\n")
    _one_line_error(invoke("predict", broken, tmp_path / "l.smi"), 1, "model_0.pt", "corrupt")


def test_checkpoint_from_another_featurizer(trained_run, tmp_path):
    import json

    other = tmp_path / "other"
    shutil.copytree(trained_run, other)
    config = json.loads((other / "config.json").read_text())
    config["featurizer"]["version"] = 99
    (other / "config.json").write_text(json.dumps(config))
    (tmp_path / "l.smi").write_text("CCO\n")
    _one_line_error(invoke("predict", other, tmp_path / "l.smi"), 1, "config.json", "another featurizer")


def test_not_a_run_folder(tmp_path):
    (tmp_path / "l.smi").write_text("CCO\n")
    _one_line_error(invoke("predict", tmp_path / "nothing", tmp_path / "l.smi"), 1, "not a run folder")
    (tmp_path / "folder").mkdir()  # exists, but holds no run
    _one_line_error(invoke("predict", tmp_path / "folder", tmp_path / "l.smi"), 1, "folder: not a run folder")


def test_folder_given_as_input(trained_run, tmp_path):
    _one_line_error(invoke("predict", trained_run, tmp_path), 1, str(tmp_path), "is a folder")


@pytest.mark.parametrize("name", ["lib.smi.gz", "lib.csv.gz"])
def test_damaged_gzip_input(trained_run, tmp_path, name):
    import gzip

    whole = gzip.compress(b"smiles\nCCO\nCCN\n" * 50)
    (tmp_path / "not.smi.gz").write_bytes(b"plain text")
    (tmp_path / name).write_bytes(whole[: len(whole) // 2])  # cut short, as by a failed download
    _one_line_error(invoke("predict", trained_run, tmp_path / "not.smi.gz"), 1, "not.smi.gz", "not a valid gzip file")
    _one_line_error(invoke("predict", trained_run, tmp_path / name), 1, name, "not a valid gzip file")


def test_bad_device_is_usage_error(tmp_path):
    data = write_molecule_csv(tmp_path / "d.csv", n=20)
    result = invoke("train", data, "-t", "logp", *FAST, "--device", "tpu")
    _one_line_error(result, 2, "--device tpu")


def test_metric_of_the_other_task_type(tmp_path):
    data = write_molecule_csv(tmp_path / "d.csv", n=20)
    _one_line_error(invoke("train", data, "-t", "logp", "--metric", "roc_auc", *FAST), 2,
                    "--metric roc_auc does not fit a regression task", "scaled_rmse")


def test_failing_at_once_prints_only_the_error(trained_run, tmp_path):
    (tmp_path / "d.csv").write_text("a,b\n1,2\n3,4\n")
    for args in (("train", tmp_path / "d.csv", *FAST), ("predict", trained_run, tmp_path / "d.csv")):
        result = invoke(*args)
        assert result.exit_code == 1
        assert result.output.splitlines() == [result.output.strip()], result.output  # no empty bar, no blank line
        assert result.output.startswith("error:")


def test_molecules_beyond_max_atoms_are_skipped_in_training_and_marked_in_prediction(trained_run, tmp_path):
    import io

    import pandas as pd

    data = write_molecule_csv(tmp_path / "d.csv", n=30, extra_rows=[["huge", "C" * 1_000_000, "1.0"],
                                                                   ["big", "C" * 150, "2.0"]])
    result = invoke("train", data, "-t", "logp", *FAST, "--max-atoms", "100", "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output  # the megabyte line is refused unread ("not read"): it hung before
    assert "skipped 2 of 32 molecules" in result.output and "line 32" in result.output and "not read" in result.output
    lib = tmp_path / "lib.smi"
    lib.write_text("CCO\n" + "C" * 1200 + "\n" + "C" * 20_000 + "\n")
    out = invoke("predict", trained_run, lib)  # the default limit: 1000 atoms
    assert out.exit_code == 0, out.output
    table = pd.read_csv(io.StringIO(out.stdout), keep_default_na=False)
    assert table["error"].tolist()[0] == ""
    assert "1,200 atoms, more than --max-atoms 1000" in table["error"].tolist()[1]
    assert "20,000 characters is too long for --max-atoms 1000" in table["error"].tolist()[2]
    raised = invoke("predict", trained_run, lib, "--max-atoms", "2000")
    assert pd.read_csv(io.StringIO(raised.stdout), keep_default_na=False)["error"].tolist()[:2] == ["", ""]


def test_one_format_vocabulary(tmp_path):
    (tmp_path / "mols.txt").write_text("smiles\nCCO\nCCN\nCCC\nCCCC\nc1ccccc1\nCCOC\nCCCl\nCCBr\nCCF\nCCS\n")
    _one_line_error(invoke("train", tmp_path / "mols.txt", "--format", "graph6", *FAST), 2,
                    "--format graph6: not a format this command reads (choose from csv, tsv, smi, sdf)")
    from gnncli.formats import check_format

    assert check_format("smiles", ("smi", "sdf")) == "smi" and check_format("SDF", ("smi", "sdf")) == "sdf"


def test_under_torchrun_rank_zero_alone_says_an_input_error(tmp_path, monkeypatch):
    """Every torchrun process meets a bad input alike: rank 0 says it once, the others exit as
    failed without repeating it."""
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    result = invoke("train", tmp_path / "nope.csv", *FAST)
    assert result.exit_code == 1 and "error:" not in result.output, result.output
    monkeypatch.setenv("RANK", "0")
    _one_line_error(invoke("train", tmp_path / "nope.csv", *FAST), 1, "nope.csv", "file not found")


def test_under_torchrun_other_errors_name_the_rank(monkeypatch):
    from gnncli.cli.common import console, fail

    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    with console.capture() as captured:
        fail("gloo timed out")
    assert "rank 1: gloo timed out" in captured.get()
