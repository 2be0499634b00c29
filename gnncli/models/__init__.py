"""Models: an encoder, a readout and a head, assembled from a :class:`ModelConfig`."""

from gnncli.models.model import ENCODERS, READOUTS, GraphModel, ModelConfig, build_model

__all__ = ["ENCODERS", "READOUTS", "GraphModel", "ModelConfig", "build_model"]
