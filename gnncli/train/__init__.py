"""The one training loop every task uses, with metrics, splits, scaling and checkpoints."""
