#!/usr/bin/env python3
"""Compare `gnn train` / `gnn predict` with Chemprop 2 on molecular regression.

Training comparison (same rows, same splits, same epoch count for both)::

    python benchmarks/chemprop_compare.py \\
        --data /path/to/delaney-processed.csv --smiles-col smiles \\
        --target "measured log solubility in mols per litre" \\
        --epochs 50 --seeds 0 1 2 3 4 --workdir /tmp/bench/esol \\
        --chemprop-bin ~/venvs/chemprop/bin/chemprop

For every seed S the script

1. splits the (cleaned) rows 80/10/10 with ``numpy.random.default_rng(S).permutation``;
2. writes ``WORKDIR/seedS/data.csv`` (SMILES, target and a ``split`` column
   holding train/val/test) and the same split as Chemprop's ``splits.json``;
3. runs ``gnn train data.csv --smiles-col .. --target .. --split-col split
   --epochs N --seed S --out WORKDIR/seedS/gnn --json`` and reads the test
   RMSE from the JSON it prints;
4. runs ``chemprop train -i data.csv -s .. --target-columns .. --splits-file
   splits.json --epochs N --pytorch-seed S --data-seed S -o WORKDIR/seedS/chemprop``
   and computes the test RMSE from its ``model_0/test_predictions.csv``
   (checked to be the same rows, in the same order, as our test split);
5. times each run and polls the peak RSS of its whole process tree (see
   measure.py).

The runs go one after another (never in parallel); the 1-minute load average
before each run is recorded, since other work on the machine skews timings.
A table is printed and ``WORKDIR/summary.json`` is written; the logs of every
run are kept in ``WORKDIR/seedS/``. ``--resume`` reuses runs that already
finished with the same settings (run ``--only gnn`` and ``--only chemprop``
separately, then both with ``--resume`` to get one table).

Prediction throughput (``--predict-library``): times ``gnn predict RUNDIR LIB
--out preds.csv`` on the library *with* invalid SMILES and ``chemprop predict``
on its valid twin (Chemprop stops at the first invalid SMILES); reports
molecules/s and peak RSS. The models are the seed-0 (first seed) runs of the
training comparison in the same --workdir, or those given by --gnn-model /
--chemprop-model::

    python benchmarks/chemprop_compare.py --workdir /tmp/bench/esol \\
        --predict-library /tmp/bench/library_100k.smi \\
        --predict-library-valid /tmp/bench/library_100k.valid.smi

With both --data and --predict-library, training runs first and the fresh
models are used for prediction. ``--only gnn|chemprop`` runs one side only;
``--dry-run`` prints the commands without running them.

Needs numpy, pandas, psutil and (for dropping unparsable SMILES) RDKit in the
environment that runs this script; Chemprop lives in its own environment
(--chemprop-bin).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from gnncli.io import sha256_file

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import measure  # noqa: E402

SPLIT_COL = "split"
TOOLS = ("gnn", "chemprop")
DEFAULT_CHEMPROP_BIN = os.environ.get("CHEMPROP_BIN", "chemprop")  # e.g. ~/venvs/chemprop/bin/chemprop
CHEMPROP_DEFAULT_WARMUP = 2  # chemprop train --warmup-epochs default; it needs epochs > warmup


# --------------------------------------------------------------------------- helpers

def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict:
    y_true = np.asarray(y_true, dtype=float)
    y_pred = np.asarray(y_pred, dtype=float)
    err = y_pred - y_true
    ss_tot = float(np.sum((y_true - y_true.mean()) ** 2))
    return {
        "rmse": float(np.sqrt(np.mean(err ** 2))),
        "mae": float(np.mean(np.abs(err))),
        "r2": float(1.0 - np.sum(err ** 2) / ss_tot) if ss_tot > 0 else float("nan"),
        "n": int(len(y_true)),
    }


def tail(path: Path, n_lines: int = 15) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    # Progress bars write many carriage-return updates; keep only the last state.
    lines = [ln.split("\r")[-1] for ln in lines]
    return "\n".join(lines[-n_lines:])


def fmt(x, spec: str = ".3f", missing: str = "-") -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return missing
    return format(x, spec)


def mean_sd(values: list[float]) -> tuple[float | None, float | None]:
    vals = [v for v in values if v is not None and not math.isnan(v)]
    if not vals:
        return None, None
    return statistics.fmean(vals), (statistics.stdev(vals) if len(vals) > 1 else None)


def tool_version(cmd: list[str]) -> str | None:
    try:
        out = subprocess.run(cmd + ["--version"], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (out.stdout.strip() or out.stderr.strip()).splitlines()
    return text[-1] if text and out.returncode == 0 else None


def child_env(threads: int | None) -> dict | None:
    if threads is None:
        return None
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[var] = str(threads)
    return env


def parse_json_stdout(text: str) -> dict | None:
    """The JSON object printed by `gnn ... --json` (whole stdout, or its last JSON line)."""
    text = text.strip()
    if not text:
        return None
    try:
        obj = json.loads(text)
        return obj if isinstance(obj, dict) else None
    except json.JSONDecodeError:
        pass
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                obj = json.loads(line)
                if isinstance(obj, dict):
                    return obj
            except json.JSONDecodeError:
                continue
    return None


def count_data_rows(path: Path, has_header: bool) -> int:
    with open(path, "rb") as fh:
        n = sum(1 for _ in fh)
    return n - (1 if has_header else 0)


def library_has_header(path: Path) -> bool:
    with open(path, errors="replace") as fh:
        first = fh.readline().strip().lower()
    return first == "smiles" or first.startswith("smiles,")


# --------------------------------------------------------------------------- data

def load_dataset(path: Path, smiles_col: str, target: str, drop_invalid: bool) -> tuple[pd.DataFrame, dict]:
    """Read the CSV and return a clean two-column frame (SMILES stripped, target float).

    Rows with an empty SMILES, a non-numeric/missing target or (with RDKit
    available and drop_invalid) a SMILES RDKit cannot parse are dropped, so
    that both tools see exactly the same rows; Chemprop would stop at such a row.
    """
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    for col in (smiles_col, target):
        if col not in df.columns:
            sys.exit(f"column {col!r} not in {path}; columns: {list(df.columns)}")
    if SPLIT_COL in (smiles_col, target):
        sys.exit(f"the column name {SPLIT_COL!r} is reserved for the split column")
    smiles = df[smiles_col].str.strip()
    y = pd.to_numeric(df[target].str.strip(), errors="coerce")
    keep = (smiles != "") & y.notna() & np.isfinite(y)
    report = {"rows_in_file": int(len(df)), "dropped_empty_smiles": int((smiles == "").sum()),
              "dropped_bad_target": int((~(y.notna() & np.isfinite(y))).sum()),
              "dropped_unparsable_smiles": 0, "rdkit_checked": False}
    if drop_invalid:
        try:
            from rdkit import Chem, RDLogger
            RDLogger.DisableLog("rdApp.*")
        except ImportError:
            log("RDKit not importable here: SMILES are not checked (Chemprop stops at an unparsable one)")
        else:
            parsable = smiles.map(lambda s: bool(s) and Chem.MolFromSmiles(s) is not None)
            report["dropped_unparsable_smiles"] = int((keep & ~parsable).sum())
            report["rdkit_checked"] = True
            keep &= parsable
    clean = pd.DataFrame({smiles_col: smiles[keep].to_numpy(), target: y[keep].to_numpy(dtype=float)})
    report["rows_used"] = int(len(clean))
    return clean, report


def make_split(n: int, seed: int, sizes: tuple[float, float, float]) -> dict[str, np.ndarray]:
    """Random split of row indices 0..n-1; sizes are train/val/test fractions."""
    perm = np.random.default_rng(seed).permutation(n)
    n_train = int(sizes[0] * n)
    n_val = int(sizes[1] * n)
    return {"train": perm[:n_train], "val": perm[n_train:n_train + n_val], "test": perm[n_train + n_val:]}


def write_seed_inputs(df: pd.DataFrame, split: dict[str, np.ndarray], seed_dir: Path) -> tuple[Path, Path]:
    seed_dir.mkdir(parents=True, exist_ok=True)
    labels = np.empty(len(df), dtype=object)
    for name, idx in split.items():
        labels[idx] = name
    out = df.copy()
    out[SPLIT_COL] = labels
    data_csv = seed_dir / "data.csv"
    out.to_csv(data_csv, index=False, float_format="%.10g")
    splits_json = seed_dir / "splits.json"
    with open(splits_json, "w") as fh:
        json.dump([{k: [int(i) for i in v] for k, v in split.items()}], fh)
    return data_csv, splits_json


# --------------------------------------------------------------------------- training runs

def gnn_train_cmd(a, data_csv: Path, seed: int, run_dir: Path) -> list[str]:
    return (shlex.split(a.gnn_bin) + ["train", str(data_csv), "--smiles-col", a.smiles_col,
            "--target", a.target, "--split-col", SPLIT_COL, "--epochs", str(a.epochs),
            "--seed", str(seed), "--out", str(run_dir), "--json"] + shlex.split(a.gnn_args))


def chemprop_train_cmd(a, data_csv: Path, splits_json: Path, seed: int, run_dir: Path) -> list[str]:
    extra = shlex.split(a.chemprop_args)
    cmd = (shlex.split(a.chemprop_bin) + ["train", "-i", str(data_csv), "-s", a.smiles_col,
           "--target-columns", a.target, "--splits-file", str(splits_json),
           "--epochs", str(a.epochs), "--pytorch-seed", str(seed), "--data-seed", str(seed),
           "-o", str(run_dir)])
    if a.epochs <= CHEMPROP_DEFAULT_WARMUP and "--warmup-epochs" not in extra:
        # chemprop refuses epochs <= warmup epochs (default 2)
        cmd += ["--warmup-epochs", str(a.epochs - 1)]
    return cmd + extra


def read_chemprop_test(run_dir: Path, df: pd.DataFrame, test_idx: np.ndarray,
                       smiles_col: str, target: str, stderr_log: Path) -> dict:
    preds_path = run_dir / "model_0" / "test_predictions.csv"
    if not preds_path.exists():
        raise RuntimeError(f"chemprop wrote no {preds_path}")
    preds = pd.read_csv(preds_path, dtype={smiles_col: str}, keep_default_na=False)
    if len(preds) != len(test_idx):
        raise RuntimeError(f"{preds_path}: {len(preds)} rows, expected {len(test_idx)} test rows")
    expected = df[smiles_col].to_numpy()[test_idx]
    got = preds[smiles_col].astype(str).str.strip().to_numpy()
    if not np.array_equal(expected, got):
        bad = int(np.sum(expected != got))
        raise RuntimeError(f"{preds_path}: {bad} test rows differ from our test split")
    metrics = regression_metrics(df[target].to_numpy()[test_idx], preds[target].to_numpy(dtype=float))
    # Cross-check with chemprop's own log line "test/mse: X" (or test/rmse).
    for line in stderr_log.read_text(errors="replace").splitlines():
        for name in ("rmse", "mse"):
            key = f"test/{name}: "
            if key in line:
                val = float(line.split(key, 1)[1].split()[0])
                metrics["chemprop_logged_rmse"] = math.sqrt(val) if name == "mse" else val
    metrics["predictions_csv"] = str(preds_path)
    metrics["model"] = str(run_dir / "model_0" / "best.pt")
    return metrics


def recompute_gnn_test(run_dir: Path, target: str, test_idx: np.ndarray) -> dict | None:
    """Cross-check gnn's reported test metrics from RUNDIR/test_predictions.csv.

    Expected columns: ``row`` (0-based data row), ``<target>_true`` and
    ``<target>_pred``; other spellings of the prediction/truth columns are
    guessed. Returns None when the file is missing or unreadable.
    """
    path = run_dir / "test_predictions.csv"
    if not path.exists():
        return None
    try:
        preds = pd.read_csv(path)
    except Exception:  # noqa: BLE001 - unknown format: skip the cross-check
        return None
    out: dict = {"test_predictions_rows": int(len(preds))}
    if "row" in preds.columns:
        out["same_test_rows"] = bool(set(preds["row"].astype(int)) == set(int(i) for i in test_idx))
    cols = {c.lower(): c for c in preds.columns}
    t = target.lower()
    pred_col = next((cols[c] for c in (f"{t}_pred", "pred", "prediction", "y_pred", f"pred_{t}", "predicted")
                     if c in cols), None)
    true_col = next((cols[c] for c in (f"{t}_true", t, "y_true", "true", "target", "y") if c in cols), None)
    if pred_col is not None and true_col is not None and pred_col != true_col:
        sub = preds[[true_col, pred_col]].apply(pd.to_numeric, errors="coerce").dropna()
        out.update(regression_metrics(sub[true_col].to_numpy(), sub[pred_col].to_numpy()))
    return out


def run_one(tool: str, cmd: list[str], seed_dir: Path, run_dir: Path, env: dict | None,
            timeout: float | None) -> tuple[dict, Path, Path]:
    if run_dir.exists():
        shutil.rmtree(run_dir)  # a stale run folder from an earlier attempt
    out_log = seed_dir / f"{tool}.stdout.log"
    err_log = seed_dir / f"{tool}.stderr.log"
    log(f"{tool}: {shlex.join(cmd)}")
    load = os.getloadavg()[0]
    res = measure(cmd, stdout_path=out_log, stderr_path=err_log, env=env, timeout=timeout)
    res["loadavg_1min_before"] = round(load, 2)
    return res, out_log, err_log


def train_seed(a, df: pd.DataFrame, seed: int, fingerprint: dict) -> dict[str, dict]:
    seed_dir = a.workdir / f"seed{seed}"
    split = make_split(len(df), seed, tuple(a.split_sizes))
    data_csv, splits_json = write_seed_inputs(df, split, seed_dir)
    test_idx = split["test"]
    env = child_env(a.threads)
    results = {}
    for tool in a.tools:
        result_path = seed_dir / f"{tool}.result.json"
        run_dir = seed_dir / tool
        if tool == "gnn":
            cmd = gnn_train_cmd(a, data_csv, seed, run_dir)
        else:
            cmd = chemprop_train_cmd(a, data_csv, splits_json, seed, run_dir)
        if a.dry_run:
            print(shlex.join(cmd))
            continue
        if a.resume and result_path.exists():
            old = json.loads(result_path.read_text())
            if old.get("ok") and old.get("fingerprint") == fingerprint and old.get("cmd") == cmd:
                log(f"seed {seed} {tool}: reusing {result_path}")
                results[tool] = old
                continue

        res, out_log, err_log = run_one(tool, cmd, seed_dir, run_dir, env, a.timeout)
        rec = {"tool": tool, "seed": seed, "cmd": cmd, "fingerprint": fingerprint,
               "wall_s": res["wall_s"], "peak_rss_mb": res["peak_rss_mb"],
               "returncode": res["returncode"], "timed_out": res.get("timed_out", False),
               "loadavg_1min_before": res["loadavg_1min_before"],
               "run_dir": str(run_dir), "n_train": int(len(split["train"])),
               "n_val": int(len(split["val"])), "n_test": int(len(test_idx)),
               "ok": False, "test": None, "error": None}
        try:
            if res["returncode"] != 0:
                raise RuntimeError(f"exit status {res['returncode']}"
                                   + (" (timed out)" if res.get("timed_out") else ""))
            if tool == "chemprop":
                rec["test"] = read_chemprop_test(run_dir, df, test_idx, a.smiles_col, a.target, err_log)
            else:
                out = parse_json_stdout(out_log.read_text(errors="replace"))
                if out is None or not isinstance(out.get("test"), dict) or "rmse" not in out["test"]:
                    raise RuntimeError("gnn printed no JSON object with test.rmse on stdout")
                rec["gnn_json"] = out
                rec["test"] = {k: out["test"].get(k) for k in ("rmse", "mae", "r2")}
                if not (run_dir / "test_predictions.csv").exists():
                    log(f"seed {seed} gnn: warning: {run_dir}/test_predictions.csv is missing")
                check = recompute_gnn_test(run_dir, a.target, test_idx)
                if check:
                    rec["test"]["recomputed_from_test_predictions"] = check
                    if check.get("same_test_rows") is False:
                        log(f"seed {seed} gnn: warning: its test rows differ from our split")
                    if "rmse" in check and abs(check["rmse"] - rec["test"]["rmse"]) > 1e-3 * max(1.0, check["rmse"]):
                        log(f"seed {seed} gnn: warning: RMSE from test_predictions.csv is {check['rmse']:.4f}")
            rec["ok"] = True
            log(f"seed {seed} {tool}: test RMSE {rec['test']['rmse']:.4f}, "
                f"{res['wall_s']:.1f} s, peak RSS {res['peak_rss_mb']:.0f} MB")
        except Exception as exc:  # noqa: BLE001 - record the failure and go on
            rec["error"] = str(exc)
            log(f"seed {seed} {tool}: FAILED: {exc}\n--- last lines of {err_log} ---\n{tail(err_log)}")
        result_path.write_text(json.dumps(rec, indent=1))
        results[tool] = rec
    return results


# --------------------------------------------------------------------------- prediction runs

def chemprop_csv_input(path: Path, pdir: Path, dry_run: bool) -> Path:
    """chemprop predict accepts only names ending in .csv: link (or copy) other files."""
    if path.suffix == ".csv":
        return path
    link = pdir / f"{path.stem}.chemprop_input.csv"
    if dry_run:
        return link
    if link.is_symlink() or link.exists():
        link.unlink()
    try:
        link.symlink_to(path.resolve())
    except OSError:
        shutil.copyfile(path, link)
    return link


def predict_library(a, models: dict[str, str]) -> dict:
    pdir = a.workdir / "predict"
    pdir.mkdir(parents=True, exist_ok=True)
    env = child_env(a.threads)
    lib, lib_valid = a.predict_library, a.predict_library_valid
    out: dict = {"library": str(lib), "library_valid": str(lib_valid)}
    if not a.dry_run:
        out["library_rows"] = count_data_rows(lib, library_has_header(lib))
        out["library_valid_rows"] = count_data_rows(lib_valid, library_has_header(lib_valid))
    for tool in a.tools:
        preds = pdir / f"{tool}_preds.csv"
        if tool == "gnn":
            cmd = shlex.split(a.gnn_bin) + ["predict", models["gnn"], str(lib), "--out", str(preds)] \
                + shlex.split(a.gnn_predict_args)
            n_in = out.get("library_rows")
        else:
            cp_input = chemprop_csv_input(lib_valid, pdir, a.dry_run)
            cmd = shlex.split(a.chemprop_bin) + ["predict", "-i", str(cp_input), "--model-paths",
                                                 models["chemprop"], "-o", str(preds)]
            cmd += ["-s", "smiles"] if library_has_header(lib_valid) else ["--no-header-row"]
            cmd += shlex.split(a.chemprop_predict_args)
            n_in = out.get("library_valid_rows")
        if a.dry_run:
            print(shlex.join(cmd))
            continue
        if preds.exists():
            preds.unlink()
        log(f"predict {tool}: {shlex.join(cmd)}")
        load = os.getloadavg()[0]
        res = measure(cmd, stdout_path=pdir / f"{tool}.stdout.log",
                      stderr_path=pdir / f"{tool}.stderr.log", env=env, timeout=a.timeout)
        rec = {"cmd": cmd, "input": str(lib if tool == "gnn" else lib_valid), "input_rows": n_in,
               "wall_s": res["wall_s"], "peak_rss_mb": res["peak_rss_mb"],
               "returncode": res["returncode"], "ok": res["returncode"] == 0,
               "loadavg_1min_before": round(load, 2)}
        if rec["ok"] and preds.exists():
            rec["output_rows"] = count_data_rows(preds, has_header=True)
            try:  # gnn keeps invalid rows, with an explanation in an 'error' column
                cols = pd.read_csv(preds, nrows=0).columns
                if "error" in cols:
                    errs = pd.read_csv(preds, usecols=["error"], dtype=str, keep_default_na=False)["error"]
                    rec["rows_with_error"] = int((errs.str.strip() != "").sum())
            except Exception:  # noqa: BLE001 - informational only
                pass
            rec["molecules_per_s"] = n_in / res["wall_s"] if res["wall_s"] > 0 else None
            log(f"predict {tool}: {n_in} rows in {res['wall_s']:.1f} s = "
                f"{rec['molecules_per_s']:.0f} molecules/s, peak RSS {res['peak_rss_mb']:.0f} MB")
        else:
            rec["ok"] = False
            rec["error"] = f"exit status {res['returncode']}" if res["returncode"] else f"no {preds}"
            log(f"predict {tool}: FAILED ({rec['error']})\n{tail(pdir / f'{tool}.stderr.log')}")
        out[tool] = rec
    return out


def find_models(a, train_runs: list[dict]) -> dict[str, str]:
    """Models for the predict benchmark: explicit flags, else the first seed's training runs."""
    models = {}
    first_seed = a.seeds[0]
    if "gnn" in a.tools:
        models["gnn"] = str(a.gnn_model or a.workdir / f"seed{first_seed}" / "gnn")
    if "chemprop" in a.tools:
        models["chemprop"] = str(a.chemprop_model
                                 or a.workdir / f"seed{first_seed}" / "chemprop" / "model_0" / "best.pt")
    if not a.dry_run:
        for tool, path in models.items():
            if not Path(path).exists():
                sys.exit(f"no {tool} model at {path}: train first (--data ...) or pass --{tool}-model")
    return models


# --------------------------------------------------------------------------- reporting

def print_train_table(runs: list[dict], tools: tuple[str, ...]) -> dict:
    by_seed: dict[int, dict] = {}
    for r in runs:
        by_seed.setdefault(r["seed"], {})[r["tool"]] = r
    head = ["seed"] + [f"{t} RMSE" for t in tools] + [f"{t} wall s" for t in tools] \
        + [f"{t} peak MB" for t in tools]
    rows = []
    agg = {t: {"rmse": [], "wall_s": [], "peak_rss_mb": []} for t in tools}
    for seed in sorted(by_seed):
        row = [str(seed)]
        recs = [by_seed[seed].get(t) for t in tools]
        row += [fmt(r["test"]["rmse"], ".4f") if r and r["ok"] else "FAILED" for r in recs]
        row += [fmt(r["wall_s"], ".1f") if r else "-" for r in recs]
        row += [fmt(r["peak_rss_mb"], ".0f") if r else "-" for r in recs]
        rows.append(row)
        for t, r in zip(tools, recs):
            if r and r["ok"]:
                agg[t]["rmse"].append(r["test"]["rmse"])
                agg[t]["wall_s"].append(r["wall_s"])
                agg[t]["peak_rss_mb"].append(r["peak_rss_mb"])
    summary = {}
    mrow = ["mean±sd"]
    for key, spec in (("rmse", ".4f"), ("wall_s", ".1f"), ("peak_rss_mb", ".0f")):
        for t in tools:
            m, s = mean_sd(agg[t][key])
            summary.setdefault(t, {})[key] = {"mean": m, "sd": s, "n": len(agg[t][key])}
            mrow.append("-" if m is None else fmt(m, spec) if s is None else f"{fmt(m, spec)}±{fmt(s, spec)}")
    rows.append(mrow)
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    line = "  ".join(h.rjust(w) for h, w in zip(head, widths))
    print(line)
    print("-" * len(line))
    for r in rows:
        print("  ".join(c.rjust(w) for c, w in zip(r, widths)))
    return summary


def print_predict_table(pred: dict, tools: tuple[str, ...]) -> None:
    print(f"\nprediction: {pred['library']} ({pred.get('library_rows')} rows; "
          f"valid twin {pred.get('library_valid_rows')} rows)")
    head = ["tool", "input rows", "output rows", "error rows", "wall s", "molecules/s", "peak MB"]
    rows = []
    for t in tools:
        r = pred.get(t)
        if not r:
            continue
        rows.append([t, str(r.get("input_rows")), str(r.get("output_rows", "-")),
                     str(r.get("rows_with_error", "-")), fmt(r["wall_s"], ".1f"),
                     fmt(r.get("molecules_per_s"), ".0f", "FAILED"), fmt(r["peak_rss_mb"], ".0f")])
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(head)]
    print("  ".join(h.rjust(w) for h, w in zip(head, widths)))
    for r in rows:
        print("  ".join(c.rjust(w) for c, w in zip(r, widths)))


# --------------------------------------------------------------------------- main

PASSTHROUGH_OPTS = ("--gnn-args", "--gnn-predict-args", "--chemprop-args", "--chemprop-predict-args")


def _glue_passthrough(argv: list[str]) -> list[str]:
    """Let ``--gnn-args "--no-plots"`` work: argparse would take "--no-plots" for an option."""
    out, i = [], 0
    while i < len(argv):
        if argv[i] in PASSTHROUGH_OPTS and i + 1 < len(argv):
            out.append(f"{argv[i]}={argv[i + 1]}")
            i += 2
        else:
            out.append(argv[i])
            i += 1
    return out


def parse_args(argv=None):
    argv = _glue_passthrough(list(sys.argv[1:] if argv is None else argv))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 epilog="See the module docstring (top of this file) for details.")
    g = ap.add_argument_group("training comparison")
    g.add_argument("--data", type=Path, help="CSV with a SMILES column and a numeric target column")
    g.add_argument("--smiles-col", default="smiles", help="SMILES column (default: smiles)")
    g.add_argument("--target", help="target column (regression)")
    g.add_argument("--epochs", type=int, default=50, help="epochs for both tools (default 50, Chemprop's default)")
    g.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4], help="split/model seeds (default 0 1 2 3 4)")
    g.add_argument("--split-sizes", type=float, nargs=3, default=[0.8, 0.1, 0.1],
                   metavar=("TRAIN", "VAL", "TEST"), help="split fractions (default 0.8 0.1 0.1)")
    g.add_argument("--keep-unparsable", action="store_true",
                   help="do not drop rows whose SMILES RDKit cannot parse (Chemprop will then fail)")
    g.add_argument("--resume", action="store_true", help="reuse finished runs with identical settings in --workdir")
    p = ap.add_argument_group("prediction throughput")
    p.add_argument("--predict-library", type=Path, help="SMILES library with invalid rows (for gnn predict)")
    p.add_argument("--predict-library-valid", type=Path, help="its valid twin (for chemprop predict)")
    p.add_argument("--gnn-model", type=Path, help="gnn run folder (default: WORKDIR/seed<first seed>/gnn)")
    p.add_argument("--chemprop-model", type=Path,
                   help="chemprop model file (default: WORKDIR/seed<first seed>/chemprop/model_0/best.pt)")
    t = ap.add_argument_group("tools")
    t.add_argument("--workdir", type=Path, required=True, help="folder for inputs, runs, logs and summary.json")
    t.add_argument("--gnn-bin", default="gnn", help="command that runs gnn (default: gnn)")
    t.add_argument("--gnn-args", default="", help="extra arguments for gnn train, as one string")
    t.add_argument("--gnn-predict-args", default="", help="extra arguments for gnn predict, as one string")
    t.add_argument("--chemprop-bin", default=DEFAULT_CHEMPROP_BIN, help=f"chemprop command (default: {DEFAULT_CHEMPROP_BIN})")
    t.add_argument("--chemprop-args", default="", help="extra arguments for chemprop train, as one string")
    t.add_argument("--chemprop-predict-args", default="", help="extra arguments for chemprop predict, as one string")
    t.add_argument("--only", choices=TOOLS, help="run one tool only")
    t.add_argument("--threads", type=int, help="set OMP/MKL/OPENBLAS_NUM_THREADS for both tools")
    t.add_argument("--timeout", type=float, help="kill a run after this many seconds")
    t.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    a = ap.parse_args(argv)

    a.tools = (a.only,) if a.only else TOOLS
    if a.data is None and a.predict_library is None:
        ap.error("give --data (training comparison) and/or --predict-library (prediction throughput)")
    if a.data is not None:
        if not a.target:
            ap.error("--data needs --target")
        if not a.data.exists():
            ap.error(f"--data {a.data} does not exist")
        if a.epochs < 1:
            ap.error("--epochs must be at least 1")
        if abs(sum(a.split_sizes) - 1.0) > 1e-6 or min(a.split_sizes) <= 0:
            ap.error("--split-sizes must be positive and sum to 1")
    if a.predict_library is not None:
        if a.predict_library_valid is None:
            ap.error("--predict-library needs --predict-library-valid (the file without invalid SMILES)")
        for path in (a.predict_library, a.predict_library_valid):
            if not path.exists():
                ap.error(f"{path} does not exist")
    if "chemprop" in a.tools and shutil.which(shlex.split(a.chemprop_bin)[0]) is None:
        ap.error(f"chemprop not found: {a.chemprop_bin} (see --chemprop-bin)")
    if "gnn" in a.tools and shutil.which(shlex.split(a.gnn_bin)[0]) is None:
        ap.error(f"gnn not found: {a.gnn_bin} (see --gnn-bin, or --only chemprop)")
    a.workdir = a.workdir.resolve()
    return a


def main(argv=None) -> int:
    a = parse_args(argv)
    a.workdir.mkdir(parents=True, exist_ok=True)
    summary_path = a.workdir / "summary.json"
    summary: dict = {}
    if summary_path.exists():
        try:
            summary = json.loads(summary_path.read_text())
        except json.JSONDecodeError:
            summary = {}
    if not a.dry_run:
        summary["environment"] = {
            "python": sys.version.split()[0], "platform": platform.platform(),
            "cpu_count": os.cpu_count(), "threads": a.threads,
            "gnn_version": tool_version(shlex.split(a.gnn_bin)) if "gnn" in a.tools else None,
            "chemprop_version": tool_version(shlex.split(a.chemprop_bin)) if "chemprop" in a.tools else None,
        }
    failed = False

    if a.data is not None:
        df, data_report = load_dataset(a.data, a.smiles_col, a.target, not a.keep_unparsable)
        log(f"data: {data_report['rows_used']} of {data_report['rows_in_file']} rows used "
            f"(dropped: {data_report['dropped_empty_smiles']} empty SMILES, "
            f"{data_report['dropped_bad_target']} bad targets, "
            f"{data_report['dropped_unparsable_smiles']} unparsable SMILES)")
        fingerprint = {"data_sha256": sha256_file(a.data), "smiles_col": a.smiles_col, "target": a.target,
                       "epochs": a.epochs, "split_sizes": list(a.split_sizes), "rows_used": len(df),
                       "threads": a.threads}
        runs = []
        for seed in a.seeds:
            log(f"=== seed {seed} ===")
            runs.extend(train_seed(a, df, seed, fingerprint).values())
        if not a.dry_run:
            print(f"\n{a.data.name}: target {a.target!r}, {len(df)} rows, split "
                  f"{'/'.join(str(s) for s in a.split_sizes)}, {a.epochs} epochs, seeds {a.seeds}\n")
            agg = print_train_table(runs, a.tools)
            failed |= any(not r["ok"] for r in runs)
            summary["train"] = {"data": str(a.data), "data_report": data_report, "config": fingerprint,
                                "seeds": a.seeds, "gnn_args": a.gnn_args, "chemprop_args": a.chemprop_args,
                                "aggregate": agg, "runs": runs}

    if a.predict_library is not None:
        models = find_models(a, summary.get("train", {}).get("runs", []))
        pred = predict_library(a, models)
        if not a.dry_run:
            pred["models"] = models
            print_predict_table(pred, a.tools)
            failed |= any(not pred[t]["ok"] for t in a.tools if t in pred)
            prev = summary.get("predict") or {}
            if prev.get("library") == pred["library"]:  # keep the other tool's earlier result
                for t in TOOLS:
                    if t not in a.tools and t in prev:
                        pred[t] = prev[t]
                        pred["models"][t] = prev.get("models", {}).get(t)
            summary["predict"] = pred

    if not a.dry_run:
        summary_path.write_text(json.dumps(summary, indent=1))
        print(f"\nsummary: {summary_path}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
