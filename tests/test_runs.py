"""Run folders: the format of the previous release still loads and predicts the same."""

import io
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from gnncli import api
from gnncli.errors import CheckpointError
from gnncli.runs import FORMAT_VERSION, load_run

FIXTURES = Path(__file__).parent / "fixtures"


def test_a_run_of_format_1_loads_and_predicts_as_it_did(tmp_path):
    run = load_run(FIXTURES / "run_v1")  # written by gnn 0.1.0 before the domain registry
    assert run.kind == "molecules" and run.config["format"] == FORMAT_VERSION == 2
    assert run.config["domain"]["smiles_col"] == "smiles" and run.targets == ["logp"] and len(run.models) == 2
    query = tmp_path / "q.smi"
    query.write_text("CCO\nc1ccccc1O\nCC(=O)Oc1ccccc1C(=O)O\nC1CC\n")
    out = io.StringIO()
    api.predict(run, [str(query)], out, workers=1)
    got = pd.read_csv(io.StringIO(out.getvalue()), keep_default_na=False)
    expected = pd.read_csv(FIXTURES / "run_v1_expected.csv", keep_default_na=False)  # its predictions then
    assert list(got.columns) == list(expected.columns)
    assert got["error"].tolist() == expected["error"].tolist()
    for col in ("logp", "logp_std"):
        a = pd.to_numeric(got[col], errors="coerce")
        b = pd.to_numeric(expected[col], errors="coerce")
        assert ((a - b).abs() < 1e-4).sum() == 3 and a.isna().tolist() == b.isna().tolist()


def test_format_1_run_resumes_into_format_2_options():
    config = json.loads((FIXTURES / "run_v1" / "config.json").read_text())
    opts = api.TrainOptions.from_dict(config["options"])
    assert opts.model.name == "dmpnn" and opts.options == {} and opts.targets == ["logp"]
    config["options"]["smiles_col"] = "smi"
    assert api.TrainOptions.from_dict(config["options"]).options == {"smiles_col": "smi"}


@pytest.mark.parametrize("change, message", [
    (lambda c: c["model"].update(hidden="wide"), "hidden must be a positive integer"),
    (lambda c: c.pop("members"), "incomplete config"),
    (lambda c: c.update(kind="spaceships"), "unknown kind of input 'spaceships'"),
    (lambda c: c.update(format=7), "run format 7 is not supported"),
])
def test_a_damaged_config_names_the_file(tmp_path, change, message):
    run = tmp_path / "run"
    shutil.copytree(FIXTURES / "run_v1", run)
    config = json.loads((run / "config.json").read_text())
    change(config)
    (run / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match=message) as info:
        load_run(run)
    assert str(info.value).startswith(f"{run / 'config.json'}: ")
