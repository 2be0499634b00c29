"""What the dual dynamics reach with a near-exact Lagrangian maximizer in place of the policy.

At every time step, weighted WMMSE (weights 1 + mu, from full power, tolerance --tol) chooses the
powers that a perfect state-augmented policy would; the duals follow the same dynamics as
``gnn predict`` (start at 0, update every --dual-window steps with step --dual-step towards
--f-min). The statistics are those of ``gnn predict``'s summary, on a channel file (e.g. the
test file wireless_policy.py wrote). It shows how much of a shortfall is the policy's and how
much the setting's (horizon, density).

    python benchmarks/wireless_oracle.py /tmp/bench/wireless/test_m50_density_n100_T200_s1.npz
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

import wireless_common as wc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("channels", help="a channel file or folder (gnn channels writes them)")
    ap.add_argument("--f-min", type=float, default=0.75)
    ap.add_argument("--dual-step", type=float, default=2.0)
    ap.add_argument("--dual-window", type=int, default=5)
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--max-iter", type=int, default=1000)
    a = ap.parse_args()

    from gnncli.domains.wireless.channels import read_channels
    from gnncli.domains.wireless.rates import dual_update, rates, summarize, wmmse

    networks = read_channels(a.channels)
    G = torch.from_numpy(np.stack([n.snr_gains() for n in networks])).double()  # [B, T, m, m]
    B, T, m, _ = G.shape
    print("load before:", wc.load(), flush=True)
    started = time.time()
    mu = torch.zeros(B, m, dtype=torch.float64)
    window, history = [], []
    for t in range(T):
        r = rates(G[:, t], wmmse(G[:, t], weights=1 + mu, tol=a.tol, max_iter=a.max_iter).q)
        history.append(r)
        window.append(r)
        if (t + 1) % a.dual_window == 0:
            mu = dual_update(mu, torch.stack(window).mean(0), a.f_min, a.dual_step)
            window = []
    mean_rates = torch.stack(history, 1).mean(1).numpy()
    stats = summarize(list(mean_rates), a.f_min)
    print(f"{B} networks x {T} steps, m = {m}, f_min {a.f_min}, dual step {a.dual_step}, window {a.dual_window}, "
          f"weighted WMMSE tol {a.tol:g}; {time.time() - started:.0f} s")
    print(wc.table([("weighted WMMSE + dual dynamics", stats)], a.f_min))
    print(json.dumps(stats))
    print("load after:", wc.load())


if __name__ == "__main__":
    main()
