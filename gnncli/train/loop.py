"""The one training loop: Adam with warm-up and decay, gradient clipping, early stopping on a
validation metric, mixed precision (on CUDA, and on CPUs with native bfloat16 for models that gain
from it), and a resumable state saved after every epoch.

It is generic over a :class:`~gnncli.tasks.Task`; it never looks at targets itself. Training
data may be read (a loader with a length) or generated on the fly (an iterable without one:
``LoopConfig.steps_per_epoch`` batches make an epoch). A task with state of its own has it saved
in the resumable snapshot and returned with the best weights.

Under ``torchrun`` with several processes (:mod:`gnncli.train.distributed`) the model trains
data-parallel: wrapped in DistributedDataParallel, each process steps through its share of the
epoch's batches, the epoch's training loss is the mean over all processes' items, and rank 0
alone scores the validation set and tells the others the metrics, so that every process makes
the same early-stopping decision.
"""

from __future__ import annotations

import contextlib
import math
import random
import time
from collections.abc import Callable, Iterable
from itertools import islice
from dataclasses import asdict, dataclass, field, fields

import numpy as np
import torch
from torch import nn

from gnncli.errors import GnnError, UsageError
from gnncli.train import distributed
from gnncli.tasks.base import task_state


@dataclass
class LoopConfig:
    """Optimization settings (saved in the run folder's ``config.json``).

    The learning rate rises linearly from ``init_lr`` to ``max_lr`` over ``warmup_epochs``,
    then decays exponentially to ``final_lr`` at the last epoch (Chemprop's Noam-like schedule).
    ``patience`` epochs without a better validation metric stop training (None: never).
    The resumable state is written at most every ``checkpoint_seconds`` and always on Ctrl-C.
    ``steps_per_epoch`` is the number of batches in an epoch when the training data has no length
    (generated on the fly); with a loader that has one, an epoch is the whole loader.
    ``precision`` is that of the training steps (see :func:`resolve_precision`); validation and
    the saved weights are always float32.
    ``batch_size`` is per process: data-parallel training under torchrun steps with
    ``world_size x batch_size`` items at a time, and an epoch has ``world_size`` times fewer steps
    (the learning-rate schedule follows the steps, so it still spans ``epochs``).
    """

    epochs: int = 50
    batch_size: int = 64
    max_lr: float = 1e-3
    init_lr: float = 1e-4
    final_lr: float = 1e-4
    warmup_epochs: float = 2.0
    weight_decay: float = 0.0
    grad_clip: float | None = 10.0
    patience: int | None = 20
    seed: int = 0
    device: str = "auto"
    checkpoint_seconds: float = 30.0
    steps_per_epoch: int | None = None
    precision: str = "auto"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> LoopConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class FitResult:
    best_state: dict
    best_epoch: int
    best_metrics: dict
    history: list[dict] = field(default_factory=list)
    stopped_early: bool = False
    task_state: dict | None = None  # the task's state with the best weights (tasks with state only)


class TrainingInterrupted(GnnError):
    """Ctrl-C during training; the state of the last finished epoch was saved."""

    exit_code = 130


def resolve_device(spec: str) -> torch.device:
    """``auto`` (CUDA if present), ``cpu``, ``cuda`` or ``cuda:N``."""
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if spec == "cpu":
        return torch.device("cpu")
    if spec.startswith("cuda"):
        if not torch.cuda.is_available():
            raise UsageError(f"--device {spec}: CUDA is not available on this machine (use --device cpu)")
        device = torch.device(spec)
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise UsageError(f"--device {spec}: only {torch.cuda.device_count()} CUDA device(s) present")
        return device
    raise UsageError(f"--device {spec}: expected auto, cpu, cuda or cuda:N")


PRECISIONS = ("auto", "fp32", "bf16", "fp16")


def cpu_has_bf16() -> bool:
    """Whether this CPU multiplies bfloat16 matrices natively (AVX512-BF16 or AMX), where oneDNN's
    bf16 GEMM runs about 4-5x faster than float32 (``python benchmarks/gemm_width.py --dtype bf16``)."""
    cpu = getattr(torch, "cpu", None)
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return bool(torch.backends.mkldnn.is_available() and cpu is not None
                and any(getattr(cpu, name, lambda: False)() for name in checks))


def resolve_precision(spec: str, device: torch.device, model: nn.Module | None = None) -> torch.dtype | None:
    """The autocast dtype of the training steps, or None for float32 throughout.

    ``auto``: on CUDA, bf16 where the GPU has it, else fp16 (with loss scaling); on a CPU with native
    bf16, bf16 for models that say they gain from it (a ``cpu_bf16`` attribute: D-MPNN, whose
    training is mostly large matrix products), float32 otherwise. ``fp32``, ``bf16`` and ``fp16``
    (CUDA only) force one.
    """
    if spec not in PRECISIONS:
        raise UsageError(f"--precision {spec}: expected one of {', '.join(PRECISIONS)}")
    if spec == "fp32":
        return None
    if device.type == "cuda":
        if spec == "auto":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.bfloat16 if spec == "bf16" else torch.float16
    if device.type != "cpu":
        return None
    if spec == "fp16":
        raise UsageError("--precision fp16 is for CUDA; on a CPU use bf16 or fp32")
    if spec == "bf16":
        return torch.bfloat16
    return torch.bfloat16 if getattr(model, "cpu_bf16", False) and cpu_has_bf16() else None


def resolve_inference_precision(spec: str, device: torch.device, model: nn.Module | None = None) -> torch.dtype | None:
    """The dtype inference runs in (``gnn predict --precision``), or None for float32.

    ``auto``: bf16 only for models whose outputs are decisions that bf16 rounding leaves as good and
    that run faster in it (a ``bf16_inference`` attribute: the wireless power policy), on a device
    that multiplies bf16 natively (a CPU with AVX512-BF16 or AMX, a CUDA GPU with bf16); float32
    otherwise, so that predicted values are float32's. ``fp32``, ``bf16`` and ``fp16`` (CUDA only)
    force one, as for training.
    """
    if spec != "auto":
        return resolve_precision(spec, device, model)
    if not getattr(model, "bf16_inference", False):
        return None
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else None
    return torch.bfloat16 if device.type == "cpu" and cpu_has_bf16() else None


def precision_name(dtype: torch.dtype | None) -> str:
    """``fp32``, ``bf16`` or ``fp16``: what :func:`resolve_precision` returned, as config.json says it."""
    return {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[dtype]


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def _lr_lambda(config: LoopConfig, steps_per_epoch: int) -> Callable[[int], float]:
    warmup = max(1, int(config.warmup_epochs * steps_per_epoch))
    total = max(warmup + 1, config.epochs * steps_per_epoch)
    gamma = (config.final_lr / config.max_lr) ** (1.0 / (total - warmup))

    def factor(step: int) -> float:
        if step < warmup:
            lr = config.init_lr + (config.max_lr - config.init_lr) * step / warmup
        else:
            lr = config.max_lr * gamma ** (step - warmup)
        return lr / config.max_lr

    return factor


def _adam(model: nn.Module, config: LoopConfig) -> torch.optim.Optimizer:
    """Adam, fused into one kernel where this PyTorch and device support it (about 8% faster on CPU).

    A model that regularizes its parts differently (GCN's weight decay on its first layer only,
    GCNII's on its convolutions and its dense layers apart, as their papers train them) says so
    with ``param_groups(weight_decay) -> [{"params": [...], "weight_decay": w}, ...]``; every other
    model's parameters share ``config.weight_decay``.
    """
    groups = getattr(model, "param_groups", None)
    if groups is not None:
        params = [{**g, "params": [p for p in g["params"] if p.requires_grad]} for g in groups(config.weight_decay)]
    else:
        params = [{"params": [p for p in model.parameters() if p.requires_grad], "weight_decay": config.weight_decay}]
    try:
        return torch.optim.Adam(params, lr=config.max_lr, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.Adam(params, lr=config.max_lr)


def _clone(obj):
    """A CPU copy of a (nested) state dict whose tensors no longer change as training goes on."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().to("cpu", copy=True)
    if isinstance(obj, dict):
        return {k: _clone(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_clone(v) for v in obj]
    return obj


def _epoch_batches(loader: Iterable, steps: int) -> Iterable:
    """The batches of one epoch: the whole loader, or ``steps`` of a generator without a length."""
    return loader if hasattr(loader, "__len__") else islice(loader, steps)


def _batch_size(batch) -> int:
    """How many items a batch holds, to weight its loss in the epoch's mean."""
    for attr in ("num_graphs", "num_items"):
        value = getattr(batch, attr, None)
        if value is not None:
            return int(value)
    try:
        return len(batch)
    except TypeError:
        return 1


def _steps_per_epoch(loader: Iterable, config: LoopConfig) -> int:
    if hasattr(loader, "__len__"):
        return max(1, len(loader))
    if not config.steps_per_epoch or config.steps_per_epoch < 1:
        raise UsageError("training data generated on the fly needs steps_per_epoch (batches per epoch)")
    return config.steps_per_epoch


def _better(new: dict, best: dict | None, monitor: str, higher: bool) -> bool:
    if best is None:
        return True
    a, b = new.get(monitor, float("nan")), best.get(monitor, float("nan"))
    if math.isnan(a) or math.isnan(b):  # metric undefined (e.g. one class in validation): use the loss
        return new["loss"] < best["loss"]
    return a > b if higher else a < b


def _leaves_parameters_unused(model: nn.Module, task, loader, device: torch.device, mixed) -> bool:
    """Whether a training step on the first batch of ``loader`` leaves a trainable parameter of
    ``model`` without a gradient (DistributedDataParallel must then look for such parameters at
    every step). The model's weights, buffers and gradients are left as they were."""
    batch = next(iter(loader), None)
    if batch is None:
        return True
    buffers = {k: v.detach().clone() for k, v in model.named_buffers()}
    model.train()
    batch = batch.to(device)
    with mixed():
        output = model(batch)
    task.loss(output.float(), batch).backward()
    unused = any(p.grad is None for p in model.parameters() if p.requires_grad)
    model.zero_grad(set_to_none=True)
    with torch.no_grad():
        for name, value in model.named_buffers():
            value.copy_(buffers[name])
    return unused


def fit(
    model: nn.Module,
    task,
    make_train_loader: Callable[[int], object],
    val_loader,
    config: LoopConfig,
    *,
    resume: dict | None = None,
    on_epoch: Callable[[dict], None] | None = None,
    save_state: Callable[[dict], None] | None = None,
) -> FitResult:
    """Train ``model`` on ``task``.

    Args:
        make_train_loader: ``epoch -> iterable of batches``; seeded per epoch so that a resumed
            run sees the same order as an uninterrupted one. Without a length, each epoch takes
            ``config.steps_per_epoch`` batches from it.
        val_loader: batches scored with ``task.evaluate`` after each epoch; None for none (a
            refit on every training row for an epoch count picked before): no early stopping, and
            the result holds the last epoch's weights.
        resume: a state from ``save_state`` to continue from.
        on_epoch: called with each epoch's record (``epoch``, ``train_loss``, ``lr``, ``val_*``).
        save_state: called after each epoch with a state dict (tensors and plain values only,
            loadable with ``torch.load(weights_only=True)``).

    Data-parallel (several processes under torchrun): every process calls ``fit`` with the same
    arguments, except that only rank 0 passes ``on_epoch`` and ``save_state``; ``make_train_loader``
    gives each process its share of the epoch (:func:`~gnncli.train.distributed.shard`), and the
    model trains on ``cuda:LOCAL_RANK`` when ``config.device`` is a CUDA one. Weights, history and
    the result are the same on every process; the state dicts are the model's own (no ``module.``).
    """
    device = distributed.rank_device(resolve_device(config.device))
    amp_dtype = resolve_precision(config.precision, device, model)
    use_amp = amp_dtype is not None
    mixed = (lambda: torch.autocast(device.type, dtype=amp_dtype)) if use_amp else contextlib.nullcontext
    scaler = torch.amp.GradScaler("cuda", enabled=amp_dtype == torch.float16)
    model.to(device)
    optimizer = _adam(model, config)
    steps = _steps_per_epoch(make_train_loader(0), config)
    stateful = task_state(task) is not None
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, _lr_lambda(config, steps))
    start, history, best, best_state, best_epoch, bad = 0, [], None, None, -1, 0
    best_task = None
    if resume is not None:
        model.load_state_dict(resume["model"])
        optimizer.load_state_dict(resume["optimizer"])
        schedule.load_state_dict(resume["schedule"])
        start, history = int(resume["epoch"]) + 1, list(resume["history"])
        best, best_state, best_epoch, bad = resume["best_metrics"], resume["best_state"], int(resume["best_epoch"]), int(resume["bad"])
        best_task = resume.get("best_task")
        torch.set_rng_state(resume["rng"])
        if stateful and resume.get("task") is not None:
            task.load_state_dict(resume["task"])
        if resume.get("done"):
            start = config.epochs  # it had stopped early: nothing left to do
    else:
        seed_everything(config.seed)
    if distributed.distributed():
        unused = _leaves_parameters_unused(model, task, make_train_loader(start), device, mixed)
        net = distributed.data_parallel(model, find_unused=distributed.all_reduce_sum([unused])[0] > 0)
    else:
        net = model
    stopped_early = False
    last_saved, last_write, snapshot = start, time.monotonic(), None
    for epoch in range(start, config.epochs):
        began = time.monotonic()
        try:
            model.train()
            if distributed.distributed():  # dropout differs between processes, and resumes the same
                torch.manual_seed(config.seed * 100_003 + epoch * 1_009 + distributed.rank())
            total, count = 0.0, 0
            for batch in _epoch_batches(make_train_loader(epoch), steps):
                batch = batch.to(device)
                optimizer.zero_grad(set_to_none=True)
                with mixed():
                    output = net(batch)
                loss = task.loss(output.float(), batch)
                scaler.scale(loss).backward()
                if config.grad_clip:
                    scaler.unscale_(optimizer)
                    nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
                scaler.step(optimizer)
                scaler.update()
                schedule.step()
                n = _batch_size(batch)
                total += float(loss.detach()) * n
                count += n
            total, count = distributed.all_reduce_sum([total, count])
            # Rank 0 scores validation; every process acts on its metrics (scatter sums on a GPU
            # are not bit-for-bit reproducible, and processes that disagreed would stop apart).
            if val_loader is None:
                metrics = {}
            else:
                metrics = distributed.broadcast(task.evaluate(model, val_loader, device) if distributed.is_main() else None)
            record = {"epoch": epoch + 1, "train_loss": total / max(count, 1), "lr": schedule.get_last_lr()[0],
                      "seconds": round(time.monotonic() - began, 3)}  # training and validation
            record.update({f"val_{k}": v for k, v in metrics.items()})
            history.append(record)
            if val_loader is None or _better(metrics, best, task.monitor, task.higher_is_better):
                best, best_epoch, bad = metrics, epoch + 1, 0
                best_state = _clone(model.state_dict())
                best_task = _clone(task_state(task)) if stateful else None
            else:
                bad += 1
            stopped_early = config.patience is not None and bad >= config.patience
            snapshot = {
                "model": _clone(model.state_dict()), "optimizer": _clone(optimizer.state_dict()),
                "schedule": schedule.state_dict(), "epoch": epoch, "history": list(history), "best_metrics": best,
                "best_state": best_state, "best_epoch": best_epoch, "bad": bad, "rng": torch.get_rng_state(),
                "done": stopped_early,
            }
            if stateful:
                snapshot["task"], snapshot["best_task"] = _clone(task_state(task)), best_task
            if save_state is not None and time.monotonic() - last_write >= config.checkpoint_seconds:
                save_state(snapshot)
                last_write, last_saved = time.monotonic(), epoch + 1
            if on_epoch is not None:
                on_epoch(record)
        except KeyboardInterrupt:
            if save_state is not None and snapshot is not None and snapshot["epoch"] + 1 > last_saved:
                save_state(snapshot)
                last_saved = snapshot["epoch"] + 1
            if last_saved == 0:
                raise TrainingInterrupted("interrupted during the first epoch; nothing was saved") from None
            raise TrainingInterrupted(f"interrupted; the state after epoch {last_saved} was saved") from None
        if stopped_early:
            break
    if best_state is None:  # zero epochs requested after resume: keep the current weights
        best_state = _clone(model.state_dict())
        best_task = _clone(task_state(task)) if stateful else None
    return FitResult(best_state, best_epoch, best or {}, history, stopped_early, best_task)
