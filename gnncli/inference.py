"""Running a trained run over new input: what every kind of input shares.

A domain's :meth:`~gnncli.domains.base.Domain.infer` yields, per chunk of input rows,
``(frame, outputs, valid, errors)``; :func:`predict_table` and :func:`embed_table` turn those
into the CSV of ``gnn predict`` (input columns, one column per target, ``_std`` columns for
ensembles, an ``error`` column; or the best ``top_k`` rows) and the vectors of ``gnn embed``.
Rows in equal rows out, in order; a row that could not be read keeps its place with an error.
With ``settings.shard``, :func:`predict_table` writes one shard's rows (see :mod:`gnncli.shards`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO

import numpy as np

from gnncli.errors import InputError, UsageError
from gnncli.shards import Shard, require_applied, results_stream, shard_scope


@dataclass
class InferenceSettings:
    """How to run inference (the options every kind of input shares)."""

    fmt: str | None = None
    batch_size: int = 64
    chunk_size: int = 10_000
    workers: int | None = None
    device: str = "auto"
    member: int = 0
    top_k: int | None = None
    sort_by: str | None = None
    ascending: bool = False
    shard: Shard | None = None


def run_models(run, pack, device, batch_size: int, *, embed: bool = False, member: int = 0) -> np.ndarray | None:
    """Model outputs for every graph (or node) of ``pack``: predictions [members, N, T] in the
    task's units, or embeddings [N, H] of member ``member``."""
    import torch

    from gnncli.domains.pack import PackLoader

    if len(pack) == 0:
        return None
    with torch.inference_mode():
        if embed:
            model = run.models[member]
            outs = [model.embed(b.to(device)).float().cpu() for b in PackLoader(pack, batch_size=batch_size)]
            return torch.cat(outs).numpy()
        per_member = []
        for model in run.models:
            outs = [run.task.transform_output(model(b.to(device)).float()).cpu()
                    for b in PackLoader(pack, batch_size=batch_size)]
            per_member.append(torch.cat(outs).numpy())
    return np.stack(per_member)


def _columns(targets: list[str], members: int, existing: list[str]) -> tuple[list[str], list[str], str]:
    taken = set(existing)
    pred_cols = [t if t not in taken else f"{t}_pred" for t in targets]
    std_cols = [f"{c}_std" for c in pred_cols] if members > 1 else []
    error_col = "error" if "error" not in taken else "gnn_error"
    return pred_cols, std_cols, error_col


def _error_column(n: int, errors: dict[int, str]) -> np.ndarray:
    err = np.full(n, "", dtype=object)
    for pos, reason in errors.items():
        err[pos] = reason
    return err


def require_inputs(inputs: list[str], kind: str) -> None:
    if not inputs:
        raise UsageError(f"give at least one input file of {kind} (or - for standard input)")


def predict_table(domain, run, inputs: list[str], out: str | IO[str] | None, *, options: dict,
                  settings: InferenceSettings, reporter) -> dict:
    """Stream predictions for ``inputs`` as CSV to ``out`` (a path, a stream, or None for stdout),
    rows in input order.

    Each output row is the input row plus one column per target (``_std`` columns for
    ensembles) and an ``error`` column, empty unless the row could not be read. With
    ``settings.top_k``, only the best ``top_k`` rows by ``sort_by`` are written, best first.
    With ``settings.shard``, only that shard's rows, after a leading ``row (shard I/N)`` column
    of input row numbers (:mod:`gnncli.shards`); a shard with no rows writes the header alone.
    Returns counts: ``rows``, ``predicted``, ``invalid`` (and ``shard``, ``input_rows``).
    """
    require_inputs(inputs, domain.name)
    top_k = settings.top_k
    if top_k is not None and top_k < 1:
        raise UsageError(f"--top-k {top_k}: must be at least 1")
    if top_k is not None and settings.shard is not None:
        raise UsageError("--top-k ranks the whole input and --shard predicts a share of it: shard without "
                         "--top-k, then rank at the merge (gnn predict --merge ... --top-k K --sort-by COLUMN)")
    with shard_scope(domain, settings.shard) as sharding:
        if sharding is not None:
            sharding.table = True
        chunks = iter(domain.infer(run, inputs, options=options, settings=settings))
        first = None
        if sharding is not None:  # the first chunk before the output opens: a kind that cannot shard leaves no file
            chunks = _checked(chunks, sharding)
            first = next(chunks, None)
        with results_stream(out) as stream:
            return _write_table(domain, run, inputs, stream, first, chunks, settings, sharding, reporter)


def _checked(chunks, sharding):
    """``chunks``, after checking (at the first, or at the end) that the reader read in shards."""
    for chunk in chunks:
        require_applied(sharding)
        yield chunk
    require_applied(sharding)


def _write_table(domain, run, inputs: list[str], out: IO[str], first, chunks, settings: InferenceSettings,
                 sharding, reporter) -> dict:
    import itertools

    import pandas as pd

    top_k = settings.top_k
    counts = {"rows": 0, "predicted": 0, "invalid": 0}
    bar = reporter.start("predicting", None)
    header = True
    best = None
    sort_col = None
    names = run.task.columns() if hasattr(run.task, "columns") else run.targets  # e.g. class probabilities
    for frame, outputs, valid, errors in itertools.chain([first] if first is not None else [], chunks):
        frame = frame.copy()
        pred_cols, std_cols, error_col = _columns(names, len(run.models), list(frame.columns))
        for t, col in enumerate(pred_cols):
            column = np.full(len(frame), np.nan)
            if outputs is not None:
                column[valid] = outputs[:, :, t].mean(0)
            frame[col] = column
        for t, col in enumerate(std_cols):
            column = np.full(len(frame), np.nan)
            if outputs is not None:
                column[valid] = outputs[:, :, t].std(0)
            frame[col] = column
        frame[error_col] = _error_column(len(frame), errors)
        if sharding is not None:
            frame.insert(0, sharding.shard.column, sharding.next_rows(len(frame)))
        counts["rows"] += len(frame)
        counts["predicted"] += len(valid)
        counts["invalid"] += len(errors)
        reporter.advance(bar, len(frame), info=f"{counts['rows']:,} rows, {counts['invalid']:,} invalid")
        if top_k is None:
            frame.to_csv(out, header=header, index=False, float_format="%.6g")
            header = False
            continue
        if sort_col is None:
            sort_col = settings.sort_by or pred_cols[0]
            if sort_col not in frame.columns:
                raise UsageError(f"--sort-by {sort_col}: no such column (choose from {', '.join(pred_cols + std_cols)})")
        scored = frame.iloc[valid]
        pool = scored if best is None else pd.concat([best, scored], ignore_index=True)
        best = pool.sort_values(sort_col, ascending=settings.ascending, kind="mergesort").head(top_k)
    if top_k is not None and best is not None:
        best.to_csv(out, index=False, float_format="%.6g")
    elif sharding is not None and sharding.rows > 0:
        counts.update(shard=str(sharding.shard), input_rows=sharding.rows)
        if header:  # a shard with no chunks (fewer chunks than shards): the header alone, for --merge
            existing = sharding.columns or []
            pred_cols, std_cols, error_col = _columns(names, len(run.models), existing)
            pd.DataFrame(columns=[sharding.shard.column, *existing, *pred_cols, *std_cols, error_col]).to_csv(out, index=False)
    elif header and counts["rows"] == 0:
        raise InputError(f"{', '.join(inputs)}: no rows to predict")
    return counts


def embed_table(domain, run, inputs: list[str], out_path: str, *, options: dict, settings: InferenceSettings,
                reporter) -> dict:
    """Write the learned vectors (the model's :meth:`embed`, before the head) for ``inputs``.

    ``.npy``: one row per input row, NaN rows for invalid inputs, and the invalid rows with
    their reasons in ``<out>.errors.csv``. ``.csv``/``.parquet``: the input columns, ``error``,
    then ``emb_0 .. emb_{H-1}``. Returns counts and the vector width.
    """
    from gnncli.outputs import EmbeddingWriter

    require_inputs(inputs, domain.name)
    member = settings.member
    if not 0 <= member < len(run.models):
        raise UsageError(f"--member {member}: the run has members 0..{len(run.models) - 1}")
    width = int(getattr(run.models[member], "embed_dim", run.config["model"]["hidden"]))
    counts = {"rows": 0, "embedded": 0, "invalid": 0, "dim": width}
    bar = reporter.start("embedding", None)
    with EmbeddingWriter(out_path, width) as writer:
        for frame, out, valid, errors in domain.infer(run, inputs, options=options, settings=settings, embed=True):
            vectors = np.full((len(frame), width), np.nan, dtype=np.float32)
            if out is not None:
                vectors[valid] = out
            writer.write(frame, vectors, _error_column(len(frame), errors), counts["rows"])
            counts["rows"] += len(frame)
            counts["embedded"] += len(valid)
            counts["invalid"] += len(errors)
            reporter.advance(bar, len(frame), info=f"{counts['rows']:,} rows")
    return counts
