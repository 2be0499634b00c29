"""What ``gnn train`` trains a power-allocation policy on: networks generated on the fly, or read
from channel files.

Items are networks (whole time series). Validation and test networks are fixed: generated with
their own seeds, or split off the files' networks. Training batches are drawn anew at every step:
``batch_size`` networks over ``episode`` time steps each (generated with fading drawn independently
per step, or windows of the files' training networks), with fresh duals for a state-augmented policy.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from gnncli.domains.base import Dataset
from gnncli.domains.wireless.generator import ChannelConfig, generate_network, network_seeds
from gnncli.domains.wireless.policy import ChannelBatch, NetworkBatch, Scales, make_batch

#: Seed streams of generated validation/test networks, apart from any training seed.
VAL_SEED, TEST_SEED = 2_000_003, 3_000_017


def sample_duals(rng: np.random.Generator, shape: tuple[int, int], dual_max: float) -> np.ndarray:
    """Duals ``[networks, m]`` for state-augmented training.

    Each network draws a fraction ``z ~ U(0, 1)``; each of its users' duals is 0 with probability
    ``z``, else log-uniform, ``exp(U(0, log(1 + dual_max))) - 1``. At execution every dual starts at
    0 and most stay there (users meeting ``f_min``) while a few grow, so training covers networks
    with all, some and no duals at 0, and small and large weights alike.
    """
    mu = np.expm1(rng.uniform(0, np.log1p(dual_max), shape))
    zero = rng.uniform(0, 1, (shape[0], 1))
    mu[rng.random(shape) < zero] = 0.0
    return mu.astype(np.float32)


class WirelessDataset(Dataset):
    """Networks ``extra["networks"]`` (each ``[T, m, m]`` gains over noise, float32).

    ``extra`` also holds ``scales`` (:class:`Scales` of the inputs), ``episode`` (time steps per training
    network), ``augmented`` and ``dual_max`` (duals drawn per batch), and for generated data the
    :class:`ChannelConfig` ``config`` and ``val_count``.
    """

    def __len__(self) -> int:
        return len(self.extra["networks"])

    @property
    def generated(self) -> bool:
        return self.extra.get("config") is not None

    def where(self, index: int) -> str:
        return self.extra["names"][index]

    def row_table(self, indices):
        import pandas as pd

        return pd.DataFrame({"network": [self.extra["names"][i] for i in indices]})

    def loader(self, indices, *, batch_size: int = 256) -> list[NetworkBatch]:
        """Batches of whole networks at ``indices``, consecutive networks of the same shape together."""
        nets = self.extra["networks"]
        groups: list[list[int]] = []
        for i in (int(i) for i in indices):
            if groups and nets[groups[-1][-1]].shape == nets[i].shape and len(groups[-1]) < max(1, batch_size):
                groups[-1].append(i)
            else:
                groups.append([i])
        return [NetworkBatch(torch.from_numpy(np.stack([nets[i] for i in g])), self.extra["scales"]) for g in groups]

    def train_loader(self, indices, *, batch_size: int, seed: int, epoch: int) -> Iterator[ChannelBatch]:
        """Batches of ``batch_size`` networks drawn without end (generated, or episodes cut from the
        files at ``indices``), seeded by ``seed``, ``epoch`` and the step; under torchrun also by
        the process's rank, so that every process trains on networks of its own."""
        from gnncli.train.distributed import distributed, rank

        key = [seed, epoch] + ([rank() + 1] if distributed() else [])  # one process: as before
        step = 0
        while True:  # no end: the loop takes steps_per_epoch batches
            rng = np.random.default_rng([*key, step])
            G = self._generated_batch(rng, batch_size) if self.generated else self._file_batch(rng, indices, batch_size)
            G = torch.from_numpy(G)
            mu = None
            if self.extra["augmented"]:
                mu = torch.from_numpy(sample_duals(rng, (G.shape[0], G.shape[2]), self.extra["dual_max"]))
            yield make_batch(G, self.extra["scales"], mu)
            step += 1

    def _generated_batch(self, rng: np.random.Generator, count: int) -> np.ndarray:
        config: ChannelConfig = self.extra["config"]
        episode = self.extra["episode"]
        nets = [generate_network(config, rng, steps=episode, iid_fading=True)["gains"] for _ in range(count)]
        return (np.stack(nets) * np.float32(config.snr)).astype(np.float32)

    def _file_batch(self, rng: np.random.Generator, indices, count: int) -> np.ndarray:
        nets = self.extra["networks"]
        indices = np.asarray(indices, np.int64)
        episode = min(self.extra["episode"], min(nets[i].shape[0] for i in indices))
        picks = rng.choice(indices, size=count, replace=True)
        out = []
        for i in picks:
            T = nets[i].shape[0]
            start = int(rng.integers(0, T - episode + 1))
            out.append(nets[i][start : start + episode])
        return np.stack(out)


def generated_dataset(config: ChannelConfig, *, val: int, test: int, episode: int, augmented: bool,
                      dual_max: float, steps_per_epoch: int, progress=None) -> WirelessDataset:
    """Fixed validation and test networks generated with their own seeds (time-correlated fading),
    training networks generated per batch."""
    nets, names = [], []
    for label, seed, count in (("validation", VAL_SEED, val), ("test", TEST_SEED, test)):
        for k, ss in enumerate(network_seeds(seed, count)):
            g = generate_network(config, np.random.default_rng(ss))["gains"]
            nets.append((g * np.float32(config.snr)).astype(np.float32))
            names.append(f"generated {label} network {k}")
            if progress is not None:
                progress(1)
    scales = Scales.fit(np.stack(nets)) if nets else Scales()
    return WirelessDataset(
        "generated", None, [], "power allocation", unit="networks",
        counts={"generated": val + test, "pairs": config.pairs},
        extra={"networks": nets, "names": names, "scales": scales, "episode": episode, "augmented": augmented,
               "dual_max": dual_max, "config": config, "val_count": val},
        steps_per_epoch=steps_per_epoch,
    )


def file_dataset(source: str, networks, *, episode: int, augmented: bool, dual_max: float,
                 steps_per_epoch: int) -> WirelessDataset:
    """Networks read from channel files (:func:`~gnncli.domains.wireless.channels.read_channels`)."""
    gains = [n.snr_gains() for n in networks]
    fitted = [Scales.fit(g) for g in gains]
    scales = Scales(float(np.mean([f.direct for f in fitted])), float(np.mean([f.interference for f in fitted])))
    return WirelessDataset(
        source, None, [], "power allocation", unit="networks",
        counts={"networks": len(networks), "pairs": networks[0].pairs},
        extra={"networks": gains, "names": [n.name for n in networks], "scales": scales, "episode": episode,
               "augmented": augmented, "dual_max": dual_max, "config": None,
               "p_max_dbm": networks[0].p_max_dbm, "noise_dbm": networks[0].noise_dbm},
        steps_per_epoch=steps_per_epoch,
    )
