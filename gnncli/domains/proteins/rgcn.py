"""``rgcn``: a relational GCN (Schlichtkrull et al. 2018) over typed edges (``edge_type``).

On residue graphs the relations are the combinations of sequence, radius and k-NN edges
(:data:`gnncli.domains.proteins.graphs.NUM_RELATIONS`). PyG's ``RGCNConv`` runs without compiled
extras (one weight matrix per relation, basis-decomposed with ``--model-param num_bases=B``).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch_geometric.nn import RGCNConv

from gnncli.errors import InputError
from gnncli.models.config import ModelConfig


class RGCNEncoder(nn.Module):
    """``x -> Linear -> [RGCNConv -> LayerNorm -> ReLU, residual] x depth``.

    Shapes:
        input: a batch with ``x`` [N, in_channels], ``edge_index`` [2, E], ``edge_type`` [E].
        output: node states [N, hidden].
    """

    def __init__(self, in_channels: int, hidden: int, depth: int, *, num_relations: int, num_bases: int | None,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.lin_in = nn.Linear(in_channels, hidden)
        self.convs = nn.ModuleList(RGCNConv(hidden, hidden, num_relations, num_bases=num_bases, aggr="mean")
                                   for _ in range(depth))
        self.norms = nn.ModuleList(nn.LayerNorm(hidden) for _ in range(depth))
        self.dropout = nn.Dropout(dropout)
        self.num_relations = num_relations
        self.out_channels = hidden

    def forward(self, data) -> Tensor:
        edge_type = getattr(data, "edge_type", None)
        if edge_type is None:
            raise InputError("rgcn needs typed edges (edge_type), and this input has none; choose another --model")
        h = self.lin_in(data.x)
        for conv, norm in zip(self.convs, self.norms):
            h = h + self.dropout(torch.relu(norm(conv(h, data.edge_index, edge_type))))
        return h


def rgcn(c: ModelConfig) -> nn.Module:
    from gnncli.domains.proteins.graphs import NUM_RELATIONS

    params = dict(c.params)
    unknown = set(params) - {"num_relations", "num_bases"}
    if unknown:
        raise ValueError(f"--model-param {sorted(unknown)[0]}: not a parameter of rgcn (choose from num_relations, num_bases)")
    bases = params.get("num_bases")
    return RGCNEncoder(c.in_channels, c.hidden, c.depth, num_relations=int(params.get("num_relations", NUM_RELATIONS)),
                       num_bases=int(bases) if bases else None, dropout=c.dropout)
