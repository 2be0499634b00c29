"""EGNN and VN-EGNN: E(3)-equivariance of coordinates, invariance of residue scores, node order."""

import pytest
import torch

from gnncli.domains.pack import GraphPack
from gnncli.models import ModelConfig, build_model
from gnncli.nn.egnn import EGNNLayer, fibonacci_sphere, principal_frames
from gnncli.testing import assert_equivariant, random_rotation


def _pack(n=(30, 22), seed=0):
    """Random point clouds with radius-graph edges (both directions) and random features."""
    from scipy.spatial import cKDTree

    gen = torch.Generator().manual_seed(seed)
    xs, poss, edges, counts = [], [], [], []
    for k in n:
        pos = torch.randn(k, 3, generator=gen) * 6
        pos[:, 0] *= 2.0  # an elongated cloud: distinct principal axes
        pairs = torch.as_tensor(cKDTree(pos.numpy()).query_pairs(7.0, output_type="ndarray")).long()
        e = torch.cat([pairs, pairs.flip(1)]).T
        xs.append(torch.randn(k, 5, generator=gen))
        poss.append(pos)
        edges.append(e)
        counts.append(e.size(1))
    x, pos = torch.cat(xs), torch.cat(poss)
    edge_attr = torch.randn(sum(counts), 4, generator=gen)
    return GraphPack.from_arrays(x.numpy(), torch.cat(edges, 1).numpy(), edge_attr.numpy(), list(n), counts, pos=pos.numpy())


def _model(virtual_node, seed=0):
    torch.manual_seed(seed)
    return build_model(ModelConfig(name="egnn", in_channels=5, edge_dim=4, out_channels=1, hidden=16, depth=3,
                                   level="node", virtual_node=virtual_node, params={"virtual_nodes": 4})).eval()


def test_egnn_layer_is_e3_equivariant_including_reflections():
    pack = _pack()
    batch = pack.batch(range(len(pack)))
    layer = EGNNLayer(8, 4).eval()
    with torch.no_grad():  # make the coordinate update large enough to matter
        layer.phi_x[-1].weight.normal_()
    h0 = torch.randn(batch.num_nodes, 8, generator=torch.Generator().manual_seed(1))

    def encode(b):
        return layer(h0, b.pos, b.edge_index, b.edge_attr)

    assert_equivariant(encode, batch)
    h, pos = encode(batch)
    assert (pos - batch.pos).abs().max() > 1e-3  # coordinates did move
    mirrored = batch.clone()
    mirrored.pos = batch.pos * torch.tensor([-1.0, 1.0, 1.0])
    h2, pos2 = encode(mirrored)
    assert torch.allclose(h, h2, atol=1e-5) and torch.allclose(pos * torch.tensor([-1.0, 1.0, 1.0]), pos2, atol=1e-4)


@pytest.mark.parametrize("virtual_node", [False, True])
def test_residue_scores_are_invariant_and_coordinates_equivariant(virtual_node):
    pack = _pack()
    batch = pack.batch(range(len(pack)))
    model = _model(virtual_node)
    with torch.no_grad():
        for layer in model.encoder.layers:
            for sub in (layer.real, layer.to_virtual) if virtual_node else (layer,):
                sub.phi_x[-1].weight.normal_(std=0.1)
    assert_equivariant(lambda b: (model(b), model.encoder.encode(b)[1]), batch, atol=1e-4)
    rot, shift = random_rotation(3), torch.tensor([4.0, -7.0, 1.0])
    moved = batch.clone()
    moved.pos = batch.pos @ rot.T + shift
    with torch.no_grad():
        diff = (model(batch) - model(moved)).abs().max()
    assert diff < 1e-4
    if virtual_node:
        with torch.no_grad():
            v1, v2 = model.encoder.encode(batch)[2], model.encoder.encode(moved)[2]
        assert torch.allclose(v1 @ rot.T + shift, v2, atol=1e-3)  # the virtual nodes move with the protein


@pytest.mark.parametrize("virtual_node", [False, True])
def test_permuting_residues_permutes_scores(virtual_node):
    pack = _pack(n=(26,))
    batch = pack.batch([0])
    model = _model(virtual_node)
    perm = torch.randperm(26, generator=torch.Generator().manual_seed(2))
    inverse = torch.empty_like(perm)
    inverse[perm] = torch.arange(26)
    permuted = batch.clone()
    permuted.x, permuted.pos = batch.x[perm], batch.pos[perm]
    permuted.edge_index = inverse[batch.edge_index]
    with torch.no_grad():
        assert torch.allclose(model(batch)[perm], model(permuted), atol=1e-5)


def test_principal_frames_rotate_with_the_graph():
    pos = torch.randn(40, 3) * torch.tensor([5.0, 2.0, 1.0])
    batch = torch.zeros(40, dtype=torch.long)
    rot = random_rotation(5)
    c1, a1, r1 = principal_frames(pos, batch, 1)
    c2, a2, r2 = principal_frames(pos @ rot.T + 2.0, batch, 1)
    assert torch.allclose(a1[0] @ rot.T, a2[0], atol=1e-4) and torch.allclose(r1, r2, atol=1e-4)
    assert torch.allclose(torch.det(a1[0]), torch.tensor(1.0), atol=1e-5)
    assert torch.allclose(fibonacci_sphere(12).norm(dim=1), torch.ones(12), atol=1e-6)


def test_egnn_without_coordinates_is_a_clear_error():
    from gnncli.errors import InputError
    from gnncli.testing import molecule_pack

    pack = molecule_pack()
    model = build_model(ModelConfig(name="egnn", in_channels=pack.x.size(1), edge_dim=pack.edge_attr.size(1), hidden=8))
    with pytest.raises(InputError, match="needs node coordinates"):
        model(pack.batch(range(2)))


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("virtual_node", [False, True])
def test_egnn_on_cuda_matches_cpu_and_stays_invariant(virtual_node):
    pack = _pack()
    batch = pack.batch(range(len(pack)))
    model = _model(virtual_node)
    with torch.no_grad():
        cpu = model(batch)
        gpu = model.cuda()(batch.to("cuda")).cpu()
        moved = batch.clone()
        moved.pos = batch.pos @ random_rotation(1).T + 5.0
        gpu_moved = model(moved.to("cuda")).cpu()
    assert torch.allclose(cpu, gpu, atol=1e-4) and torch.allclose(gpu, gpu_moved, atol=1e-4)
