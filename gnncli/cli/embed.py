"""``gnn embed``: learned molecule vectors from a run folder."""

from __future__ import annotations

from typing import Annotated

import typer

from gnncli.cli.common import console, fail, handle_errors, make_progress, print_json

HELP = """Write learned molecule vectors (the readout before the output head), one per input row.

.npy: NaN rows for invalid molecules, listed with reasons in OUT.errors.csv.
.csv / .parquet: the input columns, an 'error' column, then emb_0 .. emb_N.

Examples:

  gnn embed runs/esol library.smi --out vectors.npy

  gnn embed runs/esol mols.csv --out vectors.parquet
"""


def register(app: typer.Typer) -> None:
    @app.command("embed", help=HELP)
    @handle_errors
    def embed(
        run: Annotated[str, typer.Argument(help="Run folder written by gnn train.")],
        inputs: Annotated[list[str], typer.Argument(help="Molecule files (CSV/TSV/.smi/SDF), or - for stdin.")],
        out: Annotated[str, typer.Option("--out", "-o", help="Output file: .npy, .csv or .parquet.")],
        smiles_col: Annotated[str | None, typer.Option(help="SMILES column (default: detected).")] = None,
        format: Annotated[str | None, typer.Option("--format", help="csv, tsv, smi or sdf (default: from the extension).")] = None,
        member: Annotated[int, typer.Option(help="Which ensemble member's encoder to use.")] = 0,
        batch_size: Annotated[int, typer.Option(help="Molecules per model batch (small batches stay in cache).")] = 64,
        chunk_size: Annotated[int, typer.Option(help="Rows read and featurized at a time.")] = 10_000,
        workers: Annotated[int, typer.Option(help="Featurization processes (0: one per CPU).")] = 0,
        device: Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N.")] = "auto",
        json_out: Annotated[bool, typer.Option("--json", help="Print counts as JSON on stdout.")] = False,
    ) -> None:
        from gnncli import api
        from gnncli.io import output_stream
        from gnncli.progress import Reporter

        progress = make_progress()
        with progress:
            counts = api.embed(
                run, inputs, out, smiles_col=smiles_col, fmt=format, member=member, batch_size=batch_size,
                chunk_size=chunk_size, workers=workers or None, device=device, reporter=Reporter(progress),
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
