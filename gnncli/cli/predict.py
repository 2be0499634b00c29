"""``gnn predict``: batch prediction from a run folder, streamed as CSV."""

from __future__ import annotations

from typing import Annotated

import typer

from gnncli.cli.common import console, fail, handle_errors, make_progress, print_json

HELP = """Predict with a trained run: CSV of the input rows plus one column per target.

Streams over inputs of any size in chunks, rows in input order. An invalid SMILES keeps its
row with empty predictions and an 'error' column saying why. Exit code 0 when at least one
row was predicted, 1 when none could be, 2 on usage errors.

Examples:

  gnn predict runs/esol library.smi > predictions.csv

  gnn predict runs/esol library.smi --top-k 100 --ascending > hits.csv

  cat mols.csv | gnn predict runs/esol - --out preds.csv
"""


def register(app: typer.Typer) -> None:
    @app.command("predict", help=HELP)
    @handle_errors
    def predict(
        run: Annotated[str, typer.Argument(help="Run folder written by gnn train.")],
        inputs: Annotated[list[str], typer.Argument(help="Molecule files (CSV/TSV/.smi/SDF), or - for stdin.")],
        out: Annotated[str | None, typer.Option("--out", "-o", help="Output CSV (default: stdout).")] = None,
        smiles_col: Annotated[str | None, typer.Option(help="SMILES column (default: detected).")] = None,
        format: Annotated[str | None, typer.Option("--format", help="csv, tsv, smi or sdf (default: from the extension).")] = None,
        top_k: Annotated[int | None, typer.Option(help="Keep only the best K rows (library screening).")] = None,
        sort_by: Annotated[str | None, typer.Option(help="Column to rank by for --top-k (default: the first target).")] = None,
        ascending: Annotated[bool, typer.Option("--ascending", help="Lower is better for --top-k.")] = False,
        batch_size: Annotated[int, typer.Option(help="Molecules per model batch (small batches stay in cache).")] = 64,
        chunk_size: Annotated[int, typer.Option(help="Rows read and featurized at a time.")] = 10_000,
        workers: Annotated[int, typer.Option(help="Featurization processes (0: one per CPU).")] = 0,
        device: Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N.")] = "auto",
        json_out: Annotated[bool, typer.Option("--json", help="Print counts as JSON on stderr's behalf to stdout after the CSV (needs --out).")] = False,
    ) -> None:
        from gnncli import api
        from gnncli.io import output_stream
        from gnncli.progress import Reporter

        progress = make_progress()
        with progress, output_stream(out) as stream:
            counts = api.predict(
                run, inputs, stream, smiles_col=smiles_col, fmt=format, batch_size=batch_size,
                chunk_size=chunk_size, workers=workers or None, device=device, top_k=top_k,
                sort_by=sort_by, ascending=ascending, reporter=Reporter(progress),
            )
        console.print(
            f"predicted {counts['predicted']:,} of {counts['rows']:,} rows"
            + (f"; {counts['invalid']:,} invalid (see the error column)" if counts["invalid"] else ""),
            highlight=False,
        )
        if json_out and out:
            print_json(counts)
        if counts["predicted"] == 0:
            raise fail("no row could be predicted", 1)
