import pytest
import torch
from torch_geometric.data import Batch

from gnncli.testing import molecule_pack


def test_batch_matches_pyg_collate():
    pack = molecule_pack()
    index = [5, 0, 11, 3]  # includes a lone ion with no edges
    fast = pack.batch(index)
    ref = Batch.from_data_list([pack.get(i) for i in index])
    for key in ("x", "edge_index", "edge_attr", "batch", "ptr"):
        assert torch.equal(getattr(fast, key), getattr(ref, key)), key
    assert fast.num_graphs == 4


def test_subset_and_concat_round_trip():
    pack = molecule_pack()
    a, b = pack.subset([0, 1, 2]), pack.subset([3, 4])
    joined = type(pack).concat([a, b])
    ref = pack.batch([0, 1, 2, 3, 4])
    assert torch.equal(joined.batch(range(5)).edge_index, ref.edge_index)
    assert torch.equal(joined.x, ref.x)


def test_coordinates_follow_their_nodes():
    pack = molecule_pack()
    pack.pos = torch.randn(pack.x.size(0), 3, generator=torch.Generator().manual_seed(0))
    index = [5, 0, 11, 3]
    fast = pack.batch(index)
    ref = Batch.from_data_list([pack.get(i) for i in index])
    assert torch.equal(fast.pos, ref.pos) and fast.pos.shape == (fast.x.size(0), 3)
    part = pack.subset([2, 7])
    assert torch.equal(part.pos, torch.cat([pack.get(2).pos, pack.get(7).pos]))
    joined = type(pack).concat([pack.subset([0, 1]), part])
    assert torch.equal(joined.pos, torch.cat([pack.get(i).pos for i in (0, 1, 2, 7)]))
    assert torch.equal(pack.with_targets(torch.zeros(len(pack), 1), torch.ones(len(pack), 1, dtype=torch.bool)).pos, pack.pos)
    assert molecule_pack().batch([0]).pos is None  # no coordinates: none made up


def test_attributes_at_every_level_follow_their_graphs():
    """Per-node targets, per-edge and per-graph inputs are sliced by the same batching code."""
    from gnncli.domains.pack import GraphPack

    pack = molecule_pack()
    n_nodes, n_edges = pack.x.size(0), pack.edge_index.size(1)
    gen = torch.Generator().manual_seed(0)
    pack = pack.with_targets(torch.randn(n_nodes, 2, generator=gen), torch.rand(n_nodes, 2, generator=gen) > 0.3,
                             level="node")
    pack = pack.with_attrs(edge={"distance": torch.rand(n_edges, generator=gen)},
                           graph={"dual": torch.rand(len(pack), 3, generator=gen)})
    assert pack.target_level == "node"
    index = [5, 0, 11, 3]
    fast = pack.batch(index)
    ref = Batch.from_data_list([pack.get(i) for i in index])
    for key in ("y", "y_mask", "distance", "dual", "edge_index"):
        assert torch.equal(getattr(fast, key), getattr(ref, key)), key
    assert fast.y.shape == (fast.x.size(0), 2) and fast.dual.shape == (4, 3)
    part = pack.subset([2, 7])
    assert torch.equal(part.batch([0, 1]).distance, pack.batch([2, 7]).distance)
    again = GraphPack.from_tensors(pack.tensors())
    assert torch.equal(again.batch(index).dual, fast.dual) and torch.equal(again.node["y"], pack.node["y"])
    with pytest.raises(ValueError, match="node attribute 'bad' has 3 rows"):
        pack.with_attrs(node={"bad": torch.zeros(3)})


def test_from_data_list_matches_pyg():
    from gnncli.domains.pack import GraphPack

    pack = molecule_pack()
    graphs = [pack.get(i) for i in range(len(pack))]
    for g in graphs:
        g.w = torch.ones(1, 2)
    again = GraphPack.from_data_list(graphs, graph_keys=["w"])
    assert torch.equal(again.batch([1, 2]).edge_attr, pack.batch([1, 2]).edge_attr)
    assert again.graph["w"].shape == (len(pack), 2)
