"""Using a trained ratings run: scores of (user, item) pairs, top-N lists, item and user vectors.

A run folder keeps what its models condition on in ``ratings.pt`` (the training ratings and the
item graph; tensors only, loaded with ``weights_only=True``) and its ID maps in ``config.json``.
A pair whose user or item has no training rating (cold start) is scored by the known user's mean
rating (else the known item's, else the mean of all training ratings), as training scores such
test pairs; a row without a user or an item keeps an empty score and an ``error``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from gnncli.domains.ratings import SIGNAL_MODELS
from gnncli.domains.ratings.data import RatingBatch, RatingContext, RatingLoader
from gnncli.domains.ratings.reader import USER_NAMES, read_ratings
from gnncli.errors import CheckpointError, InputError, UsageError
from gnncli.inference import require_inputs, results_stream
from gnncli.io import load_tensors
from gnncli.train.loop import resolve_device

_CONTEXTS: dict[str, RatingContext] = {}


def run_context(run) -> RatingContext:
    """The training ratings and item graph of ``run`` (read once per run folder)."""
    path = Path(run.path) / "ratings.pt"
    key = str(path.resolve())
    if key not in _CONTEXTS:
        if not path.is_file():
            raise CheckpointError(f"{path}: missing (the run did not finish; continue it with gnn train --resume {run.path})")
        _CONTEXTS[key] = RatingContext.from_state(load_tensors(path))
    return _CONTEXTS[key]


def id_maps(run) -> tuple[pd.Index, pd.Index]:
    domain = run.config.get("domain", {})
    return pd.Index(domain["users"]), pd.Index(domain["items"])


def _signals(run) -> bool:
    return run.config["model"]["name"] in SIGNAL_MODELS


def _reason(user: str, item: str) -> str:
    return "no user" if not user else "no item"


def infer_pairs(run, inputs: list[str], *, options: dict, settings):
    """``(frame, outputs [members, n_valid, 1], valid, errors)`` per chunk of the pair files."""
    require_inputs(inputs, "ratings (user, item pairs)")
    context = run_context(run)
    users_index, items_index = id_maps(run)
    device = resolve_device(settings.device)
    models = [m.to(device).eval() for m in run.models]
    for path in inputs:
        chunks = read_ratings(path, user_col=options.get("user_col"), item_col=options.get("item_col"),
                              rating_col=options.get("rating_col"), need_rating=False,
                              chunk_size=settings.chunk_size, fmt=settings.fmt)
        for table in chunks:
            u = users_index.get_indexer(table.user)
            i = items_index.get_indexer(table.item)
            named = np.array([bool(a) and bool(b) for a, b in zip(table.user, table.item)], dtype=bool)
            ok = (u >= 0) & (i >= 0) & named
            valid = np.flatnonzero(named)
            errors = {int(p): _reason(table.user[p], table.item[p]) for p in np.flatnonzero(~named)}
            outputs = None
            if len(valid):
                scores = np.repeat(np.clip(context.cold_scores(u[valid], i[valid]), run.task.low, run.task.high)[None],
                                   len(models), axis=0)  # cold pairs keep these
                warm = np.flatnonzero(ok[valid])
                if len(warm):
                    pairs = valid[warm]
                    loader = RatingLoader(context, u[pairs], i[pairs], np.full(len(pairs), np.nan, np.float32),
                                          batch_size=settings.batch_size, signals=_signals(run))
                    scores[:, warm] = np.stack([_predict(run.task, model, loader, device) for model in models])
                outputs = scores[..., None]
            yield table.frame, outputs, valid, errors


def _predict(task, model, loader, device) -> np.ndarray:
    out = []
    with torch.inference_mode():
        for batch in loader:
            out.append(task.transform_output(model(batch.to(device)).float())[:, 0].cpu())
    return torch.cat(out).numpy()


# ------------------------------------------------------------------------------------ top-N


def _read_users(path: str) -> list[str]:
    """User IDs from a file: one per line, or a table with a user column (else its first column)."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{path}: file not found")
    lines = [line.strip() for line in p.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]
    if not lines:
        raise InputError(f"{path}: no user IDs")
    sep = "\t" if "\t" in lines[0] else "," if "," in lines[0] else None
    rows = [line.split(sep)[0].strip() if sep is None else line.split(sep) for line in lines]
    if sep is None:
        return rows[1:] if rows[0].lower() in USER_NAMES else rows
    header = [c.strip() for c in rows[0]]
    col = next((k for k, c in enumerate(header) if c.lower() in USER_NAMES), None)
    if col is None:
        return [r[0].strip() for r in rows]
    return [r[col].strip() if len(r) > col else "" for r in rows[1:]]


def _all_scores(run, context, users: np.ndarray, device) -> torch.Tensor:
    """Predicted ratings [B, n_items] of every item for ``users``, averaged over the members."""
    task = run.task
    x = m = None
    if _signals(run):
        xs, ms = context.signals(users, None)
        x, m = torch.from_numpy(xs).to(device), torch.from_numpy(ms).to(device)
    t_users = torch.as_tensor(users, dtype=torch.long, device=device)
    batch = RatingBatch(t_users, torch.zeros_like(t_users), torch.full((len(users),), float("nan"), device=device),
                        context, x=x, m=m)
    total = None
    with torch.inference_mode():
        for model in run.models:
            out = model.all_items(batch).float()
            if task.objective == "levels":
                score = torch.softmax(out, dim=-1) @ torch.tensor(task.levels, device=device)
            else:
                score = out * task.std + task.mean
            score = score.clamp(task.low, task.high)
            total = score if total is None else total + score
    return total / len(run.models)


def ranking_metrics(top: dict[int, list[int]], held_out: dict[int, dict[int, float]], n: int, relevant: float) -> dict:
    """precision@n, recall@n and NDCG@n (binary relevance: a held-out rating >= ``relevant``),
    averaged over the users with at least one relevant held-out item."""
    precision, recall, ndcg = [], [], []
    discounts = 1.0 / np.log2(np.arange(2, n + 2))
    for user, items in top.items():
        rel = {i for i, r in held_out.get(user, {}).items() if r >= relevant}
        if not rel:
            continue
        hits = np.array([1.0 if i in rel else 0.0 for i in items[:n]])
        precision.append(hits.sum() / n)
        recall.append(hits.sum() / len(rel))
        ideal = discounts[: min(len(rel), n)].sum()
        ndcg.append(float((hits * discounts[: len(hits)]).sum() / ideal))
    if not precision:
        return {f"precision@{n}": float("nan"), f"recall@{n}": float("nan"), f"ndcg@{n}": float("nan"), "users_evaluated": 0}
    return {f"precision@{n}": float(np.mean(precision)), f"recall@{n}": float(np.mean(recall)),
            f"ndcg@{n}": float(np.mean(ndcg)), "users_evaluated": len(precision)}


def recommend(run, inputs: list[str], out, *, options: dict, settings, reporter) -> dict:
    """The top-N unseen items of each user (``user, rank, item, score``), best first; with held-out
    ratings in ``inputs``, ranking metrics in the returned counts."""
    n = int(options["recommend"])
    if n < 1:
        raise UsageError(f"--recommend {n}: must be at least 1")
    if options.get("relevant") is not None and not inputs:
        raise UsageError("--relevant needs held-out ratings: give them as INPUT files")
    relevant = 4.0 if options.get("relevant") is None else float(options["relevant"])
    context = run_context(run)
    users_index, items_index = id_maps(run)
    device = resolve_device(settings.device)
    for model in run.models:
        model.to(device).eval()
    wanted = _read_users(options["users"]) if options.get("users") else [str(u) for u in users_index]
    held_out: dict[int, dict[int, float]] = {}
    for path in inputs:
        table = read_ratings(path, user_col=options.get("user_col"), item_col=options.get("item_col"),
                             rating_col=options.get("rating_col"), fmt=settings.fmt)
        u, i = users_index.get_indexer(table.user), items_index.get_indexer(table.item)
        for uu, ii, r in zip(u, i, table.rating):
            if uu >= 0 and ii >= 0:
                held_out.setdefault(int(uu), {})[int(ii)] = float(r)
    index = users_index.get_indexer(wanted)
    known = np.flatnonzero(index >= 0)
    k = min(n, context.n_items)
    top: dict[int, list[int]] = {}
    rows = []
    bar = reporter.start("recommending", len(wanted))
    step = max(1, settings.batch_size)
    item_ids = np.asarray(items_index, dtype=object)
    for start in range(0, len(known), step):
        chunk = known[start:start + step]
        users = index[chunk].astype(np.int64)
        scores = _all_scores(run, context, users, device)
        seen = torch.from_numpy(context.M[users].toarray()).to(device) > 0
        scores = scores.masked_fill(seen, -math.inf)
        values, items = torch.topk(scores, k, dim=1)
        values, items = values.cpu().numpy(), items.cpu().numpy()
        for row, user in enumerate(users):
            finite = np.isfinite(values[row])
            top[int(user)] = [int(x) for x in items[row][finite]]
            for rank, (item, value) in enumerate(zip(items[row][finite], values[row][finite]), start=1):
                rows.append((int(chunk[row]), rank, item_ids[item], round(float(value), 6), ""))
        reporter.advance(bar, len(chunk))
    for pos in np.flatnonzero(index < 0):
        reason = "no user" if not wanted[pos] else f"cold start: user '{wanted[pos]}' has no training rating"
        rows.append((int(pos), 0, "", float("nan"), reason))
        reporter.advance(bar, 1)
    rows.sort(key=lambda r: (r[0], r[1]))
    frame = pd.DataFrame({"user": [wanted[r[0]] for r in rows], "rank": [r[1] if r[1] else "" for r in rows],
                          "item": [r[2] for r in rows], "score": [r[3] for r in rows], "error": [r[4] for r in rows]})
    with results_stream(out) as stream:
        frame.to_csv(stream, index=False, float_format="%.6g")
    counts = {"rows": len(wanted), "predicted": len(known), "invalid": len(wanted) - len(known), "recommended": n}
    if inputs:
        counts.update(ranking_metrics(top, held_out, n, relevant))
        counts["relevant"] = relevant
    return counts


# ------------------------------------------------------------------------------------ vectors


def embed(run, inputs: list[str], out_path: str, *, options: dict, settings, reporter) -> dict:
    """One vector per item (``kind=item``), then per user where the model has them (``kind=user``).

    GC-MC: its encoder's user and item vectors. Item-signal models: each item's vector is the
    mean, over the item's training ratings, of what the model's output is read from at that item
    (``embed``), each with the pair's own rating left out."""
    from gnncli.outputs import EmbeddingWriter

    if inputs:
        raise UsageError("gnn embed for ratings takes no INPUT: it writes one vector per item, and per user "
                         "where the model has them")
    member = settings.member
    if not 0 <= member < len(run.models):
        raise UsageError(f"--member {member}: the run has members 0..{len(run.models) - 1}")
    context = run_context(run)
    users_index, items_index = id_maps(run)
    device = resolve_device(settings.device)
    model = run.models[member].to(device).eval()
    bar = reporter.start("embedding", 1)
    with torch.inference_mode():
        if hasattr(model, "vectors"):
            probe = RatingBatch(torch.zeros(1, dtype=torch.long, device=device), torch.zeros(1, dtype=torch.long, device=device),
                                torch.zeros(1, device=device), context)
            found = model.vectors(probe)
            parts = [("item", items_index, found["item"].cpu().numpy())]
            if "user" in found:
                parts.append(("user", users_index, found["user"].cpu().numpy()))
        else:
            loader = RatingLoader(context, context.users, context.items, context.ratings, batch_size=1024,
                                  signals=_signals(run))
            total = count = None
            for batch in loader:
                batch = batch.to(device)
                vec = model.embed(batch).float()
                if total is None:
                    total = torch.zeros(context.n_items, vec.size(1), device=device)
                    count = torch.zeros(context.n_items, device=device)
                total.index_add_(0, batch.items, vec)
                count.index_add_(0, batch.items, torch.ones_like(batch.items, dtype=torch.float32))
            parts = [("item", items_index, (total / count.clamp(min=1).unsqueeze(1)).cpu().numpy())]
    dim = parts[0][2].shape[1]
    counts = {"rows": 0, "embedded": 0, "invalid": 0, "dim": dim}
    with EmbeddingWriter(out_path, dim) as writer:
        for kind, ids, vectors in parts:
            frame = pd.DataFrame({"kind": kind, "id": np.asarray(ids, dtype=object)})
            writer.write(frame, vectors.astype(np.float32), np.full(len(frame), "", dtype=object), counts["rows"])
            counts["rows"] += len(frame)
            counts["embedded"] += len(frame)
            counts[f"{kind}s"] = len(frame)
    reporter.finish(bar)
    return counts
