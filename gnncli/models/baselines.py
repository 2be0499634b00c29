"""Baselines without message passing, to show what the graph adds."""

from __future__ import annotations

import torch
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
        # the features standardized on the training nodes (fit_node_scaling), as any logistic
        # regression would have them: raw counts and B-factors next to one-hot columns make
        # gradient descent crawl
        self.register_buffer("x_mean", torch.zeros(config.in_channels))
        self.register_buffer("x_std", torch.ones(config.in_channels))

    @torch.no_grad()
    def fit_node_scaling(self, x: Tensor) -> None:
        """Standardize each input feature by its mean and SD over ``x`` (the training nodes)."""
        if len(x):
            self.x_mean.copy_(x.float().mean(0))
            self.x_std.copy_(x.float().std(0, unbiased=False).clamp_min(1e-6))

    def embed(self, batch) -> Tensor:
        if self.config.level == "node":
            return batch.x
        return scatter(batch.x, batch.batch, dim=0, dim_size=batch.num_graphs, reduce="mean")

    def forward(self, batch) -> Tensor:
        return self.lin((self.embed(batch) - self.x_mean) / self.x_std)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        for name, fill in (("x_mean", 0.0), ("x_std", 1.0)):  # checkpoints from before the scaling
            state_dict.setdefault(prefix + name, torch.full_like(getattr(self, name), fill))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


def logreg(config: ModelConfig) -> nn.Module:
    return FeatureLinear(config)
