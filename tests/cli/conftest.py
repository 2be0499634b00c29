import json

import pytest
from typer.testing import CliRunner

from gnncli.cli.main import app
from gnncli.testing import write_molecule_csv

FAST = ["--epochs", "2", "--hidden", "32", "--batch-size", "16", "--no-plots"]


def invoke(*args, input=None):
    return CliRunner().invoke(app, [str(a) for a in args], input=input)


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory):
    """One small regression run shared by the predict/embed tests."""
    folder = tmp_path_factory.mktemp("run")
    data = write_molecule_csv(folder / "train.csv", n=60)
    result = invoke("train", data, "--target", "logp", *FAST, "--ensemble", "2", "--out", folder / "run", "--json")
    assert result.exit_code == 0, result.output
    return folder / "run"


def last_json(output: str) -> dict:
    lines = [line for line in output.splitlines() if line.startswith("{")]
    return json.loads(lines[-1])
