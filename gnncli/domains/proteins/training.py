"""Training on proteins: reading the input into a dataset, splits by group, the binding-site task,
and test evaluation with pocket success rates."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from gnncli.domains.base import inputs_label
from gnncli.domains.pack import GraphPack
from gnncli.domains.proteins import ProteinDataset, read_settings
from gnncli.domains.proteins.inputs import discover, featurize_items
from gnncli.domains.proteins.labels import DEFAULT_CUTOFF, match_sites, read_site_table, site_labels
from gnncli.errors import InputError, UsageError


def _featurizer(opts, featurizer):
    from gnncli.domains.proteins.featurizer import ResidueFeaturizer

    if featurizer is not None:
        return featurizer
    o = opts.options
    kwargs = {}
    if o.get("residue_radius") is not None:
        if o["residue_radius"] < 0:
            raise UsageError(f"--residue-radius {o['residue_radius']}: must be 0 or more")
        kwargs["radius"] = float(o["residue_radius"])
    for name, key in (("residue_knn", "knn"), ("residue_seq", "seq_neighbours")):
        if o.get(name) is not None:
            if o[name] < 0:
                raise UsageError(f"--{name.replace('_', '-')} {o[name]}: must be 0 or more")
            kwargs[key] = int(o[name])
    return ResidueFeaturizer(**kwargs)


def pack_records(records: list[dict]) -> GraphPack:
    """One pack of residue graphs (``x``, ``pos``, ``edge_attr``, ``edge_type``) from featurized records."""
    pack = GraphPack.from_arrays(
        np.concatenate([r["x"] for r in records]), np.concatenate([r["edge_index"] for r in records], axis=1),
        np.concatenate([r["edge_attr"] for r in records]), np.asarray([len(r["x"]) for r in records]),
        np.asarray([r["edge_index"].shape[1] for r in records]), pos=np.concatenate([r["pos"] for r in records]),
    )
    return pack.with_attrs(edge={"edge_type": torch.from_numpy(np.concatenate([r["edge_type"] for r in records]))})


def prepare(domain, opts, reporter, *, featurizer=None) -> ProteinDataset:
    from gnncli.domains.tables import infer_task, parse_targets, target_columns

    paths = opts.input_paths()
    if not paths:
        raise UsageError("proteins: give a structure file, a folder of structures or a labels CSV to train on")
    o = opts.options
    featurizer = _featurizer(opts, featurizer)
    settings = read_settings(o, opts.fmt)
    source = inputs_label(paths)
    # labels tables (per-protein targets) are read one after another; structures and folders too
    is_table = all(Path(path).suffix.lower() in (".csv", ".tsv", ".tab") and Path(path).is_file() for path in paths)
    task = opts.task
    if task == "auto":
        task = "binding-site" if not is_table or o.get("site_labels") else "auto"
    binding = task == "binding-site"
    if not binding:
        for name in ("ligand", "exclude_het", "site_cutoff", "site_labels", "site_loss"):
            if o.get(name) is not None:
                raise UsageError(f"--{name.replace('_', '-')} is an option of --task binding-site")
    elif o.get("site_loss") not in (None, "weighted", "focal"):
        raise UsageError(f"--site-loss {o['site_loss']}: choose weighted or focal")
    cutoff = float(o["site_cutoff"]) if o.get("site_cutoff") is not None else DEFAULT_CUTOFF
    if cutoff <= 0:
        raise UsageError(f"--site-cutoff {cutoff}: must be positive")
    items = discover(paths, structures=o.get("structures"))
    if not items:
        raise InputError(f"{source}: no structures")
    bar = reporter.start("reading structures", len(items))
    records, errors = featurize_items(items, featurizer, settings, workers=opts.workers, cache=opts.cache,
                                      progress=lambda n: reporter.advance(bar, n))
    warnings: list[str] = []
    if errors:
        first = min(errors)
        warnings.append(f"skipped {len(errors)} of {len(items)} structures that could not be used (first: {errors[first]})")
    keep = [i for i, r in enumerate(records) if r is not None]
    if not keep:
        first = min(errors)
        raise InputError(f"{source}: no usable structures (first: {errors[first]})")
    notes = [n for i in keep for n in records[i]["notes"]]
    if notes:
        warnings.append(f"{len(notes)} note(s) while reading (first: {notes[0]})")
    counts = {"structures": len(items), "invalid": len(errors)}
    extra: dict = {"featurizer": featurizer, "settings": settings}
    if binding:
        sites = read_site_table(o["site_labels"]) if o.get("site_labels") else None
        ys, kept, ligands, no_ligand = [], [], [], 0
        for i in keep:
            r = records[i]
            if sites is not None:
                listed = match_sites(sites, items[i].path)
                if listed is None:
                    no_ligand += 1
                    continue
                ids = list(zip(r["chain"], r["resnum"].tolist(), r["icode"]))
                y = np.asarray([1.0 if rid in listed else 0.0 for rid in ids], np.float32)
                absent = listed - set(ids)
                if absent:
                    chain, num, icode = sorted(absent)[0]
                    raise InputError(f"{o['site_labels']}: residue {chain}:{num}{icode} is not a protein residue "
                                     f"of {items[i].path}")
                lig = []
            else:
                lig = [xyz for _, xyz in r["ligands"]]
                if not lig:
                    no_ligand += 1
                    continue
                y = site_labels(r["atom_xyz"], r["atom_residue"], len(r["x"]), lig, cutoff)
            ys.append(y)
            kept.append(i)
            ligands.append(lig)
        if no_ligand:
            what = "are not in the site table" if sites is not None else "have no ligand"
            warnings.append(f"skipped {no_ligand} structures that {what}")
        if not kept:
            raise InputError(f"{source}: no structure has a ligand to label binding sites with"
                             + (" (see --ligand and --exclude-het)" if sites is None else ""))
        y = torch.from_numpy(np.concatenate(ys)).unsqueeze(1)
        if y.sum() == 0:
            raise InputError(f"{source}: no residue is within {cutoff} A of a ligand: no binding site to learn")
        pack = pack_records([records[i] for i in kept]).with_targets(y, torch.ones_like(y, dtype=torch.bool), level="node")
        targets, task_type = ["site"], "binding-site"
        counts.update({"no_ligand": no_ligand, "residues": int(y.numel()), "site_residues": int(y.sum())})
        extra.update(ligands=ligands, site_cutoff=cutoff)
    else:
        frame = _labels_frame(paths, is_table)
        kept_frame = frame.iloc[keep].reset_index(drop=True)
        exclude = {c for c in (opts.split_col, o.get("group_col")) if c}
        from gnncli.domains.proteins.inputs import structure_column

        exclude.add(structure_column(frame, source))
        targets = target_columns(kept_frame, opts.targets, exclude, source)
        y, mask = parse_targets(kept_frame, targets, lambda pos: items[keep[pos]].where, source)
        labelled = mask.any(axis=1)
        if not labelled.all():
            warnings.append(f"skipped {int((~labelled).sum())} structures with no target value")
        kept = [keep[j] for j in np.flatnonzero(labelled)]
        y, mask = y[labelled], mask[labelled]
        if not kept:
            raise InputError(f"{source}: no structure has a target value")
        task_type = infer_task(y, mask, task, targets, source)
        pack = pack_records([records[i] for i in kept]).with_targets(
            torch.as_tensor(y, dtype=torch.float32), torch.as_tensor(mask))
        counts["unlabelled"] = int((~labelled).sum())
    extra["items"] = [items[i] for i in kept]
    extra["residues"] = [{k: records[i][k] for k in ("chain", "resnum", "icode", "resname", "center", "pos")} for i in kept]
    return ProteinDataset(source, pack, targets, task_type, unit="structures", counts=counts, warnings=warnings, extra=extra)


def _labels_frame(paths: list[str], is_table: bool):
    """The rows of the labels tables ``paths``, one after another (the same columns in each)."""
    if not is_table:
        raise InputError(f"{inputs_label(paths)}: per-protein targets come from a labels CSV (a column of structure "
                         "files or IDs, and target columns); for binding sites say --task binding-site")
    import pandas as pd

    from gnncli.domains.proteins.inputs import items_from_table

    frames = [items_from_table(path)[1] for path in paths]
    for path, frame in zip(paths[1:], frames[1:]):
        if list(frame.columns) != list(frames[0].columns):
            raise InputError(f"{path}: columns {', '.join(frame.columns)} differ from {paths[0]}'s "
                             f"{', '.join(frames[0].columns)}; tables trained on together need the same columns")
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


# ------------------------------------------------------------------------------- splits


def group_kfold(groups, folds: int, seed: int, val_fraction: float = 0.1) -> list[tuple]:
    """``folds`` (train, val, test) splits where no group is on two sides: groups are dealt to
    folds largest first, each to the fold with the fewest items (ties broken by a seeded order);
    validation takes whole groups, in a seeded order, from the other folds until it holds about
    ``val_fraction`` of all items (at least one group)."""
    groups = np.asarray(groups).astype(str)
    names, inverse = np.unique(groups, return_inverse=True)
    if len(names) < folds + 1:
        raise InputError(f"{len(names)} groups are too few for {folds}-fold cross-validation by group "
                         "(each fold needs a test group and a validation group)")
    rng = np.random.default_rng(seed)
    sizes = np.bincount(inverse)
    order = rng.permutation(len(names))
    order = order[np.argsort(-sizes[order], kind="stable")]
    fold_of = np.zeros(len(names), np.int64)
    load = np.zeros(folds)
    for g in order:
        f = int(np.argmin(load))
        fold_of[g] = f
        load[f] += sizes[g]
    target = max(1, int(round(val_fraction * len(groups))))
    out = []
    for k in range(folds):
        others = np.random.default_rng(seed + k + 1).permutation(np.flatnonzero(fold_of != k))
        val_groups, count = [], 0
        for g in others:
            if count >= target or len(val_groups) == len(others) - 1:
                break
            val_groups.append(g)
            count += sizes[g]
        is_val = np.isin(inverse, val_groups)
        is_test = fold_of[inverse] == k
        out.append((np.flatnonzero(~is_val & ~is_test), np.flatnonzero(is_val), np.flatnonzero(is_test)))
    return out


def default_group_col(opts, data) -> str | None:
    """The column splits keep whole when ``--group-col`` is not given: ``seq_cluster``
    (:data:`~gnncli.domains.proteins.GROUP_COL`) for a random or k-fold split where every structure
    has a value there (a PDBbind folder's index.csv, a labels CSV), else None (split by structure).

    Validation on clusters the model also trains on rewards memorizing families: early stopping
    would pick the epoch that fits them best, not the one that generalizes to new proteins.
    """
    from gnncli.domains.proteins import GROUP_COL

    if opts.split not in ("random", "kfold"):
        return None
    groups = data.column(GROUP_COL)
    if groups is None or any(g is None or (isinstance(g, float) and g != g) or not str(g).strip() for g in groups):
        return None
    return GROUP_COL


def group_splits(opts, data, group_col: str) -> list[tuple]:
    from gnncli.train.splits import group_split

    groups = data.column(group_col)
    if groups is None:
        raise InputError(f"{data.source}: no group column '{group_col}' (it comes from a labels CSV, "
                         "or from index.csv beside PDBbind-style complexes)")
    if opts.split == "kfold":
        if opts.folds < 2:
            raise UsageError(f"--folds {opts.folds}: k-fold needs at least 2 folds")
        splits = group_kfold(groups, opts.folds, opts.loop.seed)
        return [s for s in splits for _ in range(max(1, opts.ensemble))]
    if opts.split != "random":
        raise UsageError(f"--group-col works with --split random or kfold, not {opts.split}")
    train, val, test = group_split([str(g) for g in groups], opts.split_sizes, opts.loop.seed)
    if len(train) < 1 or len(val) < 1 or (opts.split_sizes[2] > 0 and len(test) < 1):
        raise InputError(f"{data.source}: {len(data)} structures in {len(set(map(str, groups)))} groups are too few "
                         f"for this split (train {len(train)}, validation {len(val)}, test {len(test)})")
    return [(train, val, test)] * max(1, opts.ensemble)


# ------------------------------------------------------------------------------- task


def binding_site_task(data, opts, train_rows):
    from gnncli.domains.base import _node_rows
    from gnncli.domains.proteins.task import BindingSiteTask
    from gnncli.train.scaler import TargetScaler

    y = data.pack.y.numpy()[_node_rows(data.pack, train_rows), 0]
    pos = float((y > 0.5).sum())
    neg = float(len(y) - pos)
    weight = float(np.sqrt(neg / pos)) if pos > 0 and neg > 0 else 1.0
    try:
        return BindingSiteTask("classification", ["site"], TargetScaler.identity(1), opts.monitor or "", weight,
                               opts.options.get("site_loss") or "weighted")
    except ValueError as exc:
        raise UsageError(f"--metric {exc}") from None


# ------------------------------------------------------------------------------- evaluation


def evaluate(domain, ctx) -> dict:
    """The default property evaluation (residue metrics, ``test_predictions.csv``, plots); for
    binding sites also pocket success rates (DCC/DCA, top-n and top-(n+2)) over the test proteins."""
    from gnncli.train.evaluate import evaluate_property_run

    summary = evaluate_property_run(domain, ctx)
    data = ctx.data
    if data.task_type != "binding-site" or not data.extra.get("ligands"):
        return summary
    summary["test"].update(pocket_metrics(ctx))
    return summary


def pocket_metrics(ctx) -> dict:
    from gnncli.domains.proteins.pockets import find_pockets, success_rates
    from gnncli.runs import load_run
    from gnncli.train.evaluate import member_groups
    from gnncli.train.loop import resolve_device

    data, task = ctx.data, ctx.task
    trained = load_run(ctx.run)
    device = resolve_device(ctx.opts.loop.device)
    per_protein = []
    for (_, _, test_idx), members in member_groups(ctx.opts, ctx.splits):
        if not len(test_idx):
            continue
        preds = np.mean([task.outputs(trained.models[m].to(device), data.loader(test_idx), device)[0] for m in members], axis=0)
        ptr = data.pack.node_ptr.numpy()
        offset = 0
        for g in test_idx:
            n = int(ptr[g + 1] - ptr[g])
            scores = preds[offset : offset + n, 0]
            offset += n
            res = data.extra["residues"][int(g)]
            per_protein.append((find_pockets(scores, res["pos"], res["center"]), data.extra["ligands"][int(g)]))
    rates = success_rates(per_protein)
    return {k: (int(v) if k == "ligands" else v) for k, v in rates.items()}
