"""Data-parallel training under ``torchrun``: one process per device, each training on its share
of every epoch's items, gradients averaged by :class:`~torch.nn.parallel.DistributedDataParallel`.

``torchrun`` (or ``python -m torch.distributed.run``) starts the processes and tells each one who
it is through the environment (``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK``, ``MASTER_ADDR``,
``MASTER_PORT``). Without it, or with a single process, every function here is the identity of
a single process: :func:`world_size` is 1, :func:`shard` gives the indices back unchanged, the
reductions return their input, and nothing is initialized.

The process group is initialized on first use (:func:`init`) with Gloo for tensors on the CPU and,
on a machine with CUDA, NCCL for tensors on the GPU (PyTorch's ``cpu:gloo,cuda:nccl``): gradients
of a model on ``cuda:LOCAL_RANK`` go through NCCL, the small CPU values (metrics, what rank 0
decided) through Gloo.

This module knows nothing of any kind of input; a domain's ``train_loader`` calls :func:`shard`
on the indices it batches, and the training loop the rest.
"""

from __future__ import annotations

import atexit
import contextlib
import os
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

import numpy as np
import torch
from torch import nn

T = TypeVar("T")

__all__ = [
    "all_reduce_sum", "barrier", "broadcast", "close", "data_parallel", "distributed", "init", "is_main", "local_rank",
    "main_first", "rank", "rank_device", "shard", "world_size",
]


def world_size() -> int:
    """How many processes train together (``WORLD_SIZE`` set by torchrun; 1 without it)."""
    try:
        return max(1, int(os.environ.get("WORLD_SIZE", "1")))
    except ValueError:
        return 1


def rank() -> int:
    """This process's place among them, 0 to ``world_size() - 1`` (``RANK``; 0 without torchrun)."""
    if world_size() == 1:
        return 0
    return int(os.environ.get("RANK", "0"))


def local_rank() -> int:
    """This process's place among those on its machine (``LOCAL_RANK``): the GPU it trains on."""
    if world_size() == 1:
        return 0
    return int(os.environ.get("LOCAL_RANK", "0"))


def is_main() -> bool:
    """Whether this process is rank 0: the one that writes the run folder and draws progress."""
    return rank() == 0


def distributed() -> bool:
    """Whether several processes train together (launched by torchrun with more than one)."""
    return world_size() > 1


def init() -> None:
    """Join the process group torchrun set up (once; a no-op for a single process)."""
    if not distributed() or torch.distributed.is_initialized():
        return
    if torch.cuda.is_available() and torch.distributed.is_nccl_available():
        backend = "cpu:gloo,cuda:nccl"
    else:
        backend = "gloo"
    torch.distributed.init_process_group(backend=backend, world_size=world_size(), rank=rank())
    atexit.register(close)  # left to the interpreter's teardown, Gloo's threads can abort the process


def close() -> None:
    """Leave the process group, if this process joined one."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


def rank_device(device: torch.device) -> torch.device:
    """The device this process trains on: ``cuda:LOCAL_RANK`` when ``device`` is a CUDA device
    (whatever its index: one process per GPU), else ``device``."""
    if not distributed() or device.type != "cuda":
        return device
    index = local_rank()
    if index >= torch.cuda.device_count():
        from gnncli.errors import UsageError

        raise UsageError(f"LOCAL_RANK {index}: this machine has {torch.cuda.device_count()} CUDA device(s); "
                         "start at most that many processes per node (torchrun --nproc-per-node)")
    torch.cuda.set_device(index)
    return torch.device("cuda", index)


def shard(indices: np.ndarray, *, seed: int, epoch: int) -> np.ndarray:
    """This process's share of one training epoch's item ``indices``.

    The indices are shuffled by a generator seeded with ``seed`` and ``epoch`` (the same order on
    every process), padded by repeating the first of them up to a multiple of the number of
    processes, and dealt out in turn, as :class:`torch.utils.data.DistributedSampler` does. Every
    process gets the same number of items, so every process takes the same number of steps (a
    process with one step more would wait forever for the others' gradients), and together they
    cover every index each epoch (the few padded ones twice).

    Args:
        indices: item indices, shape ``[n]``.
        seed: the member's seed (the same on every process).
        epoch: the epoch (a new order each epoch).

    Returns:
        ``[ceil(n / world_size())]`` indices; ``indices`` unchanged (same order) for a single process.
    """
    indices = np.asarray(indices)
    size = world_size()
    if size == 1:
        return indices
    n = len(indices)
    if n == 0:
        return indices
    order = indices[np.random.default_rng([int(seed) % 2**32, int(epoch)]).permutation(n)]
    total = -(-n // size) * size
    padded = np.resize(order, total)  # repeats from the start as often as needed (n < size too)
    return padded[rank():total:size]


def all_reduce_sum(values: Sequence[float]) -> list[float]:
    """``values`` summed element-wise over all processes (float64, on the CPU through Gloo)."""
    if not distributed():
        return [float(v) for v in values]
    init()
    tensor = torch.tensor([float(v) for v in values], dtype=torch.float64)
    torch.distributed.all_reduce(tensor, op=torch.distributed.ReduceOp.SUM)
    return tensor.tolist()


def broadcast(obj: T) -> T:
    """Rank 0's ``obj`` on every process (any picklable object; what the others pass is ignored).

    What rank 0 decides (the run folder's name, the validation metrics early stopping looks at,
    a saved state to resume from) goes through here, so every process acts on the same value."""
    if not distributed():
        return obj
    init()
    box = [obj if is_main() else None]
    torch.distributed.broadcast_object_list(box, src=0, device=torch.device("cpu"))
    return box[0]


def barrier() -> None:
    """Wait until every process gets here."""
    if distributed():
        init()
        torch.distributed.barrier()


@contextlib.contextmanager
def main_first() -> Iterator[None]:
    """Run the block on rank 0 first, then on the others: what rank 0 writes on the way (a
    featurization cache) the others read instead of writing it again at the same time."""
    if not is_main():
        barrier()
    try:
        yield
    finally:
        if is_main():
            barrier()


def data_parallel(model: nn.Module, *, find_unused: bool = False) -> nn.Module:
    """``model`` (on this process's device) wrapped in DistributedDataParallel: its parameters
    copied from rank 0, its gradients averaged over the processes at every backward pass; the
    model itself when training in one process.

    ``find_unused``: some steps leave trainable parameters without a gradient (a branch the batch
    does not reach), which DDP then looks for after every forward pass (a little slower; every
    process must pass the same value). Frozen parameters (``requires_grad=False``) are never
    synchronized. Inputs are not moved: batches are on the model's device already."""
    if not distributed():
        return model
    init()
    return nn.parallel.DistributedDataParallel(model, device_ids=None, find_unused_parameters=find_unused)
