"""Learning power allocation with dual variables: batches, the Lagrangian task, and running a
trained policy over time with the dual dynamics.

The problem (NaderiAlizadeh, Eisen and Ribeiro, "State-augmented learnable algorithms for resource
management in wireless networks", IEEE TSP 2022): maximize the long-run sum of rates subject to
every user's long-run mean rate being at least ``f_min``. Its Lagrangian, per user and time step, is
``f_i + mu_i (f_i - f_min)``.

* ``state-augmented``: the policy ``p(H, mu)`` takes the dual variables as node features. Training
  draws ``mu`` per user (0 for a random fraction of each network's users, log-uniform up to
  ``dual_max`` for the others) and
  maximizes the Lagrangian averaged over networks, time steps and those draws. At execution the
  duals start at 0 and follow ``mu <- [mu - step (mean rate over the last window - f_min)]_+``
  every ``window`` steps, so a user that falls short gets more weight, and the policy serves it,
  without retraining.
* ``primal-dual``: the classical primal-dual method without state augmentation. The policy
  ``p(H)`` sees no duals; during training each network's duals evolve by the same dual dynamics
  over its episode and weight its Lagrangian, so one set of weights is fitted to the dual
  trajectories of many networks. At execution it cannot see the duals, so nothing adapts.

Only ``sum_i (1 + mu_i) f_i`` of the Lagrangian depends on the powers; the loss divides it by
``sum_i (1 + mu_i)`` so that draws with large duals do not swamp a batch (the maximizer for given
duals is the same). For the same reason only the ratios of the weights ``1 + mu_i`` matter to the
best powers, so a policy's first node feature is ``log(1 + mu_i)`` minus its mean over the
network; the second is the weight of pair i's direct link, and its edges are the interference
weights (:func:`graph_inputs`).

Both run over the core's training loop: a batch holds ``B`` networks times ``T`` time steps as
``B * T`` graphs, and the model is called once per batch.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace

import numpy as np
import torch
from torch import Tensor

from gnncli.domains.wireless.rates import dual_update, rates, summarize

MODES = ("state-augmented", "primal-dual")


@dataclass(frozen=True)
class Scales:
    """What brings a policy's inputs to about 1 on the networks it was trained on (saved with the
    run): ``direct``, the mean ``log(1 + G_ii)`` of a direct link, and ``interference``, the mean over
    receivers of ``sum_{j != i} log(1 + G_ji)``."""

    direct: float = 1.0
    interference: float = 1.0

    @classmethod
    def fit(cls, G: np.ndarray | Tensor) -> Scales:
        """The scales of networks ``G`` ``[..., m, m]`` (each at least 1e-3)."""
        G = torch.as_tensor(np.asarray(G) if not isinstance(G, Tensor) else G).double()
        w = torch.log1p(G)
        direct = torch.diagonal(w, dim1=-2, dim2=-1)
        interference = w.sum(-2) - direct
        return cls(max(float(direct.mean()), 1e-3), max(float(interference.mean()), 1e-3))

    def to_dict(self) -> dict:
        return {"direct": self.direct, "interference": self.interference}

    @classmethod
    def from_dict(cls, d: dict) -> Scales:
        return cls(float(d["direct"]), float(d["interference"]))


def graph_inputs(G: Tensor, scales: Scales) -> tuple[Tensor, Tensor]:
    """The interference graph of gains ``G`` ``[..., m, m]``: edge weights ``[..., m, m]``,
    ``log(1 + P_max |h_ji|^2 / N) / scales.interference`` off the diagonal and 0 on it, and each
    pair's direct link ``log(1 + P_max |h_ii|^2 / N) / scales.direct``, ``[..., m]``.

    Strong links weigh about ``log(P_max |h|^2 / N)`` and links below the noise floor about 0, so
    far-away pairs drop out of the sums whatever the size of the network.
    """
    w = torch.log1p(G)
    direct = torch.diagonal(w, dim1=-2, dim2=-1)
    adjacency = (w - torch.diag_embed(direct)) / scales.interference
    return adjacency, direct / scales.direct


@dataclass
class ChannelBatch:
    """``B`` networks over ``T`` time steps, as ``B * T`` graphs of ``m`` nodes for a policy.

    Attributes:
        gains: ``[B, T, m, m]`` gains over noise at full power (for the rates).
        adjacency: ``[B * T, m, m]`` interference weights (:func:`graph_inputs`).
        node_features: ``[B * T, m, 2]``: each pair's ``log(1 + mu)`` less the network's mean (0
            for a policy without duals) and its direct-link weight.
        mu: ``[B, m]`` the duals drawn for a state-augmented training batch (else None).
    """

    gains: Tensor
    adjacency: Tensor
    node_features: Tensor
    mu: Tensor | None = None

    @property
    def shape(self) -> tuple[int, int, int]:
        B, T, m, _ = self.gains.shape
        return B, T, m

    @property
    def num_graphs(self) -> int:
        return self.adjacency.shape[0]

    def to(self, device) -> ChannelBatch:
        return ChannelBatch(self.gains.to(device), self.adjacency.to(device), self.node_features.to(device),
                            None if self.mu is None else self.mu.to(device))


#: Node features of a policy: log(1 + mu) (centred over the network) and the direct link.
IN_CHANNELS = 2


def make_batch(G: Tensor, scales: Scales, mu: Tensor | None = None) -> ChannelBatch:
    """A :class:`ChannelBatch` of ``G`` ``[B, T, m, m]`` with duals ``mu`` (``[B, m]``, the same at
    every step, or ``[B, T, m]``), or none (a policy without duals sees 0)."""
    B, T, m, _ = G.shape
    adjacency, direct = graph_inputs(G, scales)
    if mu is None:
        dual = torch.zeros(B, T, m, dtype=G.dtype, device=G.device)
    else:
        dual = torch.log1p(mu.unsqueeze(1).expand(B, T, m) if mu.dim() == 2 else mu).to(G.dtype)
        dual = dual - dual.mean(-1, keepdim=True)  # only ratios of the weights 1 + mu matter
    features = torch.stack([dual, direct], dim=-1).reshape(B * T, m, IN_CHANNELS)
    return ChannelBatch(G, adjacency.reshape(B * T, m, m), features, mu if mu is not None and mu.dim() == 2 else None)


@dataclass
class NetworkBatch:
    """Whole time series of ``B`` networks for evaluation: ``gains`` ``[B, T, m, m]`` over noise."""

    gains: Tensor
    scales: Scales

    @property
    def num_graphs(self) -> int:
        return self.gains.shape[0]

    def to(self, device) -> NetworkBatch:
        return NetworkBatch(self.gains.to(device), self.scales)


@dataclass(frozen=True)
class DualDynamics:
    """The execution-time dual update: every ``window`` steps, ``mu <- [mu - step (mean rate - f_min)]_+``."""

    f_min: float = 0.75
    step: float = 2.0
    window: int = 5

    def run(self, r: Tensor, mu0: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """The duals given rates ``r`` ``[B, T, m]``: those in effect at every step ``[B, T, m]``
        (``mu0``, default 0, until the first update after ``window`` steps, and so on) and those
        after the last step ``[B, m]``."""
        B, T, m = r.shape
        mu = torch.zeros(B, m, dtype=r.dtype, device=r.device) if mu0 is None else mu0
        out = []
        for t in range(T):
            out.append(mu)
            if (t + 1) % self.window == 0:
                mu = dual_update(mu, r[:, t + 1 - self.window : t + 1].mean(1), self.f_min, self.step)
        return torch.stack(out, dim=1), mu


@dataclass
class Execution:
    """A policy run over time: ``q`` (powers over ``P_max``), ``rates`` (bps/Hz) and ``mu`` (the
    duals in effect at each step), each ``[B, T, m]``; ``final_mu`` ``[B, m]`` after the last step."""

    q: np.ndarray
    rates: np.ndarray
    mu: np.ndarray
    final_mu: np.ndarray = field(default=None)

    def mean_rates(self) -> np.ndarray:
        return self.rates.mean(axis=1)


def scores_to_powers(scores: Tensor) -> Tensor:
    """A policy's scores ``[..., m]`` to powers over ``P_max`` in [0, 1]: ``s = sigmoid(scores)``,
    then ``s / max_j s_j`` over each network's pairs.

    Raising every power of a network by one factor never lowers any SINR (only the noise does not
    scale), so the best allocations have their loudest transmitter at ``P_max``; the policy chooses
    the levels relative to it. Without this, training drifts towards tiny powers for everyone.
    """
    s = torch.sigmoid(scores)
    return s / s.amax(-1, keepdim=True).clamp_min(1e-30)


def in_precision(models: list, precision: torch.dtype | None) -> list:
    """``models`` to run in ``precision``: copies with their weights in it (the run's own weights
    are left as they are), or the models themselves for None (float32)."""
    return models if precision is None else [copy.deepcopy(model).to(precision) for model in models]


def policy_powers(models, batch: ChannelBatch) -> Tensor:
    """Powers over ``P_max`` ``[G, m]``: the members' powers averaged (and scaled to a maximum of 1).
    The models run in the dtype of their weights (the batch's graph inputs are cast to it); the
    powers are float32."""
    G, m = batch.adjacency.shape[0], batch.adjacency.shape[-1]
    dtype = next(models[0].parameters()).dtype
    if dtype != batch.adjacency.dtype:
        batch = replace(batch, adjacency=batch.adjacency.to(dtype), node_features=batch.node_features.to(dtype))
    q = torch.stack([scores_to_powers(model(batch).float()[:, 0].view(G, m)) for model in models]).mean(0)
    return q / q.amax(-1, keepdim=True).clamp_min(1e-30)


@torch.no_grad()
def execute(models, G: Tensor, *, augmented: bool, dynamics: DualDynamics, scales: Scales,
            device: torch.device | str = "cpu", max_graph_entries: int = 4_000_000,
            precision: torch.dtype | None = None) -> Execution:
    """Run a policy (the mean power of ``models``) over networks ``G`` ``[B, T, m, m]``.

    A state-augmented policy runs step by step: at each step it sees the current duals, and the
    duals follow :class:`DualDynamics`. A policy without duals sees a constant feature and runs over
    all steps at once (in chunks of at most ``max_graph_entries`` adjacency entries); the duals are
    still computed from its rates, to show how far each user falls short. ``precision``: the dtype
    the policy runs in (a copy of its weights in it, e.g. bfloat16; None: as they are, float32);
    rates and duals are float32.
    """
    models = in_precision(list(models) if isinstance(models, (list, tuple)) else [models], precision)
    for model in models:
        model.eval()
    G = G.to(device=device, dtype=torch.float32)
    B, T, m, _ = G.shape
    if augmented:
        mu = torch.zeros(B, m, device=device)
        qs, rs, mus = [], [], []
        recent: list[Tensor] = []
        for t in range(T):
            g = G[:, t : t + 1]
            q = policy_powers(models, make_batch(g, scales, mu)).view(B, m)
            r = rates(g[:, 0], q)
            qs.append(q)
            rs.append(r)
            mus.append(mu)
            recent.append(r)
            if (t + 1) % dynamics.window == 0:
                mu = dual_update(mu, torch.stack(recent).mean(0), dynamics.f_min, dynamics.step)
                recent = []
        q, r, mu_t = torch.stack(qs, 1), torch.stack(rs, 1), torch.stack(mus, 1)
        final = mu
    else:
        steps = max(1, max_graph_entries // max(1, B * m * m))
        qs = []
        for t0 in range(0, T, steps):
            g = G[:, t0 : t0 + steps]
            qs.append(policy_powers(models, make_batch(g, scales)).view(B, g.shape[1], m))
        q = torch.cat(qs, 1)
        r = rates(G, q)
        mu_t, final = dynamics.run(r)
    return Execution(q.cpu().numpy(), r.cpu().numpy(), mu_t.cpu().numpy(), final.cpu().numpy())


def execution_metrics(mean_rates: np.ndarray | list[np.ndarray], final_mu: np.ndarray | list[np.ndarray], f_min: float) -> dict[str, float]:
    """Validation/test metrics of an execution: :func:`~gnncli.domains.wireless.rates.summarize`'s,
    ``violation`` (mean shortfall below ``f_min`` per user) and ``loss`` (minus the Lagrangian per
    user at the final duals)."""
    rows = [np.asarray(r, np.float64).ravel() for r in mean_rates]
    mus = [np.asarray(m, np.float64).ravel() for m in final_mu]
    stats = summarize(rows, f_min)
    users, mu = np.concatenate(rows), np.concatenate(mus)
    stats["violation"] = float(np.maximum(f_min - users, 0).mean())
    stats["loss"] = float(-(users + mu * (users - f_min)).mean())
    return stats


class PowerTask:
    """The label-free task of a power-allocation policy: minus the Lagrangian per user.

    Args:
        mode: ``state-augmented`` or ``primal-dual`` (see the module docstring).
        dynamics: ``f_min`` and the dual update used in training (primal-dual) and at execution.
        dual_max: the largest dual state-augmented training draws (see
            :func:`~gnncli.domains.wireless.dataset.sample_duals`).
        monitor: the validation metric that selects the best epoch (default ``satisfied``).
    """

    targets = ["power"]

    def __init__(self, mode: str = "state-augmented", dynamics: DualDynamics | None = None, *,
                 dual_max: float = 50.0, monitor: str | None = None) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode '{mode}' (choose from {', '.join(MODES)})")
        self.mode = mode
        self.dynamics = dynamics or DualDynamics()
        self.dual_max = float(dual_max)
        self.monitor = monitor or "satisfied"
        known = self.metrics()
        if self.monitor not in known:
            raise ValueError(f"{self.monitor}: not a metric of power allocation (choose from {', '.join(known)})")
        self.higher_is_better = known[self.monitor]

    @property
    def augmented(self) -> bool:
        return self.mode == "state-augmented"

    def metrics(self) -> dict[str, bool]:
        return {"satisfied": True, "sum_rate": True, "mean_rate": True, "p5": True, "min_rate": True,
                "violation": False, "loss": False}

    def loss(self, output: Tensor, batch: ChannelBatch) -> Tensor:
        B, T, m = batch.shape
        r = rates(batch.gains.float(), scores_to_powers(output.view(B, T, m)))
        if self.augmented:
            mu = batch.mu.unsqueeze(1)
        else:
            mu = self.dynamics.run(r.detach())[0]
        weights = 1.0 + mu  # the Lagrangian is sum_i (1 + mu_i) f_i - mu_i f_min; the last term has no gradient
        return -((weights * r).sum(-1) / weights.sum(-1)).mean()

    @torch.no_grad()
    def evaluate(self, model, loader, device) -> dict[str, float]:
        mean_rates, final_mu = [], []
        for batch in loader:
            run = execute([model], batch.gains, augmented=self.augmented, dynamics=self.dynamics,
                          scales=batch.scales, device=device)
            mean_rates.extend(run.mean_rates())
            final_mu.extend(run.final_mu)
        metrics = execution_metrics(mean_rates, final_mu, self.dynamics.f_min)
        return {k: metrics[k] for k in self.metrics()}

    def to_config(self) -> dict:
        return {"mode": self.mode, "f_min": self.dynamics.f_min, "dual_step": self.dynamics.step,
                "dual_window": self.dynamics.window, "dual_max": self.dual_max, "monitor": self.monitor}

    @classmethod
    def from_config(cls, d: dict) -> PowerTask:
        return cls(d["mode"], DualDynamics(float(d["f_min"]), float(d["dual_step"]), int(d["dual_window"])),
                   dual_max=float(d["dual_max"]), monitor=d.get("monitor"))
