import pytest
import torch

from gnncli.models import READOUTS, ModelConfig, build_model, model_names
ENCODERS = model_names("molecules")
from gnncli.testing import assert_permutation_invariant, molecule_pack

PACK = molecule_pack()


def _model(encoder, hidden=32, **kw):
    torch.manual_seed(0)
    return build_model(ModelConfig(name=encoder, in_channels=PACK.x.size(1), edge_dim=PACK.edge_attr.size(1),
                                   out_channels=2, hidden=hidden, **kw))


@pytest.mark.parametrize("encoder", sorted(ENCODERS))
@pytest.mark.parametrize("virtual_node", [False, True])
def test_forward_backward(encoder, virtual_node):
    model = _model(encoder, virtual_node=virtual_node)
    batch = PACK.batch(range(len(PACK)))
    out = model(batch)
    assert out.shape == (len(PACK), 2)
    out.pow(2).mean().backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None for g in grads)
    assert any(float(g.abs().sum()) > 0 for g in grads)
    assert model.embed(batch).shape == (len(PACK), 32)


@pytest.mark.parametrize("encoder", sorted(ENCODERS))
@pytest.mark.parametrize("readout", READOUTS)
def test_atom_order_invariance(encoder, readout):
    model = _model(encoder, readout=readout, virtual_node=encoder in ("gine", "dmpnn"))
    for i in (2, 3, 7, 14):  # aspirin, nicotine, decalin, a chiral amide
        assert_permutation_invariant(model, PACK.get(i), seed=i)


def test_invariance_check_can_fail():
    class PositionDependent(torch.nn.Module):
        def forward(self, batch):  # weights each atom by its index: depends on atom order
            weights = torch.arange(batch.x.size(0), dtype=torch.float)
            return (weights * batch.x[:, -1]).sum().reshape(1, 1)

    with pytest.raises(AssertionError):
        assert_permutation_invariant(PositionDependent(), PACK.get(2))


def test_batched_equals_single():
    model = _model("dmpnn").eval()
    batch = PACK.batch(range(len(PACK)))
    with torch.no_grad():
        together = model(batch)
        alone = torch.cat([model(PACK.batch([i])) for i in range(len(PACK))])
    assert torch.allclose(together, alone, atol=1e-5)


def test_unknown_names_are_rejected():
    with pytest.raises(ValueError, match="unknown model"):
        ModelConfig(name="transformer")
    with pytest.raises(ValueError, match="unknown readout"):
        ModelConfig(readout="max")


def test_mpnn_default_hidden_is_small():
    assert ModelConfig(name="mpnn").hidden == 64
    assert ModelConfig(name="dmpnn").hidden == 300


@pytest.mark.parametrize("virtual_node", [False, True])
def test_padded_dmpnn_computes_the_same_function(virtual_node):
    model = _model("dmpnn", virtual_node=virtual_node)  # hidden 32 is already a multiple of 8
    model.encoder = model.encoder.padded(multiple=12)  # so pad to 36
    model.encoder = model.encoder.padded(multiple=1)  # no-op
    assert model.encoder.W_m.in_features == 36
    model = _model("dmpnn", virtual_node=virtual_node, hidden=30).eval()
    batch = PACK.batch(range(len(PACK)))
    with torch.no_grad():
        before, emb_before = model(batch), model.embed(batch)
        model.for_inference()
        after, emb_after = model(batch), model.embed(batch)
    assert model.encoder.W_m.in_features == 32 and model.encoder.out_channels == 30
    assert emb_after.shape == emb_before.shape == (len(PACK), 30)
    assert torch.allclose(before, after, atol=1e-5) and torch.allclose(emb_before, emb_after, atol=1e-5)


def test_for_inference_leaves_other_encoders_as_they_are():
    model = _model("gine")
    encoder = model.encoder
    assert model.for_inference() is model and model.encoder is encoder and not model.training


@pytest.mark.parametrize("encoder", ["dmpnn", "gine", "gcn"])
def test_node_level_outputs_follow_their_nodes(encoder):
    from torch_geometric.data import Batch

    from gnncli.testing import permute_graph

    model = _model(encoder, level="node", virtual_node=encoder == "dmpnn").eval()
    data = PACK.get(3)  # nicotine
    perm = torch.randperm(data.num_nodes, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        out = model(PACK.batch([3]))
        permuted = model(Batch.from_data_list([permute_graph(data, perm)]))
    assert out.shape == (data.num_nodes, 2) and model.embed(PACK.batch([3])).shape == (data.num_nodes, 32)
    assert torch.allclose(permuted, out[perm], atol=1e-5)  # equivariant: outputs move with their nodes
    with pytest.raises(ValueError, match="unknown output level"):
        ModelConfig(level="edge")


def test_models_register_by_name_and_load_lazily():
    from gnncli.models import MODELS, register_model
    from gnncli.registry import Registry

    lazy = Registry("thing")
    lazy.register("later", "gnncli.no_such_module:thing")
    assert lazy.names() == ("later",)  # known without importing it
    with pytest.raises(ModuleNotFoundError):
        lazy.get("later")

    class Mean(torch.nn.Module):
        def __init__(self, config):
            super().__init__()
            self.lin = torch.nn.Linear(config.in_channels, config.out_channels)

        def embed(self, batch):
            from torch_geometric.utils import scatter

            return scatter(batch.x, batch.batch, dim=0, reduce="mean")

        def forward(self, batch):
            return self.lin(self.embed(batch))

    register_model("mean-mlp", Mean, domains=("molecules",), defaults={"hidden": 8})
    try:
        assert "mean-mlp" in model_names("molecules") and "mean-mlp" not in model_names("proteins")
        config = ModelConfig(name="mean-mlp", in_channels=PACK.x.size(1), out_channels=2)
        assert config.hidden == 8
        model = build_model(config)
        assert isinstance(model, Mean) and model(PACK.batch([0, 1])).shape == (2, 2)
    finally:
        MODELS.unregister("mean-mlp")
    with pytest.raises(ValueError, match="unknown model 'mean-mlp'"):
        ModelConfig(name="mean-mlp")


def test_model_config_checks_its_values():
    with pytest.raises(ValueError, match="hidden must be a positive integer, got 'wide'"):
        ModelConfig(name="gin", hidden="wide")
    with pytest.raises(ValueError, match="dropout"):
        ModelConfig(name="gin", dropout=1.5)
    assert ModelConfig.from_dict({"encoder": "gin", "hidden": 8}).name == "gin"  # run format 1
