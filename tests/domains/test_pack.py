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
