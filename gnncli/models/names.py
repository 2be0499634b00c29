"""The names users choose from, importable without torch (so ``gnn --help`` starts fast).

:mod:`gnncli.models.model` registers one encoder per name here and checks they agree.
"""

ENCODER_NAMES = ("dmpnn", "gine", "gin", "gcn", "gat", "sage", "mpnn")
READOUTS = ("mean", "sum", "norm", "attention")
LEVELS = ("graph", "node")  # one output per graph (after a readout) or per node (none)
