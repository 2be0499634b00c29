"""The programmatic entry points: silent, and dispatching through the domain registry."""

import io

import numpy as np
import pandas as pd
import pytest

from gnncli import api
from gnncli.domains import get_domain, resolve_domain
from gnncli.errors import InputError, UsageError
from gnncli.testing import write_molecule_csv


def _opts(data, out, **kw):
    return api.TrainOptions(data=str(data), targets=["logp"], out=str(out), plots=False,
                            model=api.ModelConfig(hidden=16), loop=api.LoopConfig(epochs=1, batch_size=16), **kw)


def test_train_predict_and_embed_print_nothing(tmp_path, capfd):
    data = write_molecule_csv(tmp_path / "d.csv", n=30)
    summary = api.train(_opts(data, tmp_path / "run"))
    api.predict(summary["run"], [str(data)], io.StringIO(), workers=1)
    api.embed(summary["run"], [str(data)], str(tmp_path / "e.npy"), workers=1)
    api.resume(summary["run"])
    out, err = capfd.readouterr()  # file descriptors: worker processes included
    assert out == "" and err == ""


def test_summary_names_kind_unit_and_counts(tmp_path):
    data = write_molecule_csv(tmp_path / "d.csv", n=30)
    summary = api.train(_opts(data, tmp_path / "run"))
    assert summary["kind"] == "molecules" and summary["unit"] == "molecules" and summary["model"] == "dmpnn"
    assert summary["molecules"] == {"rows": 30, "invalid": 0, "unlabelled": 0, "train": 24, "val": 3, "test": 3}


def test_resuming_a_finished_run_says_so(tmp_path):
    data = write_molecule_csv(tmp_path / "d.csv", n=30)
    first = api.train(_opts(data, tmp_path / "run"))
    again = api.resume(str(tmp_path / "run"))
    assert again["test"] == first["test"] and "already complete" in again["warnings"][0]
    assert api.resume_point(str(tmp_path / "run")) == {"complete": True, "members": 1, "pending": []}


def test_the_kind_of_input_is_recognised(tmp_path):
    (tmp_path / "mols.csv").write_text("name,smiles,y\na,CCO,1\nb,c1ccccc1,2\n")
    (tmp_path / "mols.smi").write_text("CCO\n")
    (tmp_path / "table.csv").write_text("a,b\n1,2\n")
    (tmp_path / "x.weird").write_text("1\n")
    assert resolve_domain(str(tmp_path / "mols.csv")).name == "molecules"
    assert resolve_domain(str(tmp_path / "mols.smi")).name == "molecules"
    assert resolve_domain(str(tmp_path / "table.csv")).name == "molecules"  # by extension: its reader explains
    assert resolve_domain(None).name == "molecules" and resolve_domain("-").name == "molecules"
    assert get_domain("molecules").sniff(str(tmp_path / "mols.csv"))
    assert not get_domain("molecules").sniff(str(tmp_path / "table.csv"))
    with pytest.raises(InputError, match="unknown file type"):
        resolve_domain(str(tmp_path / "x.weird"))
    with pytest.raises(InputError, match="is a folder"):
        resolve_domain(str(tmp_path))
    with pytest.raises(UsageError, match="--kind spaceships: unknown kind of input"):
        resolve_domain(str(tmp_path / "mols.csv"), "spaceships")


def test_task_and_split_are_the_domains_to_check(tmp_path):
    data = write_molecule_csv(tmp_path / "d.csv", n=30)
    with pytest.raises(UsageError, match="--task binding-site: not a task for molecules input"):
        api.train(_opts(data, tmp_path / "a", task="binding-site"))
    with pytest.raises(UsageError, match="--split cluster: not a split for molecules input"):
        api.train(_opts(data, tmp_path / "b", split="cluster"))
    with pytest.raises(UsageError, match="--chains is an option for proteins input, and this input is molecules"):
        api.train(_opts(data, tmp_path / "c", options={"chains": "A"}))


@pytest.mark.parametrize("spelling", ["N/A", "NA", "nan", "None", "-", "NULL", " "])
def test_missing_labels_however_spelled_are_masked(tmp_path, spelling):
    data = write_molecule_csv(tmp_path / "d.csv", n=30)
    frame = pd.read_csv(data)
    frame["logp"] = frame["logp"].astype(object)
    frame.loc[[2, 5], "logp"] = spelling
    frame.to_csv(data, index=False)
    opts = _opts(data, tmp_path / "run")
    opts.targets = None  # the column must still be found as a target
    summary = api.train(opts)
    assert summary["targets"] == ["logp"] and summary["molecules"]["unlabelled"] == 2
    assert np.isfinite(summary["test"]["rmse"])
