"""Decision time per network: a trained power-allocation policy (batched, CPU) against WMMSE run to
convergence on the same channel matrices.

A decision is one network's powers for one time step: the policy's forward pass over the
interference graph (with the duals as inputs) and its scores made powers, or WMMSE iterated until its sum rate changes by
less than each of --tols (relative) or --max-iter. Each is timed batched over all the matrices
(WMMSE vectorized, problems leaving its batch as they converge) and one decision at a time (the
first --single); medians of the repeats are reported per decision, with the load of the machine.
The policy is timed in each --precision (as ``gnn predict --precision``; ``auto`` is bf16 on CPUs
that multiply bf16 natively, float32 elsewhere).

    python benchmarks/wireless_speed.py --run /tmp/bench/wireless/sa_m50_density --pairs 50 \\
        --layout density --networks 100 --steps 20
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch

import wireless_common as wc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", required=True, help="a wireless run folder (gnn train --kind wireless)")
    ap.add_argument("--pairs", type=int, default=50)
    ap.add_argument("--layout", default="density", choices=["area", "density"])
    ap.add_argument("--networks", type=int, default=100)
    ap.add_argument("--steps", type=int, default=20, help="time steps per network: networks x steps decisions")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--batch", type=int, default=500, help="graphs per policy forward pass")
    ap.add_argument("--tols", type=float, nargs="+", default=[1e-4, 1e-6], help="WMMSE tolerances (relative sum-rate change)")
    ap.add_argument("--max-iter", type=int, default=10000)
    ap.add_argument("--single", type=int, default=50, help="decisions timed one at a time")
    ap.add_argument("--repeats", type=int, default=5, help="policy timings (median)")
    ap.add_argument("--wmmse-repeats", type=int, default=3, help="vectorized WMMSE timings (median)")
    ap.add_argument("--precision", nargs="+", default=["fp32", "auto"], choices=["auto", "fp32", "bf16"],
                    help="the policy's arithmetic, each timed (as gnn predict --precision)")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own choice)")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)

    from gnncli.domains.wireless.generator import ChannelConfig, generate
    from gnncli.domains.wireless.policy import Scales, in_precision, make_batch, policy_powers
    from gnncli.domains.wireless.rates import rates, wmmse
    from gnncli.runs import load_run
    from gnncli.train.loop import precision_name, resolve_inference_precision

    run = load_run(a.run)
    model = run.models[0].eval()
    scales = Scales.from_dict(run.config["domain"]["scales"])
    config = ChannelConfig(pairs=a.pairs, layout=a.layout, steps=a.steps)
    G = torch.from_numpy(generate(config, a.networks, a.seed)["gains"] * np.float32(config.snr))  # [n, T, m, m]
    flat = G.reshape(-1, 1, a.pairs, a.pairs)  # every decision a graph
    n = flat.shape[0]
    mu = torch.from_numpy(np.random.default_rng(0).exponential(1.0, (n, a.pairs)).astype(np.float32))
    print("load before:", wc.load(), flush=True)
    print(f"{n} decisions ({a.networks} networks x {a.steps} steps), m = {a.pairs}, torch threads {torch.get_num_threads()}")

    k = min(a.single, n)
    out = {"decisions": n, "pairs": a.pairs, "hidden": run.config["model"]["hidden"], "depth": run.config["model"]["depth"],
           "policy": {}, "wmmse": []}
    for spec in a.precision:
        dtype = resolve_inference_precision(spec, torch.device("cpu"), model)
        policy_model = in_precision([model], dtype)  # as gnn predict runs it

        def policy(_models=policy_model) -> None:
            with torch.inference_mode():
                for start in range(0, n, a.batch):
                    policy_powers(_models, make_batch(flat[start : start + a.batch], scales, mu[start : start + a.batch]))

        def policy_one_by_one(_models=policy_model) -> None:
            with torch.inference_mode():
                for i in range(k):
                    policy_powers(_models, make_batch(flat[i : i + 1], scales, mu[i : i + 1]))

        policy()  # warm up
        t_policy, all_policy = wc.median_time(policy, a.repeats)
        t_single, _ = wc.median_time(policy_one_by_one, a.repeats)
        out["policy"][spec] = {"precision": precision_name(dtype), "batched_us": 1e6 * t_policy / n,
                               "one_at_a_time_us": 1e6 * t_single / k, "times_s": [round(t, 4) for t in all_policy]}
    G64 = flat[:, 0].double()
    for tol in a.tols:
        result = {}

        def solve(_tol=tol) -> None:
            result["r"] = wmmse(G64, tol=_tol, max_iter=a.max_iter)

        t_vec, all_vec = wc.median_time(solve, a.wmmse_repeats)
        its = result["r"].iterations.numpy()

        def solve_one_by_one(_tol=tol) -> None:
            for i in range(k):
                wmmse(G64[i], tol=_tol, max_iter=a.max_iter)

        t_one, _ = wc.median_time(solve_one_by_one, 1)
        out["wmmse"].append({
            "tol": tol, "max_iter": a.max_iter, "iterations_median": float(np.median(its)),
            "iterations_p95": float(np.percentile(its, 95)), "converged": float(result["r"].converged.double().mean()),
            "sum_rate": float(rates(G64, result["r"].q).sum(-1).mean()),
            "vectorized_us": 1e6 * t_vec / n, "one_at_a_time_us": 1e6 * t_one / k,
            "vectorized_times_s": [round(t, 3) for t in all_vec],
        })
    print(json.dumps(out, indent=1))
    for spec, p in out["policy"].items():
        print(f"policy, --precision {spec} ({p['precision']}): {p['batched_us']:.1f} us per decision batched "
              f"({a.batch} graphs per pass), {p['one_at_a_time_us']:.0f} us one at a time")
    for w in out["wmmse"]:
        print(f"WMMSE tol {w['tol']:g} (median {w['iterations_median']:.0f} iterations, sum rate {w['sum_rate']:.1f}): "
              f"{w['vectorized_us']:.0f} us per decision vectorized, {w['one_at_a_time_us']:.0f} us one at a time")
        for spec, p in out["policy"].items():
            print(f"  = {w['vectorized_us'] / p['batched_us']:.1f}x (vectorized) and {w['one_at_a_time_us'] / p['batched_us']:.0f}x "
                  f"(one at a time) the batched policy in {p['precision']}")
    print("load after:", wc.load())


if __name__ == "__main__":
    main()
