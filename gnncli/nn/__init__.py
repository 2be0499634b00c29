"""Layers PyG lacks: D-MPNN message passing, the virtual node."""

from gnncli.nn.dmpnn import DMPNNEncoder
from gnncli.nn.virtual_node import VirtualNode

__all__ = ["DMPNNEncoder", "VirtualNode"]
