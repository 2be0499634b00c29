"""Writing generated networks as the ``.npz`` files :mod:`~gnncli.domains.wireless.channels` reads."""

from __future__ import annotations

import json

import numpy as np

from gnncli.domains.wireless.generator import ChannelConfig, generate
from gnncli.errors import UsageError
from gnncli.io import atomic_path


def write_generated(out: str, *, pairs: int, networks: int, steps: int, layout: str = "area", side: float | None = None,
                    seed: int = 0, reporter=None, **physics) -> dict:
    """Generate ``networks`` seeded networks and write them to ``out`` (``.npz``): ``gains``
    ``[networks, T, m, m]`` float32, ``p_max_dbm``, ``noise_dbm``, ``tx``/``rx`` positions and
    ``config`` (JSON). Returns what was written."""
    from gnncli.progress import Reporter

    if not str(out).lower().endswith(".npz"):
        raise UsageError(f"--out {out}: channel files are written as .npz")
    if networks < 1:
        raise UsageError(f"--networks {networks}: must be at least 1")
    try:
        config = ChannelConfig(pairs=pairs, layout=layout, side=side, steps=steps, **physics)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    reporter = reporter or Reporter()
    bar = reporter.start("generating networks", networks)
    data = generate(config, networks, seed, progress=lambda n: reporter.advance(bar, n))
    reporter.finish(bar)
    meta = {"seed": seed, **config.to_dict()}
    with atomic_path(out) as tmp:
        with open(tmp, "wb") as handle:
            np.savez(handle, gains=data["gains"], p_max_dbm=np.float64(config.p_max_dbm), noise_dbm=np.float64(config.noise_dbm),
                     tx=data["tx"], rx=data["rx"], config=np.array(json.dumps(meta)))
    return {"out": str(out), "networks": networks, "pairs": pairs, "steps": steps,
            "physics": "varied" if config.variation else "paper", "side_m": None if config.variation else config.side_m,
            "p_max_dbm": config.p_max_dbm, "noise_dbm": round(config.noise_dbm, 4), "seed": seed}
