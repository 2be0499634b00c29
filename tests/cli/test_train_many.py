"""``gnn train`` and ``gnn benchmark`` on several inputs (files and quoted globs) read as one
dataset, for every kind; one-line errors for inputs that do not go together; resuming such runs
and runs written before several inputs were taken."""

import json

import numpy as np
import pandas as pd
import pytest

from gnncli import api
from gnncli.domains import Domain, register_domain, resolve_domain
from gnncli.domains.base import DOMAINS, expand_inputs
from gnncli.errors import UsageError
from gnncli.testing import InterruptAfterEpochs, write_molecule_csv, write_protein_folder
from gnncli.train.loop import TrainingInterrupted

from ..domains.test_ratings import ratings_matrix, write_ratings
from .conftest import FAST, invoke, last_json


def errors(result) -> list[str]:
    return [line for line in result.output.splitlines() if line.startswith("error:")]


@pytest.fixture
def parts(tmp_path):
    """60 molecules in one file, and the same rows in two files of 30 (as text, to edit cells)."""
    whole = write_molecule_csv(tmp_path / "all.csv", n=60)
    frame = pd.read_csv(whole, dtype=str, keep_default_na=False)
    frame.iloc[:30].to_csv(tmp_path / "part1.csv", index=False)
    frame.iloc[30:].to_csv(tmp_path / "part2.csv", index=False)
    return tmp_path / "part1.csv", tmp_path / "part2.csv", frame


def options(data=None, inputs=None, out=None, epochs=2):
    return api.TrainOptions(data=data, inputs=inputs, targets=["logp"], out=str(out), plots=False,
                            model=api.ModelConfig(hidden=16, depth=2),
                            loop=api.LoopConfig(epochs=epochs, batch_size=16, device="cpu"))


# ---------------------------------------------------------------------------- molecules


def test_several_molecule_files_train_as_one_table(parts, tmp_path):
    a, b, _ = parts
    result = invoke("train", a, b, "--target", "logp", *FAST, "--out", tmp_path / "run", "--json")
    assert result.exit_code == 0, result.output
    summary = last_json(result.output)
    assert summary["molecules"]["train"] == 48 and summary["molecules"]["test"] == 6  # 60 rows: both files
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["options"]["data"] == str(a) and config["options"]["inputs"] == [str(a), str(b)]
    assert config["data"]["rows"] == 60
    # the same rows in one file give the same run (rows in file order, so the same split)
    one = invoke("train", tmp_path / "all.csv", "--target", "logp", *FAST, "--out", tmp_path / "one", "--json")
    assert one.exit_code == 0, one.output
    assert last_json(one.output)["test"]["rmse"] == pytest.approx(summary["test"]["rmse"], rel=1e-5)
    single = json.loads((tmp_path / "one" / "config.json").read_text())
    assert single["options"]["inputs"] is None  # one input: run folders as before


def test_a_quoted_glob_is_expanded_in_order(parts, tmp_path):
    a, b, _ = parts
    assert expand_inputs([str(tmp_path / "part*.csv")]) == [str(a), str(b)]
    result = invoke("train", tmp_path / "part*.csv", "--target", "logp", *FAST, "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["options"]["inputs"] == [str(a), str(b)]  # the files, not the pattern: a resume reads the same


def test_messages_name_the_file_and_line_of_a_bad_row(parts, tmp_path):
    a, _, frame = parts
    bad = frame.iloc[30:].copy()
    bad.iloc[3, bad.columns.get_loc("smiles")] = "C1CC"  # the 4th row: line 5 of its own file
    bad.to_csv(tmp_path / "smiles.csv", index=False)
    result = invoke("train", a, tmp_path / "smiles.csv", "--target", "logp", *FAST, "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    assert f"(first: {tmp_path / 'smiles.csv'}: line 5:" in " ".join(result.output.split())
    bad = frame.iloc[30:].copy()
    bad.iloc[5, bad.columns.get_loc("logp")] = "abc"
    bad.to_csv(tmp_path / "target.csv", index=False)
    result = invoke("train", a, tmp_path / "target.csv", "--target", "logp", *FAST, "--out", tmp_path / "run2")
    assert result.exit_code == 1
    assert errors(result) == [f"error: {tmp_path / 'target.csv'}: line 7: target 'logp' value 'abc' is not a number"]


def test_files_with_other_columns_are_one_line_error(parts, tmp_path):
    a, _, frame = parts
    frame.iloc[30:].drop(columns=["logp"]).to_csv(tmp_path / "fewer.csv", index=False)
    result = invoke("train", a, tmp_path / "fewer.csv", *FAST, "--out", tmp_path / "run")
    assert result.exit_code == 1 and len(errors(result)) == 1, result.output
    assert errors(result)[0].startswith(f"error: {tmp_path / 'fewer.csv'}: columns ")
    assert "need the same columns" in errors(result)[0]
    assert not (tmp_path / "run").exists()


def test_inputs_that_do_not_go_together_are_one_line_errors(parts, tmp_path):
    a, _, _ = parts
    result = invoke("train", a, tmp_path / "nothing*.csv", *FAST)
    assert result.exit_code == 1 and errors(result) == [f"error: {tmp_path / 'nothing*.csv'}: no file matches"]
    result = invoke("train", a, tmp_path / "missing.csv", *FAST)
    assert result.exit_code == 1 and errors(result) == [f"error: {tmp_path / 'missing.csv'}: file not found"]
    pdb = write_protein_folder(tmp_path / "pdb", 1) / "p0.pdb"
    result = invoke("train", a, pdb, *FAST)
    assert result.exit_code == 2 and errors(result) == [
        f"error: {pdb}: proteins input, but {a} is molecules; give inputs of one kind (or say --kind)"]
    result = invoke("train", a, "-", *FAST)
    assert result.exit_code == 2 and len(errors(result)) == 1 and "standard input" in errors(result)[0]


# ---------------------------------------------------------------------------- other kinds


def test_several_structure_files_train_binding_sites(tmp_path):
    folder = write_protein_folder(tmp_path / "pdb", 8)
    files = [folder / f"p{i}.pdb" for i in range(8)]
    fast = ["--epochs", "2", "--hidden", "16", "--depth", "2", "--batch-size", "4", "--no-plots"]
    result = invoke("train", *files, "--task", "binding-site", *fast, "--out", tmp_path / "run", "--json")
    assert result.exit_code == 0, result.output
    summary = last_json(result.output)
    assert summary["kind"] == "proteins" and summary["structures"]["structures"] == 8
    table = pd.read_csv(tmp_path / "run" / "test_predictions.csv", keep_default_na=False)
    assert set(table["file"]) <= {str(f) for f in files}
    result = invoke("train", folder / "p[0-5].pdb", "--task", "binding-site", *fast, "--split-sizes", "0.5,0.25,0.25",
                    "--out", tmp_path / "glob", "--json")
    assert result.exit_code == 0, result.output
    assert last_json(result.output)["structures"]["structures"] == 6


def test_several_rating_files_are_concatenated(tmp_path):
    u, i, r = ratings_matrix(40, 20, 0.4, seed=1)
    half = len(u) // 2
    first = write_ratings(tmp_path / "r1.csv", u[:half], i[:half], r[:half])
    second = write_ratings(tmp_path / "r2.csv", u[half:], i[half:], r[half:])
    again = write_ratings(tmp_path / "again.csv", u[:3], i[:3], np.full(3, 5.0))  # three pairs rated anew
    result = invoke("train", first, second, again, "--epochs", "2", "--no-plots", "--out", tmp_path / "run", "--json")
    assert result.exit_code == 0, result.output
    summary = last_json(result.output)
    assert summary["kind"] == "ratings"
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["data"]["rows"] == len(u) + 3 and config["data"]["duplicates"] == 3
    headless = write_ratings(tmp_path / "u.data", u[half:], i[half:], r[half:], header=False, sep="\t")
    result = invoke("train", first, headless, "--epochs", "2", "--no-plots", "--out", tmp_path / "bad")
    assert result.exit_code == 1 and len(errors(result)) == 1, result.output
    assert errors(result)[0].startswith(f"error: {headless}: columns user 'user'") and f"differ from {first}'s" in errors(result)[0]


def test_several_channel_files_are_read_in_turn(tmp_path):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "a.npy", rng.exponential(1e-10, (2, 6, 4, 4)))  # 2 networks of 4 pairs, 6 steps
    np.save(tmp_path / "b.npy", rng.exponential(1e-10, (3, 6, 4, 4)))
    summary = api.train(api.TrainOptions(
        inputs=[str(tmp_path / "a.npy"), str(tmp_path / "b.npy")], task="primal-dual", out=str(tmp_path / "run"),
        plots=False, split_sizes=(0.6, 0.2, 0.2), options={"episode": 3},
        model=api.ModelConfig(name="leconv", hidden=8, depth=2),
        loop=api.LoopConfig(epochs=1, batch_size=2, steps_per_epoch=2, device="cpu")))
    assert summary["kind"] == "wireless"
    assert sum(summary["networks"][part] for part in ("train", "val", "test")) == 5


class _OneInput(Domain):
    """A kind that reads exactly one input (as a single graph file would)."""

    name = "one-input"
    extensions = (".one",)
    many_inputs = False


def test_a_kind_that_reads_one_input_refuses_several(tmp_path):
    (tmp_path / "a.one").write_text("x\n")
    (tmp_path / "b.one").write_text("y\n")
    register_domain("one-input", _OneInput)
    try:
        assert resolve_domain([str(tmp_path / "a.one")]).name == "one-input"
        with pytest.raises(UsageError, match="^several inputs: the one-input kind reads one$"):
            resolve_domain([str(tmp_path / "a.one"), str(tmp_path / "b.one")])
        result = invoke("train", tmp_path / "*.one", "--model", "gin", *FAST)
        assert result.exit_code == 2 and errors(result) == ["error: several inputs: the one-input kind reads one"]
    finally:
        DOMAINS.unregister("one-input")


# ---------------------------------------------------------------------------- resume


def test_a_run_on_several_files_resumes(parts, tmp_path):
    a, b, _ = parts
    full = api.train(options(inputs=[str(a), str(b)], out=tmp_path / "full", epochs=3))
    with pytest.raises(TrainingInterrupted, match="--resume"):
        api.train(options(inputs=[str(a), str(b)], out=tmp_path / "cut", epochs=3), reporter=InterruptAfterEpochs(2))
    result = invoke("train", "--resume", tmp_path / "cut", "--json")
    assert result.exit_code == 0, result.output
    resumed = last_json(result.output)
    assert resumed["molecules"] == full["molecules"]
    assert resumed["test"]["rmse"] == pytest.approx(full["test"]["rmse"], rel=1e-5)


def test_a_run_whose_config_names_one_data_file_still_resumes(parts, tmp_path):
    """Run folders written before several inputs were taken hold ``data`` as a string and no
    ``inputs``."""
    whole = tmp_path / "all.csv"
    with pytest.raises(TrainingInterrupted):
        api.train(options(data=str(whole), out=tmp_path / "cut", epochs=3), reporter=InterruptAfterEpochs(2))
    config_file = tmp_path / "cut" / "config.json"
    config = json.loads(config_file.read_text())
    del config["options"]["inputs"]
    config_file.write_text(json.dumps(config))
    result = invoke("train", "--resume", tmp_path / "cut", "--json")
    assert result.exit_code == 0, result.output
    assert last_json(result.output)["molecules"]["train"] == 48
    from pathlib import Path

    fixture = json.loads((Path(__file__).parent.parent / "fixtures" / "run_v1" / "config.json").read_text())
    assert api.TrainOptions.from_dict(fixture["options"]).input_paths() == ["train.csv"]


# ---------------------------------------------------------------------------- benchmark


def test_benchmark_takes_several_files(parts, tmp_path):
    a, b, _ = parts
    result = invoke("benchmark", a, b, "--target", "logp", "--models", "gin", "--seeds", "1", "--epochs", "1",
                    "--out", tmp_path / "bench", "--json")
    assert result.exit_code == 0, result.output
    summary = last_json(result.output)
    assert summary["runs"] == 1 and summary["failed"] == 0
    config = json.loads(next((tmp_path / "bench").rglob("config.json")).read_text())
    assert config["options"]["inputs"] == [str(a), str(b)] and config["data"]["rows"] == 60
    pdb = write_protein_folder(tmp_path / "pdb", 1) / "p0.pdb"
    result = invoke("benchmark", a, pdb, "--models", "gin", "--seeds", "1", "--out", tmp_path / "mixed")
    assert result.exit_code == 2 and len(errors(result)) == 1 and "give inputs of one kind" in errors(result)[0]


def test_help_shows_several_files():
    for command in ("train", "benchmark"):
        result = invoke(command, "--help")
        assert result.exit_code == 0
        assert f"gnn {command} part1.csv part2.csv" in result.output
