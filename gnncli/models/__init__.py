"""Models: an encoder, a readout and a head, assembled from a :class:`ModelConfig`.

The names below are loaded on first use, so that ``gnncli.models.names`` (what the CLI
offers) can be imported without torch.
"""

from __future__ import annotations

__all__ = ["ENCODERS", "READOUTS", "GraphModel", "ModelConfig", "build_model"]


def __getattr__(name: str):
    if name in __all__:
        from gnncli.models import model

        return getattr(model, name)
    raise AttributeError(f"module 'gnncli.models' has no attribute '{name}'")
