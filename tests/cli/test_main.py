import os
import subprocess
import sys
import warnings
from pathlib import Path

from typer.testing import CliRunner

from gnncli import __version__
from gnncli.cli import main
from gnncli.cli.main import app
from gnncli.testing import write_molecule_csv

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]


def _gnn(*args, env=None, **kwargs) -> subprocess.Popen:
    """The console script as a user runs it (main(), not just the Typer app), from this checkout."""
    environ = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.Popen(
        [sys.executable, *args], env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs
    )


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"gnn {__version__}"


def test_help_lists_every_subcommand_and_completion():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for name in ["train", "predict", "embed", "benchmark", "wl-test", "coarsen", "--install-completion", "--show-completion"]:
        assert name in result.output


def test_benchmark_names_a_missing_input():
    result = runner.invoke(app, ["benchmark", "x.csv"])
    assert result.exit_code == 1
    assert "x.csv: file not found" in result.output and "Traceback" not in result.output


# ----------------------------------------------------------- help text


def _paragraph(output: str, start: str) -> list[str]:
    """The rendered lines of the help paragraph that starts with ``start``."""
    lines = [line.strip() for line in output.splitlines()]
    first = next(i for i, line in enumerate(lines) if line.startswith(start))
    end = lines.index("", first)
    return lines[first:end]


def test_root_help_paragraphs_wrap_at_the_terminal_width(monkeypatch):
    monkeypatch.setenv("COLUMNS", "300")
    wide = runner.invoke(app, ["--help"]).output
    assert len(_paragraph(wide, "Results go to stdout")) == 1  # no line break written into the text
    assert "  gnn predict runs/esol library.smi --top-k 100 > hits.csv" in wide
    monkeypatch.setenv("COLUMNS", "80")
    narrow = _paragraph(runner.invoke(app, ["--help"]).output, "Results go to stdout")
    assert len(narrow) > 1
    assert all(len(line) > 60 for line in narrow[:-1])  # filled lines, no break mid-sentence


# ----------------------------------------------------------- shell completion


def test_show_completion_prints_a_bash_script(monkeypatch):
    monkeypatch.setenv("_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION", "1")  # take the shell as a value
    result = runner.invoke(app, ["--show-completion", "bash"], prog_name="gnn")
    assert result.exit_code == 0, result.output
    assert "_GNN_COMPLETE=complete_bash" in result.output
    assert "complete -o default -F _gnn_completion gnn" in result.output


def test_the_console_script_completes_commands_and_choices():
    commands = _gnn("-m", "gnncli.cli.main", env={"_GNN_COMPLETE": "complete_bash", "COMP_WORDS": "gnn pre", "COMP_CWORD": "1"})
    models = _gnn(
        "-m", "gnncli.cli.main", env={"_GNN_COMPLETE": "complete_bash", "COMP_WORDS": "gnn train --model ", "COMP_CWORD": "3"}
    )
    out, err = commands.communicate(timeout=60)
    assert commands.returncode == 0, err
    assert out.split() == ["predict"]
    out, err = models.communicate(timeout=60)
    assert "dmpnn" in out.split() and "gat" in out.split()


def test_help_imports_no_heavy_library():
    check = _gnn(
        "-c",
        "import sys; from typer.testing import CliRunner; from gnncli.cli.main import app; "
        "assert CliRunner().invoke(app, ['--help']).exit_code == 0; "
        "print(sorted(m for m in ('torch', 'torch_geometric', 'rdkit', 'matplotlib') if m in sys.modules))",
    )
    out, err = check.communicate(timeout=60)
    assert out.strip() == "[]", err


# ----------------------------------------------------------- warnings


def test_debug_is_a_root_option():
    assert main.wants_debug(["--debug", "train"])
    assert main.wants_debug(["--version", "--debug"])
    assert not main.wants_debug(["train", "data.csv"])
    assert not main.wants_debug(["predict", "run", "--debug"])  # a file or value named --debug


def test_only_upstream_warnings_are_hidden():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        main.quiet_upstream_warnings()
        for category in (DeprecationWarning, FutureWarning):
            warnings.warn_explicit(
                "`torch.jit.script` is deprecated. Please switch to `torch.compile` or `torch.export`.",
                category, "_script.py", 1, module="torch.jit._script",
            )
        warnings.warn_explicit("`torch.jit.script` is deprecated.", FutureWarning, "mine.py", 1, module="gnncli.models")
        warnings.warn("something else is deprecated", FutureWarning)
    assert [str(w.message) for w in caught] == ["`torch.jit.script` is deprecated.", "something else is deprecated"]


def test_train_prints_no_warning_unless_debug(tmp_path):
    """Every deprecation and future warning made visible (as torch 2.14 makes torch.jit.script's):
    `gnn train` shows none, `gnn --debug train` shows the upstream one again."""
    data = write_molecule_csv(tmp_path / "tiny.csv", n=20)
    tiny = ["train", str(data), "--target", "logp", "--epochs", "1", "--hidden", "8", "--batch-size", "8",
            "--no-plots", "--no-cache", "--workers", "1"]
    strict = ["-W", "always::DeprecationWarning", "-W", "always::FutureWarning", "-m", "gnncli.cli.main"]
    quiet = _gnn(*strict, *tiny, "--out", str(tmp_path / "quiet"), cwd=tmp_path)
    debug = _gnn(*strict, "--debug", *tiny, "--out", str(tmp_path / "debug"), cwd=tmp_path)
    _, quiet_err = quiet.communicate(timeout=300)
    _, debug_err = debug.communicate(timeout=300)
    assert quiet.returncode == 0 and debug.returncode == 0, quiet_err + debug_err
    assert "Warning" not in quiet_err, quiet_err
    assert "torch.jit.script" in debug_err
