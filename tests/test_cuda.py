"""The CUDA paths: a mixed-precision training step, GPU inference through predict, and CPU/GPU
agreement of every encoder's outputs. Skipped without a GPU; on a GPU machine run them alone
with ``python -m pytest -m cuda``."""

import io

import numpy as np
import pandas as pd
import pytest
import torch

pytestmark = [pytest.mark.cuda,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]


def test_mixed_precision_training_step_on_cuda():
    from gnncli.domains.pack import PackLoader
    from gnncli.models import ModelConfig, build_model
    from gnncli.tasks import GraphPropertyTask
    from gnncli.testing import molecule_pack
    from gnncli.train.loop import LoopConfig, fit
    from gnncli.train.scaler import TargetScaler

    pack = molecule_pack()
    y = torch.arange(len(pack), dtype=torch.float32).reshape(-1, 1)
    pack = pack.with_targets(y, torch.ones_like(y, dtype=torch.bool))
    model = build_model(ModelConfig(name="dmpnn", in_channels=pack.x.size(1), edge_dim=pack.edge_attr.size(1), hidden=32))
    task = GraphPropertyTask("regression", ["y"], TargetScaler.fit(y.numpy(), np.ones_like(y.numpy(), bool)))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    result = fit(model, task, lambda epoch: PackLoader(pack, batch_size=8, shuffle=True),
                 PackLoader(pack, batch_size=8), LoopConfig(epochs=2, device="cuda", patience=None))
    assert next(model.parameters()).device.type == "cuda"
    assert all(np.isfinite(r["train_loss"]) for r in result.history)
    assert any(not torch.equal(before[k], result.best_state[k]) for k in before)  # the step moved the weights


def test_predict_on_the_gpu_agrees_with_the_cpu(tmp_path):
    from gnncli import api
    from gnncli.testing import write_molecule_csv

    data = write_molecule_csv(tmp_path / "d.csv", n=40)
    api.train(api.TrainOptions(data=str(data), targets=["logp"], out=str(tmp_path / "run"), plots=False,
                               model=api.ModelConfig(hidden=30), loop=api.LoopConfig(epochs=2, batch_size=16, device="cpu")))
    outs = {}
    for device in ("cpu", "cuda"):
        buffer = io.StringIO()
        counts = api.predict(str(tmp_path / "run"), [str(data)], buffer, device=device, workers=2)
        assert counts["predicted"] == 40
        outs[device] = pd.read_csv(io.StringIO(buffer.getvalue()))
    assert np.allclose(outs["cpu"]["logp_pred"], outs["cuda"]["logp_pred"], atol=1e-3)


@pytest.mark.parametrize("name", ["dmpnn", "gine", "gin", "gcn", "gat", "sage", "mpnn"])
def test_cpu_and_gpu_outputs_agree(name):
    from gnncli.models import ModelConfig, build_model
    from gnncli.testing import molecule_pack

    pack = molecule_pack()
    torch.manual_seed(0)
    model = build_model(ModelConfig(name=name, in_channels=pack.x.size(1), edge_dim=pack.edge_attr.size(1),
                                    out_channels=2, hidden=32, virtual_node=True)).eval()
    batch = pack.batch(range(len(pack)))
    with torch.no_grad():
        cpu = model(batch)
        gpu = model.to("cuda")(batch.to("cuda")).cpu()
    assert torch.allclose(cpu, gpu, atol=1e-4, rtol=1e-4)


def _train_on_cuda(opts):
    import json
    from pathlib import Path

    from gnncli import api

    summary = api.train(opts)
    config = json.loads((Path(opts.out) / "config.json").read_text())
    assert config["status"] == "complete" and config["options"]["loop"]["device"] == "cuda"
    return summary


def test_egnn_trains_on_cuda_and_predicts_alike_on_both_devices(tmp_path):
    """Proteins: an EGNN on residue graphs trained on the GPU; its checkpoint predicts the same
    per-residue scores on the CPU and on the GPU."""
    from gnncli import api
    from gnncli.testing import write_protein_folder

    folder = write_protein_folder(tmp_path / "structures", count=10)
    _train_on_cuda(api.TrainOptions(data=str(folder), out=str(tmp_path / "run"), plots=False,
                                    model=api.ModelConfig(name="egnn", hidden=16, depth=2),
                                    loop=api.LoopConfig(epochs=2, batch_size=2, patience=None, device="cuda")))
    outs = {}
    for device in ("cpu", "cuda"):
        buffer = io.StringIO()
        api.predict(str(tmp_path / "run"), [str(folder)], buffer, device=device, workers=1)
        outs[device] = pd.read_csv(io.StringIO(buffer.getvalue()))
    assert len(outs["cpu"]) > 0 and outs["cpu"]["score"].notna().all()
    assert np.allclose(outs["cpu"]["score"], outs["cuda"]["score"], atol=1e-3)


def test_rating_models_train_on_cuda_and_predict_alike_on_both_devices(tmp_path):
    from gnncli import api
    from tests.domains.test_ratings import ratings_matrix, write_ratings

    u, i, r = ratings_matrix(40, 20, 0.4, seed=3)
    data = write_ratings(tmp_path / "ratings.csv", u, i, r)
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("userId,movieId\nu1,m2\nu3,m4\nu2,m1\n")
    for model in ("gnn", "gcmc"):
        run = tmp_path / model
        summary = _train_on_cuda(api.TrainOptions(data=str(data), out=str(run), plots=False, model=api.ModelConfig(name=model),
                                                  loop=api.LoopConfig(epochs=2, patience=None, device="cuda")))
        assert np.isfinite(summary["test"]["rmse"])
        outs = {}
        for device in ("cpu", "cuda"):
            buffer = io.StringIO()
            api.predict(str(run), [str(pairs)], buffer, device=device)
            outs[device] = pd.read_csv(io.StringIO(buffer.getvalue()))
        assert np.allclose(outs["cpu"]["rating"], outs["cuda"]["rating"], atol=1e-3), model


def test_power_policy_trains_on_cuda_and_runs_alike_on_both_devices(tmp_path):
    import json

    from gnncli import api
    from gnncli.domains.wireless.files import write_generated

    _train_on_cuda(api.TrainOptions(kind="wireless", out=str(tmp_path / "run"), plots=False,
                                    options={"pairs": 4, "networks": 2, "time_steps": 10, "episode": 2},
                                    model=api.ModelConfig(name="leconv", hidden=8, depth=2),
                                    loop=api.LoopConfig(epochs=2, batch_size=2, steps_per_epoch=2, patience=None, device="cuda")))
    write_generated(str(tmp_path / "h.npz"), pairs=4, networks=2, steps=10)
    summaries = {}
    for device in ("cpu", "cuda"):
        api.predict(str(tmp_path / "run"), [str(tmp_path / "h.npz")], str(tmp_path / device), device=device)
        summaries[device] = json.loads((tmp_path / device / "summary.json").read_text())
    rates = {device: [n["sum_rate"] for n in summary["networks"]] for device, summary in summaries.items()}
    assert len(rates["cpu"]) == 2 and np.allclose(rates["cpu"], rates["cuda"], rtol=1e-3)
