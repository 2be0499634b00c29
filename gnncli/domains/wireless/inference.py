"""Running trained power-allocation policies: the test evaluation of ``gnn train``, and the outputs of
``gnn predict`` and ``gnn embed``.

``gnn predict RUN CHANNELS --out DIR`` writes into ``DIR``:

* ``powers.npz``, ``rates.npz``, ``duals.npz``: one ``[T, m]`` array per network (``network_0``,
  ``network_1``, ...; their sources in ``names``): powers in watts, rates in bps/Hz, and the dual
  variables in effect at each step;
* ``users.csv``: one row per user: its mean rate, whether it meets ``f_min``, mean power, final dual
  (and each baseline's mean rate with ``--baselines``);
* ``summary.json`` and ``summary.csv``: sum rate, mean rate, fraction of users meeting ``f_min``,
  5th-percentile and lowest user rate, for the policy (and the baselines);
* with ``--plot``: ``over_time.png`` (rates, constraint slack and duals over time) and ``cdf.png``
  (users' mean rates against the baselines).

Without ``--out``, the summary CSV goes to stdout.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from gnncli.domains.wireless.policy import DualDynamics, Execution, Scales, execute, execution_metrics, in_precision, make_batch
from gnncli.domains.wireless.rates import full_power, random_power, rates, summarize, wmmse
from gnncli.errors import OutputError, UsageError
from gnncli.io import atomic_open, atomic_path, write_json

BASELINES = ("full_power", "random", "wmmse")
#: WMMSE settings of every comparison the tool makes.
WMMSE_TOL, WMMSE_MAX_ITER = 1e-4, 1000
_METRIC_KEYS = ("satisfied", "sum_rate", "mean_rate", "p5", "min_rate", "violation", "loss")


def baseline_rates(G: torch.Tensor, *, seed: int = 0, which=BASELINES) -> dict[str, np.ndarray]:
    """Rates ``[B, T, m]`` of the baselines on ``G`` ``[B, T, m, m]`` (gains over noise): full power,
    random power (seeded) and WMMSE (per step, unconstrained sum rate, from full power)."""
    G = G.double()
    out = {}
    if "full_power" in which:
        out["full_power"] = rates(G, full_power(G)).numpy()
    if "random" in which:
        out["random"] = rates(G, random_power(G, torch.Generator().manual_seed(seed))).numpy()
    if "wmmse" in which:
        out["wmmse"] = rates(G, wmmse(G, tol=WMMSE_TOL, max_iter=WMMSE_MAX_ITER).q).numpy()
    return out


def _stats(metrics: dict) -> dict:
    return {k: metrics[k] for k in _METRIC_KEYS if k in metrics}


# ------------------------------------------------------------------------------- training's test


def evaluate_run(domain, ctx) -> dict:
    """Score the trained members on the test networks (members averaged), beside full power, random
    power and WMMSE; write ``test_summary.csv`` and the plots; return the summary."""
    from gnncli.runs import load_run
    from gnncli.train import plots
    from gnncli.train.evaluate import member_groups
    from gnncli.train.loop import resolve_device

    opts, data, task = ctx.opts, ctx.data, ctx.task
    trained = load_run(ctx.run)
    device = resolve_device(opts.loop.device)
    dyn = task.dynamics
    val_rates, val_mu, test_rates, test_mu, base = [], [], [], [], {k: [] for k in BASELINES}
    for (_, val_idx, test_idx), members in member_groups(opts, ctx.splits):
        models = [trained.models[m].to(device) for m in members]
        for idx, rates_out, mu_out, baselines in ((val_idx, val_rates, val_mu, False), (test_idx, test_rates, test_mu, True)):
            for batch in data.loader(idx, batch_size=64):
                run = execute(models, batch.gains, augmented=task.augmented, dynamics=dyn, scales=batch.scales, device=device)
                rates_out.extend(run.mean_rates())
                mu_out.extend(run.final_mu)
                if baselines:
                    for name, r in baseline_rates(batch.gains).items():
                        base[name].extend(r.mean(axis=1))
    val = _stats(execution_metrics(val_rates, val_mu, dyn.f_min)) if val_rates else {}
    test = _stats(execution_metrics(test_rates, test_mu, dyn.f_min)) if test_rates else {}
    baselines = {name: _stats(summarize(r, dyn.f_min)) for name, r in base.items() if r}
    rows = [{"method": task.mode, **test}] + [{"method": k, **v} for k, v in baselines.items()]
    with atomic_open(ctx.run / "test_summary.csv", "w", newline="") as handle:
        pd.DataFrame(rows).to_csv(handle, index=False)
    if opts.plots:
        history = pd.read_csv(ctx.run / "metrics.csv")
        plots.learning_curve(history, task.monitor, ctx.run / "learning_curve.png")
        if test_rates:
            _cdf_plot({task.mode: np.concatenate(test_rates), **{k: np.concatenate(v) for k, v in base.items() if v}},
                      dyn.f_min, ctx.run / "test_cdf.png")
    counts = data.counts
    n_train = "generated" if data.generated else len(ctx.splits[0][0])
    return {
        "run": str(ctx.run), "kind": domain.name, "task": task.mode, "model": opts.model.name, "monitor": task.monitor,
        "members": len(ctx.splits), "split": "generated" if data.generated else opts.split, "unit": "networks",
        "networks": {**counts, "train": n_train, "val": len(ctx.splits[0][1]), "test": len(ctx.splits[0][2])},
        "pairs": int(data.extra["networks"][0].shape[-1]), "f_min": dyn.f_min, "dual_step": dyn.step,
        "dual_window": dyn.window, "val": val, "test": test, "baselines": baselines,
    }


# ------------------------------------------------------------------------------- predict / embed


def _read(run, inputs: list[str], options: dict, settings):
    from gnncli.domains.wireless import WirelessDomain, _dynamics
    from gnncli.domains.wireless.channels import read_channels
    from gnncli.formats import check_format
    from gnncli.inference import require_inputs

    require_inputs(inputs, "channel files")
    fmt = check_format(settings.fmt, WirelessDomain.formats)
    domain_entry = run.config.get("domain", {})
    networks = read_channels(inputs, fmt, p_max_dbm=domain_entry.get("p_max_dbm"), noise_dbm=domain_entry.get("noise_dbm"))
    for net in networks:  # an option given now wins over the file and the run
        if options.get("p_max") is not None:
            net.p_max_dbm = float(options["p_max"])
        if options.get("noise") is not None:
            net.noise_dbm = float(options["noise"])
    dynamics = _dynamics(options, run.config["task"])
    return networks, dynamics, Scales.from_dict(domain_entry["scales"])


def _groups(networks, batch_size: int) -> list[list[int]]:
    """Indices of networks batched together: consecutive networks of the same shape."""
    groups: list[list[int]] = []
    for i, net in enumerate(networks):
        if groups and networks[groups[-1][-1]].gains.shape == net.gains.shape and len(groups[-1]) < max(1, batch_size):
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def run_policy(run, networks, dynamics: DualDynamics, scales: Scales, *, device, batch_size: int = 64,
               baselines: bool = False, reporter=None, precision: torch.dtype | None = None,
               ) -> tuple[list[Execution], dict[str, list[np.ndarray]], float]:
    """Each network's :class:`Execution` (``[1, T, m]`` arrays), the baselines' rates per network
    (``[T, m]``) when asked, and the seconds the policy took (running in ``precision``, None for
    float32: the models are converted once, not per batch of networks)."""
    from gnncli.progress import Reporter

    reporter = reporter or Reporter()
    bar = reporter.start("running the policy", len(networks))
    results: list[Execution | None] = [None] * len(networks)
    base: dict[str, list] = {k: [None] * len(networks) for k in BASELINES} if baselines else {}
    augmented = run.task.augmented
    spent = 0.0
    models = in_precision([m.to(device) for m in run.models], precision)
    for group in _groups(networks, batch_size):
        G = torch.from_numpy(np.stack([networks[i].snr_gains() for i in group]))
        started = time.perf_counter()
        ex = execute(models, G, augmented=augmented, dynamics=dynamics, scales=scales, device=device)
        spent += time.perf_counter() - started
        for k, i in enumerate(group):
            results[i] = Execution(ex.q[k : k + 1], ex.rates[k : k + 1], ex.mu[k : k + 1], ex.final_mu[k : k + 1])
        if baselines:
            for name, r in baseline_rates(G).items():
                for k, i in enumerate(group):
                    base[name][i] = r[k]
        reporter.advance(bar, len(group))
    reporter.finish(bar)
    return results, base, spent


def _out_dir(out) -> Path | None:
    if out is None or str(out) == "-":
        return None
    if hasattr(out, "write"):
        raise UsageError("wireless predictions are a folder of files: give --out DIR")
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise UsageError(f"--out {out}: exists and is not a folder (wireless predict writes a folder of files)")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{out}: cannot create the folder ({exc.strerror or exc})") from None
    return path


def _savez(path: Path, arrays: dict[str, np.ndarray]) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            np.savez(handle, **arrays)


def predict(run, inputs: list[str], out, *, options: dict, settings, reporter) -> dict:
    """Run the policy with the dual dynamics over every network of ``inputs`` and write the
    outputs listed in the module docstring. Returns counts and the summary."""
    from gnncli.inference import results_stream
    from gnncli.train.loop import precision_name, resolve_device, resolve_inference_precision

    device = resolve_device(settings.device)
    precision = resolve_inference_precision(options.get("precision") or "auto", device, run.models[0])
    networks, dynamics, scales = _read(run, inputs, options, settings)
    folder = _out_dir(out)
    want_baselines = bool(options.get("baselines") or options.get("plot"))
    results, base, spent = run_policy(run, networks, dynamics, scales, device=device, batch_size=settings.batch_size,
                                      baselines=want_baselines, reporter=reporter, precision=precision)
    mode = run.task.mode
    mean_rates = [r.mean_rates()[0] for r in results]
    methods = {mode: _stats(execution_metrics(mean_rates, [r.final_mu[0] for r in results], dynamics.f_min))}
    for name, per_net in base.items():
        methods[name] = _stats(summarize([r.mean(axis=0) for r in per_net], dynamics.f_min))
    table = pd.DataFrame([{"method": k, **v} for k, v in methods.items()])
    table.insert(1, "networks", len(networks))
    table.insert(2, "users", sum(n.pairs for n in networks))
    counts = {"rows": len(networks), "predicted": len(networks), "invalid": 0, "unit": "networks",
              "summary": methods, "policy_seconds": round(spent, 4), "precision": precision_name(precision)}
    if folder is None:
        with results_stream(None) as stream:
            table.to_csv(stream, index=False)
        return counts
    names = np.array([n.name for n in networks])
    _savez(folder / "powers.npz", {**{f"network_{k}": r.q[0] * networks[k].p_max_w for k, r in enumerate(results)}, "names": names})
    _savez(folder / "rates.npz", {**{f"network_{k}": r.rates[0] for k, r in enumerate(results)}, "names": names})
    _savez(folder / "duals.npz", {**{f"network_{k}": r.mu[0] for k, r in enumerate(results)}, "names": names})
    users = []
    for k, (net, r) in enumerate(zip(networks, results)):
        user_rates = r.mean_rates()[0]
        frame = pd.DataFrame({
            "network": net.name, "pair": np.arange(net.pairs), "mean_rate": user_rates,
            "meets_f_min": user_rates >= dynamics.f_min, "mean_power_w": r.q[0].mean(axis=0) * net.p_max_w,
            "final_dual": r.final_mu[0],
        })
        for name, per_net in base.items():
            frame[f"{name}_rate"] = per_net[k].mean(axis=0)
        users.append(frame)
    with atomic_open(folder / "users.csv", "w", newline="") as handle:
        pd.concat(users, ignore_index=True).to_csv(handle, index=False)
    with atomic_open(folder / "summary.csv", "w", newline="") as handle:
        table.to_csv(handle, index=False)
    write_json(folder / "summary.json", {
        "run": str(run.path), "task": mode, "f_min": dynamics.f_min, "dual_step": dynamics.step,
        "dual_window": dynamics.window, "precision": precision_name(precision), "methods": methods,
        "networks": [{"name": net.name, "pairs": net.pairs, "steps": net.steps, **_stats(summarize([mr], dynamics.f_min))}
                     for net, mr in zip(networks, mean_rates)],
    })
    if options.get("plot"):
        _time_plot(results, base, dynamics, mode, folder / "over_time.png")
        _cdf_plot({mode: np.concatenate(mean_rates), **{k: np.concatenate([r.mean(axis=0) for r in v]) for k, v in base.items()}},
                  dynamics.f_min, folder / "cdf.png")
    return counts


def embed(run, inputs: list[str], out_path: str, *, options: dict, settings, reporter) -> dict:
    """One vector per pair: member ``settings.member``'s node states averaged over time, with the
    duals of the run's execution over the same channels. ``.npy`` (rows in network then pair order)
    or ``.csv`` (``network``, ``pair``, ``emb_0`` ...)."""
    from gnncli.train.loop import resolve_device

    suffix = Path(out_path).suffix.lower()
    if suffix not in (".npy", ".csv"):
        raise UsageError(f"{out_path}: wireless embeddings are written as .npy or .csv")
    if not 0 <= settings.member < len(run.models):
        raise UsageError(f"--member {settings.member}: the run has {len(run.models)} member(s)")
    networks, dynamics, scales = _read(run, inputs, options, settings)
    device = resolve_device(settings.device)
    results, _, _ = run_policy(run, networks, dynamics, scales, device=device, batch_size=settings.batch_size, reporter=reporter)
    model = run.models[settings.member].to(device).eval()
    vectors, labels = [], []
    with torch.no_grad():
        for net, ex in zip(networks, results):
            G = torch.from_numpy(net.snr_gains()).unsqueeze(0).to(device)
            mu = torch.from_numpy(ex.mu).to(device) if run.task.augmented else None
            states = []
            for t0 in range(0, net.steps, 64):
                batch = make_batch(G[:, t0 : t0 + 64], scales, None if mu is None else mu[:, t0 : t0 + 64])
                h = model.embed(batch).float()
                states.append(h.view(-1, net.pairs, h.shape[-1]).cpu())
            vectors.append(torch.cat(states).mean(0).numpy())
            labels.extend((net.name, p) for p in range(net.pairs))
    matrix = np.concatenate(vectors).astype(np.float32)
    if suffix == ".npy":
        with atomic_path(out_path) as tmp:
            with open(tmp, "wb") as handle:
                np.save(handle, matrix)
    else:
        frame = pd.DataFrame(labels, columns=["network", "pair"])
        frame = pd.concat([frame, pd.DataFrame(matrix, columns=[f"emb_{i}" for i in range(matrix.shape[1])])], axis=1)
        with atomic_open(out_path, "w", newline="") as handle:
            frame.to_csv(handle, index=False)
    return {"rows": int(matrix.shape[0]), "embedded": int(matrix.shape[0]), "dim": int(matrix.shape[1]), "invalid": 0,
            "networks": len(networks)}


# ------------------------------------------------------------------------------- plots


def _pyplot():
    from gnncli.train.plots import _pyplot as pyplot

    return pyplot()


def _save(fig, path: Path) -> None:
    from gnncli.train.plots import _save as save

    save(fig, path)


def _cdf_plot(user_rates: dict[str, np.ndarray], f_min: float, path: Path) -> None:
    """Empirical CDF of users' mean rates, one line per method, with ``f_min`` marked."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, values in user_rates.items():
        x = np.sort(np.asarray(values))
        ax.step(x, np.arange(1, len(x) + 1) / len(x), where="post", label=name.replace("_", " "))
    ax.axvline(f_min, color="k", linestyle="--", linewidth=1, label=f"f_min = {f_min:g}")
    ax.set(xlabel="user's mean rate (bps/Hz)", ylabel="fraction of users", title="Users' long-run mean rates", xscale="symlog")
    ax.legend(fontsize=8)
    _save(fig, path)


def _time_plot(results: list[Execution], base: dict, dynamics: DualDynamics, mode: str, path: Path) -> None:
    """Over time, across all users: mean rate (policy and baselines), the slack of the running mean
    rate over ``f_min`` (median and 5th percentile), and the duals (mean and 95th percentile)."""
    T = min(r.rates.shape[1] for r in results)
    rate = np.concatenate([r.rates[0, :T] for r in results], axis=1)  # [T, users]
    mu = np.concatenate([r.mu[0, :T] for r in results], axis=1)
    running = np.cumsum(rate, axis=0) / np.arange(1, T + 1)[:, None]
    slack = running - dynamics.f_min
    steps = np.arange(1, T + 1)
    plt = _pyplot()
    fig, (a1, a2, a3) = plt.subplots(1, 3, figsize=(15, 4))
    a1.plot(steps, rate.mean(axis=1), label=mode)
    for name, per_net in base.items():
        a1.plot(steps, np.concatenate([r[:T] for r in per_net], axis=1).mean(axis=1), label=name.replace("_", " "), alpha=0.8)
    a1.set(xlabel="time step", ylabel="mean rate per user (bps/Hz)", title="Rates")
    a1.legend(fontsize=8)
    a2.plot(steps, np.median(slack, axis=1), label="median user")
    a2.plot(steps, np.percentile(slack, 5, axis=1), label="5th percentile")
    a2.axhline(0, color="k", linewidth=1)
    a2.set(xlabel="time step", ylabel="running mean rate - f_min", title="Constraint slack")
    a2.legend(fontsize=8)
    a3.plot(steps, mu.mean(axis=1), label="mean")
    a3.plot(steps, np.percentile(mu, 95, axis=1), label="95th percentile")
    a3.set(xlabel="time step", ylabel="dual variable", title="Duals")
    a3.legend(fontsize=8)
    _save(fig, path)
