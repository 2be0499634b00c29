"""State-augmented power allocation against its baselines on generated networks.

Trains a state-augmented policy and a primal-dual policy without state augmentation with
``gnn train --kind wireless`` (same networks per batch, same steps), generates seeded test
networks as ``gnn channels`` does, and runs ``gnn predict --baselines`` on them: mean sum rate,
mean rate per user, fraction of users whose long-run mean rate meets f_min, 5th-percentile and
lowest user rate, for the two policies, full power, random power and WMMSE (unconstrained, for
scale). Run folders and the test file are kept in --workdir and reused.

    python benchmarks/wireless_policy.py --pairs 50 --layout density --test-networks 100 \\
        --test-steps 200 --workdir /tmp/bench/wireless
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import wireless_common as wc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=50)
    ap.add_argument("--layout", default="density", choices=["area", "density"])
    ap.add_argument("--test-networks", type=int, default=100)
    ap.add_argument("--test-steps", type=int, default=200, help="time steps per test network (the long-run horizon)")
    ap.add_argument("--test-seed", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--steps-per-epoch", type=int, default=50)
    ap.add_argument("--batch-size", type=int, default=16, help="state-augmented: networks per batch")
    ap.add_argument("--episode", type=int, default=10, help="state-augmented: time steps per network in a batch")
    ap.add_argument("--pd-batch-size", type=int, default=4, help="primal-dual: networks per batch")
    ap.add_argument("--pd-episode", type=int, default=40, help="primal-dual: time steps per network (its dual dynamics)")
    ap.add_argument("--depth", type=int, default=3, help="graph layers of the policies")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workdir", type=Path, required=True)
    ap.add_argument("--skip-primal-dual", action="store_true")
    a = ap.parse_args()

    work = a.workdir
    work.mkdir(parents=True, exist_ok=True)
    tag = f"m{a.pairs}_{a.layout}" + (f"_depth{a.depth}" if a.depth != 3 else "")
    print("load before:", wc.load(), flush=True)
    trained = {}
    common = dict(pairs=a.pairs, layout=a.layout, epochs=a.epochs, steps_per_epoch=a.steps_per_epoch, seed=a.seed,
                  depth=a.depth)
    trained["state-augmented"] = wc.train_policy(work / f"sa_{tag}", task="state-augmented", batch_size=a.batch_size,
                                                 episode=a.episode, **common)
    if not a.skip_primal_dual:
        trained["primal-dual"] = wc.train_policy(work / f"pd_{tag}", task="primal-dual", batch_size=a.pd_batch_size,
                                                 episode=a.pd_episode, **common)
    for name, s in trained.items():
        print(f"{name}: trained in {s.get('train_wall_s', 'earlier run')} s, val {json.dumps(s['val'])}", flush=True)
    channels = wc.test_networks(work / f"test_m{a.pairs}_{a.layout}_n{a.test_networks}_T{a.test_steps}_s{a.test_seed}.npz", pairs=a.pairs,
                                layout=a.layout, networks=a.test_networks, steps=a.test_steps, seed=a.test_seed)
    results = {}
    sa = wc.predict(work / f"sa_{tag}", channels, work / f"pred_sa_{tag}", baselines=True)
    results.update(sa["methods"])
    if not a.skip_primal_dual:
        pd_ = wc.predict(work / f"pd_{tag}", channels, work / f"pred_pd_{tag}", baselines=False)
        results["primal-dual"] = pd_["methods"]["primal-dual"]
    order = ["state-augmented", "primal-dual", "full_power", "random", "wmmse"]
    names = {"state-augmented": "state-augmented GNN", "primal-dual": "primal-dual GNN (not augmented)",
             "full_power": "full power", "random": "random power", "wmmse": "WMMSE (unconstrained)"}
    rows = [(names[k], results[k]) for k in order if k in results]
    print(f"\nm = {a.pairs} pairs ({a.layout}), {a.test_networks} test networks x {a.test_steps} steps (seed {a.test_seed}), "
          f"f_min {sa['f_min']}, dual step {sa['dual_step']}, window {sa['dual_window']}")
    print(wc.table(rows, sa["f_min"]))
    print("load after:", wc.load())
    (work / f"results_{tag}.json").write_text(json.dumps({"args": {k: str(v) for k, v in vars(a).items()},
                                                          "trained": {k: v.get("val") for k, v in trained.items()},
                                                          "test": results}, indent=2))


if __name__ == "__main__":
    main()
