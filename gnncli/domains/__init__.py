"""Kinds of input: each module turns files into graphs (``torch_geometric`` data) for one domain."""
