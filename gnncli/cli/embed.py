"""``gnn embed``: learned vectors from a run folder."""

from __future__ import annotations

from typing import Annotated

import typer

from gnncli.cli.common import (
    help_text,
    ChunkSize, Device, InferenceBatch, InputFormat, Inputs, RunDir, Workers,
    console, fail, handle_errors, make_progress, print_json,
)
from gnncli.cli.domain_options import with_domain_options

HELP = help_text("""Write learned vectors (for molecules: the readout before the output head), one per input row.

.npy: NaN rows for inputs that could not be read, listed with reasons in OUT.errors.csv.

.csv / .parquet: the input columns, an 'error' column, then emb_0 .. emb_N.

Examples:

  gnn embed runs/esol library.smi --out vectors.npy

  gnn embed runs/esol mols.csv --out vectors.parquet

  gnn embed runs/ml100k --out items.csv
""")


def register(app: typer.Typer) -> None:
    @app.command("embed", help=HELP)
    @handle_errors
    @with_domain_options("embed")
    def embed(
        run: RunDir,
        out: Annotated[str, typer.Option("--out", "-o", help="Output file: .npy, .csv or .parquet.")],
        inputs: Inputs = None,
        format: InputFormat = None,
        member: Annotated[int, typer.Option(help="Which ensemble member's encoder to use.")] = 0,
        batch_size: InferenceBatch = 64,
        chunk_size: ChunkSize = 10_000,
        workers: Workers = 0,
        device: Device = "auto",
        json_out: Annotated[bool, typer.Option("--json", help="Print counts as JSON on stdout.")] = False,
        domain_options: dict | None = None,
    ) -> None:
        from gnncli import api
        from gnncli.progress import Reporter

        progress = make_progress()
        with progress:
            counts = api.embed(
                run, inputs or [], out, fmt=format, member=member, batch_size=batch_size, chunk_size=chunk_size,
                workers=workers or None, device=device, reporter=Reporter(progress), **(domain_options or {}),
            )
        console.print(
            f"wrote {counts['rows']:,} vectors of width {counts['dim']} to {out}"
            + (f"; {counts['invalid']:,} invalid rows are NaN" if counts["invalid"] else ""),
            highlight=False,
        )
        if json_out:
            print_json(counts)
        if counts["embedded"] == 0:
            raise fail("no row could be embedded", 1)
