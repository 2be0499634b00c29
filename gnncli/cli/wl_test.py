"""`gnn wl-test`: can a message-passing GNN tell these graphs apart (Weisfeiler-Lehman)?"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from gnncli.cli.common import console, handle_errors
from gnncli.formats import GRAPH_FORMATS, describe

HELP = """Run the Weisfeiler-Lehman test on two graphs, or on every graph in one file.

With two graphs: colour refinement (1-WL, or the folklore k-WL with --k 2|3) to stabilization, the verdict (isomorphic / not isomorphic but WL-equivalent / told apart at iteration t) and the colour counts that differ. With one file of many graphs (e.g. a SMILES CSV): the groups of non-isomorphic graphs that 1-WL cannot separate; molecules RDKit cannot read are skipped and reported, as by gnn train.

Formats: edge list (.csv/.tsv/.txt), SMILES (.smi, CSV with a smiles column), PDB/mmCIF (C-alpha radius graph), graph6/sparse6, GraphML, Matrix Market (.mtx), .npz. Classic pairs are in examples/graphs (verdicts in gallery.json).

Example: gnn wl-test shrikhande.g6 rook4x4.g6 --k 3

Example: gnn wl-test molecules.csv --json
"""


def register(app: typer.Typer) -> None:
    @app.command("wl-test", help=HELP)
    @handle_errors
    def command(
        graphs: Annotated[list[str], typer.Argument(help="One data set file, or two graph files ('-' for stdin).")],
        k: Annotated[int, typer.Option("--k", help="1: colour refinement; 2, 3: folklore k-WL (small graphs).")] = 1,
        gnn: Annotated[bool, typer.Option("--gnn", help="Also embed both graphs with random sum-aggregation GIN layers.")] = False,
        json_out: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
        format: Annotated[str | None, typer.Option("--format", help=f"Input format: {describe(GRAPH_FORMATS)} (default: from the extension; smiles is smi).")] = None,
        node_labels: Annotated[
            Path | None, typer.Option("--node-labels", help="Edge lists: a 'node,label' CSV.")
        ] = None,
        directed: Annotated[bool, typer.Option("--directed", help="Edge lists: keep edges directed.")] = False,
        cutoff: Annotated[float, typer.Option("--cutoff", help="PDB: C-alpha radius in Angstrom.")] = 8.0,
        max_iso_nodes: Annotated[
            int, typer.Option("--max-iso-nodes", help="Check exact isomorphism (VF2) up to this many nodes.")
        ] = 200,
        max_memory_mb: Annotated[int, typer.Option("--max-memory-mb", help="k-FWL memory limit.")] = 1024,
    ) -> None:
        from gnncli.algorithms.wl import run_wl_test
        from gnncli.errors import UsageError
        from gnncli.domains.graph.files import read_graphs

        if len(graphs) not in (1, 2):
            raise UsageError(f"give one data set file or two graph files, got {len(graphs)} paths")
        read = dict(format=format, node_labels=node_labels, directed=directed, cutoff=cutoff)
        loaded = [read_graphs(p, **read) for p in graphs]
        report = run_wl_test(
            loaded, paths=graphs, k=k, gnn=gnn, max_isomorphism_nodes=max_iso_nodes, max_memory=max_memory_mb << 20
        )
        for note in report.get("notes", []):
            console.print(f"[yellow]note:[/] {note}", soft_wrap=True)
        if json_out:
            typer.echo(json.dumps(report, indent=2))
        else:
            typer.echo(format_report(report))


def format_report(report: dict) -> str:
    """The human-readable text of a :func:`gnncli.algorithms.wl.run_wl_test` report."""
    lines = []
    if report["mode"] == "pair":
        for i, g in enumerate(report["graphs"], start=1):
            lines.append(f"G{i}: {g['name']} ({g['num_nodes']} nodes, {g['num_edges']} edges)")
        lines.append(f"verdict: {report['verdict']}")
        for r in report["tests"]:
            state = f"distinguished at iteration {r['iteration']}" if r["distinguished"] else "not distinguished"
            lines.append(f"{r['test']}: {state} ({r['iterations']} iterations to stable colours)")
            if r["differences"]:
                lines.append(f"  colour counts that differ at iteration {r['iteration']}:")
                lines.append(f"  {'colour':<10}{'G1':>6}{'G2':>6}")
                for d in r["differences"]:
                    lines.append(f"  {d['color']:<10}{d['count_1']:>6}{d['count_2']:>6}")
        if report.get("isomorphic") is not None:
            lines.append(f"exact isomorphism (VF2): {'yes' if report['isomorphic'] else 'no'}")
        if report.get("gnn"):
            g = report["gnn"]
            state = "differ" if g["differ"] else "are identical"
            lines.append(
                f"GIN ({g['layers']} random sum-aggregation layers): embeddings {state} "
                f"(max |difference| {g['max_abs_difference']:.3g}); {g['consistent_with_1wl']}"
            )
    else:
        lines.append(
            f"{report['num_graphs']} graphs, {report['num_wl_classes']} distinct 1-WL colour histograms "
            f"({report['iterations']} iterations)"
        )
        if not report["groups"]:
            lines.append("1-WL separates every pair of non-isomorphic graphs in this file")
        for i, group in enumerate(report["groups"], start=1):
            lines.append(f"group {i} (WL hash {group['hash']}): {len(group['classes'])} non-isomorphic graphs")
            for cls in group["classes"]:
                names = ", ".join(f"{m['name']}" + (f" [{m['smiles']}]" if m.get("smiles") else "") for m in cls)
                lines.append(f"  - {names}")
    return "\n".join(lines)
