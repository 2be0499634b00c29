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
