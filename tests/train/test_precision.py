"""Mixed precision of the training steps: which dtype `--precision` resolves to, that the loop
trains under it, and D-MPNN's padded products under CPU autocast."""

import numpy as np
import pytest
import torch
from torch import nn

from gnncli.errors import UsageError
from gnncli.train import loop
from gnncli.train.loop import LoopConfig, fit, resolve_inference_precision, resolve_precision

CPU = torch.device("cpu")


class _Plain(nn.Module):
    pass


class _Eager(nn.Module):
    cpu_bf16 = True


def test_auto_on_cpu_is_bf16_only_for_models_that_ask_and_cpus_that_have_it(monkeypatch):
    monkeypatch.setattr(loop, "cpu_has_bf16", lambda: True)
    assert resolve_precision("auto", CPU, _Eager()) is torch.bfloat16
    assert resolve_precision("auto", CPU, _Plain()) is None
    assert resolve_precision("auto", CPU) is None
    monkeypatch.setattr(loop, "cpu_has_bf16", lambda: False)
    assert resolve_precision("auto", CPU, _Eager()) is None


def test_forced_precisions_and_bad_values():
    assert resolve_precision("fp32", CPU, _Eager()) is None
    assert resolve_precision("bf16", CPU, _Plain()) is torch.bfloat16
    with pytest.raises(UsageError, match="fp16 is for CUDA"):
        resolve_precision("fp16", CPU)
    with pytest.raises(UsageError, match="expected one of auto, fp32, bf16, fp16"):
        resolve_precision("half", CPU)


class _Decider(nn.Module):
    bf16_inference = True


def test_inference_auto_is_bf16_only_for_models_that_ask_and_cpus_that_have_it(monkeypatch):
    monkeypatch.setattr(loop, "cpu_has_bf16", lambda: True)
    assert resolve_inference_precision("auto", CPU, _Decider()) is torch.bfloat16
    assert resolve_inference_precision("auto", CPU, _Eager()) is None  # trains in bf16, predicts in float32
    assert resolve_inference_precision("auto", CPU, _Plain()) is None
    monkeypatch.setattr(loop, "cpu_has_bf16", lambda: False)
    assert resolve_inference_precision("auto", CPU, _Decider()) is None
    assert resolve_inference_precision("fp32", CPU, _Decider()) is None
    assert resolve_inference_precision("bf16", CPU, _Plain()) is torch.bfloat16
    with pytest.raises(UsageError, match="fp16 is for CUDA"):
        resolve_inference_precision("fp16", CPU, _Decider())


class _Probe(nn.Module):
    """A linear regressor that records whether its forward ran under CPU autocast."""

    def __init__(self, cpu_bf16: bool):
        super().__init__()
        self.cpu_bf16 = cpu_bf16
        self.lin = nn.Linear(4, 1)
        self.seen = []

    def forward(self, batch):
        self.seen.append(torch.is_autocast_enabled("cpu"))
        return self.lin(batch[0])


class _Task:
    monitor, higher_is_better = "loss", False

    def loss(self, output, batch):
        return ((output - batch[1]) ** 2).mean()

    @torch.no_grad()
    def evaluate(self, model, loader, device):
        return {"loss": float(np.mean([self.loss(model(b), b) for b in loader]))}


class _Batch(tuple):
    def to(self, device):
        return _Batch(t.to(device) for t in self)


def _data():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(64, 4, generator=gen)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5], [3.0]])
    return [_Batch((x[i:i + 16], y[i:i + 16])) for i in range(0, 64, 16)]


@pytest.mark.parametrize("precision, cpu_bf16, expected", [
    ("auto", True, True), ("auto", False, False), ("fp32", True, False), ("bf16", False, True)])
def test_the_loop_trains_under_the_resolved_precision(monkeypatch, precision, cpu_bf16, expected):
    monkeypatch.setattr(loop, "cpu_has_bf16", lambda: True)
    model, batches = _Probe(cpu_bf16), _data()
    result = fit(model, _Task(), lambda epoch: batches, batches,
                 LoopConfig(epochs=40, device="cpu", patience=None, precision=precision, warmup_epochs=1,
                            init_lr=0.1, max_lr=0.1, final_lr=0.1))
    training = model.seen[:len(batches)]  # the first epoch's steps; validation runs in float32
    assert training == [expected] * len(batches)
    assert model.seen[len(batches)] is False
    assert result.history[-1]["val_loss"] < 0.2 * result.history[0]["val_loss"]  # it learned
    assert all(v.dtype == torch.float32 for v in result.best_state.values())


def test_dmpnn_pads_product_rows_under_cpu_autocast_and_computes_the_same(monkeypatch):
    from gnncli.domains.pack import PackLoader
    from gnncli.nn import dmpnn
    from gnncli.testing import molecule_pack

    pack = molecule_pack()
    batch = next(iter(PackLoader(pack, batch_size=len(pack))))
    torch.manual_seed(0)
    encoder = dmpnn.DMPNNEncoder(pack.x.size(1), pack.edge_attr.size(1), hidden_channels=64)
    rows = []
    real_linear = dmpnn.F.linear

    class _Spy:
        def __getattr__(self, name):
            return getattr(torch.nn.functional, name)

        @staticmethod
        def linear(x, *args):
            rows.append(x.size(0))
            return real_linear(x, *args)

    monkeypatch.setattr(dmpnn, "F", _Spy())
    with torch.autocast("cpu", dtype=torch.bfloat16):
        padded = encoder(batch).float()
    assert rows and all(n % dmpnn._ROWS == 0 for n in rows), rows
    assert batch.x.size(0) % dmpnn._ROWS and batch.edge_index.size(1) % dmpnn._ROWS  # padding was needed
    assert padded.shape == (batch.x.size(0), 64)
    rows.clear()
    monkeypatch.setattr(dmpnn, "_ROWS", 1)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        plain = encoder(batch).float()
    assert torch.allclose(padded, plain, atol=0.05, rtol=0.02)  # bf16 rounding only
    rows.clear()
    monkeypatch.setattr(dmpnn, "_ROWS", 128)
    exact = encoder(batch)  # float32, no autocast: no padding at all
    assert rows == [batch.x.size(0), batch.edge_index.size(1), batch.x.size(0)]
    assert torch.allclose(padded, exact, atol=0.1, rtol=0.05)


def test_cli_refuses_fp16_on_a_cpu_in_one_line(tmp_path):
    from typer.testing import CliRunner

    from gnncli.cli.main import app
    from gnncli.testing import write_molecule_csv

    data = write_molecule_csv(tmp_path / "d.csv", n=20)
    result = CliRunner().invoke(app, ["train", str(data), "--target", "logp", "--device", "cpu", "--precision", "fp16",
                                      "--epochs", "1", "--out", str(tmp_path / "run")])
    assert result.exit_code == 2
    assert "--precision fp16 is for CUDA" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "run").exists()


def test_the_run_records_the_precision_it_trained_in(tmp_path, monkeypatch):
    import json

    from typer.testing import CliRunner

    from gnncli.cli.main import app
    from gnncli.testing import write_molecule_csv

    data = write_molecule_csv(tmp_path / "d.csv", n=24)
    for precision, has_bf16, expected in (("auto", True, "bf16"), ("auto", False, "fp32"), ("fp32", True, "fp32")):
        monkeypatch.setattr(loop, "cpu_has_bf16", lambda: has_bf16)
        out = tmp_path / f"run-{precision}-{has_bf16}"
        result = CliRunner().invoke(app, ["train", str(data), "--target", "logp", "--device", "cpu", "--precision", precision,
                                          "--epochs", "1", "--hidden", "16", "--no-plots", "--out", str(out), "--json"])
        assert result.exit_code == 0, result.output
        summary = json.loads([line for line in result.output.splitlines() if line.startswith("{")][-1])
        assert summary["precision"] == expected
        assert json.loads((out / "config.json").read_text())["precision"] == expected
