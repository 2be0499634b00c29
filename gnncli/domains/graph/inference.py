"""``gnn predict`` and ``gnn embed`` for a run on one graph.

The run records the files its graph was read from (absolute paths, in ``config.json``); the
graph is read again from them, its features normalized and (for ``sgc``) propagated as in
training, and every member computes all nodes layer-wise (:func:`~.models.layerwise`).

* Node tasks: ``gnn predict RUN [ids.csv]`` writes one row per requested node id (every node
  without input): ``id``, the predicted class (or value) per target, each class's probability,
  and ``error`` (an id that is not a node of the graph keeps its row, marked).
* Link prediction: ``gnn predict RUN pairs.csv`` scores each (source, target) pair.
* ``gnn embed RUN --out nodes.npy``: one vector per node, in the graph's node order (``.csv`` and
  ``.parquet`` carry the ids; ``.npy`` has ``<out>.ids.csv`` beside it).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from gnncli.domains.graph.data import NodeGraph, propagate
from gnncli.domains.graph.reader import GraphFiles, read_graph_input
from gnncli.errors import CheckpointError, InputError, UsageError
from gnncli.train.loop import resolve_device


def run_graph(run) -> NodeGraph:
    """The run's graph, read again from the files it was trained on."""
    cfg = run.config["domain"]
    files = GraphFiles(**{k: cfg["files"][k] for k in ("edges", "nodes", "features")})
    for name, path in cfg["files"].items():
        if path and not __import__("os").path.exists(path):
            raise CheckpointError(f"{run.path}: the graph's {name} file {path} (read in training) is gone; "
                                  "prediction reads the graph it was trained on")
    targets = cfg.get("targets") if cfg.get("task") != "link" else None
    table = read_graph_input(files, id_col=cfg.get("id_col"), directed=bool(cfg.get("directed")),
                             strict=bool(cfg.get("strict")), targets=targets or None)
    x = table.x if isinstance(table.x, np.memmap) else torch.from_numpy(np.ascontiguousarray(table.x, dtype=np.float32))
    if cfg.get("task") == "link":
        from gnncli.domains.graph.links import message_edges

        src, dst = message_edges(run, table)
        graph = NodeGraph.from_edges(table.ids, x, src, dst, directed=bool(cfg.get("directed")))
    else:
        graph = NodeGraph.from_edges(table.ids, x, table.src, table.dst, table.weight, directed=bool(cfg.get("directed")))
    if graph.num_nodes != cfg["nodes"]:
        raise CheckpointError(f"{run.path}: the graph now has {graph.num_nodes:,} nodes, and the run was trained on "
                              f"{cfg['nodes']:,}; its files changed since")
    graph = graph.normalized(cfg.get("feature_norm", "none"))
    if run.config["model"]["name"] == "sgc":
        graph = graph.with_features(propagate(graph, graph.features(), int(run.config["model"]["depth"])))
    return graph


def _outputs(run, graph: NodeGraph, device, *, embed: bool = False, member: int | None = None, reporter=None):
    from gnncli.domains.graph.models import layerwise

    models = run.models if member is None else [run.models[member]]
    bar = reporter.start("embedding" if embed else "predicting", len(models) * max(1, run.models[0].num_layers)) if reporter else None
    outs = []
    for model in models:
        model = model.to(device)
        step = (lambda k: reporter.advance(bar, k)) if bar is not None else None
        outs.append(layerwise(model, graph, device=device, embed=embed, progress=step))
    if bar is not None:
        reporter.finish(bar)
    return torch.stack(outs)


def _read_ids(paths: list[str], columns: tuple[str, ...]) -> pd.DataFrame:
    """The requested rows of ``paths``: the named id columns (or the first ones), as text."""
    frames = []
    for path in paths:
        from gnncli.io import check_input_file

        check_input_file(path)
        sep = "\t" if path.lower().endswith((".tsv", ".tab")) else None
        try:
            frame = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, engine="python", header=None)
        except (ValueError, pd.errors.ParserError) as exc:
            raise InputError(f"{path}: not a readable table of node ids ({str(exc).splitlines()[0]})") from None
        if frame.empty:
            raise InputError(f"{path}: no rows")
        first = [str(v).strip().lower() for v in frame.iloc[0]]
        header = any(v in first for v in (*columns, "id", "node", "source", "target", "src", "dst"))
        if header:
            frame.columns = [str(v).strip() for v in frame.iloc[0]]
            frame = frame.iloc[1:].reset_index(drop=True)
            lower = {c.lower(): c for c in frame.columns}
            picked = [lower.get(c) for c in columns]
            if any(p is None for p in picked):
                picked = list(frame.columns[:len(columns)])
        else:
            picked = list(frame.columns[:len(columns)])
        if len(picked) < len(columns):
            raise InputError(f"{path}: expected {len(columns)} columns ({', '.join(columns)}), found {frame.shape[1]}")
        out = frame[picked].copy()
        out.columns = list(columns)
        out["__line__"] = np.arange(len(out)) + (2 if header else 1)
        out["__file__"] = path
        frames.append(out)
    table = pd.concat(frames, ignore_index=True)
    for c in columns:
        table[c] = table[c].astype(str).str.strip()
    return table


def predict(run, inputs: list[str], out, *, options: dict, settings, reporter) -> dict:
    from gnncli.io import output_stream

    if settings.top_k is not None or settings.sort_by is not None:
        raise UsageError("--top-k and --sort-by are not for graph runs: every requested node is written")
    device = resolve_device(settings.device)
    bar = reporter.start("reading graph", 1)
    graph = run_graph(run)
    reporter.finish(bar)
    index = pd.Index(graph.ids)
    if run.config["domain"].get("task") == "link":
        from gnncli.domains.graph.links import predict_pairs

        if not inputs:
            raise UsageError("gnn predict for link prediction needs a file of (source, target) pairs")
        pairs = _read_ids(inputs, ("source", "target"))
        vectors = _outputs(run, graph, device, reporter=reporter)
        frame = predict_pairs(run, vectors, index, pairs)
    else:
        outs = _outputs(run, graph, device, reporter=reporter)
        task = run.task
        probs = torch.stack([task.transform_output(o) for o in outs]).numpy().astype(np.float64)
        mean = probs.mean(0)
        if inputs:
            wanted = _read_ids(inputs, ("id",))
            position = index.get_indexer(wanted["id"])
            frame = pd.DataFrame({"id": wanted["id"].to_numpy()})
        else:
            position = np.arange(graph.num_nodes)
            frame = pd.DataFrame({"id": graph.ids})
        ok = position >= 0
        safe = np.where(ok, position, 0)
        dummy_y = np.zeros((len(frame), len(task.targets)))
        mask = np.zeros_like(dummy_y, dtype=bool)
        columns = task.test_columns(dummy_y, mean[safe], probs.std(0)[safe], mask, len(outs) > 1)
        for name, column in columns.items():
            if name.endswith("_true"):
                continue
            column = np.asarray(column, dtype=object if name.endswith("_pred") and task.task_type == "multiclass" else float)
            column[~ok] = None if column.dtype == object else np.nan
            frame[name] = column
        frame["error"] = np.where(ok, "", "unknown node id: not in the run's graph")
    with output_stream(out) as handle:
        frame.to_csv(handle, index=False, float_format="%.6g")
    invalid = int((frame["error"] != "").sum())
    return {"rows": len(frame), "predicted": len(frame) - invalid, "invalid": invalid, "unit": "nodes"
            if run.config["domain"].get("task") != "link" else "pairs"}


def embed(run, inputs: list[str], out_path: str, *, options: dict, settings, reporter) -> dict:
    from gnncli.io import atomic_open, is_stream_output
    from gnncli.outputs import EmbeddingWriter

    member = settings.member
    if not 0 <= member < len(run.models):
        raise UsageError(f"--member {member}: the run has members 0..{len(run.models) - 1}")
    device = resolve_device(settings.device)
    bar = reporter.start("reading graph", 1)
    graph = run_graph(run)
    reporter.finish(bar)
    vectors = _outputs(run, graph, device, embed=True, member=member, reporter=reporter)[0].numpy().astype(np.float32)
    index = pd.Index(graph.ids)
    if inputs:
        wanted = _read_ids(inputs, ("id",))
        position = index.get_indexer(wanted["id"])
        ids = wanted["id"].to_numpy()
    else:
        position = np.arange(graph.num_nodes)
        ids = graph.ids
    ok = position >= 0
    rows = np.full((len(ids), vectors.shape[1]), np.nan, np.float32)
    rows[ok] = vectors[position[ok]]
    errors = np.where(ok, "", "unknown node id: not in the run's graph").astype(object)
    frame = pd.DataFrame({"id": np.asarray(ids, dtype=object)})
    with EmbeddingWriter(out_path, vectors.shape[1]) as writer:
        writer.write(frame, rows, errors, 0)
    if str(out_path).lower().endswith(".npy") and not is_stream_output(out_path):
        with atomic_open(str(out_path)[:-4] + ".ids.csv", "w", newline="") as handle:
            frame.to_csv(handle, index=False)
    return {"rows": len(ids), "embedded": int(ok.sum()), "invalid": int((~ok).sum()), "dim": int(vectors.shape[1])}
