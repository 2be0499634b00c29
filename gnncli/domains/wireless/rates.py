"""Rates of an interference network, the dual update, and the classical baselines (full power,
random power, WMMSE).

Conventions, used throughout :mod:`gnncli.domains.wireless`:

* ``G`` holds channel gains in units of the noise at full power, ``G[..., j, i] = P_max |h_ji|^2 / N``:
  **rows are transmitters, columns receivers**, the diagonal is each pair's direct link. Leading
  dimensions (networks, time steps) are batch dimensions.
* ``q`` holds powers as fractions of ``P_max`` (``q = p / P_max`` in [0, 1]), ``[..., m]``.
* Receiver i's rate in bps/Hz is

  .. math::
      f_i(H, p) = \\log_2\\Bigl(1 + \\frac{p_i |h_{ii}|^2}{N + \\sum_{j \\ne i} p_j |h_{ji}|^2}\\Bigr)
               = \\log_2\\Bigl(1 + \\frac{q_i G_{ii}}{1 + \\sum_{j \\ne i} q_j G_{ji}}\\Bigr).

Everything takes and returns torch tensors (numpy arrays are accepted and converted), so the same
functions serve training (with gradients), evaluation and the baselines.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor


def as_tensor(x, dtype: torch.dtype | None = None) -> Tensor:
    """``x`` as a tensor (numpy arrays shared, not copied, where the dtype allows)."""
    if isinstance(x, Tensor):
        return x if dtype is None else x.to(dtype)
    t = torch.from_numpy(np.ascontiguousarray(x))
    return t if dtype is None else t.to(dtype)


def sinr(G: Tensor, q: Tensor) -> Tensor:
    """Signal to interference plus noise ratio of every receiver.

    Args:
        G: ``[..., m, m]`` gains over noise at full power (rows transmitters, columns receivers).
        q: ``[..., m]`` powers as fractions of ``P_max``.

    Returns:
        ``[..., m]``.
    """
    direct = torch.diagonal(G, dim1=-2, dim2=-1)
    received = (q.unsqueeze(-2) @ G).squeeze(-2)  # sum_j q_j G_ji: every transmitter heard at receiver i
    signal = q * direct
    interference = (received - signal).clamp_min(0.0)  # rounding can make it a hair below 0
    return signal / (1.0 + interference)


def rates(G: Tensor, q: Tensor) -> Tensor:
    """Rates in bps/Hz, ``[..., m]`` (see the module docstring for the formula)."""
    return torch.log2(1.0 + sinr(G, q))


def dual_update(mu: Tensor, mean_rates: Tensor, f_min: float, step: float) -> Tensor:
    """One projected dual descent step: ``mu <- [mu - step * (mean_rates - f_min)]_+``.

    ``mean_rates`` is each user's mean rate over the last window of time steps; a user below
    ``f_min`` has its dual variable raised, one above it lowered, never below zero.
    """
    return (mu - step * (mean_rates - f_min)).clamp_min(0.0)


# ------------------------------------------------------------------------------- baselines


def full_power(G: Tensor) -> Tensor:
    """Every transmitter at ``P_max``: ``q = 1``, ``[..., m]``."""
    return torch.ones(G.shape[:-1], dtype=G.dtype, device=G.device)


def random_power(G: Tensor, generator: torch.Generator) -> Tensor:
    """Powers drawn uniformly in [0, P_max], independently per transmitter and step, ``[..., m]``."""
    return torch.rand(G.shape[:-1], generator=generator, dtype=G.dtype).to(G.device)


@dataclass
class WMMSEResult:
    """Powers found by :func:`wmmse` (``q``, ``[..., m]``), the iterations each problem took to
    converge (``iterations``, ``[...]``; ``max_iter`` where it did not) and whether it did."""

    q: Tensor
    iterations: Tensor
    converged: Tensor


@torch.no_grad()
def wmmse(
    G: Tensor, *, weights: Tensor | None = None, tol: float = 1e-4, max_iter: int = 1000, q0: Tensor | None = None,
) -> WMMSEResult:
    """Weighted minimum mean-square error power allocation (Shi, Razaviyayn, Luo and He, IEEE TSP 2011)
    for single-antenna interference channels, vectorized over every leading dimension.

    Block coordinate descent on the weighted MSE, whose stationary points are those of the weighted
    sum rate ``sum_i weights_i f_i`` (which never decreases from one iteration to the next). With
    amplitudes ``v_i = sqrt(q_i)`` and ``h_ji = sqrt(G_ji)``:

    .. math::
        u_i = \\frac{h_{ii} v_i}{1 + \\sum_j G_{ji} v_j^2}, \\quad
        w_i = \\frac{1}{1 - u_i h_{ii} v_i}, \\quad
        v_i = \\Bigl[\\frac{\\alpha_i w_i u_i h_{ii}}{\\sum_j \\alpha_j w_j u_j^2 G_{ij}}\\Bigr]_0^1.

    Problems that have converged leave the batch, so the work is the sum of each problem's own
    iterations, not the slowest one's times the batch.

    Args:
        G: ``[..., m, m]`` gains over noise at full power (rows transmitters, columns receivers).
        weights: ``[..., m]`` rate weights ``alpha`` (default: all 1, the sum rate).
        tol: a problem has converged when its weighted sum rate changes by less than
            ``tol * max(1, |weighted sum rate|)`` in one iteration.
        max_iter: iteration cap.
        q0: starting powers (default: full power).

    Returns:
        :class:`WMMSEResult`: powers ``[..., m]``, and per problem the iterations it took and
        whether it converged within ``max_iter``.
    """
    G = as_tensor(G)
    if not G.is_floating_point():
        G = G.double()
    shape = G.shape[:-1]
    m = G.shape[-1]
    flat_G = G.reshape(-1, m, m)
    n = flat_G.shape[0]
    alpha = torch.ones(n, m, dtype=G.dtype, device=G.device) if weights is None else as_tensor(weights).to(G).reshape(n, m)
    q_start = torch.ones(n, m, dtype=G.dtype, device=G.device) if q0 is None else as_tensor(q0).to(G).reshape(n, m).clamp(0, 1)
    v_out = q_start.sqrt().clone()
    iterations = torch.full((n,), max_iter, dtype=torch.long, device=G.device)
    converged = torch.zeros(n, dtype=torch.bool, device=G.device)
    active = torch.arange(n, device=G.device)
    g, a, v = flat_G, alpha, v_out
    h = torch.diagonal(g, dim1=-2, dim2=-1).sqrt()
    objective = (a * rates(g, v * v)).sum(-1)
    flagged = torch.zeros(n, dtype=torch.bool, device=G.device)  # converged, still in the batch
    for it in range(1, max_iter + 1):
        received = ((v * v).unsqueeze(-2) @ g).squeeze(-2)  # sum_j G_ji v_j^2 at receiver i
        u = h * v / (1.0 + received)
        w = 1.0 / (1.0 - u * h * v).clamp_min(1e-12)
        denom = (g @ (a * w * u * u).unsqueeze(-1)).squeeze(-1)  # sum_j G_ij alpha_j w_j u_j^2
        v = (a * w * u * h / denom.clamp_min(1e-300)).clamp(0.0, 1.0)
        new_objective = (a * rates(g, v * v)).sum(-1)
        newly = ((new_objective - objective).abs() <= tol * new_objective.abs().clamp_min(1.0)) & ~flagged
        objective = new_objective
        if bool(newly.any()):
            iterations[active[newly]] = it
            converged[active[newly]] = True
            flagged = flagged | newly
        if bool(flagged.all()):
            break
        if int(flagged.sum()) >= max(1, active.numel() // 8):  # converged problems leave the batch
            v_out[active] = v
            keep = ~flagged
            active, g, a, v, h, objective = active[keep], g[keep], a[keep], v[keep], h[keep], objective[keep]
            flagged = flagged[keep]
    v_out[active] = v
    return WMMSEResult((v_out * v_out).reshape(shape), iterations.reshape(shape[:-1]), converged.reshape(shape[:-1]))


# ------------------------------------------------------------------------------- summaries


def summarize(mean_rates: list[np.ndarray] | np.ndarray, f_min: float) -> dict[str, float]:
    """The statistics of users' long-run mean rates that the paper and ``gnn predict`` report.

    Args:
        mean_rates: each network's users' mean rates over time (one array per network, of any
            number of users; or ``[networks, m]``).
        f_min: the minimum rate each user should reach on average.

    Returns:
        ``sum_rate`` (per network, averaged over networks), ``mean_rate`` (per user),
        ``satisfied`` (fraction of all users whose mean rate is at least ``f_min``), ``p5``
        (5th percentile of all users' mean rates), ``min_rate``, ``networks`` and ``users``.
    """
    per_network = [np.asarray(r, np.float64).ravel() for r in mean_rates]
    users = np.concatenate(per_network) if per_network else np.zeros(0)
    if users.size == 0:
        nan = math.nan
        return {"sum_rate": nan, "mean_rate": nan, "satisfied": nan, "p5": nan, "min_rate": nan, "networks": 0, "users": 0}
    return {
        "sum_rate": float(np.mean([r.sum() for r in per_network])),
        "mean_rate": float(users.mean()),
        "satisfied": float((users >= f_min).mean()),
        "p5": float(np.percentile(users, 5)),
        "min_rate": float(users.min()),
        "networks": len(per_network),
        "users": int(users.size),
    }
