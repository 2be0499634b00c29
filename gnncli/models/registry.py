"""The model registries: :data:`ENCODERS` and :data:`MODELS`, and the core's registrations.

Importable without torch (``gnn --help`` stays instant) and below everything that builds or
configures a model (:mod:`gnncli.models.config`, :mod:`gnncli.models.model`), so none of them
imports the package :mod:`gnncli.models`, which re-exports these. A kind of input registers its
own models from its package with :func:`register_model` (or :func:`register_encoder`).
"""

from __future__ import annotations

from gnncli.registry import Registry

ENCODERS = Registry("encoder")
MODELS = Registry("model")


def register_encoder(name: str, target=None, /, **meta):
    """Register a message-passing encoder (a ``"module:function"`` path, or use as a decorator)."""
    return ENCODERS.register(name, target, **meta)


def register_model(name: str, target=None, /, **meta):
    """Register a model builder ``config -> nn.Module`` that is not the GraphModel assembly."""
    return MODELS.register(name, target, **meta)


def model_needs(name: str | None) -> tuple[str, ...]:
    """The batch attributes model ``name`` reads beyond ``x``/``edge_index``/``edge_attr``
    (its registration's ``needs``; empty for unknown names and None)."""
    for registry in (ENCODERS, MODELS):
        if name is not None and name in registry:
            return tuple(registry.entry(name).meta.get("needs", ()))
    return ()


_ENC = "gnncli.models.model"
register_encoder("dmpnn", f"{_ENC}:dmpnn", help="directed message passing on bonds (Chemprop's D-MPNN)")
register_encoder("gine", f"{_ENC}:gine", help="GIN with edge features")
register_encoder("gin", f"{_ENC}:gin", help="graph isomorphism network (--model-param aggr=sum|mean|max|vpa)")
register_encoder("gcn", f"{_ENC}:gcn", help="graph convolutional network")
register_encoder("gat", f"{_ENC}:gat", help="graph attention (GATv2) with edge features")
register_encoder("sage", f"{_ENC}:sage", help="GraphSAGE")
register_encoder("mpnn", f"{_ENC}:mpnn", help="edge-conditioned convolution (NNConv)", defaults={"hidden": 64})
register_encoder("gps", f"{_ENC}:gps", help="graph transformer: GINE message passing + global attention (GraphGPS)",
                 defaults={"hidden": 128})
register_encoder("egnn", "gnncli.models.egnn:egnn", domains=("proteins", "molecules"), needs=("pos",), defaults={"hidden": 64}, help="E(n)-equivariant GNN on 3D coordinates; --virtual-node gives VN-EGNN")

register_model("logreg", "gnncli.models.baselines:logreg", loop={"lr": 1e-2},  # one linear layer on standardized features
               help="baseline: logistic or linear regression on each node's features (or a graph's mean), no message passing")
