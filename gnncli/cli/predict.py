"""``gnn predict``: batch prediction from a run folder, streamed as CSV."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from gnncli.cli.common import (
    help_text,
    ChunkSize, Device, InferenceBatch, InputFormat, Inputs, RunDir, Workers,
    console, fail, handle_errors, make_progress, print_json,
)
from gnncli.cli.domain_options import with_domain_options

HELP = help_text("""Predict with a trained run: CSV of the input rows plus one column per target.

Streams over inputs of any size in chunks, rows in input order. An input row that cannot be read (an invalid SMILES) keeps its place with empty predictions and an 'error' column saying why. Exit code 0 when at least one row was predicted, 1 when none could be, 2 on usage errors. The inputs are of the run's kind (molecules: CSV/TSV/.smi/SDF); its own options are in its panel below.

Examples:

  gnn predict runs/esol library.smi > predictions.csv

  gnn predict runs/esol library.smi --top-k 100 --ascending > hits.csv

  cat mols.csv | gnn predict runs/esol - --out preds.csv

  gnn predict runs/ml100k --recommend 10 > top10.csv
""")


def register(app: typer.Typer) -> None:
    @app.command("predict", help=HELP)
    @handle_errors
    @with_domain_options("predict")
    def predict(
        run: RunDir,
        inputs: Inputs = None,
        out: Annotated[Optional[str], typer.Option("--out", "-o", help="Output file (default: stdout), or what the run's kind writes there.")] = None,
        format: InputFormat = None,
        top_k: Annotated[Optional[int], typer.Option(help="Keep only the best K rows (library screening).")] = None,
        sort_by: Annotated[Optional[str], typer.Option(help="Column to rank by for --top-k (default: the first target).")] = None,
        ascending: Annotated[bool, typer.Option("--ascending", help="Lower is better for --top-k.")] = False,
        batch_size: InferenceBatch = 64,
        chunk_size: ChunkSize = 10_000,
        workers: Workers = 0,
        device: Device = "auto",
        json_out: Annotated[bool, typer.Option("--json", help="Print the counts (rows, predicted, invalid) as JSON on stdout; needs --out, as stdout otherwise carries the CSV.")] = False,
        domain_options: dict | None = None,
    ) -> None:
        from gnncli import api
        from gnncli.progress import Reporter

        if json_out and not out:
            raise fail("--json needs --out: without it stdout carries the CSV", 2)
        progress = make_progress()
        with progress:
            counts = api.predict(
                run, inputs or [], out, fmt=format, batch_size=batch_size, chunk_size=chunk_size,
                workers=workers or None, device=device, top_k=top_k, sort_by=sort_by, ascending=ascending,
                reporter=Reporter(progress), **(domain_options or {}),
            )
        if "rows" in counts:
            console.print(
                f"predicted {counts['predicted']:,} of {counts['rows']:,} {counts.get('unit', 'rows')}"
                + (f"; {counts['invalid']:,} invalid (see the error column)" if counts.get("invalid") else ""),
                highlight=False,
            )
        if json_out:
            print_json(counts)
        if counts.get("predicted", 1) == 0:
            raise fail("no row could be predicted", 1)
