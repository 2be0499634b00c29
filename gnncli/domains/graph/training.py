"""Training on one graph: reading it, the task and the split of its nodes (or edges), the batching
mode, and scoring a trained run on its test nodes by layer-wise inference over the whole graph."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from gnncli.domains.graph import (
    BATCHINGS, DEFAULT_CLUSTERS, DEFAULT_FANOUT, EDGE_FREE, FULL_BATCH_NODES, parse_fanout,
)
from gnncli.domains.graph.data import NodeDataset, NodeGraph, propagate
from gnncli.domains.graph.reader import GraphFiles, read_graph_input
from gnncli.errors import InputError, UsageError

#: A numeric target with at most this many distinct whole values is a class label under --task auto.
MAX_AUTO_CLASSES = 50
DEFAULT_CLUSTER_BATCH = 20


def graph_files(opts) -> GraphFiles:
    if opts.data is None:
        raise UsageError("gnn train for graph input needs an edge file or a folder (edges.csv + nodes.csv)")
    if opts.data == "-":
        raise UsageError("-: a graph is read from files, not standard input")
    options = opts.options
    return GraphFiles.find(opts.data, options.get("nodes"), options.get("features"))


FEATURE_NORMS = ("auto", "row", "standard", "none")


def feature_norm(options: dict) -> str:
    norm = options.get("feature_norm") or "auto"
    if norm not in FEATURE_NORMS:
        raise UsageError(f"--feature-norm {norm}: expected one of {', '.join(FEATURE_NORMS)}")
    return norm


def batching_settings(options: dict, num_nodes: int, model: str) -> dict:
    """``--batching`` and its settings, checked."""
    mode = options.get("batching") or "auto"
    if mode not in BATCHINGS:
        raise UsageError(f"--batching {mode}: expected one of {', '.join(BATCHINGS)}")
    if mode == "auto":
        mode = "full" if num_nodes <= FULL_BATCH_NODES else "neighbor"
    fanout = parse_fanout(options.get("fanout"))
    if fanout is not None and mode != "neighbor":
        raise UsageError(f"--fanout goes with --batching neighbor (this run trains {mode}-batch)")
    for name in ("clusters", "cluster_batch"):
        value = options.get(name)
        if value is not None and mode != "cluster":
            raise UsageError(f"--{name.replace('_', '-')} goes with --batching cluster")
        if value is not None and value < 1:
            raise UsageError(f"--{name.replace('_', '-')} {value}: must be at least 1")
    if model in EDGE_FREE:
        # Their layers never read an edge, so neighbours or clusters would be sampled for nothing:
        # sgc trains full-batch at any size (its propagated features are in memory already), mlp
        # full-batch up to FULL_BATCH_NODES and on mini-batches of nodes alone beyond (``nodes``).
        mode = "full" if model == "sgc" or num_nodes <= FULL_BATCH_NODES else "nodes"
        return {"batching": mode}
    settings = {"batching": mode}
    if mode == "neighbor":
        settings["fanouts"] = list(fanout or DEFAULT_FANOUT)
    if mode == "cluster":
        clusters = options.get("clusters") or min(DEFAULT_CLUSTERS, max(2, num_nodes // 10))
        settings.update(clusters=int(min(clusters, num_nodes)), cluster_batch=int(options.get("cluster_batch") or DEFAULT_CLUSTER_BATCH))
    return settings


def _targets(table, task: str, source: str):
    """``(task_type, targets, y [N, T], mask [N, T], classes)`` from the node table's target columns."""
    names = [str(t) for t in table.columns["__targets__"]]
    if not names:
        raise InputError(f"{source}: no target column (name one with --target, e.g. a 'label' column), "
                         "or train --task link-prediction")
    raw = [pd.Series(table.columns[n]) for n in names]
    n = len(table.ids)
    mask = np.stack([~s.isna().to_numpy() & (s.astype(str).str.strip() != "").to_numpy() for s in raw], 1)
    for t, name in enumerate(names):
        if not mask[:, t].any():
            raise InputError(f"{source}: target column '{name}' has no values")
    numeric = []
    for s, m in zip(raw, mask.T):
        values = pd.to_numeric(s[m], errors="coerce")
        numeric.append(values.to_numpy(dtype=float) if not values.isna().any() else None)
    if task == "node-regression" or (task == "auto" and all(v is not None for v in numeric)
                                     and any(len(np.unique(v)) > MAX_AUTO_CLASSES or not np.all(v == np.round(v))
                                             for v in numeric)):
        bad = next((names[t] for t, v in enumerate(numeric) if v is None), None)
        if bad is not None:
            raise InputError(f"{source}: target column '{bad}' is not numeric; node regression needs numbers")
        y = np.zeros((n, len(names)), np.float32)
        for t, v in enumerate(numeric):
            y[mask[:, t], t] = v
        return "regression", names, y, mask, None
    if len(names) > 1:  # several targets: multi-label 0/1
        y = np.zeros((n, len(names)), np.float32)
        for t, (name, v) in enumerate(zip(names, numeric)):
            if v is None or not set(np.unique(v)) <= {0.0, 1.0}:
                raise InputError(f"{source}: several targets are read as 0/1 labels (multi-label), and "
                                 f"'{name}' holds other values; give one class column, or --task node-regression")
            y[mask[:, t], t] = v
            if len(np.unique(v)) < 2:
                raise InputError(f"{source}: target column '{name}' has one class only ({v[0]:g})")
        return "classification", names, y, mask, None
    values = raw[0][mask[:, 0]]
    v = numeric[0]
    classes = sorted(np.unique(v).tolist()) if v is not None else sorted(values.astype(str).str.strip().unique().tolist())
    if len(classes) < 2:
        raise InputError(f"{source}: label column '{names[0]}' has one class only ({classes[0]}); "
                         "node classification needs two or more")
    index = {c: i for i, c in enumerate(classes)}
    keys = v if v is not None else values.astype(str).str.strip().to_numpy()
    y = np.zeros((n, 1), np.float32)
    y[mask[:, 0], 0] = [index[k] for k in keys]
    classes = [int(c) if isinstance(c, float) and c == int(c) else c for c in classes]
    return "multiclass", names, y, mask, classes


def prepare(opts, reporter):
    options = opts.options
    files = graph_files(opts)
    if opts.task == "link-prediction":
        from gnncli.domains.graph.links import prepare_links

        return prepare_links(opts, files, reporter)
    bar = reporter.start("reading graph", 1)
    table = read_graph_input(files, id_col=options.get("id_col"), directed=bool(options.get("directed")),
                             strict=bool(options.get("strict")), targets=opts.targets)
    reporter.finish(bar)
    if opts.task == "auto" and not len(table.columns["__targets__"]):
        from gnncli.domains.graph.links import prepare_links

        return prepare_links(opts, files, reporter, table=table)
    source = files.nodes or files.edges
    task_type, targets, y, mask, classes = _targets(table, opts.task, source)
    if opts.task == "node-classification" and task_type == "regression":
        raise InputError(f"{source}: --task node-classification, and the target is continuous")
    x = table.x if isinstance(table.x, np.memmap) else torch.from_numpy(np.ascontiguousarray(table.x, dtype=np.float32))
    graph = NodeGraph.from_edges(table.ids, x, table.src, table.dst, table.weight, directed=bool(options.get("directed")))
    graph = graph.normalized(feature_norm(options))
    graph.y, graph.y_mask = torch.from_numpy(y), torch.from_numpy(mask)
    model = opts.model.name
    settings = batching_settings(options, graph.num_nodes, model)
    extra = {**settings, "eval_fanouts": [max(f, 25) for f in settings.get("fanouts", DEFAULT_FANOUT)],
             "uses_edges": model not in EDGE_FREE}
    if model == "sgc":  # K-hop propagation once, before training (and again at prediction)
        bar = reporter.start(f"propagating features ({opts.model.depth} hops)", 1)
        graph = graph.with_features(propagate(graph, graph.features(), int(opts.model.depth)))
        reporter.finish(bar)
    if settings["batching"] == "cluster":
        from gnncli.domains.graph.sampling import metis_parts

        bar = reporter.start(f"METIS: {settings['clusters']:,} parts", 1)
        extra["membership"] = metis_parts(graph.rowptr, graph.col, settings["clusters"], seed=opts.loop.seed)
        reporter.finish(bar)
    labelled = np.flatnonzero(mask.any(1))
    columns = {k: v for k, v in table.columns.items() if not k.startswith("__")}
    split_col = [str(c) for c in table.columns["__split__"]]
    counts = {**table.counts, "labelled": int(len(labelled)), "features": int(graph.num_features)}
    run_config = {
        "files": files.absolute(), "id_col": table.id_col, "directed": bool(options.get("directed")),
        "strict": bool(options.get("strict")), "targets": targets, "classes": classes, "task": task_type,
        "features": int(graph.num_features), "nodes": graph.num_nodes, "edges": int(table.counts["edges"]),
        "split_column": split_col[0] if split_col else None, "feature_norm": graph.norm,
        **{k: v for k, v in settings.items()},
    }
    return NodeDataset(
        source=opts.data, pack=graph, targets=targets, task_type=task_type, unit="nodes", counts=counts,
        warnings=list(table.warnings),
        extra={**extra, "columns": columns, "labelled": labelled, "classes": classes, "split_col": split_col,
               "run_config": run_config},
    )


def split(opts, data) -> list:
    """Nodes for training, validation and test: the node table's ``split`` column when it has one
    (unless ``--split stratified``, ``--split-col`` or ``--split-sizes`` say otherwise), else a
    random or stratified split of the labelled nodes."""
    if data.task_type == "link":
        return [data.extra["split"]] * max(1, opts.ensemble)
    from gnncli.train.splits import column_split, random_split

    labelled = data.extra["labelled"]
    default_sizes = tuple(opts.split_sizes) == (0.8, 0.1, 0.1)
    given = data.extra["split_col"]
    column = opts.split_col if opts.split == "column" else (given[0] if given and opts.split == "random" and default_sizes else None)
    if column is not None:
        values = data.column(column)
        if values is None:
            raise InputError(f"{data.source}: no split column '{column}'")
        keep = [i for i in range(len(values)) if values[i] is not None and str(values[i]).strip().lower() not in ("", "nan", "none")]
        keep = np.asarray(keep, np.int64)
        try:
            parts = column_split([values[i] for i in keep])
        except ValueError as exc:
            row = int(str(exc).split(":")[0].split()[1])
            raise InputError(f"{data.where(int(keep[row]))}: {str(exc).split(': ', 1)[1]}") from None
        train, val, test = (keep[p] for p in parts)
        has = data.pack.y_mask.numpy().any(1)
        unlabelled = [name for name, part in (("train", train), ("val", val), ("test", test)) if (~has[part]).any()]
        if unlabelled:
            raise InputError(f"{data.source}: nodes in the '{unlabelled[0]}' part of column '{column}' have no label")
    else:
        sizes = opts.split_sizes
        if len(sizes) != 3 or any(s < 0 for s in sizes) or abs(sum(sizes) - 1) > 1e-6:
            raise UsageError(f"--split-sizes {','.join(map(str, sizes))}: give three fractions that sum to 1")
        if opts.split == "stratified" and data.task_type == "multiclass":
            train, val, test = _stratified(labelled, data.pack.y[labelled, 0].numpy(), sizes, opts.loop.seed)
        else:
            parts = random_split(len(labelled), sizes, opts.loop.seed)
            train, val, test = (labelled[np.asarray(p, np.int64)] for p in parts)
    if len(train) < 1 or len(val) < 1:
        raise InputError(f"{data.source}: {len(labelled)} labelled nodes are too few for this split "
                         f"(train {len(train)}, validation {len(val)}, test {len(test)})")
    return [(np.sort(train), np.sort(val), np.sort(test))] * max(1, opts.ensemble)


def _stratified(nodes: np.ndarray, labels: np.ndarray, sizes, seed: int):
    rng = np.random.default_rng(seed)
    parts = ([], [], [])
    for c in np.unique(labels):
        members = nodes[labels == c]
        members = members[rng.permutation(len(members))]
        n_train = int(round(sizes[0] * len(members)))
        n_val = int(round(sizes[1] * len(members)))
        for k, chunk in enumerate((members[:n_train], members[n_train:n_train + n_val], members[n_train + n_val:])):
            parts[k].append(chunk)
    return tuple(np.concatenate(p).astype(np.int64) for p in parts)


def make_task(data, opts, train_rows):
    if data.task_type == "link":
        from gnncli.domains.graph.links import LinkTask

        try:
            return LinkTask(monitor=opts.monitor or "")
        except ValueError as exc:
            raise UsageError(f"--metric {exc}") from None
    from gnncli.tasks import GraphPropertyTask
    from gnncli.train.scaler import TargetScaler

    y, mask = data.pack.y.numpy().astype(float), data.pack.y_mask.numpy()
    rows = np.asarray(train_rows)
    if data.task_type == "regression":
        scaler = TargetScaler.fit(y[rows], mask[rows])
    else:
        scaler = TargetScaler.identity(y.shape[1])
    from gnncli.models.config import model_entry

    chosen = model_entry(opts.model.name, "graph").meta.get("monitor") if data.task_type == "multiclass" else None
    monitor = opts.monitor or chosen or ("accuracy" if data.task_type == "multiclass" else "")
    try:
        return GraphPropertyTask.create(data.task_type, data.targets, scaler, monitor,
                                        classes=data.extra.get("classes") or [])
    except ValueError as exc:
        raise UsageError(f"--metric {exc}") from None


def load_task(config: dict):
    if config["task"].get("type") == "link":
        from gnncli.domains.graph.links import LinkTask

        return LinkTask.from_config(config["task"])
    from gnncli.tasks import GraphPropertyTask

    return GraphPropertyTask.from_config(config["task"])


def model_config(data, model):
    from gnncli.domains.graph.models import PARAMS
    from gnncli.models import ModelConfig

    if model.name not in PARAMS:
        raise UsageError(f"--model {model.name}: not a model for graph input (choose from {', '.join(PARAMS)})")
    if data.task_type == "link":
        out = int(model.hidden or 64)
    elif data.task_type == "multiclass":
        out = len(data.targets) * len(data.extra["classes"])
    else:
        out = len(data.targets)
    try:
        return ModelConfig.from_dict({**model.to_dict(), "in_channels": int(data.pack.num_features),
                                      "out_channels": out, "level": "node", "kind": "graph"})
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def all_outputs(model, graph: NodeGraph, device, *, embed: bool = False) -> torch.Tensor:
    """The model's raw outputs (or embeddings) for every node: layer-wise inference over the whole graph."""
    from gnncli.domains.graph.models import layerwise

    return layerwise(model, graph, device=device, embed=embed)


def evaluate(domain, ctx) -> dict:
    """Score the members on the test nodes (layer-wise inference over the whole graph; ensemble
    members averaged), write ``test_predictions.csv`` and the plots; return the summary."""
    if ctx.data.task_type == "link":
        from gnncli.domains.graph.links import evaluate_links

        return evaluate_links(domain, ctx)
    from gnncli.runs import load_run
    from gnncli.train import plots
    from gnncli.train.loop import resolve_device
    from gnncli.train.metrics import finite_mean
    from gnncli.io import atomic_open

    opts, data, task = ctx.opts, ctx.data, ctx.task
    trained = load_run(ctx.run)
    device = resolve_device(opts.loop.device)
    _, val_idx, test_idx = ctx.splits[0]
    graph = data.pack
    y, mask = graph.y.numpy().astype(np.float64), graph.y_mask.numpy()
    outs, val_metrics = [], []
    for model in trained.models:
        model = model.to(device)
        raw = all_outputs(model, graph, device)
        probs = task.transform_output(raw).numpy().astype(np.float64)
        outs.append(probs)
        val_metrics.append(task.score(y[val_idx], probs[val_idx], mask[val_idx]))
    stack = np.stack(outs)
    preds, stds = stack.mean(0), stack.std(0)
    several = len(outs) > 1
    test = task.score(y[test_idx], preds[test_idx], mask[test_idx]) if len(test_idx) else {}
    val = {k: finite_mean(np.asarray([m[k] for m in val_metrics], float)) for k in val_metrics[0]}
    table = data.row_table(test_idx)
    for name, column in task.test_columns(y[test_idx], preds[test_idx], stds[test_idx], mask[test_idx], several).items():
        table[name] = column
    with atomic_open(ctx.run / "test_predictions.csv", "w", newline="") as handle:
        table.to_csv(handle, index=False, float_format="%.6g")
    if opts.plots:
        plots.learning_curve(pd.read_csv(ctx.run / "metrics.csv"), task.monitor, ctx.run / "learning_curve.png")
        if len(test_idx):
            task.test_plots(y[test_idx], preds[test_idx], mask[test_idx], ctx.run)
    counts = {**data.counts, "train": len(ctx.splits[0][0]), "val": len(val_idx), "test": len(test_idx)}
    return {
        "run": str(ctx.run), "kind": domain.name, "task": data.task_type, "targets": data.targets,
        "model": opts.model.name, "members": len(ctx.splits), "split": opts.split, "monitor": task.monitor,
        "unit": "nodes", "nodes": counts, "batching": data.extra["batching"], "val": val, "test": test,
    }
