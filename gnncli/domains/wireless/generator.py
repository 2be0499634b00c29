"""Random interference networks: m transmitter-receiver pairs dropped in a square, with dual-slope
path loss, log-normal shadowing and Rayleigh fading that varies over time.

The defaults follow the code of the state-augmented paper (NaderiAlizadeh, Eisen and Ribeiro,
navid-naderi/StateAugmented_RRM_GNN): 10 MHz of bandwidth, noise of -174 dBm/Hz, P_max of 10 dBm,
transmitters at least 35 m apart, each receiver 10-50 m from its transmitter, path loss of
39 dB + 20 log10(d) up to 100 m and 40 log10(d) beyond (continuous at 100 m), 7 dB shadowing,
2.4 GHz carrier, receivers moving at 1 m/s, one time step per millisecond. The square's side is
500 m for every m (``layout="area"``, constant area) or ``1000 * sqrt(m / 20)`` m (``"density"``,
20 pairs per km^2 whatever m).

Where this differs from that code, by choice: transmitters are placed by sequential rejection
(only the ones too close to another are redrawn, so 200 pairs place quickly); a receiver is redrawn
while it is closer than 35 m to another pair's transmitter; every receiver belongs to its own
transmitter (m pairs, no user association); fading over time is a sum of ``sinusoids`` complex
sinusoids with random Doppler angles and phases per link (autocorrelation J0(2 pi f_D tau), Jakes).

Varied physics (``physics="varied"``, :class:`Variation`, the default of ``gnn train``): every
network draws its own density of pairs, dual-slope path loss (loss at 1 m, both exponents and the
breakpoint), shadowing, Nakagami-m fading, receiver distances and spacing from ranges around the
paper's, so that a policy trained on them meets other channel statistics than one generator's
(domain randomization, Tobin et al., IROS 2017). Nakagami-m fading over time keeps the Jakes
correlation of the Rayleigh model: each Rayleigh power gain x ~ Exp(1) is mapped through the
Gamma(m, 1/m) quantile function (m = 1 is Rayleigh).

Arrays are ``[networks, T, m, m]`` float32 power gains ``|h_ji|^2``, rows transmitters, columns
receivers, as :mod:`gnncli.domains.wireless.channels` reads them.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Callable

import numpy as np

LAYOUTS = ("area", "density")
#: Physics of generated networks: the paper code's (one fixed generator) or varied per network.
PHYSICS = ("paper", "varied")


@dataclass(frozen=True)
class Variation:
    """The ranges a network of varied physics draws from (each uniform, or log-uniform where said).

    Attributes:
        density_km2: pairs per km^2 (log-uniform); the square's side is ``1000 sqrt(m / density)`` m.
        loss_at_1m_db: path loss at 1 m (with P_max and the noise, it sets every link's SNR).
        near_exponent, far_exponent: path-loss exponents before and after the breakpoint.
        breakpoint_m: distance where the slope changes (log-uniform).
        shadowing_db: standard deviation of log-normal shadowing.
        nakagami_m: Nakagami fading parameter m (log-uniform; 1 is Rayleigh, larger is milder,
            about a Rician channel of K = m - 1 + sqrt(m^2 - m)).
        rx_min, rx_max: the range of a receiver's distance to its own transmitter is
            ``(rx_min, rx_max)``, each drawn (m).
        min_tx_distance: least distance between transmitters and from a receiver to another
            pair's transmitter (m).
    """

    density_km2: tuple[float, float] = (10.0, 100.0)
    loss_at_1m_db: tuple[float, float] = (31.0, 47.0)
    near_exponent: tuple[float, float] = (1.8, 2.7)
    far_exponent: tuple[float, float] = (3.0, 4.5)
    breakpoint_m: tuple[float, float] = (30.0, 200.0)
    shadowing_db: tuple[float, float] = (4.0, 10.0)
    nakagami_m: tuple[float, float] = (0.6, 4.0)
    rx_min: tuple[float, float] = (2.0, 15.0)
    rx_max: tuple[float, float] = (30.0, 70.0)
    min_tx_distance: tuple[float, float] = (15.0, 40.0)

    _LOG = ("density_km2", "breakpoint_m", "nakagami_m")

    def __post_init__(self) -> None:
        for f in fields(self):
            lo, hi = getattr(self, f.name)
            if not 0 < lo <= hi:
                raise ValueError(f"variation {f.name} {(lo, hi)}: need 0 < low <= high")

    def draw(self, config: ChannelConfig, rng: np.random.Generator) -> ChannelConfig:
        """One network's physics: ``config`` with every varied quantity drawn from ``rng``."""
        v = {}
        for f in fields(self):
            lo, hi = getattr(self, f.name)
            v[f.name] = float(np.exp(rng.uniform(np.log(lo), np.log(hi)))) if f.name in self._LOG else float(rng.uniform(lo, hi))
        return replace(config, variation=None, side=1000.0 * math.sqrt(config.pairs / v["density_km2"]),
                       loss_at_1m_db=v["loss_at_1m_db"], near_exponent=v["near_exponent"],
                       far_exponent=v["far_exponent"], breakpoint_m=v["breakpoint_m"], shadowing_db=v["shadowing_db"],
                       nakagami_m=v["nakagami_m"], rx_distance=(v["rx_min"], v["rx_max"]),
                       min_tx_distance=v["min_tx_distance"])

    def to_dict(self) -> dict:
        return {f.name: list(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_dict(cls, d: dict) -> Variation:
        known = {f.name for f in fields(cls)}
        return cls(**{k: tuple(v) for k, v in d.items() if k in known})


@dataclass(frozen=True)
class ChannelConfig:
    """How networks are generated (saved in run folders and in the files ``gnn channels`` writes).

    Attributes:
        pairs: transmitter-receiver pairs m.
        layout: ``area`` (a square of ``side`` m for every m) or ``density`` (side grows as sqrt(m)).
        side: the square's side in metres; None takes 500 (area) or 1000 sqrt(m / 20) (density).
        steps: time steps per network T.
        p_max_dbm: largest transmit power.
        noise_dbm_hz: noise power spectral density.
        bandwidth_hz: bandwidth (noise power = PSD x bandwidth).
        shadowing_db: standard deviation of log-normal shadowing.
        carrier_hz, speed_mps, slot_s: carrier frequency, receiver speed, time step (set the Doppler).
        min_tx_distance: least distance between transmitters, and from a receiver to another pair's
            transmitter (m).
        rx_distance: range of a receiver's distance to its own transmitter (m).
        sinusoids: sinusoids per link in the fading model.
        loss_at_1m_db, near_exponent, far_exponent, breakpoint_m: the dual-slope path loss
            ``L0 + 10 a1 log10(d)`` up to the breakpoint, ``a2`` beyond (continuous).
        nakagami_m: fading parameter (1: Rayleigh, the paper's).
        variation: draw each network's physics from these ranges (:class:`Variation`; ``side``,
            ``layout``, the path loss, shadowing, fading, ``rx_distance`` and
            ``min_tx_distance`` above are then drawn); None: the fixed physics above.
    """

    pairs: int = 6
    layout: str = "area"
    side: float | None = None
    steps: int = 100
    p_max_dbm: float = 10.0
    noise_dbm_hz: float = -174.0
    bandwidth_hz: float = 10e6
    shadowing_db: float = 7.0
    carrier_hz: float = 2.4e9
    speed_mps: float = 1.0
    slot_s: float = 1e-3
    min_tx_distance: float = 35.0
    rx_distance: tuple[float, float] = (10.0, 50.0)
    sinusoids: int = 16
    loss_at_1m_db: float = 39.0
    near_exponent: float = 2.0
    far_exponent: float = 4.0
    breakpoint_m: float = 100.0
    nakagami_m: float = 1.0
    variation: Variation | None = None

    def __post_init__(self) -> None:
        if self.layout not in LAYOUTS:
            raise ValueError(f"layout '{self.layout}': choose from {', '.join(LAYOUTS)}")
        if self.pairs < 1:
            raise ValueError(f"pairs {self.pairs}: need at least 1")
        if self.steps < 1:
            raise ValueError(f"steps {self.steps}: need at least 1")
        lo, hi = self.rx_distance
        if not 0 < lo <= hi:
            raise ValueError(f"rx_distance {self.rx_distance}: need 0 < min <= max")
        if self.side is not None and self.side <= 0:
            raise ValueError(f"side {self.side}: must be positive")
        if self.nakagami_m < 0.5:
            raise ValueError(f"nakagami_m {self.nakagami_m}: must be at least 0.5")
        if self.breakpoint_m < 1:
            raise ValueError(f"breakpoint_m {self.breakpoint_m}: must be at least 1 m")
        if self.variation is not None:
            return  # every network draws its own side and spacing (checked then)
        # Will m transmitters fit 35 m apart? Random sequential packing stalls near 0.55 of the
        # densest packing; refuse well before that rather than loop for ever.
        if self.pairs > 1 and self.min_tx_distance > 0:
            disc = math.pi * (self.min_tx_distance / 2) ** 2
            if self.pairs * disc > 0.4 * self.side_m ** 2:
                raise ValueError(f"{self.pairs} transmitters do not fit {self.min_tx_distance:g} m apart in a "
                                 f"{self.side_m:g} m square (use a larger side or layout 'density')")

    @property
    def physics(self) -> str:
        return "paper" if self.variation is None else "varied"

    @property
    def side_m(self) -> float:
        if self.side is not None:
            return float(self.side)
        return 500.0 if self.layout == "area" else 1000.0 * math.sqrt(self.pairs / 20)

    @property
    def p_max_w(self) -> float:
        return 10 ** ((self.p_max_dbm - 30) / 10)

    @property
    def noise_dbm(self) -> float:
        return self.noise_dbm_hz + 10 * math.log10(self.bandwidth_hz)

    @property
    def noise_w(self) -> float:
        return 10 ** ((self.noise_dbm - 30) / 10)

    @property
    def snr(self) -> float:
        """``P_max / N``: what turns power gains into gains over noise at full power."""
        return self.p_max_w / self.noise_w

    @property
    def doppler_hz(self) -> float:
        return self.speed_mps * self.carrier_hz / 299_792_458.0

    def to_dict(self) -> dict:
        d = asdict(self)
        d["rx_distance"] = list(self.rx_distance)
        d["variation"] = None if self.variation is None else self.variation.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict) -> ChannelConfig:
        known = {f.name for f in fields(cls)}
        d = {k: v for k, v in d.items() if k in known}
        if "rx_distance" in d:
            d["rx_distance"] = tuple(d["rx_distance"])
        if d.get("variation") is not None:
            d["variation"] = Variation.from_dict(d["variation"])
        return cls(**d)

    def with_pairs(self, pairs: int) -> ChannelConfig:
        return replace(self, pairs=pairs)


def path_loss_db(d: np.ndarray, config: ChannelConfig | None = None) -> np.ndarray:
    """Dual-slope path loss in dB at distance ``d`` (m): ``L0 + 10 a1 log10(d)`` up to the breakpoint
    and ``a2`` beyond, continuous (``config``'s; default the paper's: 39 dB, exponent 2 up to
    100 m, 4 beyond)."""
    c = config or ChannelConfig()
    d = np.maximum(d, 1.0)
    near = c.loss_at_1m_db + 10.0 * c.near_exponent * np.log10(d)
    far = (c.loss_at_1m_db + 10.0 * c.near_exponent * np.log10(c.breakpoint_m)
           + 10.0 * c.far_exponent * np.log10(d / c.breakpoint_m))
    return np.where(d <= c.breakpoint_m, near, far)


def _distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``[len(a), len(b)]`` Euclidean distances between rows of ``a`` and ``b`` (2-D points)."""
    return np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))


def place_pairs(config: ChannelConfig, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Transmitter and receiver positions, ``[m, 2]`` each (metres, the square centred at 0)."""
    m, side, gap = config.pairs, config.side_m, config.min_tx_distance
    tx = rng.uniform(-side / 2, side / 2, (m, 2))
    for _ in range(10_000):  # redraw only the transmitters too close to an earlier one
        d = _distances(tx, tx)
        np.fill_diagonal(d, np.inf)
        too_close = np.triu(d < gap).any(axis=0)  # the later of each close pair moves
        if not too_close.any():
            break
        tx[too_close] = rng.uniform(-side / 2, side / 2, (int(too_close.sum()), 2))
    else:
        raise RuntimeError(f"could not place {m} transmitters {gap} m apart in a {side} m square")
    lo, hi = config.rx_distance
    rx = np.empty_like(tx)
    todo = np.ones(m, dtype=bool)
    for _ in range(10_000):
        k = int(todo.sum())
        r = np.sqrt(rng.uniform(lo**2, hi**2, k))  # uniform over the annulus
        phi = rng.uniform(0, 2 * np.pi, k)
        rx[todo] = np.clip(tx[todo] + np.stack([r * np.cos(phi), r * np.sin(phi)], axis=1), -side / 2, side / 2)
        d = _distances(tx, rx)  # [transmitter, receiver]
        np.fill_diagonal(d, np.inf)
        todo = (d < gap).any(axis=0)
        if not todo.any():
            break
    # a receiver that found no spot after many tries keeps its last one (crowded layouts only)
    return tx, rx


def large_scale_gains(config: ChannelConfig, tx: np.ndarray, rx: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Path loss and shadowing as power gains, ``[m, m]`` (rows transmitters, columns receivers)."""
    loss_db = path_loss_db(_distances(tx, rx), config) + config.shadowing_db * rng.standard_normal((len(tx), len(rx)))
    return 10.0 ** (-loss_db / 10.0)


def fading_over_time(config: ChannelConfig, shape: tuple[int, ...], rng: np.random.Generator, steps: int) -> np.ndarray:
    """``|h|^2`` of unit-power Rayleigh fading over ``steps`` time steps, ``[steps, *shape]``.

    Each link is a sum of ``config.sinusoids`` complex sinusoids with random Doppler angles and
    phases, ``h(t) = M^-1/2 sum_n exp(j (2 pi f_D t cos a_n + phi_n))``: unit mean power and the Jakes
    autocorrelation J0(2 pi f_D tau). Computed by rotating each sinusoid one step at a time.
    """
    M = config.sinusoids
    angle = rng.uniform(0, 2 * np.pi, (*shape, M))
    phase = rng.uniform(0, 2 * np.pi, (*shape, M))
    omega = 2 * np.pi * config.doppler_hz * config.slot_s * np.cos(angle)
    state = np.exp(1j * phase) / np.sqrt(M)
    turn = np.exp(1j * omega)
    out = np.empty((steps, *shape), np.float32)
    for t in range(steps):
        h = state.sum(-1)
        out[t] = h.real**2 + h.imag**2
        state = state * turn
    return out


def rayleigh_to_nakagami(x: np.ndarray, m: float) -> np.ndarray:
    """Rayleigh power gains ``x ~ Exp(1)`` mapped to Nakagami-m power gains ``Gamma(m, 1/m)`` (unit
    mean) through their quantile functions: the marginal is exact and the ordering over time (so
    the correlation structure) is kept. ``m = 1`` returns ``x``."""
    if m == 1.0:
        return x
    from scipy.special import gammaincinv

    u = -np.expm1(-x.astype(np.float64))  # the Exp(1) CDF: uniform in [0, 1)
    return (gammaincinv(m, np.clip(u, 0.0, 1.0 - 1e-16)) / m).astype(np.float32)


def generate_network(config: ChannelConfig, rng: np.random.Generator, *, steps: int | None = None,
                     iid_fading: bool = False) -> dict[str, np.ndarray]:
    """One network: ``gains`` ``[T, m, m]`` float32, ``tx`` and ``rx`` positions ``[m, 2]``.

    ``iid_fading`` draws fading independently at every step (``|h|^2`` exponential, or Gamma for
    Nakagami-m), as training batches use: cheaper, with the same distribution at each step but no
    correlation over time. A config with a :class:`Variation` first draws this network's physics.
    """
    steps = config.steps if steps is None else steps
    if config.variation is not None:
        config = config.variation.draw(config, rng)
    tx, rx = place_pairs(config, rng)
    large = large_scale_gains(config, tx, rx, rng)
    m = config.pairs
    if iid_fading and config.nakagami_m != 1.0:
        fading = rng.gamma(config.nakagami_m, 1.0 / config.nakagami_m, (steps, m, m)).astype(np.float32)
    elif iid_fading:
        fading = rng.standard_exponential((steps, m, m)).astype(np.float32)
    else:
        fading = rayleigh_to_nakagami(fading_over_time(config, (m, m), rng, steps), config.nakagami_m)
    return {"gains": (fading * large.astype(np.float32)[None]).astype(np.float32), "tx": tx, "rx": rx}


def network_seeds(seed: int, count: int, start: int = 0) -> list[np.random.SeedSequence]:
    """Seeds of networks ``start .. start + count - 1`` of the stream ``seed``: network k is the same
    whatever ``count`` is."""
    return np.random.SeedSequence(seed).spawn(start + count)[start:]


def generate(config: ChannelConfig, networks: int, seed: int, *, steps: int | None = None,
             progress: Callable[[int], None] | None = None) -> dict[str, np.ndarray]:
    """``networks`` seeded networks: ``gains`` ``[networks, T, m, m]`` float32, ``tx``/``rx``
    ``[networks, m, 2]``; ``progress(1)`` after each."""
    gains, txs, rxs = [], [], []
    for ss in network_seeds(seed, networks):
        net = generate_network(config, np.random.default_rng(ss), steps=steps)
        gains.append(net["gains"])
        txs.append(net["tx"])
        rxs.append(net["rx"])
        if progress is not None:
            progress(1)
    m, T = config.pairs, config.steps if steps is None else steps
    return {
        "gains": np.stack(gains) if gains else np.zeros((0, T, m, m), np.float32),
        "tx": np.stack(txs) if txs else np.zeros((0, m, 2)),
        "rx": np.stack(rxs) if rxs else np.zeros((0, m, 2)),
    }
