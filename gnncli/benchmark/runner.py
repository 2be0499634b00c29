"""Running a benchmark: every run through :func:`gnncli.api.train`, rows in ``results.csv``.

A run that fails becomes a failed row with its error, and the rest go on. ``results.csv`` is
rewritten (atomically) after every run, so an interrupted benchmark loses at most the run in
progress, and ``resume`` skips the runs it already holds (a failed run is tried again; a run
interrupted mid-training continues from its last saved epoch). With ``jobs > 1`` independent runs
go to worker processes, the CPU threads shared out among them and, with several GPUs, runs
placed on them in turn.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from gnncli.benchmark.grid import RunSpec, split_overrides
from gnncli.errors import GnnError, UsageError

RESULTS = "results.csv"
#: Row columns ``baseline:<name>:test_<metric>`` hold a kind's untrained baselines (full power, WMMSE)
#: scored by the run on its test set; the summary shows each as a setting of its own.
BASELINE = "baseline:"
SUMMARY = "summary.json"
REPORT = "report.html"
#: Columns every row has, before the metric columns (``val_*``, ``test_*``).
COLUMNS = ("run_id", "setting", "model", "seed", "status", "error", "time_s", "run", "overrides")


@dataclass
class BenchmarkOptions:
    """What ``gnn benchmark`` was asked: the training options every run starts from, the runs,
    and where to write. ``title`` names the comparison in the report (a suite's name)."""

    base: Any  # gnncli.api.TrainOptions
    specs: list[RunSpec]
    out: Path
    resume: bool = False
    jobs: int = 1
    title: str = "benchmark"
    notes: list[str] = field(default_factory=list)
    #: loop settings given on the command line (``epochs``, ``batch_size``, ``lr``, ``patience``,
    #: ``warmup``); the others come from each setting's model (see ``loop_defaults``). None: use
    #: ``base.loop`` as it is.
    given_loop: dict | None = None


def loop_fields(settings: dict) -> dict:
    """``gnn train``-style loop settings (``lr``, ``warmup``, ``patience`` 0 = never) as LoopConfig fields."""
    out = {}
    constant = settings.get("schedule") == "constant"
    for key, value in settings.items():
        if key == "schedule":
            continue
        if key == "lr":
            start = value if constant else value / 10
            out.update(max_lr=value, init_lr=start, final_lr=start)
        elif key == "warmup":
            out["warmup_epochs"] = value
        elif key == "patience":
            out["patience"] = value or None
        else:
            out[key] = value
    return out


def run_options(base, spec: RunSpec, run_dir: Path | None, *, device: str | None = None, given_loop: dict | None = None):
    """The training options of one run: ``base`` with the setting's overrides, the seed, and loop
    settings not given taken from the model's registration (with ``given_loop``)."""
    from gnncli.models import ModelConfig
    from gnncli.train.loop import LoopConfig

    from gnncli.domains import resolve_domain
    from gnncli.models.config import loop_defaults, task_defaults

    model_over, params, loop_over, option_over = split_overrides(spec.setting.overrides)
    domain = resolve_domain(base.input_paths(), base.kind)
    task = option_over.pop("task", base.task)
    if task == "auto":  # as gnn train settles it, so that the task's own model and recipe apply
        task = domain.settle_task(base.input_paths(), task, base.targets or [], base.options)
    name = spec.setting.model or base.model.name or domain.model_for(task)
    given_model = base.model.to_dict()
    # The task's own model settings (link prediction's width and dropout) where nothing gave them.
    recipe = {k: v for k, v in task_defaults(name, domain.name, task).get("model", {}).items() if given_model.get(k) is None}
    model = ModelConfig.from_dict({**given_model, **recipe, **model_over, "name": name,
                                   "params": {**base.model.params, **params}, "kind": base.model.kind or domain.name})
    fill = {}
    if given_loop is not None:
        fill = loop_fields({**loop_defaults(name, domain.name, task), **given_loop})
    loop = LoopConfig.from_dict({**base.loop.to_dict(), **fill, **loop_fields(loop_over), "seed": spec.seed,
                                 **({"device": device} if device else {})})
    return replace(base, model=model, loop=loop, task=task, out=str(run_dir) if run_dir else base.out, plots=False,
                   **option_over)


def run_one(base, spec: RunSpec, run_dir: Path, *, device: str | None = None, threads: int | None = None,
            given_loop: dict | None = None) -> dict:
    """Train one run (or continue it, if an earlier attempt was interrupted) and return its row.
    With ``given_loop``, loop settings not given come from the run's model registration."""
    from gnncli import api
    from gnncli.io import read_json

    if threads:
        import torch

        torch.set_num_threads(threads)
    row: dict[str, Any] = {
        "run_id": spec.run_id, "setting": spec.setting.label, "model": spec.setting.model or "", "seed": spec.seed,
        "status": "failed", "error": "", "time_s": 0.0, "run": str(run_dir),
        "overrides": json.dumps(spec.setting.overrides, sort_keys=True),
    }
    started = time.time()
    try:
        opts = run_options(base, spec, run_dir, device=device, given_loop=given_loop)
        config = run_dir / "config.json"
        if config.is_file() and read_json(config).get("status") == "training":
            summary = api.resume(str(run_dir), device=device)
        else:
            shutil.rmtree(run_dir, ignore_errors=True)
            summary = api.train(opts)
        row.update(status="ok", model=summary.get("model", row["model"]))
        for part in ("train", "val", "test"):  # train: for kinds that score their training set
            row.update({f"{part}_{k}": v for k, v in summary.get(part, {}).items()
                        if "/" not in k and k != "loss" and isinstance(v, (int, float))})
        if "monitor" in summary:
            row["monitor"] = summary["monitor"]
        for name, metrics in (summary.get("baselines") or {}).items():  # computed, not trained, on the same test set
            row.update({f"{BASELINE}{name}:test_{k}": v for k, v in metrics.items() if isinstance(v, (int, float))})
    except (KeyboardInterrupt, SystemExit):
        raise
    except GnnError as exc:
        row["error"] = str(exc)
    except Exception as exc:  # a bug in one run must not stop the others: the row says what happened
        row["error"] = f"{type(exc).__name__}: {exc}"
    row["time_s"] = round(time.time() - started, 2)
    return row


def metric_directions(rows: list[dict]) -> dict[str, bool]:
    """Whether higher is better, for each metric of the runs (asked of each run's task)."""
    from gnncli.domains import get_domain
    from gnncli.io import read_json
    from gnncli.runs import upgrade_config
    from gnncli.train.metrics import HIGHER_IS_BETTER

    directions = dict(HIGHER_IS_BETTER)
    for row in rows:
        if row.get("status") != "ok":
            continue
        try:
            config = upgrade_config(read_json(Path(row["run"]) / "config.json"))
            directions.update(get_domain(config["kind"]).load_task(config).metrics())
        except Exception:  # a run folder removed after the fact: the known directions stay
            continue
    return directions


def read_results(path: Path) -> list[dict]:
    import pandas as pd

    if not path.is_file():
        return []
    frame = pd.read_csv(path, keep_default_na=False, na_values=[""])
    rows = []
    for record in frame.to_dict("records"):
        rows.append({k: ("" if isinstance(v, float) and v != v and k in ("error", "model") else v) for k, v in record.items()})
    return rows


def write_results(path: Path, rows: list[dict]) -> None:
    import pandas as pd

    from gnncli.io import atomic_open

    columns = list(COLUMNS)
    for row in rows:
        columns += [k for k in row if k not in columns]
    with atomic_open(path, "w", newline="") as handle:
        pd.DataFrame(rows, columns=columns).to_csv(handle, index=False)


def _devices(jobs: int) -> list[str | None]:
    import torch

    n = torch.cuda.device_count() if torch.cuda.is_available() else 0
    return [f"cuda:{i % n}" for i in range(jobs)] if n > 1 else [None] * jobs


def _worker(args: tuple) -> dict:
    base, spec, run_dir, device, threads, given_loop = args
    from gnncli.runtime import tune_allocator

    tune_allocator()
    return run_one(base, spec, run_dir, device=device, threads=threads, given_loop=given_loop)


def run_benchmark(opts: BenchmarkOptions, *, on_run: Callable[[dict, int, int], None] | None = None) -> dict:
    """Run every spec not already done, write ``results.csv``, ``summary.json`` and ``report.html``
    in ``opts.out``, and return the summary. ``on_run(row, done, total)`` follows progress."""
    from gnncli.benchmark.report import write_report
    from gnncli.benchmark.summary import summarize
    from gnncli.io import write_json

    out = Path(opts.out)
    results = out / RESULTS
    if results.is_file() and not opts.resume:
        raise UsageError(f"{out}: holds a benchmark already (continue it with --resume, or choose another --out)")
    if opts.jobs < 1:
        raise UsageError(f"--jobs {opts.jobs}: must be at least 1")
    out.mkdir(parents=True, exist_ok=True)
    wanted = {spec.run_id for spec in opts.specs}
    previous = {row["run_id"]: row for row in read_results(results) if row["run_id"] in wanted}
    kept = {k: row for k, row in previous.items() if row["status"] == "ok"}
    todo = [spec for spec in opts.specs if spec.run_id not in kept]
    for spec in todo:  # a run that failed starts afresh; one interrupted mid-training (no row) continues
        if spec.run_id in previous:
            shutil.rmtree(out / "runs" / spec.folder, ignore_errors=True)
    rows_by_id = dict(kept)

    def record(row: dict) -> None:
        rows_by_id[row["run_id"]] = row
        write_results(results, [rows_by_id[s.run_id] for s in opts.specs if s.run_id in rows_by_id])
        if on_run is not None:
            on_run(row, len(rows_by_id), len(opts.specs))

    if on_run is not None:
        on_run({}, len(rows_by_id), len(opts.specs))
    run_dir = out / "runs"
    if opts.jobs == 1 or len(todo) < 2:
        for spec in todo:
            record(run_one(opts.base, spec, run_dir / spec.folder, given_loop=opts.given_loop))
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed

        jobs = min(opts.jobs, len(todo))
        threads = max(1, (os.cpu_count() or 1) // jobs)
        devices = _devices(jobs)
        work = [(opts.base, spec, run_dir / spec.folder, devices[i % jobs], threads, opts.given_loop)
                for i, spec in enumerate(todo)]
        # spawn: a fresh interpreter per worker, never a forked copy of torch's thread pools
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            for future in as_completed([pool.submit(_worker, w) for w in work]):
                record(future.result())
    rows = [rows_by_id[s.run_id] for s in opts.specs]
    summary = summarize(rows, metric_directions(rows), title=opts.title, settings=list(dict.fromkeys(s.setting for s in opts.specs)))
    summary["notes"] = list(opts.notes)
    summary["out"] = str(out)
    write_json(out / SUMMARY, summary)
    write_report(out / REPORT, rows, summary)
    return summary
