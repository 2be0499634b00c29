from typer.testing import CliRunner

from gnncli import __version__
from gnncli.cli.main import app

runner = CliRunner()


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"gnn {__version__}"


def test_help_lists_every_subcommand():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for name in ["train", "predict", "embed", "benchmark", "wl-test", "coarsen"]:
        assert name in result.output


def test_unavailable_command_exits_2():
    result = runner.invoke(app, ["benchmark", "x.csv"])
    assert result.exit_code == 2
    assert "not yet available" in result.output
