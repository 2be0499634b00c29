"""Running a trained protein run over new structures.

* :func:`predict_residues` (binding-site runs): one CSV row per residue,
  ``file,chain,resnum,icode,resname,score`` (``score_std`` with ensembles) and ``error``; a
  structure that cannot be read keeps one row with its error. With ``pdb_out``, each structure
  is written again with the scores in the B-factor column; with ``pockets``, ranked pocket
  centres with their residues go to a CSV.
* :func:`infer` (for the core's prediction table and embeddings): one row per structure.
* :func:`embed_residues`: one vector per residue.

Structures are read and featurized in worker processes, a chunk at a time, in input order.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from gnncli.domains.proteins import read_settings
from gnncli.domains.proteins.inputs import ProteinItem, discover, featurize_items
from gnncli.errors import UsageError
from gnncli.inference import require_inputs, results_stream, run_models

RESIDUE_COLUMNS = ["file", "chain", "resnum", "icode", "resname"]
CHUNK = 32  # structures read and predicted at a time


def _chunks(items: list[ProteinItem], size: int) -> Iterator[list[ProteinItem]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _setup(run, inputs, options, settings):
    from gnncli.train.loop import resolve_device

    require_inputs(inputs, "structures")
    items = discover(inputs, structures=options.get("structures"))
    read = read_settings(options, settings.fmt, run.config.get("domain"))
    device = resolve_device(settings.device)
    return items, read, run.for_inference(device), device


def _featurized(run, chunk, read, settings):
    from gnncli.domains.proteins.training import pack_records

    chunk = [replace(item, ligand_path=None) for item in chunk]  # predicting needs no ligand
    records, errors = featurize_items(chunk, run.featurizer, read, workers=settings.workers, cache=False)
    valid = [i for i, r in enumerate(records) if r is not None]
    pack = pack_records([records[i] for i in valid]) if valid else None
    return records, errors, valid, pack


def infer(run, inputs, *, options, settings, embed=False):
    """Per structure (one output row each; see :meth:`gnncli.domains.base.Domain.infer`). A
    binding-site run's embedding of a structure is the mean of its residue states."""
    import torch
    from torch_geometric.utils import scatter

    items, read, run, device = _setup(run, inputs, options, settings)
    node_level = run.config["model"].get("level") == "node"
    for chunk in _chunks(items, CHUNK):
        records, errors, valid, pack = _featurized(run, chunk, read, settings)
        frame = pd.DataFrame([it.row if it.from_table else {"file": it.path} for it in chunk])
        if pack is None:
            yield frame, None, np.zeros(0, np.int64), errors
            continue
        out = run_models(run, pack, device, settings.batch_size, embed=embed, member=settings.member)
        if node_level:
            graph = torch.repeat_interleave(torch.arange(len(pack)), pack.num_nodes)
            if embed:
                out = scatter(torch.from_numpy(out), graph, dim=0, dim_size=len(pack), reduce="mean").numpy()
            else:
                out = scatter(torch.from_numpy(out), graph, dim=1, dim_size=len(pack), reduce="mean").numpy()
        yield frame, out, np.asarray(valid, np.int64), errors


def _residue_frame(path: str, record: dict) -> pd.DataFrame:
    return pd.DataFrame({"file": path, "chain": record["chain"], "resnum": record["resnum"], "icode": record["icode"],
                         "resname": record["resname"]})


def predict_residues(run, inputs, out, *, options, settings, reporter) -> dict:
    """Write per-residue scores (and scored structures, pockets); see the module docstring."""
    from gnncli.domains.proteins.pockets import find_pockets
    from gnncli.io import atomic_open

    if settings.top_k is not None:
        raise UsageError("--top-k ranks rows of per-protein predictions; binding-site runs write every residue "
                         "(rank pockets with --pockets)")
    items, read, run, device = _setup(run, inputs, options, settings)
    pdb_out = Path(options["pdb_out"]) if options.get("pdb_out") else None
    if pdb_out is not None and pdb_out.exists() and not pdb_out.is_dir():
        raise UsageError(f"--pdb-out {pdb_out}: is a file, expected a folder")
    members = len(run.models)
    counts = {"rows": 0, "predicted": 0, "invalid": 0, "residues": 0}
    pocket_rows: list[dict] = []
    bar = reporter.start("predicting", len(items))
    columns = RESIDUE_COLUMNS + ["score"] + (["score_std"] if members > 1 else []) + ["error"]
    with results_stream(out) as stream:
        header = True
        for chunk in _chunks(items, CHUNK):
            records, errors, valid, pack = _featurized(run, chunk, read, settings)
            scores = run_models(run, pack, device, settings.batch_size) if pack is not None else None
            ptr = pack.node_ptr.numpy() if pack is not None else None
            frames = []
            for pos, item in enumerate(chunk):
                if pos in errors:
                    frames.append(pd.DataFrame([{"file": item.path, "error": errors[pos]}], columns=columns))
                    continue
                g = valid.index(pos)
                per = scores[:, ptr[g] : ptr[g + 1], 0]
                table = _residue_frame(item.path, records[pos])
                table["score"] = per.mean(0)
                if members > 1:
                    table["score_std"] = per.std(0)
                table["error"] = ""
                frames.append(table)
                counts["residues"] += len(table)
                if pdb_out is not None:
                    write_scored_structure(item.path, records[pos], per.mean(0), pdb_out, read)
                if options.get("pockets"):
                    for p in find_pockets(per.mean(0), records[pos]["pos"], records[pos]["center"]):
                        rec = records[pos]
                        pocket_rows.append({
                            "file": item.path, "rank": p.rank, "score": round(p.score, 4),
                            "center_x": round(float(p.center[0]), 3), "center_y": round(float(p.center[1]), 3),
                            "center_z": round(float(p.center[2]), 3), "residues": len(p.residues),
                            "residue_ids": " ".join(f"{rec['chain'][r]}:{rec['resnum'][r]}{rec['icode'][r]}" for r in p.residues),
                        })
            table = pd.concat(frames, ignore_index=True)[columns]
            table["resnum"] = table["resnum"].astype("Int64")
            table.to_csv(stream, header=header, index=False, float_format="%.4f")
            header = False
            counts["rows"] += len(chunk)
            counts["invalid"] += len(errors)
            counts["predicted"] += len(valid)
            reporter.advance(bar, len(chunk), info=f"{counts['residues']:,} residues, {counts['invalid']} invalid")
    if options.get("pockets"):
        with atomic_open(options["pockets"], "w", newline="") as handle:
            pd.DataFrame(pocket_rows, columns=["file", "rank", "score", "center_x", "center_y", "center_z", "residues",
                                               "residue_ids"]).to_csv(handle, index=False)
    return counts


def write_scored_structure(path: str, record: dict, scores: np.ndarray, folder: Path, read) -> Path:
    """``path`` written again (the model read, as PDB) to ``folder/<name>.pdb``, with each scored
    residue's score in the B-factor column of its atoms and 0 elsewhere."""
    import gemmi

    from gnncli.domains.proteins.reader import _read_gemmi
    from gnncli.io import atomic_path

    st = _read_gemmi(path, read.fmt)
    for i in range(len(st) - 1, -1, -1):
        if i != read.model_index - 1:
            del st[i]
    score_of = {(c, int(n), ic): float(s) for c, n, ic, s in zip(record["chain"], record["resnum"], record["icode"], scores)}
    for chain in st[0]:
        for res in chain:
            value = score_of.get((chain.name, res.seqid.num, res.seqid.icode.strip()), 0.0)
            for atom in res:
                atom.b_iso = value
    name = Path(path).name
    for ext in (".gz", ".pdb", ".ent", ".cif", ".mmcif"):
        if name.lower().endswith(ext):
            name = name[: -len(ext)]
    target = folder / f"{name}.pdb"
    st.setup_entities()
    with atomic_path(target) as tmp:
        st.write_pdb(str(tmp), gemmi.PdbWriteOptions(minimal=False))
    return target


def embed_residues(run, inputs, out_path, *, options, settings, reporter) -> dict:
    """One vector per residue: ``.npy`` (and ``<out>.residues.csv`` naming each row) or
    ``.csv``/``.parquet`` (residue columns, ``error``, ``emb_*``); a structure that cannot be read
    gives one row with NaN and its error."""
    from gnncli.io import atomic_open
    from gnncli.outputs import EmbeddingWriter

    member = settings.member
    if not 0 <= member < len(run.models):
        raise UsageError(f"--member {member}: the run has members 0..{len(run.models) - 1}")
    items, read, run, device = _setup(run, inputs, options, settings)
    width = int(run.config["model"]["hidden"])
    counts = {"rows": 0, "embedded": 0, "invalid": 0, "dim": width, "residues": 0}
    bar = reporter.start("embedding", len(items))
    index_frames = []
    with EmbeddingWriter(out_path, width) as writer:
        for chunk in _chunks(items, CHUNK):
            records, errors, valid, pack = _featurized(run, chunk, read, settings)
            out = run_models(run, pack, device, settings.batch_size, embed=True, member=member) if pack is not None else None
            if out is not None and run.config["model"].get("level") != "node":
                raise UsageError("--per-residue needs a binding-site run (this run's model pools residues into one vector)")
            ptr = pack.node_ptr.numpy() if pack is not None else None
            for pos, item in enumerate(chunk):
                if pos in errors:
                    frame = pd.DataFrame([{"file": item.path}], columns=RESIDUE_COLUMNS)
                    vectors = np.full((1, width), np.nan, np.float32)
                    errs = np.asarray([errors[pos]], dtype=object)
                else:
                    g = valid.index(pos)
                    frame = _residue_frame(item.path, records[pos])
                    vectors = out[ptr[g] : ptr[g + 1]]
                    errs = np.full(len(frame), "", dtype=object)
                    counts["residues"] += len(frame)
                writer.write(frame, vectors, errs, writer.rows)
                index_frames.append(frame.assign(error=errs))
            counts["structures"] = counts.get("structures", 0) + len(chunk)
            counts["embedded"] += len(valid)
            counts["invalid"] += len(errors)
            reporter.advance(bar, len(chunk), info=f"{counts['residues']:,} residues")
    counts["rows"] = writer.rows  # vectors written: one per residue, one per unreadable structure
    if writer.suffix == ".npy" and not writer.stream:
        with atomic_open(f"{out_path}.residues.csv", "w", newline="") as handle:
            pd.concat(index_frames, ignore_index=True).to_csv(handle, index=False)
    return counts
