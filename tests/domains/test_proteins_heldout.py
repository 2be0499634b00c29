"""Binding sites on held-out sequence clusters: ``gnn train``'s default recipe for proteins is the one
``benchmarks/proteins_heldout.py`` measured, its split keeps sequence clusters whole, and the
benchmark's train-then-predict path scores held-out complexes of the shared PDBbind set."""

import importlib.util
import json
from pathlib import Path

import pandas as pd
import pytest

from gnncli.cli.main import app

from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data" / "proteins" / "pdbbind2020_sites_train"


def _benchmark():
    spec = importlib.util.spec_from_file_location("proteins_heldout", ROOT / "benchmarks" / "proteins_heldout.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench = _benchmark()


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_the_benchmark_trains_with_the_defaults_and_nothing_else(tmp_path):
    command = bench.train_command(tmp_path / "data", tmp_path / "run", 3)
    assert command[1:4] == ["-m", "gnncli", "train"]
    assert command[4:] == [str(tmp_path / "data"), "--task", "binding-site", "--seed", "3", "--out", str(tmp_path / "run"),
                           "--no-plots", "--json"]


def test_the_default_recipe_is_the_measured_recipe():
    from gnncli.domains.proteins.featurizer import ResidueFeaturizer
    from gnncli.models import ModelConfig
    from gnncli.models.config import loop_defaults

    model = ModelConfig(name="egnn", kind="proteins")
    loop = loop_defaults("egnn", "proteins")
    recipe = bench.MEASURED_RECIPE
    assert (model.hidden, model.depth, model.dropout) == (recipe["hidden"], recipe["depth"], recipe["dropout"])
    assert (loop["epochs"], loop["batch_size"], loop["lr"], loop["patience"], loop["weight_decay"], loop["warmup"]) == (
        recipe["epochs"], recipe["batch_size"], recipe["lr"], recipe["patience"], recipe["weight_decay"], recipe["warmup"])
    assert ResidueFeaturizer().version == recipe["featurizer_version"]
    molecules = ModelConfig(name="egnn", kind="molecules")  # the encoder's own defaults stay the molecules'
    assert molecules.depth == 3 and loop_defaults("egnn", "molecules")["batch_size"] == 64


def _folder(tmp_path, clusters):
    """A PDBbind folder of len(clusters) small generated complexes with these sequence clusters."""
    from tests.domains.test_proteins import _pdbbind_folder

    folder = _pdbbind_folder(tmp_path / "pdbbind", len(clusters))
    index = pd.read_csv(folder / "index.csv")
    index["seq_cluster"] = clusters
    index.to_csv(folder / "index.csv", index=False)
    return folder, dict(zip(index["id"], clusters))


FAST = ["--epochs", "1", "--hidden", "8", "--depth", "1", "--no-plots", "--json"]


def test_a_pdbbind_folder_is_split_by_sequence_cluster_by_default(tmp_path):
    clusters = [0, 0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    folder, cluster_of = _folder(tmp_path, clusters)
    result = invoke("train", folder, *FAST, "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["domain"]["split_groups"] == "seq_cluster"
    ids = sorted(cluster_of)  # the run's structure order: the complexes' folders, sorted
    split = json.loads((tmp_path / "run" / "splits.json").read_text())[0]
    sides = {part: {cluster_of[ids[i]] for i in split[part]} for part in ("train", "val", "test")}
    assert split["val"] and split["test"]
    assert not sides["train"] & sides["val"] and not sides["train"] & sides["test"] and not sides["val"] & sides["test"]
    # k-fold likewise: each fold tests whole clusters
    result = invoke("train", folder, *FAST, "--split", "kfold", "--folds", "3", "--out", tmp_path / "kfold")
    assert result.exit_code == 0, result.output
    for split in json.loads((tmp_path / "kfold" / "splits.json").read_text()):
        test = {cluster_of[ids[i]] for i in split["test"]}
        assert not test & {cluster_of[ids[i]] for i in split["train"] + split["val"]}


def test_too_few_clusters_split_by_structure_with_a_warning_unless_the_column_was_asked_for(tmp_path):
    folder, _ = _folder(tmp_path, [0] * 5 + [1] * 5)
    result = invoke("train", folder, *FAST, "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    assert "split by structure, not by seq_cluster" in result.output
    assert json.loads((tmp_path / "run" / "config.json").read_text())["domain"]["split_groups"] is None
    result = invoke("train", folder, *FAST, "--group-col", "seq_cluster", "--out", tmp_path / "asked")
    assert result.exit_code == 1 and "too few" in result.output


@pytest.mark.skipif(not SHARED.is_dir(), reason=f"the shared PDBbind set is not at {SHARED}")
def test_held_out_clusters_of_the_shared_set_are_scored_with_the_default_recipe(tmp_path):
    """Train with the benchmark's own command (the defaults; 2 epochs here, to be quick) on ten
    small complexes of ten sequence clusters, predict two complexes of two other clusters."""
    index = pd.read_csv(SHARED / "index.csv", dtype=str, keep_default_na=False)
    small = index.assign(n=index["protein_residues"].astype(int)).sort_values(["n", "id"]).drop_duplicates("seq_cluster")
    train_ids, held_out = small["id"].iloc[:10].tolist(), small["id"].iloc[10:12].tolist()
    train_dir = bench.subset_folder(SHARED, index, train_ids, tmp_path / "train")
    test_dir = bench.subset_folder(SHARED, index, held_out, tmp_path / "held_out")
    run = tmp_path / "run"
    command = bench.train_command(train_dir, run, 0, ["--epochs", "2"])
    result = invoke(*command[3:])
    assert result.exit_code == 0, result.output
    recipe = bench.run_recipe(run)
    assert recipe == {**bench.MEASURED_RECIPE, "epochs": 2}, "gnn train's defaults are not the recipe the benchmark measured"
    result = invoke("predict", run, test_dir, "--out", tmp_path / "predictions.csv")
    assert result.exit_code == 0, result.output
    labels = bench.residue_labels(test_dir)
    joined = bench.scored_residues(tmp_path / "predictions.csv", labels)
    assert sorted(joined["complex"].unique()) == sorted(held_out) and len(joined) == len(labels)
    assert not set(index.loc[index["id"].isin(held_out), "seq_cluster"]) & set(index.loc[index["id"].isin(train_ids), "seq_cluster"])
    figures = bench.scores(joined)
    assert figures["site_residues"] > 0 and 0.0 <= figures["roc_auc"] <= 1.0
