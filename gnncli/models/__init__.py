"""Models: a registry of names, and the assemblies they build.

Two registries, both importable without torch (so ``gnn --help`` stays instant):

* :data:`ENCODERS`: message-passing encoders ``config -> nn.Module`` taking a batch and returning
  node states. Every encoder is also a model name: :class:`~gnncli.models.model.GraphModel`
  assembles it as ``encoder -> readout -> head``.
* :data:`MODELS`: models that are not that assembly (baselines, graph filters, a bipartite
  autoencoder, power-allocation policies) register their own builder ``config -> nn.Module``.
  A model has ``forward(batch)`` and ``embed(batch)``.

Both live in :mod:`gnncli.models.registry`, with the core's registrations. Adding an encoder is
one function in :mod:`gnncli.models.model` plus one line there; a kind of input registers its own
models from its package with :func:`register_model`. Registration metadata:
``domains`` (the kinds of input a model fits; None: any kind whose inputs are graphs with node
features), ``needs`` (batch attributes beyond ``x``/``edge_index``/``edge_attr`` it reads, e.g.
``("pos",)``), ``defaults`` (:class:`ModelConfig` defaults, e.g. ``{"hidden": 64}``), ``loop`` (the
training-loop settings ``gnn train`` uses where the command line sets none, e.g.
``{"epochs": 200, "batch_size": 512}``; see :func:`~gnncli.models.config.loop_defaults`) and ``help``.
"""

from __future__ import annotations

from gnncli.models.config import LEVELS, READOUTS, ModelConfig, model_names
from gnncli.models.registry import ENCODERS, MODELS, model_needs, register_encoder, register_model

__all__ = [
    "ENCODERS", "LEVELS", "MODELS", "READOUTS", "GraphModel", "ModelConfig", "build_model", "model_names",
    "model_needs", "register_encoder", "register_model",
]


def __getattr__(name: str):
    if name in ("GraphModel", "build_model"):
        from gnncli.models import model

        return getattr(model, name)
    raise AttributeError(f"module 'gnncli.models' has no attribute '{name}'")
