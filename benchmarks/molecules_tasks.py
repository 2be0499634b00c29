#!/usr/bin/env python3
"""Chemprop 2's task types on real data: gnn, and Chemprop 2 where both train the same thing.

    python benchmarks/molecules_tasks.py --esol ../shared/data/molecules/delaney-processed.csv \\
        --tox21 ../shared/data/molecules/tox21.csv --seeds 0 1 2 --epochs 50 \\
        --workdir /tmp/bench/tasks --chemprop-bin ~/venvs/chemprop/bin/chemprop

Per seed S, ESOL (1,128 molecules; target ``measured log solubility in mols per litre``, logS) is
split 80/10/10 with ``numpy.random.default_rng(S).permutation`` (as ``chemprop_compare.py``),
written once with a ``split`` column (gnn: ``--split-col split``) and as Chemprop's
``splits.json``, and these runs go one after another, each timed as a whole process
(``measure.py``: wall time, peak RSS of the process tree, 1-minute load average before it):

* multiclass: ``solubility_class`` derived from logS in three bins, 0: logS < -4 (poorly
  soluble), 1: -4 <= logS < -2, 2: logS >= -2 (30 / 37 / 33 % of the rows).
  ``gnn train --target solubility_class`` (inferred multiclass) and ``chemprop train
  --task-type multiclass --multiclass-num-classes 3``; both scored here with
  ``gnncli.train.metrics.multiclass_scores`` on their test predictions.
* MVE: ``gnn train --task regression-mve`` and ``chemprop train --task-type regression-mve``
  (then ``chemprop predict --uncertainty-method mve`` on the test rows for its variances, timed
  apart); both scored here: RMSE, Gaussian NLL, miscalibration area, Spearman(|error|, variance).
* computed features: ``gnn train`` on logS without, with ``--molecule-features morgan`` and with
  ``--molecule-features rdkit2d``.

tox21 (7,831 molecules, 12 labels with gaps): ``gnn train tox21.csv --split random --seed S`` on
every label (multi-label, as the README's other runs), mean test ROC-AUC.

Every command's logs stay in ``WORKDIR``; ``WORKDIR/summary.json`` holds every record and the
script prints Markdown tables. ``--only esol|tox21`` runs one part; ``--resume`` reuses finished runs.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from measure import measure  # noqa: E402

from gnncli.train.metrics import multiclass_scores, uncertainty_scores  # noqa: E402

LOGS = "measured log solubility in mols per litre"
BINS = (-4.0, -2.0)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def run(cmd: list[str], folder: Path, name: str, resume: bool) -> dict:
    """Run ``cmd`` once (logs in ``folder``), or reuse a finished record of the same command."""
    record_path = folder / f"{name}.json"
    if resume and record_path.exists():
        old = json.loads(record_path.read_text())
        if old.get("cmd") == cmd and old.get("returncode") == 0:
            log(f"{name}: reusing {record_path}")
            return old
    load = os.getloadavg()[0]
    log(f"{name}: {shlex.join(cmd)}")
    res = measure(cmd, stdout_path=folder / f"{name}.stdout.log", stderr_path=folder / f"{name}.stderr.log")
    record = {"cmd": cmd, "wall_s": res["wall_s"], "peak_rss_mb": res["peak_rss_mb"], "returncode": res["returncode"],
              "loadavg_1min_before": round(load, 2)}
    if res["returncode"] != 0:
        tail = (folder / f"{name}.stderr.log").read_text(errors="replace").strip().splitlines()[-3:]
        raise SystemExit(f"{name} failed ({res['returncode']}): {' | '.join(tail)}")
    record_path.write_text(json.dumps(record, indent=1))
    log(f"{name}: {res['wall_s']:.1f} s (load {load:.2f})")
    return record


def gnn_json(folder: Path, name: str) -> dict:
    lines = [line for line in (folder / f"{name}.stdout.log").read_text().splitlines() if line.startswith("{")]
    return json.loads(lines[-1])


def esol_seed(a, frame: pd.DataFrame, seed: int) -> dict:
    folder = a.workdir / "esol" / f"seed{seed}"
    folder.mkdir(parents=True, exist_ok=True)
    perm = np.random.default_rng(seed).permutation(len(frame))
    n_train, n_val = int(0.8 * len(frame)), int(0.1 * len(frame))
    split = {"train": perm[:n_train], "val": perm[n_train:n_train + n_val], "test": perm[n_train + n_val:]}
    labels = np.empty(len(frame), dtype=object)
    for name, rows in split.items():
        labels[rows] = name
    data = folder / "data.csv"
    frame.assign(split=labels).to_csv(data, index=False, float_format="%.10g")
    (folder / "splits.json").write_text(json.dumps([{k: [int(i) for i in v] for k, v in split.items()}]))
    test = split["test"]
    gnn = shlex.split(a.gnn_bin)
    common = ["train", str(data), "--smiles-col", "smiles", "--split-col", "split", "--epochs", str(a.epochs),
              "--seed", str(seed), "--json", "--no-plots"]
    cp = shlex.split(a.chemprop_bin)
    cp_common = ["train", "-i", str(data), "-s", "smiles", "--splits-file", str(folder / "splits.json"),
                 "--epochs", str(a.epochs), "--pytorch-seed", str(seed), "--data-seed", str(seed)]
    out: dict = {"seed": seed, "n_test": int(len(test))}

    # multiclass
    rec = run(gnn + common + ["--target", "solubility_class", "--out", str(folder / "gnn_mc")], folder, "gnn_mc", a.resume)
    summary = gnn_json(folder, "gnn_mc")
    assert summary["task"] == "multiclass", summary["task"]
    preds = pd.read_csv(folder / "gnn_mc" / "test_predictions.csv")
    probs = preds[[f"solubility_class_class_{c}" for c in range(3)]].to_numpy()[:, None, :]
    truth = frame["solubility_class"].to_numpy()[preds["row"].to_numpy()][:, None]
    out["gnn_mc"] = {**rec, "test": multiclass_scores(truth, probs, np.ones_like(truth, bool), ["c"]),
                     "test_reported": summary["test"]}
    if "chemprop" in a.tools:
        rec = run(cp + cp_common + ["--target-columns", "solubility_class", "--task-type", "multiclass",
                                    "--multiclass-num-classes", "3", "-o", str(folder / "cp_mc")], folder, "cp_mc", a.resume)
        preds = pd.read_csv(folder / "cp_mc" / "model_0" / "test_predictions.csv")
        assert np.array_equal(preds["smiles"].to_numpy(), frame["smiles"].to_numpy()[test])
        probs = np.array([[float(v) for v in text.split(",")] for text in preds["solubility_class_prob"]])[:, None, :]
        truth = frame["solubility_class"].to_numpy()[test][:, None]
        out["cp_mc"] = {**rec, "test": multiclass_scores(truth, probs, np.ones_like(truth, bool), ["c"])}

    # mean-variance estimation
    rec = run(gnn + common + ["--target", LOGS, "--task", "regression-mve", "--out", str(folder / "gnn_mve")],
              folder, "gnn_mve", a.resume)
    preds = pd.read_csv(folder / "gnn_mve" / "test_predictions.csv")
    y = frame[LOGS].to_numpy()[preds["row"].to_numpy()][:, None]
    mean, var = preds[[f"{LOGS}_pred"]].to_numpy(), preds[[f"{LOGS}_var"]].to_numpy()
    out["gnn_mve"] = {**rec, "test": {"rmse": float(np.sqrt(np.mean((y - mean) ** 2))),
                                      **uncertainty_scores(y, mean, var, np.ones_like(y, bool), ["logS"])},
                      "test_reported": gnn_json(folder, "gnn_mve")["test"]}
    if "chemprop" in a.tools:
        rec = run(cp + cp_common + ["--target-columns", LOGS, "--task-type", "regression-mve", "-o", str(folder / "cp_mve")],
                  folder, "cp_mve", a.resume)
        test_csv = folder / "test_rows.csv"
        frame.iloc[test][["smiles", LOGS]].to_csv(test_csv, index=False, float_format="%.10g")
        pred = run(cp + ["predict", "-i", str(test_csv), "-s", "smiles", "--model-paths",
                         str(folder / "cp_mve" / "model_0" / "best.pt"), "--uncertainty-method", "mve",
                         "-o", str(folder / "cp_mve_test.csv")], folder, "cp_mve_predict", a.resume)
        preds = pd.read_csv(folder / "cp_mve_test.csv")
        y = frame[LOGS].to_numpy()[test][:, None]
        mean, var = preds[[LOGS]].to_numpy(), preds[[f"{LOGS}_unc"]].to_numpy()
        out["cp_mve"] = {**rec, "predict_wall_s": pred["wall_s"],
                         "test": {"rmse": float(np.sqrt(np.mean((y - mean) ** 2))),
                                  **uncertainty_scores(y, mean, var, np.ones_like(y, bool), ["logS"])}}

    # Morgan count features (or RDKit 2D descriptors) added, or not
    for name, extra in (("gnn_plain", []), ("gnn_morgan", ["--molecule-features", "morgan"]),
                        ("gnn_rdkit2d", ["--molecule-features", "rdkit2d"])):
        rec = run(gnn + common + ["--target", LOGS, *extra, "--out", str(folder / name)], folder, name, a.resume)
        out[name] = {**rec, "test": gnn_json(folder, name)["test"]}
    (folder / "result.json").write_text(json.dumps(out, indent=1))
    return out


def tox21_seed(a, seed: int) -> dict:
    folder = a.workdir / "tox21"
    folder.mkdir(parents=True, exist_ok=True)
    name = f"seed{seed}"
    cmd = shlex.split(a.gnn_bin) + ["train", str(a.tox21), "--split", "random", "--seed", str(seed), "--epochs",
                                    str(a.epochs), "--json", "--no-plots", "--out", str(folder / name)]
    rec = run(cmd, folder, name, a.resume)
    summary = gnn_json(folder, name)
    return {**rec, "seed": seed, "task": summary["task"], "targets": len(summary["targets"]),
            "molecules": summary["molecules"], "test_roc_auc": summary["test"]["roc_auc"]}


def mean_sd(values) -> str:
    values = [v for v in values if v is not None and np.isfinite(v)]
    if not values:
        return "-"
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.fmean(values):.3f} ± {sd:.3f}"


def report(esol: list[dict], tox: list[dict]) -> None:
    if esol:
        print("\n### multiclass: ESOL solubility class (logS < -4, -4..-2, >= -2)\n")
        print("| seed | gnn accuracy | Chemprop accuracy | gnn macro-F1 | Chemprop macro-F1 | gnn ROC-AUC | Chemprop ROC-AUC | gnn wall | Chemprop wall | load before (gnn, Chemprop) |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for r in esol:
            g, c = r["gnn_mc"], r.get("cp_mc")
            cells = [f"{g['test'][m]:.3f}" + (f" | {c['test'][m]:.3f}" if c else " | -") for m in ("accuracy", "macro_f1", "roc_auc")]
            print(f"| {r['seed']} | " + " | ".join(cells) + f" | {g['wall_s']:.1f} s | " + (f"{c['wall_s']:.1f} s" if c else "-")
                  + f" | {g['loadavg_1min_before']}, " + (f"{c['loadavg_1min_before']}" if c else "-") + " |")
        for tool in ("gnn_mc", "cp_mc"):
            if all(tool in r for r in esol):
                print(f"\n{tool}: accuracy {mean_sd([r[tool]['test']['accuracy'] for r in esol])}, macro-F1 "
                      f"{mean_sd([r[tool]['test']['macro_f1'] for r in esol])}, ROC-AUC {mean_sd([r[tool]['test']['roc_auc'] for r in esol])}, "
                      f"wall median {statistics.median(r[tool]['wall_s'] for r in esol):.1f} s")
        print("\n### MVE: ESOL logS with a predicted variance\n")
        print("| seed | tool | RMSE | NLL | miscalibration area | Spearman | train wall | load before |")
        print("|---|---|---|---|---|---|---|---|")
        for r in esol:
            for tool, label in (("gnn_mve", "gnn"), ("cp_mve", "Chemprop")):
                if tool in r:
                    t = r[tool]["test"]
                    print(f"| {r['seed']} | {label} | {t['rmse']:.3f} | {t['nll']:.3f} | {t['miscalibration_area']:.3f} | "
                          f"{t['spearman']:.3f} | {r[tool]['wall_s']:.1f} s | {r[tool]['loadavg_1min_before']} |")
        for tool in ("gnn_mve", "cp_mve"):
            if all(tool in r for r in esol):
                print(f"\n{tool}: " + ", ".join(f"{m} {mean_sd([r[tool]['test'][m] for r in esol])}"
                                               for m in ("rmse", "nll", "miscalibration_area", "spearman"))
                      + f", wall median {statistics.median(r[tool]['wall_s'] for r in esol):.1f} s")
        print("\n### ESOL logS with and without computed molecule features\n")
        print("| seed | RMSE without | RMSE with morgan | RMSE with rdkit2d | wall without | wall with morgan | wall with rdkit2d |")
        print("|---|---|---|---|---|---|---|")
        for r in esol:
            print(f"| {r['seed']} | {r['gnn_plain']['test']['rmse']:.3f} | {r['gnn_morgan']['test']['rmse']:.3f} | "
                  f"{r['gnn_rdkit2d']['test']['rmse']:.3f} | {r['gnn_plain']['wall_s']:.1f} s | "
                  f"{r['gnn_morgan']['wall_s']:.1f} s | {r['gnn_rdkit2d']['wall_s']:.1f} s |")
        print(f"\nwithout: {mean_sd([r['gnn_plain']['test']['rmse'] for r in esol])}; "
              f"with morgan: {mean_sd([r['gnn_morgan']['test']['rmse'] for r in esol])}; "
              f"with rdkit2d: {mean_sd([r['gnn_rdkit2d']['test']['rmse'] for r in esol])}")
    if tox:
        print("\n### tox21, 12 labels (multi-label), random split\n")
        print("| seed | test ROC-AUC (mean of 12) | wall | load before |")
        print("|---|---|---|---|")
        for r in tox:
            print(f"| {r['seed']} | {r['test_roc_auc']:.3f} | {r['wall_s']:.1f} s | {r['loadavg_1min_before']} |")
        print(f"\nmean: {mean_sd([r['test_roc_auc'] for r in tox])}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--esol", type=Path)
    ap.add_argument("--tox21", type=Path)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--epochs", type=int, default=50)
    ap.add_argument("--workdir", type=Path, required=True)
    ap.add_argument("--gnn-bin", default=f"{sys.executable} -m gnncli.cli.main")
    ap.add_argument("--chemprop-bin", default=os.environ.get("CHEMPROP_BIN", "chemprop"))
    ap.add_argument("--only", choices=["esol", "tox21"])
    ap.add_argument("--no-chemprop", action="store_true")
    ap.add_argument("--resume", action="store_true")
    a = ap.parse_args()
    a.workdir = a.workdir.resolve()
    a.tools = ("gnn",) if a.no_chemprop else ("gnn", "chemprop")
    esol, tox = [], []
    if a.esol and a.only in (None, "esol"):
        frame = pd.read_csv(a.esol)[["smiles", LOGS]]
        frame["smiles"] = frame["smiles"].str.strip()
        frame["solubility_class"] = np.digitize(frame[LOGS], BINS)
        log(f"ESOL: {len(frame)} rows; classes {np.bincount(frame['solubility_class']).tolist()}")
        for seed in a.seeds:
            esol.append(esol_seed(a, frame, seed))
    if a.tox21 and a.only in (None, "tox21"):
        for seed in a.seeds:
            tox.append(tox21_seed(a, seed))
    summary = {"epochs": a.epochs, "seeds": a.seeds, "cpu_count": os.cpu_count(), "esol": esol, "tox21": tox}
    (a.workdir / "summary.json").write_text(json.dumps(summary, indent=1))
    report(esol, tox)


if __name__ == "__main__":
    main()
