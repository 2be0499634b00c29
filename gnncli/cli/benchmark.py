"""``gnn benchmark``: models side by side on one dataset, over seeds; the lectures' suites; speed."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Optional

import typer
from rich.table import Table

from gnncli.cli.common import InputFormat, TrainInputs, console, handle_errors, help_text, make_progress, print_json
from gnncli.cli.domain_options import with_domain_options
from gnncli.cli.train import (
    BatchSize, DeviceName, Epochs, Kind, Lr, Metric, Patience, SplitCol, SplitName, SplitSizes, Targets, Task, _sizes,
)
from gnncli.errors import UsageError

HELP = help_text("""Compare models on one dataset of any kind: accuracy over seeds, a report, and speed.

Every run goes through the same training as gnn train. Writes OUT/results.csv (one row per run; a run that fails is a row with its error), OUT/summary.json and a self-contained OUT/report.html, and prints mean ± SD per setting with the best in bold. --resume skips the runs results.csv holds. --suite runs one of the lectures' comparisons by name and reads its table in one line. --speed measures featurization, training and inference throughput and peak memory instead.

Examples:

  gnn benchmark data.csv --target logS --models dmpnn,gin,gcn,gat --seeds 5

  gnn benchmark data.csv --target logS --models gin --grid hidden=128,300 --grid depth=3,5

  gnn benchmark part1.csv part2.csv --target logS --models dmpnn,gin

  gnn benchmark 'structures/*.pdb' --task binding-site --seeds 3

  gnn benchmark HIV.csv --suite molecules-vn --split scaffold --seeds 3 --epochs 30

  gnn benchmark data.csv --target logS --speed --batch-sizes 32,64,128
""")


def _suite_names() -> str:
    from gnncli.benchmark.suites import SUITES

    return ", ".join(SUITES)


def register(app: typer.Typer) -> None:
    @app.command("benchmark", help=HELP)
    @handle_errors
    @with_domain_options("train")
    def benchmark(
        inputs: TrainInputs = None,
        models: Annotated[Optional[str], typer.Option(help="Comma-separated models (default: the kind of input's).")] = None,
        seeds: Annotated[int, typer.Option(help="Seeds per setting (0 .. N-1).")] = 3,
        grid: Annotated[Optional[list[str]], typer.Option("--grid", metavar="NAME=V1,V2", help="Values to cross (repeatable): model fields (hidden, depth, dropout, readout, virtual_node), lr, batch_size, or a model's own parameter.")] = None,
        suite: Annotated[Optional[str], typer.Option(help=f"A named comparison: {_suite_names()}.")] = None,
        out: Annotated[Optional[str], typer.Option("--out", "-o", help="Output folder (default: a new folder under runs/).")] = None,
        resume: Annotated[bool, typer.Option("--resume", help="Continue the benchmark in --out, skipping finished runs.")] = False,
        jobs: Annotated[int, typer.Option(help="Runs in parallel processes (one per GPU when several are present).")] = 1,
        speed: Annotated[bool, typer.Option("--speed", help="Measure throughput and peak memory instead of accuracy.")] = False,
        batch_sizes: Annotated[str, typer.Option(help="--speed: comma-separated batch sizes.")] = "32,64,128",
        repeats: Annotated[int, typer.Option(help="--speed: measurements per setting (the median is reported).")] = 3,
        kind: Kind = None,
        target: Targets = None,
        format: InputFormat = None,
        task: Task = "auto",
        metric: Metric = None,
        split: SplitName = "random",
        split_sizes: SplitSizes = "0.8,0.1,0.1",
        folds: Annotated[Optional[int], typer.Option(help="Cross-validate every run over K folds (implies --split kfold).")] = None,
        split_col: SplitCol = None,
        epochs: Epochs = None,
        batch_size: BatchSize = None,
        lr: Lr = None,
        patience: Patience = None,
        steps_per_epoch: Annotated[Optional[int], typer.Option(help="Batches per epoch, for data generated on the fly (default: the kind of input's).")] = None,
        device: DeviceName = "auto",
        json_out: Annotated[bool, typer.Option("--json", help="Print the summary as JSON on stdout.")] = False,
        domain_options: dict | None = None,
    ) -> None:
        from gnncli import api
        from gnncli.benchmark.grid import Setting, expand, parse_grid, specs
        from gnncli.benchmark.runner import BenchmarkOptions, run_benchmark
        from gnncli.models import ModelConfig
        from gnncli.train.loop import LoopConfig

        if seeds < 1:
            raise UsageError(f"--seeds {seeds}: must be at least 1")
        from gnncli.domains.base import expand_inputs, resolve_domain

        paths = expand_inputs(inputs or [])
        names = [m.strip() for m in models.split(",") if m.strip()] if models else []
        if not names and not suite:  # the kind's model for the task (gnn train's default)
            domain = resolve_domain(paths, kind)
            names = [domain.model_for(domain.settle_task(paths, task, target or [], domain_options or {}))]
        elif len(paths) > 1:
            resolve_domain(paths, kind)  # inputs of one kind, which takes several: a usage error before any run
        base = api.TrainOptions(
            kind=kind, targets=target or None, fmt=format, task=task, monitor=metric,
            split="kfold" if folds else "column" if split_col else split, split_sizes=_sizes(split_sizes),
            folds=folds or 5, split_col=split_col, model=ModelConfig(name=None),
            loop=LoopConfig(device=device),  # the rest per run: given here, else the model's own (loop_defaults)
            plots=False, options=domain_options or {},
        ).with_inputs(paths)
        given_loop = {k: v for k, v in {"epochs": epochs, "batch_size": batch_size, "lr": lr, "patience": patience,
                                        "steps_per_epoch": steps_per_epoch}.items() if v is not None}
        if speed:
            _speed(base, expand(names, parse_grid(grid or []), [0]), given_loop, batch_sizes, repeats, epochs or 3, json_out)
            return
        title, reading = "benchmark", None
        if suite:
            from gnncli.benchmark.suites import SUITES

            if suite not in SUITES:
                raise UsageError(f"--suite {suite}: no such suite (choose from {', '.join(SUITES)})")
            chosen = SUITES.get(suite)
            if models or grid:
                raise UsageError("--suite sets the models itself; leave out --models and --grid")
            base.kind = base.kind or chosen.kind
            for key, value in chosen.defaults.items():  # the suite's settings, unless given here
                if key == "options":
                    base.options = {**value, **base.options}
                elif key == "task" and base.task == "auto" or key == "split" and base.split == "random":
                    setattr(base, key, value)
                elif key not in ("task", "split"):
                    setattr(base, key, value)
            run_specs, title, reading = specs(list(chosen.settings), list(range(seeds))), chosen.name, chosen.read
        else:
            run_specs = expand(names, parse_grid(grid or []), list(range(seeds)))
        folder = out or f"runs/{datetime.now():%Y%m%d-%H%M%S}-benchmark-{suite or 'grid'}"
        progress = make_progress()
        with progress:
            bar = progress.add_task("benchmark", total=len(run_specs), info="")

            def on_run(row: dict, done: int, total: int) -> None:
                info = f"{row.get('run_id', '')} {row.get('status', '')}".strip()
                progress.update(bar, completed=done, info=info)

            summary = run_benchmark(BenchmarkOptions(base, run_specs, out=_path(folder), resume=resume, jobs=jobs, title=title,
                                                     given_loop=given_loop), on_run=on_run)
        if reading is not None and summary["runs"] > summary["failed"]:
            summary["reading"] = reading(summary)
            from gnncli.io import write_json

            write_json(_path(folder) / "summary.json", summary)
        _print_table(summary)
        for entry in summary["settings"]:
            for error in entry["errors"][:1]:
                console.print(f"[yellow]failed:[/] {entry['label']}: {error}", markup=True, highlight=False, soft_wrap=True)
        if summary.get("reading"):
            console.print(summary["reading"], highlight=False, soft_wrap=True)
        console.print(f"results: {summary['out']}/results.csv, report: {summary['out']}/report.html", highlight=False)
        if json_out:
            print_json(summary)
        if summary["failed"] == summary["runs"]:
            raise typer.Exit(1)


def _path(folder: str):
    from pathlib import Path

    return Path(folder)


def _print_table(summary: dict) -> None:
    from gnncli.benchmark.summary import format_mean_sd

    primary = summary.get("primary")
    tests = [c for c in (summary["settings"][0]["metrics"] if summary["settings"] else {}) if c.startswith("test_")]
    # the primary metric first; scaled errors (multi-target selection) only when they are primary
    columns = ([primary] if primary in tests else []) + [c for c in tests if c != primary and "scaled_" not in c]
    table = Table(title=f"{summary['title']} (mean ± SD over seeds; best in bold)", show_edge=False)
    table.add_column("setting")
    table.add_column("runs", justify="right")
    for c in columns:
        table.add_column(c.removeprefix("test_"), justify="right")
    table.add_column("time (s)", justify="right")
    for entry in summary["settings"]:
        cells = [entry["label"], f"{entry['runs']}" + (f" ({entry['failed']} failed)" if entry["failed"] else "")]
        for c in columns:
            text = format_mean_sd(entry["metrics"][c])
            cells.append(f"[bold]{text}[/]" if summary["best"].get(c) == entry["label"] else text)
        cells.append(format_mean_sd(entry["time_s"], 1))
        table.add_row(*cells)
    console.print(table)


def _speed(base, run_specs, given_loop: dict, batch_sizes: str, repeats: int, epochs: int, json_out: bool) -> None:
    from gnncli.benchmark.runner import run_options
    from gnncli.benchmark.speed import run_speed

    if len(run_specs) != 1:
        raise UsageError("--speed measures one model: give at most one --models name and one value per --grid setting")
    try:
        sizes = [int(b) for b in batch_sizes.split(",") if b.strip()]
    except ValueError:
        raise UsageError(f"--batch-sizes {batch_sizes}: expected comma-separated integers") from None
    opts = run_options(base, run_specs[0], None, given_loop=given_loop)
    progress = make_progress()
    with progress:
        bar = progress.add_task("measuring", total=None, info="")
        devices = None if opts.loop.device == "auto" else [opts.loop.device]  # auto: the CPU, and CUDA when present
        result = run_speed(opts, batch_sizes=sizes, repeats=repeats, epochs=max(2, min(epochs, 3)), devices=devices,
                           on_step=lambda done, total: progress.update(bar, completed=done, total=total))
    table = Table(title=f"speed of {result['model']} (medians of {repeats}; featurization "
                        f"{result['featurize_items_per_s']:,.0f} items/s on {result['featurize_items']:,} items)", show_edge=False)
    for column in ("device", "batch", "train items/s", "inference items/s", "peak RSS (MB)", "CUDA peak (MB)"):
        table.add_column(column, justify="right")
    for row in result["rows"]:
        cuda = row.get("cuda_max_allocated_mb")
        table.add_row(row["device"], str(row["batch_size"]), f"{row['train_items_per_s']:,.0f}",
                      f"{row['infer_items_per_s']:,.0f}", f"{row['peak_rss_mb']:,.0f}",
                      "-" if cuda is None or math.isnan(cuda) else f"{cuda:,.0f}")
    console.print(table)
    if json_out:
        print_json(result)
