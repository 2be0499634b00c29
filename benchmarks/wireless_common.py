"""Shared steps of the wireless benchmarks: train a policy with ``gnn train`` (through the API),
generate seeded test networks with ``gnn channels``' writer, run ``gnn predict``, and report.

Run folders and test files are kept in ``--workdir`` and reused when they are complete, so a
benchmark interrupted (or rerun with other test settings) does not train again.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import numpy as np

from gnncli.progress import Reporter


def load() -> str:
    """The machine's load averages, as ``uptime`` prints them (recorded with every timing)."""
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return " ".join(f"{x:.2f}" for x in os.getloadavg())


def train_policy(run: Path, *, pairs: int, layout: str, task: str = "state-augmented", epochs: int, steps_per_epoch: int,
                 batch_size: int, episode: int, val_networks: int = 16, val_steps: int = 200, seed: int = 0,
                 hidden: int = 64, depth: int = 3, model: str = "leconv", lr: float = 1e-3, dual_step: float = 2.0) -> dict:
    """``gnn train --kind wireless`` with these settings into ``run`` (reused when complete). The dual
    step is the paper's 2 unless said, as in every figure these scripts recorded (gnn's default is 4)."""
    from gnncli import api

    if (run / "metrics.json").is_file() and json.loads((run / "config.json").read_text()).get("status") == "complete":
        summary = json.loads((run / "metrics.json").read_text())
        summary["reused"] = True
        return summary
    if run.exists() and (run / "config.json").is_file():
        with _progress() as progress:
            return api.resume(str(run), Reporter(progress))
    opts = api.TrainOptions(
        kind="wireless", task=task, out=str(run), plots=True,
        options={"pairs": pairs, "layout": layout, "networks": val_networks, "time_steps": val_steps, "episode": episode,
                 "dual_step": dual_step},
        model=api.ModelConfig(name=model, hidden=hidden, depth=depth),
        loop=api.LoopConfig(epochs=epochs, batch_size=batch_size, steps_per_epoch=steps_per_epoch, patience=None,
                            seed=seed, device="cpu", max_lr=lr, init_lr=lr / 10, final_lr=lr / 10),
    )
    started = time.time()
    with _progress() as progress:
        summary = api.train(opts, Reporter(progress))
    summary["train_wall_s"] = round(time.time() - started, 1)
    summary["load_after"] = load()
    return summary


def _progress():
    from gnncli.cli.common import make_progress

    return make_progress()


def test_networks(path: Path, *, pairs: int, layout: str, networks: int, steps: int, seed: int) -> Path:
    """Seeded test networks written as ``gnn channels`` does (reused when the file exists)."""
    from gnncli.domains.wireless.files import write_generated

    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        write_generated(str(path), pairs=pairs, networks=networks, steps=steps, layout=layout, seed=seed)
    return path


def predict(run: Path, channels: Path, out: Path, *, baselines: bool, batch_size: int = 64) -> dict:
    """``gnn predict RUN CHANNELS --out OUT [--baselines]``; the summary it wrote."""
    from gnncli import api

    started = time.time()
    with _progress() as progress:
        counts = api.predict(str(run), [str(channels)], str(out), device="cpu", baselines=baselines or None,
                             batch_size=batch_size, reporter=Reporter(progress))
    summary = json.loads((out / "summary.json").read_text())
    summary["wall_s"] = round(time.time() - started, 1)
    summary["policy_seconds"] = counts["policy_seconds"]
    return summary


def table(rows: list[tuple[str, dict]], f_min: float) -> str:
    """A Markdown table of the statistics of each method."""
    lines = [f"| method | mean sum rate (bps/Hz) | mean rate per user | users meeting f_min = {f_min:g} | 5th-percentile rate | lowest rate |",
             "|---|---|---|---|---|---|"]
    for name, s in rows:
        lines.append(f"| {name} | {s['sum_rate']:.1f} | {s['mean_rate']:.3f} | {100 * s['satisfied']:.1f}% | "
                     f"{s['p5']:.3f} | {s['min_rate']:.3f} |")
    return "\n".join(lines)


def median_time(fn, repeats: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return float(np.median(times)), times
