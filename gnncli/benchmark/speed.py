"""Speed mode: featurization, training and inference throughput, and peak memory.

For one model and dataset, on the CPU and on CUDA when present, over batch sizes, each measured
``repeats`` times (the median is reported):

* featurization: items per second of the kind's own reading and featurizing (``Domain.prepare``,
  cache off);
* training: items per second of an epoch after the first (warm-up) one, through the one training
  loop (:func:`gnncli.train.loop.fit`), validating on a single batch;
* inference: items per second of the task's evaluation over every item (the model in
  inference mode, plus the task's metrics);
* memory: the peak resident set size of the process that measured, and on CUDA the peak memory
  torch allocated.

Every measurement runs in a fresh process (``spawn``), so one batch size's peak memory is not
another's.
"""

from __future__ import annotations

import multiprocessing
import resource
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace

from gnncli.errors import UsageError


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024**2 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux


def _prepare(opts, cache: bool):
    from gnncli import api
    from gnncli.domains import resolve_domain
    from gnncli.progress import Reporter

    domain = resolve_domain(opts.input_paths(), opts.kind)
    opts = api.settle_options(replace(opts, cache=cache), domain)
    return domain, opts, domain.prepare(opts, Reporter())


def measure_featurization(opts) -> dict:
    started = time.perf_counter()
    _, _, data = _prepare(opts, cache=False)
    seconds = time.perf_counter() - started
    items = int(data.counts.get("rows", len(data)))
    return {"items": items, "seconds": seconds, "items_per_s": items / seconds, "peak_rss_mb": _peak_rss_mb()}


def measure_model(opts, device: str, batch_size: int, epochs: int) -> dict:
    """Training and inference throughput of ``opts.model`` at ``batch_size`` on ``device``."""
    import numpy as np
    import torch

    from gnncli.models import build_model
    from gnncli.train.loop import LoopConfig, fit, resolve_device

    domain, opts, data = _prepare(opts, cache=True)
    dev = resolve_device(device)
    splits = domain.split(opts, data)
    train_idx, val_idx, _ = splits[0]
    model = build_model(domain.model_config(data, opts.model))
    task = domain.make_task(data, opts, train_idx)
    loop = LoopConfig.from_dict({**opts.loop.to_dict(), "epochs": epochs, "batch_size": batch_size, "device": device,
                                 "patience": None, "checkpoint_seconds": 1e9,
                                 "steps_per_epoch": opts.loop.steps_per_epoch or data.steps_per_epoch})
    stamps = [time.perf_counter()]
    fit(model, task, lambda epoch: data.train_loader(train_idx, batch_size=batch_size, seed=0, epoch=epoch),
        data.loader(np.asarray(val_idx)[:batch_size], batch_size=batch_size), loop,
        on_epoch=lambda record: stamps.append(time.perf_counter()))
    per_epoch = len(train_idx) if data.steps_per_epoch is None else loop.steps_per_epoch * batch_size
    epoch_seconds = np.diff(stamps)[1:] if len(stamps) > 2 else np.diff(stamps)
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)
    model.eval()
    everything = np.arange(len(data))
    # the task's own evaluation is every kind's inference path (a policy's is a rollout over time)
    task.evaluate(model, data.loader(everything[:batch_size], batch_size=batch_size), dev)  # warm-up
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    started = time.perf_counter()
    task.evaluate(model, data.loader(everything, batch_size=batch_size), dev)
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    infer_seconds = time.perf_counter() - started
    out = {
        "device": device, "batch_size": batch_size, "train_items_per_s": per_epoch / float(np.median(epoch_seconds)),
        "infer_items_per_s": len(data) / infer_seconds, "peak_rss_mb": _peak_rss_mb(),
    }
    if dev.type == "cuda":
        out["cuda_max_allocated_mb"] = torch.cuda.max_memory_allocated(dev) / 2**20
    return out


def _child(args: tuple) -> dict:
    what, opts, rest = args
    from gnncli.runtime import tune_allocator

    tune_allocator()
    return measure_featurization(opts) if what == "featurize" else measure_model(opts, *rest)


def _median(results: list[dict], key: str) -> float | None:
    values = [r[key] for r in results if key in r]
    return float(statistics.median(values)) if values else None


def run_speed(opts, *, batch_sizes: list[int], repeats: int = 3, epochs: int = 3, devices: list[str] | None = None,
              on_step=None) -> dict:
    """Speed of ``opts.model`` on ``opts.data``: one row per device and batch size (medians over
    ``repeats``), and the featurization throughput."""
    import torch

    if repeats < 1 or epochs < 2 or not batch_sizes or min(batch_sizes) < 1:
        raise UsageError("--speed needs --repeats >= 1, --epochs >= 2 (the first is warm-up) and positive batch sizes")
    devices = devices or (["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"])
    context = multiprocessing.get_context("spawn")
    steps = [("featurize", opts, ())] * repeats
    steps += [("model", opts, (device, b, epochs)) for device in devices for b in batch_sizes for _ in range(repeats)]
    results = []
    for i, step in enumerate(steps):
        # one fresh process per measurement; an executor's worker is not a daemon, so featurization
        # may start worker processes of its own as it does in gnn train
        with ProcessPoolExecutor(1, mp_context=context) as pool:
            results.append(pool.submit(_child, step).result())
        if on_step is not None:
            on_step(i + 1, len(steps))
    featurize = results[:repeats]
    rows = []
    for device in devices:
        for b in batch_sizes:
            mine = [r for r in results[repeats:] if r["device"] == device and r["batch_size"] == b]
            row = {"device": device, "batch_size": b, "repeats": len(mine)}
            for key in ("train_items_per_s", "infer_items_per_s", "peak_rss_mb", "cuda_max_allocated_mb"):
                value = _median(mine, key)
                if value is not None:
                    row[key] = value
            rows.append(row)
    return {
        "data": opts.data, "inputs": opts.input_paths(), "model": opts.model.name, "epochs": epochs, "repeats": repeats,
        "featurize_items_per_s": _median(featurize, "items_per_s"), "featurize_items": featurize[0]["items"],
        "rows": rows, "threads": torch.get_num_threads(),
    }
