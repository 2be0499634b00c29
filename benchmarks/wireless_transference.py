"""Transference: a state-augmented policy trained at one network size runs, without retraining, at
another, against a policy trained at the target size.

Two setups (the GNN lectures'): constant density, m = 50 -> 200 pairs (the square grows as
sqrt(m)); constant area, m = 20 -> 50 pairs (a 500 m square). For each, both policies run with the
dual dynamics on the same seeded test networks of the target size (``gnn predict``), and the
script reports sum rate, users meeting f_min and the 5th-percentile rate. Run folders are kept in
--workdir and reused (wireless_policy.py's m = 50 constant-density run is reused when present).

    python benchmarks/wireless_transference.py --workdir /tmp/bench/wireless
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import wireless_common as wc

SETUPS = {"density": (50, 200), "area": (20, 50)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", type=Path, required=True)
    ap.add_argument("--setups", nargs="+", default=["density", "area"], choices=sorted(SETUPS))
    ap.add_argument("--test-networks", type=int, nargs=2, default=[20, 100], metavar=("DENSITY", "AREA"),
                    help="test networks at the target size of each setup (m = 200 networks are 16x larger)")
    ap.add_argument("--test-steps", type=int, default=200)
    ap.add_argument("--test-seed", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--steps-per-epoch", type=int, default=50)
    ap.add_argument("--batch-size", type=int, default=16, help="networks per batch (divided by 4 at m = 200)")
    ap.add_argument("--episode", type=int, default=10)
    ap.add_argument("--depth", type=int, default=3, help="graph layers of the policies")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()

    work = a.workdir
    work.mkdir(parents=True, exist_ok=True)
    print("load before:", wc.load(), flush=True)
    report = {}
    for setup in a.setups:
        source, target = SETUPS[setup]
        n_test = a.test_networks[0] if setup == "density" else a.test_networks[1]
        runs = {}
        for m in (source, target):
            batch = max(1, a.batch_size // 4) if m >= 200 else a.batch_size
            runs[m] = work / (f"sa_m{m}_{setup}" + (f"_depth{a.depth}" if a.depth != 3 else ""))
            s = wc.train_policy(runs[m], pairs=m, layout=setup, task="state-augmented", epochs=a.epochs,
                                steps_per_epoch=a.steps_per_epoch, batch_size=batch, episode=a.episode, seed=a.seed,
                                val_networks=16 if m < 200 else 4, depth=a.depth)
            print(f"trained at m = {m} ({setup}): {s.get('train_wall_s', 'earlier run')} s", flush=True)
        channels = wc.test_networks(work / f"test_m{target}_{setup}_n{n_test}_T{a.test_steps}_s{a.test_seed}.npz",
                                    pairs=target, layout=setup, networks=n_test, steps=a.test_steps, seed=a.test_seed)
        rows = []
        for m in (source, target):
            out = wc.predict(runs[m], channels, work / f"pred_{runs[m].name}_on_m{target}", baselines=(m == target),
                             batch_size=4 if target >= 200 else 64)
            rows.append((f"trained at m = {m}", out["methods"]["state-augmented"]))
            if m == target:
                rows.append(("full power", out["methods"]["full_power"]))
                rows.append(("WMMSE (unconstrained)", out["methods"]["wmmse"]))
        f_min = out["f_min"]
        print(f"\nconstant {setup}: {source} -> {target} pairs, {n_test} test networks x {a.test_steps} steps "
              f"(seed {a.test_seed}), policies of depth {a.depth}")
        print(wc.table(rows, f_min))
        report[setup] = {name: stats for name, stats in rows}
    print("load after:", wc.load())
    (work / f"results_transference_{'_'.join(a.setups)}_depth{a.depth}.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
