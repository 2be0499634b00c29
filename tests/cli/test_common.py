import typer
from typer.testing import CliRunner

from gnncli.cli.common import help_text

SOURCE = """Predict with a trained run: CSV of the input rows
    plus one column per target.

    Streams over inputs of any size in chunks, rows in input order. An invalid SMILES keeps its
    row with empty predictions and an 'error' column saying why.


    Examples:

      gnn predict runs/esol library.smi > predictions.csv
      cat mols.csv | gnn predict runs/esol - --out preds.csv
    gnn predict runs/esol lib.smi --top-k 100
    Then rank the hits
    by hand.
    """


def test_help_text_joins_prose_and_keeps_examples_and_paragraphs():
    assert help_text(SOURCE) == (
        "Predict with a trained run: CSV of the input rows plus one column per target.\n"
        "\n"
        "Streams over inputs of any size in chunks, rows in input order. An invalid SMILES keeps its"
        " row with empty predictions and an 'error' column saying why.\n"
        "\n"
        "Examples:\n"
        "\n"
        "  gnn predict runs/esol library.smi > predictions.csv\n"
        "  cat mols.csv | gnn predict runs/esol - --out preds.csv\n"
        "gnn predict runs/esol lib.smi --top-k 100\n"
        "Then rank the hits by hand."
    )


def test_help_text_leaves_laid_out_text_alone():
    once = help_text(SOURCE)
    assert help_text(once) == once
    assert help_text("One line.") == "One line."
    assert help_text("") == ""


def test_a_command_using_help_text_wraps_at_the_terminal(monkeypatch):
    app = typer.Typer()

    @app.command(help=help_text(SOURCE))
    def predict() -> None:
        pass

    monkeypatch.setenv("COLUMNS", "60")
    lines = [line.strip() for line in CliRunner().invoke(app, ["--help"]).output.splitlines()]
    start = next(i for i, line in enumerate(lines) if line.startswith("Streams over"))
    paragraph = lines[start : lines.index("", start)]
    assert " ".join(paragraph) == (
        "Streams over inputs of any size in chunks, rows in input order. An invalid SMILES keeps its"
        " row with empty predictions and an 'error' column saying why."
    )
    assert all(len(line) > 40 for line in paragraph[:-1])  # filled to the width, not cut where the source line ended
    assert "gnn predict runs/esol library.smi > predictions.csv" in lines
