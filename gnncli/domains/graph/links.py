"""Link prediction on one graph: which missing edges exist?

The edges are split into training, validation and test edges (``--split-sizes``; each undirected
edge once). Messages pass over the training edges only: the validation and test edges are absent
from the graph every model sees, in training and when scoring. A model's outputs are node vectors;
an edge's score is the dot product of its ends' vectors (a logit).

Training is full-batch: each step scores every training edge against as many negative pairs,
drawn uniformly per step (a pair that is an edge of the graph is drawn again). Validation and test
score each held-out edge ``(s, t)`` against :data:`EVAL_NEGATIVES` corrupted pairs ``(s, t')``,
fixed by the seed, and report

* ``roc_auc``: every positive against every negative;
* ``hits@K`` (K = 10, 50, 100): the share of positives scored above the K-th best negative (OGB's);
* ``mrr``: the mean reciprocal rank of each positive among its own negatives.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.data import Data

from gnncli.domains.base import Dataset
from gnncli.domains.graph.data import NodeGraph
from gnncli.errors import InputError, UsageError

EVAL_NEGATIVES = 100
#: Held-out edges scored each epoch at most (a fixed sample of a larger validation set).
MAX_EVAL_EDGES = 50_000
HITS = (10, 50, 100)
METRICS = {"mrr": True, "roc_auc": True, **{f"hits@{k}": True for k in HITS}, "loss": False}


def edge_keys(src: np.ndarray, dst: np.ndarray, n: int, directed: bool) -> np.ndarray:
    """One int64 key per edge (an undirected edge's smaller end first), sorted."""
    s, t = np.asarray(src, np.int64), np.asarray(dst, np.int64)
    if not directed:
        s, t = np.minimum(s, t), np.maximum(s, t)
    return np.sort(s * n + t)


def is_edge(keys: np.ndarray, s: np.ndarray, t: np.ndarray, n: int, directed: bool) -> np.ndarray:
    """Whether each pair ``(s, t)`` is an edge of the sorted ``keys``."""
    if not directed:
        s, t = np.minimum(s, t), np.maximum(s, t)
    q = s * n + t
    pos = np.searchsorted(keys, q)
    return (pos < len(keys)) & (keys[np.minimum(pos, len(keys) - 1)] == q)


def negatives(keys: np.ndarray, src: np.ndarray, n: int, directed: bool, rng: np.random.Generator, *,
              per: int = 1) -> np.ndarray:
    """``per`` targets for each source in ``src`` that are not its neighbours (nor itself),
    :obj:`[len(src), per]`."""
    s = np.repeat(np.asarray(src, np.int64), per)
    t = rng.integers(0, n, len(s))
    for _ in range(20):  # redraw the few that hit an edge or a self loop
        bad = (t == s) | is_edge(keys, s, t, n, directed)
        if not bad.any():
            break
        t[bad] = rng.integers(0, n, int(bad.sum()))
    return t.reshape(-1, per)


class LinkDataset(Dataset):
    """The edges of one graph as items; ``pack`` is the message graph (training edges only)."""

    def __len__(self) -> int:
        return len(self.extra["src"])

    @property
    def graph(self) -> NodeGraph:
        return self.pack

    def where(self, index: int) -> str:
        ids = self.pack.ids
        return f"{self.source}: edge {ids[self.extra['src'][index]]}-{ids[self.extra['dst'][index]]}"

    def row_table(self, indices) -> pd.DataFrame:
        idx = np.asarray(indices, np.int64)
        ids = self.pack.ids
        return pd.DataFrame({"source": ids[self.extra["src"][idx]], "target": ids[self.extra["dst"][idx]]})

    def _batch(self, pos: np.ndarray, neg: np.ndarray) -> Data:
        g = self.pack
        batch = Data(x=g.features(), edge_index=g.edge_index(), num_nodes=g.num_nodes,
                     seed=torch.arange(g.num_nodes), deg=g.degree())
        batch.pos_edge = torch.from_numpy(np.ascontiguousarray(pos))
        batch.neg_edge = torch.from_numpy(np.ascontiguousarray(neg))
        batch.num_items = int(pos.shape[1])
        return batch

    def loader(self, indices, *, batch_size: int = 256):
        """Held-out edges (a fixed sample of at most :data:`MAX_EVAL_EDGES`), each with
        :data:`EVAL_NEGATIVES` corrupted targets fixed by the seed."""
        idx = np.asarray(indices, np.int64)
        rng = np.random.default_rng(int(self.extra["seed"]) + 7919)
        if len(idx) > MAX_EVAL_EDGES:
            idx = np.sort(rng.choice(idx, MAX_EVAL_EDGES, replace=False))
        s, t = self.extra["src"][idx], self.extra["dst"][idx]
        neg_t = negatives(self.extra["keys"], s, self.pack.num_nodes, self.pack.directed, rng, per=EVAL_NEGATIVES)
        neg = np.stack([np.repeat(s, EVAL_NEGATIVES), neg_t.reshape(-1)])
        return [self._batch(np.stack([s, t]), neg)]

    def train_loader(self, indices, *, batch_size: int, seed: int, epoch: int):
        """One full-batch step: every training edge (this process's share under torchrun) and as
        many negative pairs drawn afresh."""
        from gnncli.train.distributed import rank, shard

        idx = shard(np.asarray(indices, np.int64), seed=seed, epoch=epoch)
        rng = np.random.default_rng([seed * 100_003 + epoch, rank()])
        s, t = self.extra["src"][idx], self.extra["dst"][idx]
        neg_t = negatives(self.extra["keys"], s, self.pack.num_nodes, self.pack.directed, rng)[:, 0]
        return [self._batch(np.stack([s, t]), np.stack([s, neg_t]))]


def _scores(h: Tensor, edges: Tensor) -> Tensor:
    return (h[edges[0]] * h[edges[1]]).sum(-1)


def rank_metrics(pos: np.ndarray, neg: np.ndarray) -> dict[str, float]:
    """``roc_auc``, ``hits@K`` and ``mrr`` of positive scores :obj:`[P]` against their
    negatives :obj:`[P, Q]`."""
    from gnncli.train.metrics import _roc_auc

    out: dict[str, float] = {}
    flat = neg.reshape(-1)
    labels = np.concatenate([np.ones(len(pos)), np.zeros(len(flat))])
    out["roc_auc"] = float(_roc_auc(labels, np.concatenate([pos, flat]))) if len(pos) and len(flat) else float("nan")
    top = np.sort(flat)[::-1]
    for k in HITS:
        threshold = top[k - 1] if len(top) >= k else -np.inf
        out[f"hits@{k}"] = float((pos > threshold).mean()) if len(pos) else float("nan")
    rank = 1 + (neg >= pos[:, None]).sum(1)
    out["mrr"] = float((1.0 / rank).mean()) if len(pos) else float("nan")
    return out


@dataclass
class LinkTask:
    """Link prediction: binary cross-entropy of edge scores against sampled non-edges."""

    monitor: str = ""

    def __post_init__(self) -> None:
        self.monitor = self.monitor or "mrr"
        if self.monitor not in METRICS:
            raise ValueError(f"{self.monitor} does not fit link prediction (choose from {', '.join(METRICS)})")
        self.higher_is_better = METRICS[self.monitor]
        self.targets = ["link"]
        self.task_type = "link"

    def metrics(self) -> dict[str, bool]:
        return dict(METRICS)

    def to_config(self) -> dict:
        return {"type": "link", "monitor": self.monitor}

    @classmethod
    def from_config(cls, config: dict) -> LinkTask:
        return cls(config.get("monitor", ""))

    def columns(self) -> list[str]:
        return ["score"]

    def transform_output(self, output: Tensor) -> Tensor:
        return output

    def loss(self, output: Tensor, batch) -> Tensor:
        pos, neg = _scores(output, batch.pos_edge), _scores(output, batch.neg_edge)
        return (F.binary_cross_entropy_with_logits(pos, torch.ones_like(pos))
                + F.binary_cross_entropy_with_logits(neg, torch.zeros_like(neg))) / 2

    @torch.inference_mode()
    def scores(self, h: Tensor, batch) -> tuple[np.ndarray, np.ndarray]:
        pos = _scores(h, batch.pos_edge).float().cpu().numpy()
        neg = _scores(h, batch.neg_edge).float().cpu().numpy().reshape(len(pos), -1)
        return pos, neg

    def evaluate(self, model: nn.Module, loader, device: torch.device) -> dict[str, float]:
        model.eval()
        out = {}
        with torch.inference_mode():
            for batch in loader:
                batch = batch.to(device)
                h = model(batch).float()
                pos, neg = self.scores(h, batch)
                out = rank_metrics(pos, neg)
                out["loss"] = float(self.loss(h, batch))
        return out


def message_edges(run, table) -> tuple[np.ndarray, np.ndarray]:
    """The training edges of a saved link-prediction run (from its ``splits.json``)."""
    from gnncli.io import read_json

    train = np.asarray(read_json(run.path / "splits.json")[0]["train"], np.int64)
    src, dst = _unique_edges(table)
    if len(train) and train.max() >= len(src):
        from gnncli.errors import CheckpointError

        raise CheckpointError(f"{run.path}: the edge file changed since training ({len(src):,} edges now)")
    return src[train], dst[train]


def _unique_edges(table) -> tuple[np.ndarray, np.ndarray]:
    keep = table.src != table.dst
    return table.src[keep], table.dst[keep]


def prepare_links(opts, files, reporter, *, table=None) -> LinkDataset:
    from gnncli.domains.graph.reader import read_graph_input
    from gnncli.domains.graph.training import feature_norm
    from gnncli.train.splits import random_split

    options = opts.options
    if (options.get("batching") or "auto") not in ("auto", "full"):
        raise UsageError(f"--batching {options.get('batching')}: link prediction trains full-batch (--batching full)")
    if opts.split not in ("random",):
        raise UsageError(f"--split {opts.split}: link prediction splits the edges at random (--split-sizes)")
    directed = bool(options.get("directed"))
    if table is None:
        bar = reporter.start("reading graph", 1)
        table = read_graph_input(files, id_col=options.get("id_col"), directed=directed,
                                 strict=bool(options.get("strict")))
        reporter.finish(bar)
    src, dst = _unique_edges(table)
    n = len(table.ids)
    sizes = opts.split_sizes
    if len(sizes) != 3 or any(s < 0 for s in sizes) or abs(sum(sizes) - 1) > 1e-6:
        raise UsageError(f"--split-sizes {','.join(map(str, sizes))}: give three fractions that sum to 1")
    train, val, test = (np.sort(np.asarray(p, np.int64)) for p in random_split(len(src), sizes, opts.loop.seed))
    if len(train) < 1 or len(val) < 1 or len(test) < 1:
        raise InputError(f"{files.edges}: {len(src)} edges are too few to split into training, validation and test edges")
    x = table.x if isinstance(table.x, np.memmap) else torch.from_numpy(np.ascontiguousarray(table.x, dtype=np.float32))
    graph = NodeGraph.from_edges(table.ids, x, src[train], dst[train], directed=directed)
    graph = graph.normalized(feature_norm(options))
    if opts.model.name == "sgc":
        from gnncli.domains.graph.data import propagate

        graph = graph.with_features(propagate(graph, graph.features(), int(opts.model.depth)))
    keys = edge_keys(src, dst, n, directed)
    run_config = {
        "files": files.absolute(), "id_col": table.id_col, "directed": directed, "strict": bool(options.get("strict")),
        "targets": [], "classes": None, "task": "link", "features": int(graph.num_features), "nodes": n,
        "edges": int(len(src)), "feature_norm": graph.norm, "batching": "full",
    }
    counts = {**table.counts, "features": int(graph.num_features)}
    return LinkDataset(
        source=opts.data, pack=graph, targets=["link"], task_type="link", unit="edges", counts=counts,
        warnings=list(table.warnings),
        extra={"src": src, "dst": dst, "keys": keys, "split": (train, val, test), "seed": opts.loop.seed,
               "batching": "full", "run_config": run_config},
    )


def evaluate_links(domain, ctx) -> dict:
    """Score the members on the test edges (their vectors averaged over members), write
    ``test_predictions.csv`` (each test edge and one of its negatives, with labels) and the plot."""
    from gnncli.domains.graph.models import layerwise
    from gnncli.io import atomic_open
    from gnncli.runs import load_run
    from gnncli.train import plots
    from gnncli.train.loop import resolve_device

    opts, data, task = ctx.opts, ctx.data, ctx.task
    trained = load_run(ctx.run)
    device = resolve_device(opts.loop.device)
    _, val_idx, test_idx = ctx.splits[0]
    scores = {}
    for name, idx in (("val", val_idx), ("test", test_idx)):
        batch = data.loader(idx)[0]
        pos_all, neg_all = [], []
        for model in trained.models:
            h = layerwise(model.to(device), data.pack, device=device)
            pos, neg = task.scores(h, batch)
            pos_all.append(pos)
            neg_all.append(neg)
        pos, neg = np.mean(pos_all, 0), np.mean(neg_all, 0)
        scores[name] = (batch, pos, neg, rank_metrics(pos, neg))
    batch, pos, neg, test = scores["test"]
    ids = data.pack.ids
    pe, ne = batch.pos_edge.numpy(), batch.neg_edge.numpy()[:, ::EVAL_NEGATIVES]
    table = pd.DataFrame({
        "source": np.concatenate([ids[pe[0]], ids[ne[0]]]), "target": np.concatenate([ids[pe[1]], ids[ne[1]]]),
        "label": np.concatenate([np.ones(pe.shape[1], int), np.zeros(ne.shape[1], int)]),
        "score": np.concatenate([pos, neg[:, 0]]),
    })
    with atomic_open(ctx.run / "test_predictions.csv", "w", newline="") as handle:
        table.to_csv(handle, index=False, float_format="%.6g")
    if opts.plots:
        plots.learning_curve(pd.read_csv(ctx.run / "metrics.csv"), task.monitor, ctx.run / "learning_curve.png")
    counts = {**data.counts, "train": len(ctx.splits[0][0]), "val": len(val_idx), "test": len(test_idx)}
    return {
        "run": str(ctx.run), "kind": domain.name, "task": "link-prediction", "targets": ["link"],
        "model": opts.model.name, "members": len(ctx.splits), "split": "random", "monitor": task.monitor,
        "unit": "edges", "edges": counts, "batching": "full", "val": scores["val"][3], "test": test,
    }


def predict_pairs(run, vectors: Tensor, index: pd.Index, pairs: pd.DataFrame) -> pd.DataFrame:
    """Scores (probabilities) of the ``source, target`` pairs, averaged over members; an id not
    in the graph keeps its row, marked."""
    s, t = index.get_indexer(pairs["source"]), index.get_indexer(pairs["target"])
    ok = (s >= 0) & (t >= 0)
    si, ti = torch.as_tensor(np.where(ok, s, 0)), torch.as_tensor(np.where(ok, t, 0))
    logits = (vectors[:, si] * vectors[:, ti]).sum(-1)
    prob = torch.sigmoid(logits).numpy().astype(np.float64)
    frame = pd.DataFrame({"source": pairs["source"].to_numpy(), "target": pairs["target"].to_numpy()})
    frame["score"] = np.where(ok, prob.mean(0), np.nan)
    if len(vectors) > 1:
        frame["score_std"] = np.where(ok, prob.std(0), np.nan)
    reason = np.where(s < 0, "unknown source id: not in the run's graph",
                      np.where(t < 0, "unknown target id: not in the run's graph", ""))
    frame["error"] = reason
    return frame
