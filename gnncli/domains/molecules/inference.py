"""Running a trained molecule run over molecule files, chunk by chunk, in input order.

Two strategies, chosen by device:

* CPU: each worker process featurizes a block of SMILES *and* runs the model on it, returning
  only the outputs. Every core does both kinds of work, so none waits for the other, and no
  feature arrays cross process boundaries (measured on 2 cores, 100,000 HIV molecules).
* CUDA: worker processes featurize (CPU work) while the main process runs the model on the GPU
  (forked processes cannot share a CUDA context).

Both yield, per chunk of input rows, ``(frame, outputs, valid_positions, errors)`` where
``outputs`` is ``[members, n_valid, targets]`` (predictions) or ``[n_valid, hidden]`` (embeddings),
as :meth:`gnncli.domains.base.Domain.infer` promises. Inside ``gnn predict --shard I/N`` only
the shard's chunks are featurized (:func:`gnncli.shards.take_shard`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from functools import partial

import numpy as np
import torch

from gnncli.domains.molecules.columns import check_columns
from gnncli.domains.molecules.reader import (Featurizer, MoleculeFrame, attach_positions, default_workers, iter_molecules,
                                             pack_arrays)
from gnncli.domains.pack import GraphPack
from gnncli.errors import InputError
from gnncli.featurizers.molecule import DEFAULT_MAX_ATOMS, featurize_batch
from gnncli.domains.molecules.rows import RowFeaturizer, featurize_rows
from gnncli.inference import run_models
from gnncli.models import model_needs
from gnncli.parallel import BlockPool
from gnncli.runs import TrainedRun, load_run
from gnncli.runtime import tune_allocator
from gnncli.shards import take_shard
from gnncli.train.loop import resolve_device


def iter_inputs(inputs: list[str], smiles_col: str | None, fmt: str | None, chunk_size: int,
                featurizer=None) -> Iterator[MoleculeFrame]:
    """Chunks of every input file in turn; all files must have the same columns (and those
    ``featurizer`` reads, for rows of several columns)."""
    columns = None
    for path in inputs:
        for mf in iter_molecules(path, smiles_col=smiles_col, fmt=fmt, chunk_size=chunk_size):
            if columns is None:
                columns = list(mf.frame.columns)
                if isinstance(featurizer, RowFeaturizer):
                    check_columns(mf, featurizer)
            elif list(mf.frame.columns) != columns:
                raise InputError(f"{path}: columns {list(mf.frame.columns)} differ from the first input's {columns}")
            yield mf


# -- CPU: featurize and run the model in the workers ------------------------------------------

_WORKER: dict = {}


def _init_worker(run_dir: str, threads: int) -> None:
    tune_allocator()  # inherited through fork already; needed where workers are spawned
    torch.set_num_threads(threads)
    if "run" not in _WORKER or _WORKER["dir"] != run_dir:  # forked workers inherit it already loaded
        _WORKER.update(run=load_run(run_dir).for_inference(), dir=run_dir)


def _infer_block(smiles: list, *, embed: bool, member: int, batch_size: int, max_atoms: int | None) -> tuple:
    run = _WORKER["run"]
    x, ei, ea, n_atoms, n_edges, errors = featurize_batch(run.featurizer, smiles, max_atoms)
    pack = GraphPack.from_arrays(x, ei, ea, n_atoms, n_edges)
    return run_models(run, pack, torch.device("cpu"), batch_size, embed=embed, member=member), errors


def _infer_rows_block(rows: list, *, featurizer: RowFeaturizer, embed: bool, member: int, batch_size: int,
                      max_atoms: int | None) -> tuple:
    """:func:`_infer_block` for rows of several columns (molecules, reactions, descriptors)."""
    *arrays, errors = featurize_rows(featurizer, rows, max_atoms)
    pack = pack_arrays(arrays)
    return run_models(_WORKER["run"], pack, torch.device("cpu"), batch_size, embed=embed, member=member), errors


def _fused_cpu(run: TrainedRun, chunks: Iterator[MoleculeFrame], *, workers: int, embed: bool,
               member: int, batch_size: int, max_atoms: int | None, featurizer=None) -> Iterator[tuple]:
    featurizer = featurizer or run.featurizer
    if isinstance(featurizer, RowFeaturizer):
        work = partial(_infer_rows_block, featurizer=featurizer, embed=embed, member=member, batch_size=batch_size,
                       max_atoms=max_atoms)
    else:  # the plain case: one SMILES a row, as fast as it gets
        work = partial(_infer_block, embed=embed, member=member, batch_size=batch_size, max_atoms=max_atoms)
    _WORKER.update(run=run, dir=str(run.path))
    pool = BlockPool(work, workers, initializer=_init_worker, initargs=(str(run.path), 1))

    def gather(mf: MoleculeFrame, submitted) -> tuple:
        parts, valid, errors = pool.collect(submitted)
        errors.update(mf.record_errors)
        outs = [out for (out,) in parts if out is not None]
        return mf.frame, (np.concatenate(outs, axis=0 if embed else 1) if outs else None), valid, errors

    try:
        pending: deque = deque()
        for mf in chunks:
            pending.append((mf, pool.submit(mf.to_featurize(featurizer))))
            if len(pending) > 1:  # keep the next chunk queued so the workers never wait
                yield gather(*pending.popleft())
        while pending:
            yield gather(*pending.popleft())
    finally:
        pool.close()


# -- CUDA: featurize in workers, model in this process -----------------------------------------

def _split_gpu(run: TrainedRun, chunks: Iterator[MoleculeFrame], *, workers: int, device: torch.device,
               embed: bool, member: int, batch_size: int, max_atoms: int | None, featurizer=None,
               positions: bool = False) -> Iterator[tuple]:
    """Featurize in workers, run the model here; with ``positions``, each molecule gets its SDF
    record's 3D coordinates first (a model on coordinates; the CPU takes this path for it too)."""
    featurizer = featurizer or run.featurizer

    def finish(done: MoleculeFrame, handle) -> tuple:
        pack, valid, errors = featurize.collect(handle, done.record_errors)
        if positions:
            pack, valid, errors = attach_positions(pack, valid, errors, done.positions)
        return done.frame, run_models(run, pack, device, batch_size, embed=embed, member=member), valid, errors

    with Featurizer(featurizer, workers, max_atoms) as featurize:
        pending: deque = deque()
        for mf in chunks:
            pending.append((mf, featurize.submit(mf.to_featurize(featurizer))))
            if len(pending) > workers:
                yield finish(*pending.popleft())
        while pending:
            yield finish(*pending.popleft())


def infer(run: TrainedRun, inputs: list[str], *, smiles_col: str | None = None, fmt: str | None = None,
          chunk_size: int = 10_000, workers: int | None = None, device: str = "auto", embed: bool = False,
          member: int = 0, batch_size: int = 64, max_atoms: int | None = DEFAULT_MAX_ATOMS,
          featurizer=None) -> Iterator[tuple]:
    """Outputs for every chunk of ``inputs``, in order (see the module docstring). ``featurizer``
    is the run's, reading the columns the user named (default: the run's own)."""
    dev = resolve_device(device)
    run = run.for_inference(dev)  # the caller's run keeps its own (trainable, unpadded) models
    n_workers = workers if workers and workers > 0 else default_workers(10**9)
    # a sharded prediction (gnn predict --shard) featurizes only its own chunks
    chunks = take_shard(iter_inputs(inputs, smiles_col, fmt, chunk_size, featurizer or run.featurizer))
    if "pos" in model_needs(run.config["model"].get("name")):
        yield from _split_gpu(run, chunks, workers=n_workers, device=dev, embed=embed, member=member,
                              batch_size=batch_size, max_atoms=max_atoms, featurizer=featurizer, positions=True)
    elif dev.type == "cpu":
        yield from _fused_cpu(run, chunks, workers=n_workers, embed=embed, member=member, batch_size=batch_size,
                              max_atoms=max_atoms, featurizer=featurizer)
    else:
        yield from _split_gpu(run, chunks, workers=n_workers, device=dev, embed=embed, member=member,
                              batch_size=batch_size, max_atoms=max_atoms, featurizer=featurizer)
