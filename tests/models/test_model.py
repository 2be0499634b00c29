import pytest
import torch

from gnncli.models import ENCODERS as REGISTERED, READOUTS, ModelConfig, build_model, model_names

# The encoders that fit molecules, less those that read what a 2D molecule pack lacks (coordinates,
# edge types): those are tested on their own inputs, and baselines below.
ENCODERS = [n for n in model_names("molecules") if n in REGISTERED and not REGISTERED.entry(n).meta.get("needs")]
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
        ModelConfig(readout="median")


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


@pytest.mark.parametrize("aggr", ["sum", "mean", "max", "vpa"])
def test_gin_aggregations_are_permutation_invariant(aggr):
    model = _model("gin", readout=aggr if aggr != "sum" else "sum", params={"aggr": aggr})
    assert_permutation_invariant(model, PACK.get(3), seed=3)


def test_vpa_scales_a_sum_by_the_square_root_of_the_count():
    from gnncli.models.model import make_readout

    x = torch.ones(4, 2)
    out = make_readout("vpa", 2)(x, torch.tensor([0, 0, 0, 1]), dim_size=2)
    assert torch.allclose(out, torch.tensor([[3 / 3**0.5] * 2, [1.0, 1.0]]))


def test_model_params_are_checked_by_the_builder():
    with pytest.raises(ValueError, match="model gin has no parameter 'heads'"):
        _model("gin", params={"heads": 2})
    with pytest.raises(ValueError, match="unknown aggregation 'median'"):
        _model("gin", params={"aggr": "median"})
    with pytest.raises(ValueError, match="must be a positive integer dividing"):
        _model("gps", params={"heads": 5})


def test_parts_are_read_out_apart_and_features_are_standardized_before_the_head():
    """An item of two graphs gives two readouts side by side; graph features follow, scaled."""
    from gnncli.models import ModelConfig, build_model
    from gnncli.testing import molecule_pack

    pack = molecule_pack(["CCO", "O", "c1ccccc1", "CO"])
    # two items: (CCO, O) and (c1ccccc1, CO), each as one graph of two parts
    merged = pack.subset([0, 1]), pack.subset([2, 3])
    import torch

    from gnncli.domains.pack import GraphPack

    def join(p):
        edges = torch.cat([p.edge_index[:, : int(p.edge_ptr[1])], p.edge_index[:, int(p.edge_ptr[1]):] + int(p.node_ptr[1])], 1)
        return GraphPack(edges, torch.tensor([0, int(p.node_ptr[2])]), torch.tensor([0, int(p.edge_ptr[2])]),
                         {"x": p.x, "part": torch.repeat_interleave(torch.tensor([0, 1]), p.num_nodes)},
                         {"edge_attr": p.edge_attr}, {"features": torch.tensor([[10.0, 5.0]])})

    items = GraphPack.concat([join(m) for m in merged])
    torch.manual_seed(0)
    config = ModelConfig(name="dmpnn", in_channels=79, edge_dim=13, hidden=8, parts=2, graph_features=2)
    model = build_model(config).eval()
    assert model.embed_dim == 18 and model.head[1].in_features == 18
    model.fit_feature_scaling(torch.tensor([[10.0, 5.0], [20.0, 5.0]]))
    assert model.feature_mean.tolist() == [15.0, 5.0] and model.feature_std.tolist() == [5.0, 1.0]
    with torch.no_grad():
        joined = model.embed(items.batch([0, 1]))
        single = model.encoder(pack.batch([0, 1, 2, 3]))
    separate = torch.zeros(4, 8).index_add_(0, pack.batch([0, 1, 2, 3]).batch, single)
    assert torch.allclose(joined[:, :16], separate.reshape(2, 16), atol=1e-5)
    assert joined[:, 16:].tolist() == [[-1.0, 0.0], [-1.0, 0.0]]
    assert "feature_mean" in model.state_dict()  # saved with the weights


def test_kinds_without_graphs_get_only_their_own_models():
    assert "dmpnn" not in model_names("ratings") and "gcmc" in model_names("ratings")
    assert "dmpnn" in model_names("proteins") and "gcmc" not in model_names("proteins")


def test_the_feature_baseline_sees_no_graph():
    model = _model("logreg")
    batch = PACK.batch([2, 3])
    assert model.embed(batch).shape == (2, PACK.x.size(1)) and model(batch).shape == (2, 2)
    cut = PACK.batch([2])
    cut.edge_index = cut.edge_index[:, :0]  # without its bonds: the same output
    with torch.no_grad():
        assert torch.equal(model(cut), model(PACK.batch([2])))


def test_the_feature_baseline_standardizes_its_features_on_the_training_nodes():
    model = _model("logreg", level="node")
    batch = PACK.batch(range(len(PACK)))
    model.fit_node_scaling(batch.x)
    scaled = batch.clone()
    scaled.x = batch.x * 1000.0 + 7.0  # the same features in other units
    refit = _model("logreg", level="node")
    refit.fit_node_scaling(scaled.x)
    with torch.no_grad():
        assert torch.allclose(model(batch), refit(scaled), atol=1e-4)
    old = {k: v for k, v in model.state_dict().items() if not k.startswith("x_")}  # a checkpoint from before
    fresh = _model("logreg", level="node")
    fresh.load_state_dict(old)
    assert torch.equal(fresh.x_std, torch.ones_like(fresh.x_std))


def test_training_fits_the_feature_baseline_scaling_on_the_training_rows():
    from gnncli.domains.base import Domain

    model = _model("logreg", level="node")
    data = type("Data", (), {"pack": PACK})()
    Domain.prepare_model(Domain(), model, data, [0, 1])
    assert torch.allclose(model.x_mean, PACK.subset([0, 1]).x.float().mean(0))
