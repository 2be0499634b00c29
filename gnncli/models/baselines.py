"""Baselines without message passing, to show what the graph adds."""

from __future__ import annotations

from torch import Tensor, nn
from torch_geometric.utils import scatter

from gnncli.models.config import ModelConfig


class FeatureLinear(nn.Module):
    """Logistic (or linear) regression on the input features alone: per node on a node task
    (a residue's own features), on the mean of a graph's node features on a graph task. Trained by
    the same loop and loss as the GNNs, so the comparison differs only in the graph.

    Shapes:
        input: a batch with ``x`` [N, in_channels] (and ``batch`` [N] for graph tasks).
        output: [N, out_channels] per node, or [B, out_channels] per graph.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        if config.params:
            raise ValueError(f"model {config.name} has no parameters (got {', '.join(config.params)})")
        self.config = config
        self.embed_dim = config.in_channels
        self.lin = nn.Linear(config.in_channels, config.out_channels)

    def embed(self, batch) -> Tensor:
        if self.config.level == "node":
            return batch.x
        return scatter(batch.x, batch.batch, dim=0, dim_size=batch.num_graphs, reduce="mean")

    def forward(self, batch) -> Tensor:
        return self.lin(self.embed(batch))


def logreg(config: ModelConfig) -> nn.Module:
    return FeatureLinear(config)
