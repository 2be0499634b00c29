#!/usr/bin/env python3
"""EGNN training throughput on residue graphs: graphs per second, forward + backward + Adam step.

    python benchmarks/proteins_egnn_throughput.py ../shared/data/proteins/pdb --threads 1 2

Featurizes every structure in the given folders (gnn's default residue graph), then trains a
node-level EGNN (and VN-EGNN, 8 virtual nodes) on binding-site labels from the files' own ligands
(structures without one count as all-negative here; throughput does not depend on the labels) for
``--steps`` batches of ``--batch-size`` structures after ``--warmup`` batches, on CPU with each
``--threads`` value and on CUDA when available. Reports residue graphs/s and residues/s (wall
clock), CPU seconds per batch, and the load average, which says how busy the machine was.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's gnncli


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", nargs="+")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--depth", type=int, default=4)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--devices", nargs="+", default=["cpu", "cuda"], choices=["cpu", "cuda"],
                        help="where to measure (cuda only when available)")
    args = parser.parse_args()
    import numpy as np
    import torch

    from gnncli.domains.proteins.inputs import ReadSettings, discover, featurize_items
    from gnncli.domains.proteins.labels import site_labels
    from gnncli.domains.proteins.training import pack_records
    from gnncli.domains.proteins.featurizer import ResidueFeaturizer
    from gnncli.models import ModelConfig, build_model

    featurizer = ResidueFeaturizer()
    records, errors = featurize_items(discover(args.inputs), featurizer, ReadSettings(), workers=1, cache=False)
    records = [r for r in records if r is not None]
    y = np.concatenate([site_labels(r["atom_xyz"], r["atom_residue"], len(r["x"]), [x for _, x in r["ligands"]])
                        for r in records])
    pack = pack_records(records).with_targets(torch.from_numpy(y)[:, None], torch.ones(len(y), 1, dtype=torch.bool), level="node")
    n = len(pack)
    devices = [("cpu", t) for t in args.threads] if "cpu" in args.devices else []
    devices += [("cuda", 0)] if "cuda" in args.devices and torch.cuda.is_available() else []
    rows = []
    for device, threads in devices:
        if device == "cpu":
            torch.set_num_threads(threads)
        for virtual in (False, True):
            torch.manual_seed(0)
            model = build_model(ModelConfig(name="egnn", in_channels=pack.x.size(1), edge_dim=pack.edge_attr.size(1),
                                            hidden=args.hidden, depth=args.depth, level="node", virtual_node=virtual)).to(device)
            opt = torch.optim.Adam(model.parameters(), lr=1e-3)
            gen = torch.Generator().manual_seed(0)
            graphs = residues = 0
            before = " ".join(f"{x:.2f}" for x in os.getloadavg())
            for step in range(args.warmup + args.steps):
                if step == args.warmup:
                    if device == "cuda":
                        torch.cuda.synchronize()
                    started, cpu_started = time.perf_counter(), time.process_time()
                index = torch.randint(n, (args.batch_size,), generator=gen)
                batch = pack.batch(index).to(device)
                loss = torch.nn.functional.binary_cross_entropy_with_logits(model(batch), batch.y)
                opt.zero_grad()
                loss.backward()
                opt.step()
                if step >= args.warmup:
                    graphs += args.batch_size
                    residues += batch.num_nodes
            if device == "cuda":
                torch.cuda.synchronize()
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
            rows.append({"model": "VN-EGNN" if virtual else "EGNN", "device": device, "threads": threads,
                         "graphs_per_s": round(graphs / wall, 2), "residues_per_s": round(residues / wall),
                         "cpu_s_per_batch": round(cpu / args.steps, 3), "load_before": before,
                         "load_after": " ".join(f"{x:.2f}" for x in os.getloadavg())})
            print(json.dumps(rows[-1]), flush=True)
    print(f"\n{n} structures, {pack.num_nodes.sum().item()} residues, mean {pack.num_nodes.float().mean():.0f} per graph; "
          f"batch {args.batch_size}, hidden {args.hidden}, depth {args.depth}\n")
    print("| model | device | threads | residue graphs/s | residues/s | CPU s per batch | load avg before / after |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['model']} | {r['device']} | {r['threads']} | {r['graphs_per_s']} | {r['residues_per_s']:,} | "
              f"{r['cpu_s_per_batch']} | {r['load_before']} / {r['load_after']} |")


if __name__ == "__main__":
    main()
