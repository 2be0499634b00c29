"""Summaries of benchmark rows: mean and standard deviation per setting and metric, and the best.

Standard deviations are sample standard deviations (``ddof=1``) over a setting's successful
runs; a setting with a single run has none (None in JSON, shown as ``-``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def _baselines(rows: list[dict]) -> dict[str, list[str]]:
    """Baseline name -> its ``baseline:<name>:test_<metric>`` columns, in first-seen order."""
    out: dict[str, list[str]] = {}
    for row in rows:
        for key in row:
            if key.startswith("baseline:"):
                name = key.split(":")[1]
                if key not in out.setdefault(name, []):
                    out[name].append(key)
    return out


def metric_columns(rows: list[dict]) -> list[str]:
    """The ``test_*``, ``train_*`` then ``val_*`` columns the rows hold, in first-seen order."""
    seen: list[str] = []
    for row in rows:
        seen += [k for k in row if k.startswith(("test_", "train_", "val_")) and k not in seen]
    part = {"test": 0, "train": 1, "val": 2}
    return sorted(seen, key=lambda k: (part[k.split("_", 1)[0]], seen.index(k)))


def _finite(values: list[Any]) -> list[float]:
    out = []
    for v in values:
        try:
            f = float(v)
        except (TypeError, ValueError):
            continue
        if math.isfinite(f):
            out.append(f)
    return out


def mean_sd(values: list[Any]) -> dict:
    """``{"mean", "sd", "n"}`` of the finite values (sd: sample SD, None for fewer than 2)."""
    finite = _finite(values)
    if not finite:
        return {"mean": None, "sd": None, "n": 0}
    return {"mean": float(np.mean(finite)), "sd": float(np.std(finite, ddof=1)) if len(finite) > 1 else None,
            "n": len(finite)}


def summarize(rows: list[dict], directions: dict[str, bool], *, title: str = "benchmark", settings=None) -> dict:
    """The summary of ``rows``: per setting, mean and SD of every metric and of the wall time; the
    best setting per metric (by ``directions``: metric name -> higher is better); the primary
    metric (the runs' validation monitor, on the test set)."""
    order = [s.label for s in settings] if settings else list(dict.fromkeys(r["setting"] for r in rows))
    columns = metric_columns(rows)
    out_settings = []
    for label in order:
        mine = [r for r in rows if r["setting"] == label]
        ok = [r for r in mine if r.get("status") == "ok"]
        entry = {
            "label": label, "model": next((r.get("model") for r in mine if r.get("model")), ""),
            "runs": len(ok), "failed": len(mine) - len(ok),
            "errors": [r.get("error", "") for r in mine if r.get("status") != "ok"],
            "time_s": mean_sd([r.get("time_s") for r in ok]),
            "metrics": {c: mean_sd([r.get(c) for r in ok]) for c in columns},
        }
        if settings:
            entry["overrides"] = next(s.overrides for s in settings if s.label == label)
        out_settings.append(entry)
    for name, keys in _baselines(rows).items():  # untrained baselines the runs scored on their test sets
        ok = [r for r in rows if r.get("status") == "ok" and any(k in r for k in keys)]
        out_settings.append({
            "label": f"{name} (baseline)", "model": "", "runs": len(ok), "failed": 0, "errors": [], "baseline": True,
            "time_s": mean_sd([]), "metrics": {c: mean_sd([r.get(f"baseline:{name}:{c}") for r in ok]) for c in columns},
        })
    best = {}
    for c in columns:
        metric = c.split("_", 1)[1]
        if metric not in directions:
            continue
        scored = [(e["metrics"][c]["mean"], e["label"]) for e in out_settings if e["metrics"][c]["mean"] is not None]
        if scored:
            best[c] = (max if directions[metric] else min)(scored)[1]
    monitors = [r.get("monitor") for r in rows if r.get("status") == "ok" and r.get("monitor")]
    primary = f"test_{monitors[0]}" if monitors else next((c for c in columns if c.startswith("test_")), None)
    return {
        "title": title, "runs": len(rows), "failed": sum(r.get("status") != "ok" for r in rows),
        "primary": primary, "directions": {k: v for k, v in directions.items() if any(c.endswith("_" + k) for c in columns)},
        "best": best, "settings": out_settings,
    }


def format_mean_sd(stat: dict, digits: int = 4) -> str:
    if stat["mean"] is None:
        return "-"
    if stat["sd"] is None:
        return f"{stat['mean']:.{digits}f}"
    return f"{stat['mean']:.{digits}f} ± {stat['sd']:.{digits}f}"
