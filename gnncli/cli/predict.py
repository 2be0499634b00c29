"""``gnn predict``: batch prediction from a run folder, streamed as CSV."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from gnncli.cli.common import (
    help_text,
    ChunkSize, Device, InferenceBatch, InputFormat, Inputs, Workers,
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

Sharding: --shard I/N (I = 1..N) predicts every N-th chunk of --chunk-size rows, starting with chunk I-1 (counted over all inputs in turn), so N independent jobs (a Slurm array, GNU parallel) cover the input with no coordination; every job reads the whole input but featurizes and predicts only its own chunks. A shard's CSV starts with a column 'row (shard I/N)', the 0-based input row number. gnn predict --merge FILES (no RUN) joins the N outputs in input order, streaming, without that column: the unsharded output, header and rows. It checks that the files are shards 1..N of one job run with the same inputs and --chunk-size (no row twice, none missing). --top-k does not combine with --shard: rank at the merge instead (--merge --top-k K --sort-by COLUMN), which keeps the best K predicted rows by the values the shards wrote, ties in input order.

  gnn predict runs/esol library.smi --shard 3/16 --out part3.csv

  gnn predict --merge part*.csv > all.csv

  gnn predict --merge part*.csv --top-k 100 --sort-by logS > hits.csv
""")

RunOrShards = Annotated[Optional[str], typer.Argument(
    metavar="RUN", show_default=False, help="Run folder written by gnn train (with --merge: the first shard output).")]


def register(app: typer.Typer) -> None:
    @app.command("predict", help=HELP)
    @handle_errors
    @with_domain_options("predict")
    def predict(
        run: RunOrShards = None,
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
        shard: Annotated[Optional[str], typer.Option(metavar="I/N", help="Predict shard I of N (1-based): every N-th chunk from chunk I-1, after a 'row (shard I/N)' column; join with --merge.")] = None,
        merge: Annotated[bool, typer.Option("--merge", help="Join shard outputs (RUN and INPUT are then the files) into the unsharded output, in input order.")] = False,
        json_out: Annotated[bool, typer.Option("--json", help="Print the counts (rows, predicted, invalid) as JSON on stdout; needs --out, as stdout otherwise carries the CSV.")] = False,
        domain_options: dict | None = None,
    ) -> None:
        if json_out and not out:
            raise fail("--json needs --out: without it stdout carries the CSV", 2)
        if merge:
            given = [flag for flag, value in (("--shard", shard), ("--format", format), *(
                ("--" + name.replace("_", "-"), value) for name, value in (domain_options or {}).items())) if value]
            if given:
                raise fail(f"--merge joins shard outputs: {', '.join(given)} do not apply", 2)
            from gnncli.shards import merge_shards

            counts = merge_shards([run, *(inputs or [])] if run else [], out, top_k=top_k, sort_by=sort_by,
                                  ascending=ascending)
            console.print(f"merged {counts['rows']:,} rows of {counts['shards']} shards"
                          + (f"; wrote the best {counts['written']:,}" if top_k is not None else ""), highlight=False)
            if json_out:
                print_json(counts)
            return
        if run is None:
            raise fail("give the RUN folder to predict with (or --merge and shard outputs)", 2)
        from gnncli import api
        from gnncli.progress import Reporter

        progress = make_progress()
        with progress:
            counts = api.predict(
                run, inputs or [], out, fmt=format, batch_size=batch_size, chunk_size=chunk_size,
                workers=workers or None, device=device, top_k=top_k, sort_by=sort_by, ascending=ascending,
                shard=shard, reporter=Reporter(progress), **(domain_options or {}),
            )
        if "rows" in counts:
            console.print(
                f"predicted {counts['predicted']:,} of {counts['rows']:,} {counts.get('unit', 'rows')}"
                + (f" (shard {counts['shard']} of {counts['input_rows']:,} input rows)" if "shard" in counts else "")
                + (f"; {counts['invalid']:,} invalid (see the error column)" if counts.get("invalid") else ""),
                highlight=False,
            )
        if json_out:
            print_json(counts)
        if counts.get("predicted", 1) == 0 and counts.get("rows", 1) > 0:
            raise fail("no row could be predicted", 1)
