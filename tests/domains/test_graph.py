"""The graph kind: one graph, node classification, link prediction, samplers and layer-wise inference."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from gnncli.domains.graph import sampling
from gnncli.domains.graph.data import NodeGraph, node_batch, propagate
from gnncli.domains.graph.models import layerwise
from gnncli.models import ModelConfig, build_model
from gnncli.testing import planted_graph, write_planted_graph
from tests.cli.conftest import invoke, last_json


def _graph(n=120, seed=0, weighted=False) -> NodeGraph:
    edges, labels, x = planted_graph(n, 3, p_in=0.1, p_out=0.01, seed=seed)
    w = np.random.default_rng(seed).uniform(0.5, 2.0, len(edges)) if weighted else None
    g = NodeGraph.from_edges(np.array([str(i) for i in range(n)]), torch.from_numpy(x), edges[:, 0], edges[:, 1], w)
    g.y = torch.from_numpy(labels[:, None].astype(np.float32))
    g.y_mask = torch.ones(n, 1, dtype=torch.bool)
    return g


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    return write_planted_graph(tmp_path_factory.mktemp("planted") / "graph", n=300)


def _train(folder, out, *args):
    result = invoke("train", folder, "--out", out, "--no-plots", "--json", *args)
    assert result.exit_code == 0, result.output
    return last_json(result.output)


# ---------------------------------------------------------------------------------- samplers


def test_neighbor_sampling_keeps_seeds_first_and_never_exceeds_the_fanout():
    g = _graph(400, weighted=False)
    seeds = torch.tensor([5, 17, 99, 250, 301])
    fanouts = (3, 2)
    nodes, edge_index, hops = sampling.sample_neighbors(g.rowptr, g.col, seeds, fanouts,
                                                        generator=torch.Generator().manual_seed(0))
    assert torch.equal(nodes[:5], seeds)
    assert len(torch.unique(nodes)) == len(nodes)
    indeg = torch.bincount(edge_index[1], minlength=len(nodes))
    assert int(indeg[: hops[0]].max()) <= fanouts[0]  # seeds: first hop's fan-out
    assert int(indeg[hops[0]: hops[1]].max()) <= fanouts[1]
    assert int(indeg[hops[1]:].sum()) == 0  # the last hop's nodes receive no edges
    # every sampled edge is an edge of the graph, and a seed with few neighbours keeps them all
    src, dst = nodes[edge_index[0]], nodes[edge_index[1]]
    full = set(zip(g.edge_index()[0].tolist(), g.edge_index()[1].tolist()))
    assert all((int(s), int(d)) in full for s, d in zip(src, dst))
    deg = g.rowptr.diff()
    for i, s in enumerate(seeds.tolist()):
        assert int(indeg[i]) == min(int(deg[s]), fanouts[0])
    assert int((g.mapping() >= 0).sum()) == 0  # the work array is clean again


def test_cluster_batches_partition_the_nodes():
    g = _graph(300)
    membership = sampling.metis_parts(g.rowptr, g.col, 12)
    assert membership.shape == (300,) and set(np.unique(membership)) <= set(range(12))
    seen = torch.cat(list(sampling.cluster_groups(membership, 12, 5, generator=torch.Generator().manual_seed(1))))
    assert sorted(seen.tolist()) == list(range(300))  # each node in exactly one batch
    # METIS keeps far more edges inside a part than a random partition would (1/12)
    ei = g.edge_index().numpy()
    assert (membership[ei[0]] == membership[ei[1]]).mean() > 0.25


def test_sgc_features_equal_dense_propagation():
    g = _graph(60, weighted=True)
    a = torch.zeros(60, 60)
    ei = g.edge_index()
    a[ei[1], ei[0]] = g.weight
    a = a + torch.eye(60)
    d = a.sum(1).rsqrt()
    a_hat = d[:, None] * a * d[None, :]
    expected = torch.linalg.matrix_power(a_hat, 3) @ g.x
    assert torch.allclose(propagate(g, g.x, 3), expected, atol=1e-4)


@pytest.mark.parametrize("name", ["gcn", "sage", "gat", "gin", "appnp", "gcnii", "mlp"])
def test_layerwise_inference_equals_full_batch(name):
    g = _graph(150, weighted=name in ("gcn", "appnp", "gcnii"))
    torch.manual_seed(0)
    depth = {"appnp": 4, "gcnii": 4}.get(name, 2)
    model = build_model(ModelConfig(name=name, kind="graph", in_channels=g.num_features, out_channels=3, hidden=8,
                                    depth=depth, dropout=0.5, level="node")).eval()
    nodes = torch.arange(g.num_nodes)
    batch = node_batch(g, nodes, g.edge_index(), nodes, whole=True, edge_weight=g.weight)
    with torch.no_grad():
        full = model(batch)
        emb = model.embed(batch)
    chunked = layerwise(model, g, target_edges=64)  # many chunks
    assert torch.allclose(chunked, full, atol=1e-4)
    assert torch.allclose(layerwise(model, g, target_edges=64, embed=True), emb, atol=1e-4)


# ---------------------------------------------------------------------------------- training


@pytest.mark.parametrize("name", ["gcn", "sage", "gat", "gin", "sgc", "appnp", "gcnii", "mlp"])
def test_every_model_learns_above_chance_on_planted_communities(planted, tmp_path, name):
    extra = ["--depth", "4"] if name == "gcnii" else []
    summary = _train(planted, tmp_path / "run", "--model", name, "--epochs", "60", *extra)
    assert summary["kind"] == "graph" and summary["task"] == "multiclass"
    assert summary["nodes"]["train"] == 120 and summary["nodes"]["test"] == 120  # the split column
    assert summary["test"]["accuracy"] > 0.5, summary["test"]  # chance is 1/3


def test_gat_and_sgc_pick_their_epoch_by_validation_loss_unless_told(planted, tmp_path):
    """gat and sgc stop on validation cross-entropy (their recipes on Cora); the others on
    accuracy; --metric wins; gat's loop runs up to 1000 epochs unless told."""
    from gnncli.models.config import loop_defaults
    assert loop_defaults("gat", "graph", "multiclass")["epochs"] == 1000
    assert loop_defaults("gat", "graph", "link-prediction")["epochs"] == 200
    picked = {name: _train(planted, tmp_path / name, "--model", name, "--epochs", "5")["monitor"]
              for name in ("gat", "sgc", "gcn")}
    assert picked == {"gat": "cross_entropy", "sgc": "cross_entropy", "gcn": "accuracy"}
    told = _train(planted, tmp_path / "told", "--model", "gat", "--epochs", "5", "--metric", "accuracy")
    assert told["monitor"] == "accuracy"


def test_the_graph_adds_what_features_miss(planted, tmp_path):
    gcn = _train(planted, tmp_path / "gcn", "--model", "gcn", "--epochs", "100")
    mlp = _train(planted, tmp_path / "mlp", "--model", "mlp", "--epochs", "100")
    assert gcn["test"]["accuracy"] > mlp["test"]["accuracy"] + 0.1


def test_neighbor_sampling_and_clusters_come_close_to_full_batch(planted, tmp_path):
    common = ["--model", "sage", "--epochs", "60", "--batch-size", "32"]
    full = _train(planted, tmp_path / "full", *common, "--batching", "full")
    sampled = _train(planted, tmp_path / "sampled", *common, "--batching", "neighbor", "--fanout", "5,5")
    clusters = _train(planted, tmp_path / "clusters", *common, "--batching", "cluster", "--clusters", "12",
                      "--cluster-batch", "3")
    assert sampled["batching"] == "neighbor" and clusters["batching"] == "cluster"
    assert sampled["test"]["accuracy"] >= full["test"]["accuracy"] - 0.05, (sampled["test"], full["test"])
    assert clusters["test"]["accuracy"] >= full["test"]["accuracy"] - 0.1, (clusters["test"], full["test"])


def test_models_that_read_no_edge_batch_their_nodes_alone(planted, tmp_path, monkeypatch):
    """sgc and mlp never sample neighbours or clusters: beyond the full-batch size mlp trains on
    mini-batches of nodes without edges, sgc full-batch; their full batches carry no edge."""
    from gnncli.domains.graph import training
    from gnncli.domains.graph.data import NodeDataset

    assert training.batching_settings({}, 10, "mlp") == {"batching": "full"}
    big = training.FULL_BATCH_NODES + 1
    assert training.batching_settings({"batching": "neighbor"}, big, "mlp") == {"batching": "nodes"}
    assert training.batching_settings({"batching": "cluster"}, big, "sgc") == {"batching": "full"}
    assert training.batching_settings({}, big, "sage")["batching"] == "neighbor"
    g = _graph(200)
    items = np.arange(0, 200, 3)
    for mode in ("nodes", "full"):
        data = NodeDataset(source="g", pack=g, targets=["y"], task_type="multiclass",
                           extra={"batching": mode, "uses_edges": False, "eval_fanouts": [25, 25]})
        batches = list(data.train_loader(items, batch_size=16, seed=0, epoch=0))
        assert all(b.edge_index.size(1) == 0 and b.num_nodes == b.num_items for b in batches)
        assert sorted(torch.cat([b.y[:, 0] for b in batches]).tolist()) == sorted(g.y[items, 0].tolist())
        seen = torch.cat([b.x for b in batches])
        assert torch.allclose(seen.sum(0), g.features(torch.from_numpy(items)).sum(0), atol=1e-4)
        assert sum(b.num_items for b in data.loader(items)) == len(items)
    monkeypatch.setattr(training, "FULL_BATCH_NODES", 100)  # the planted graph's 300 nodes are "large"
    summary = _train(planted, tmp_path / "mlp", "--model", "mlp", "--epochs", "40", "--batch-size", "32")
    assert summary["batching"] == "nodes" and summary["test"]["accuracy"] > 0.5, summary["test"]


def test_predict_and_embed_every_node_or_the_ids_asked(planted, tmp_path):
    run = tmp_path / "run"
    _train(planted, run, "--model", "gcn", "--epochs", "30")
    result = invoke("predict", run, "--out", tmp_path / "all.csv")
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "all.csv", keep_default_na=False)
    assert len(table) == 300 and list(table.columns[:2]) == ["id", "label_pred"]
    probs = table[[c for c in table.columns if c.startswith("label_class_")]].to_numpy(float)
    assert probs.shape[1] == 3 and np.allclose(probs.sum(1), 1, atol=1e-4)
    truth = pd.read_csv(planted / "nodes.csv")
    accuracy = (table["label_pred"].astype(int).to_numpy() == truth["label"].to_numpy()).mean()
    assert accuracy > 0.6
    (tmp_path / "ids.csv").write_text("id\nn5\nnope\nn7\n")
    result = invoke("predict", run, tmp_path / "ids.csv")
    assert result.exit_code == 0, result.output
    rows = [line for line in result.stdout.splitlines() if line.startswith(("n5", "nope", "n7"))]
    assert [r.split(",")[0] for r in rows] == ["n5", "nope", "n7"]  # input order, bad row kept
    assert "unknown node id" in rows[1] and "unknown" not in rows[0]
    result = invoke("embed", run, "--out", tmp_path / "nodes.npy")
    assert result.exit_code == 0, result.output
    vectors = np.load(tmp_path / "nodes.npy")
    assert vectors.shape == (300, 16) and np.isfinite(vectors).all()  # gcn's hidden layer
    assert pd.read_csv(tmp_path / "nodes.ids.csv")["id"].tolist()[:2] == ["n0", "n1"]


def test_a_folder_of_edges_and_nodes_is_the_graph_kind_and_features_may_be_columns(tmp_path):
    folder = write_planted_graph(tmp_path / "g", n=150, feature_file=None, split=False)
    summary = _train(folder, tmp_path / "run", "--model", "sgc", "--epochs", "30", "--split", "stratified")
    assert summary["kind"] == "graph" and summary["nodes"]["features"] == 16
    assert summary["nodes"]["train"] + summary["nodes"]["val"] + summary["nodes"]["test"] == 150


def test_edge_list_with_node_table_and_memory_mapped_features(planted, tmp_path):
    summary = _train(planted / "edges.csv", tmp_path / "run", "--kind", "graph", "--nodes", planted / "nodes.csv",
                     "--features", planted / "features.npy", "--target", "label", "--model", "gcn", "--epochs", "20")
    assert summary["nodes"]["features"] == 16 and summary["test"]["accuracy"] > 0.4


def test_link_prediction_never_passes_messages_over_held_out_edges(planted, tmp_path):
    from gnncli import api
    from gnncli.domains import get_domain
    from gnncli.progress import Reporter

    opts = api.TrainOptions(data=str(planted), kind="graph", task="link-prediction",
                            model=ModelConfig(name="gcn", kind="graph"))
    opts = api.settle_options(opts, get_domain("graph"))
    data = get_domain("graph").prepare(opts, Reporter())
    train, val, test = data.extra["split"]
    held = {(int(s), int(t)) for i in np.concatenate([val, test])
            for s, t in [(data.extra["src"][i], data.extra["dst"][i])]}
    for loader in (data.train_loader(train, batch_size=64, seed=0, epoch=0), data.loader(val), data.loader(test)):
        for batch in loader:
            ei = batch.edge_index
            passed = set(zip(ei[0].tolist(), ei[1].tolist()))
            assert not any((s, t) in passed or (t, s) in passed for s, t in held)
            assert batch.edge_index.size(1) == 2 * len(train)
    summary = _train(planted, tmp_path / "run", "--task", "link-prediction", "--model", "gcn", "--epochs", "40",
                     "--dropout", "0")
    assert summary["task"] == "link-prediction"
    assert summary["test"]["roc_auc"] > 0.6 and 0 < summary["test"]["mrr"] <= 1
    (tmp_path / "pairs.csv").write_text("source,target\nn0,n1\nn2,zzz\n")
    result = invoke("predict", tmp_path / "run", tmp_path / "pairs.csv")
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "source,target,score,error" and "unknown target id" in lines[2]


def test_link_prediction_trains_its_own_recipe_unless_told_otherwise(planted, tmp_path):
    """Link prediction (asked for, or what auto means for edges with no labelled node table)
    defaults to gat with GAE's recipe, not the node-classification one; given options win."""
    import shutil

    from gnncli.domains import get_domain

    graph = get_domain("graph")
    edges_only = tmp_path / "edges.csv"
    shutil.copy(planted / "edges.csv", edges_only)
    assert graph.settle_task([str(edges_only)], "auto", [], {}) == "link-prediction"
    assert graph.settle_task([str(planted)], "auto", [], {}) == "auto"  # nodes.csv has a label column
    assert graph.settle_task([str(planted)], "auto", [], {"nodes": str(tmp_path / "absent.csv")}) == "auto"
    summary = _train(edges_only, tmp_path / "auto", "--kind", "graph", "--epochs", "3")
    config = json.loads((tmp_path / "auto" / "config.json").read_text())
    assert summary["task"] == "link-prediction" and summary["model"] == "gat"
    assert (config["model"]["hidden"], config["model"]["dropout"]) == (64, 0.0)
    assert config["options"]["loop"]["weight_decay"] == 0.0
    _train(planted, tmp_path / "given", "--task", "link-prediction", "--model", "sage", "--hidden", "8",
           "--weight-decay", "1e-3", "--epochs", "2")
    config = json.loads((tmp_path / "given" / "config.json").read_text())
    assert (config["model"]["name"], config["model"]["hidden"], config["model"]["dropout"]) == ("sage", 8, 0.0)
    assert config["options"]["loop"]["weight_decay"] == 1e-3 and config["options"]["loop"]["epochs"] == 2
    node = _train(planted, tmp_path / "nodes", "--epochs", "2")
    config = json.loads((tmp_path / "nodes" / "config.json").read_text())
    assert node["model"] == "gcnii" and config["model"]["dropout"] == 0.6  # node classification's own
    # gnn benchmark trains what gnn train would: the task's model and recipe, unless given.
    result = invoke("benchmark", edges_only, "--kind", "graph", "--epochs", "2", "--out", tmp_path / "bench")
    assert result.exit_code == 0, result.output
    run = json.loads(next((tmp_path / "bench").rglob("config.json")).read_text())
    assert run["model"]["name"] == "gat" and (run["model"]["hidden"], run["model"]["dropout"]) == (64, 0.0)
    assert run["options"]["loop"]["weight_decay"] == 0.0 and run["options"]["loop"]["epochs"] == 2
    result = invoke("benchmark", planted, "--task", "link-prediction", "--models", "gcn", "--grid", "hidden=8",
                    "--epochs", "2", "--out", tmp_path / "bench-given")
    assert result.exit_code == 0, result.output
    run = json.loads(next((tmp_path / "bench-given").rglob("config.json")).read_text())
    assert (run["model"]["name"], run["model"]["hidden"], run["model"]["dropout"]) == ("gcn", 8, 0.0)


# ---------------------------------------------------------------------------------- bad input


def _error(result) -> str:
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output
    return lines[0]


def test_bad_graph_inputs_are_one_line_errors(planted, tmp_path):
    folder = tmp_path / "g"
    folder.mkdir()
    nodes = pd.read_csv(planted / "nodes.csv")
    nodes.iloc[:-5].to_csv(folder / "nodes.csv", index=False)  # five nodes only in the edges
    (folder / "edges.csv").write_text((planted / "edges.csv").read_text())
    result = invoke("train", folder, "--strict", "--out", tmp_path / "r1")
    assert result.exit_code == 1 and "not in" in _error(result) and "first:" in _error(result)
    # without --strict they are added without features, with a warning
    result = invoke("train", folder, "--epochs", "2", "--out", tmp_path / "r2", "--no-plots")
    assert result.exit_code == 0 and "added without features" in result.output
    # a feature file whose rows match nothing
    np.save(tmp_path / "short.npy", np.zeros((10, 4), np.float32))
    result = invoke("train", planted / "edges.csv", "--kind", "graph", "--nodes", planted / "nodes.csv",
                    "--features", tmp_path / "short.npy", "--out", tmp_path / "r3")
    assert result.exit_code == 1 and "10 feature rows" in _error(result)
    # a label column with one class
    one = nodes.assign(label=1)
    one.to_csv(tmp_path / "one.csv", index=False)
    result = invoke("train", planted / "edges.csv", "--kind", "graph", "--nodes", tmp_path / "one.csv",
                    "--out", tmp_path / "r4")
    assert result.exit_code == 1 and "one class" in _error(result)
    # an empty edge list
    (tmp_path / "empty.csv").write_text("source,target\n")
    result = invoke("train", tmp_path / "empty.csv", "--kind", "graph", "--out", tmp_path / "r5")
    assert result.exit_code == 1 and "empty.csv" in _error(result)
    # options of the wrong batching
    result = invoke("train", planted, "--fanout", "5,5", "--batching", "full", "--out", tmp_path / "r6")
    assert result.exit_code == 2 and "--fanout" in _error(result)
    result = invoke("train", planted, planted, "--out", tmp_path / "r7")
    assert result.exit_code == 2 and "graph kind reads one" in _error(result)


def test_node_regression_and_multi_label_targets(planted, tmp_path):
    nodes = pd.read_csv(planted / "nodes.csv")
    rng = np.random.default_rng(0)
    nodes["score"] = nodes["label"] * 1.5 + rng.normal(0, 0.1, len(nodes))  # continuous: regression
    nodes["is0"] = (nodes["label"] == 0).astype(int)
    nodes["is1"] = (nodes["label"] == 1).astype(int)
    nodes.loc[::7, "is1"] = np.nan  # missing labels are masked
    nodes.to_csv(tmp_path / "nodes.csv", index=False)
    common = [planted / "edges.csv", "--kind", "graph", "--nodes", tmp_path / "nodes.csv", "--features",
              planted / "features.npy", "--model", "gcn", "--epochs", "60", "--no-plots", "--json"]
    result = invoke("train", *common, "--target", "score", "--out", tmp_path / "reg")
    assert result.exit_code == 0, result.output
    summary = last_json(result.output)
    assert summary["task"] == "regression" and summary["test"]["rmse"] < nodes["score"].std()
    result = invoke("train", *common, "--target", "is0", "--target", "is1", "--out", tmp_path / "multi")
    assert result.exit_code == 0, result.output
    summary = last_json(result.output)
    assert summary["task"] == "classification" and summary["targets"] == ["is0", "is1"]
    assert summary["test"]["roc_auc"] > 0.7
    result = invoke("predict", tmp_path / "multi")
    assert result.exit_code == 0 and result.stdout.splitlines()[0].startswith("id,is0_pred,is1_pred"), result.stdout[:200]


@pytest.mark.parametrize("name", ["sage", "gat", "gin", "gcn", "appnp"])
def test_trimming_sampled_layers_leaves_the_seeds_outputs_unchanged(name):
    g = _graph(300)
    nodes, edge_index, hops = sampling.sample_neighbors(g.rowptr, g.col, torch.tensor([1, 50, 120, 200]), (4, 3),
                                                        generator=torch.Generator().manual_seed(0))
    torch.manual_seed(0)
    model = build_model(ModelConfig(name=name, kind="graph", in_channels=g.num_features, out_channels=3, hidden=8,
                                    depth=2, level="node")).eval()
    batch = node_batch(g, nodes, edge_index, torch.arange(4))
    with torch.no_grad():
        whole = model(batch)
        batch.hops = hops
        trimmed = model(batch)
    assert hops[0] == 4 and hops[-1] == len(nodes) > hops[1]
    assert torch.allclose(whole, trimmed, atol=1e-5)


def test_torchrun_trains_the_graph_kind_by_seed_nodes(planted, tmp_path):
    from tests.train.test_distributed import _torchrun

    _torchrun(["train", planted, "--model", "sage", "--batching", "neighbor", "--fanout", "5,5", "--batch-size", "32",
               "--epochs", "15", "--no-plots", "--out", tmp_path / "run", "--json"], tmp_path)
    summary = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert summary["kind"] == "graph" and summary["test"]["accuracy"] > 0.5
    assert json.loads((tmp_path / "run" / "config.json").read_text()).get("processes") == 2
    result = invoke("predict", tmp_path / "run", "--out", tmp_path / "classes.csv")
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(tmp_path / "classes.csv")) == 300
