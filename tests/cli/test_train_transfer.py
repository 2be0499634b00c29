"""gnn train --from RUN [--freeze-encoder]: transfer learning from a trained run's encoder."""

import pandas as pd
import pytest
import torch

from gnncli import api
from gnncli.testing import write_molecule_csv

from .conftest import FAST, invoke, last_json


def _weights(run, member=0):
    return torch.load(run / "models" / f"model_{member}.pt", weights_only=True)["state_dict"]


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    folder = tmp_path_factory.mktemp("source")
    data = write_molecule_csv(folder / "big.csv", n=40, seed=1)
    result = invoke("train", data, "-t", "logp", *FAST, "--depth", "2", "--out", folder / "run")
    assert result.exit_code == 0, result.output
    return folder / "run"


@pytest.mark.parametrize("freeze", [False, True])
def test_from_starts_with_the_runs_encoder_and_freezing_keeps_it(tmp_path, source, freeze):
    data = write_molecule_csv(tmp_path / "small.csv", n=30, seed=2)
    args = ["train", data, "-t", "logp", "--epochs", "2", "--batch-size", "16", "--no-plots", "--from", source]
    result = invoke(*args, *(["--freeze-encoder"] if freeze else []), "--out", tmp_path / "run", "--json")
    assert result.exit_code == 0, result.output
    theirs, ours = _weights(source), _weights(tmp_path / "run")
    encoder = [k for k in theirs if k.startswith("encoder.")]
    assert encoder and all(theirs[k].shape == ours[k].shape for k in encoder)  # hidden 32, depth 2: the run's
    same = all(torch.equal(theirs[k], ours[k]) for k in encoder)
    assert same is freeze
    assert not torch.equal(theirs["head.1.weight"], ours["head.1.weight"])


def test_from_copies_the_encoder_before_training(tmp_path, source, monkeypatch):
    """With no training step the encoder is exactly the run's and the head is fresh."""
    from gnncli.train import loop, members

    seen = {}
    real_fit = loop.fit

    def spy(model, *args, **kwargs):
        seen.update({k: v.clone() for k, v in model.state_dict().items()})
        return real_fit(model, *args, **kwargs)

    monkeypatch.setattr(members, "fit", spy)
    data = write_molecule_csv(tmp_path / "small.csv", n=30, seed=2)
    api.train(api.TrainOptions(data=str(data), targets=["logp"], out=str(tmp_path / "run"), plots=False, init_from=str(source),
                               loop=api.LoopConfig(epochs=1, batch_size=16)))
    theirs = _weights(source)
    assert all(torch.equal(seen[k], theirs[k]) for k in theirs if k.startswith("encoder."))
    assert not torch.equal(seen["head.1.weight"], theirs["head.1.weight"])


def test_from_refuses_another_featurizer_and_freeze_needs_from(tmp_path, source):
    frame = pd.read_csv(write_molecule_csv(tmp_path / "d.csv", n=30))
    frame["t"] = 1.0
    frame.to_csv(tmp_path / "d.csv", index=False)
    ok = invoke("train", tmp_path / "d.csv", "-t", "logp", "--descriptor-col", "t", *FAST, "--from", source, "--out", tmp_path / "a")
    assert ok.exit_code == 0, ok.output  # descriptors feed the head, not the encoder
    rxn = tmp_path / "rxn.csv"
    rxn.write_text("smiles,y\n" + "".join(f"[CH3:1][OH:2]>>[CH2:1]=[O:2],{i}\n" for i in range(30)))
    refused = invoke("train", rxn, "-t", "y", *FAST, "--from", source, "--out", tmp_path / "b")
    assert refused.exit_code == 1 and f"--from {source}: the run's encoder reads atoms and bonds" in " ".join(refused.output.split())
    lone = invoke("train", tmp_path / "d.csv", "-t", "logp", *FAST, "--freeze-encoder", "--out", tmp_path / "c")
    assert lone.exit_code == 2 and "--freeze-encoder needs --from" in lone.output
