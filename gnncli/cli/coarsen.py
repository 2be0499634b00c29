"""`gnn coarsen`: replace a graph by a smaller one with nearly the same spectrum."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from gnncli.cli.common import console, handle_errors
from gnncli.formats import GRAPH_FORMATS, describe

HELP = """Coarsen a graph to about RATIO x its nodes and report how well the spectrum is kept.

Methods: heavy-edge, algebraic-distance (multilevel matchings), variation-neighborhoods (Loukas 2019), metis, kron (Kron reduction); rings (molecules: rings and functional groups as beads); segments (proteins: chain segments of round(1/RATIO) residues); residues (proteins read with --pdb-nodes atoms: atoms into residues).

Writes the coarse graph (--out; weighted edge list for .csv/.tsv, or .graphml/.mtx/.npz) and the node-to-supernode assignment (CSV), and prints the quality report: achieved ratio, relative error of the first k Laplacian eigenvalues, Loukas's restricted spectral approximation constant. In Python: gnncli.algorithms.coarsen.coarsen_data(data, ratio).

Example: gnn coarsen graph.csv --ratio 0.5 --out coarse.csv --plot coarse.png

Example: gnn coarsen decalin.smi --method rings --json
"""


def register(app: typer.Typer) -> None:
    @app.command("coarsen", help=HELP)
    @handle_errors
    def command(
        graph: Annotated[str, typer.Argument(help="The graph file ('-' for stdin, with --format).")],
        ratio: Annotated[float, typer.Option("--ratio", help="Target supernodes / nodes, in (0, 1).")] = 0.5,
        method: Annotated[str, typer.Option("--method", help="Coarsening method (see above).")] = "heavy-edge",
        out: Annotated[Path | None, typer.Option("--out", help="Write the coarse graph here.")] = None,
        assignment: Annotated[
            Path | None,
            typer.Option("--assignment", help="Node-to-supernode CSV (default: <out>.assignment.csv when --out is a file)."),
        ] = None,
        k: Annotated[
            int | None,
            typer.Option("--k", help="Laplacian eigenvalues to compare (default: 10, or as many as the coarse graph has).", show_default=False),
        ] = None,
        plot: Annotated[Path | None, typer.Option("--plot", help="Draw original, coarse graph and eigenvalues (.png/.pdf/.svg).")] = None,
        json_out: Annotated[bool, typer.Option("--json", help="Print the quality report as JSON.")] = False,
        format: Annotated[str | None, typer.Option("--format", help=f"Input format: {describe(GRAPH_FORMATS)} (default: from the extension; smiles is smi).")] = None,
        node_labels: Annotated[Path | None, typer.Option("--node-labels", help="Edge lists: a 'node,label' CSV.")] = None,
        directed: Annotated[bool, typer.Option("--directed", help="Edge lists: edges are directed (symmetrized).")] = False,
        cutoff: Annotated[float, typer.Option("--cutoff", help="PDB: radius graph cutoff in Angstrom.")] = 8.0,
        pdb_nodes: Annotated[str, typer.Option("--pdb-nodes", help="PDB: 'ca' (residues) or 'atoms'.")] = "ca",
        seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    ) -> None:
        from gnncli.algorithms.coarsen import coarsen_graph, plot_coarsening
        from gnncli.errors import UsageError
        from gnncli.domains.graph.files import read_graph, write_graph
        from gnncli.io import atomic_open, is_stream_output

        if pdb_nodes not in ("ca", "atoms"):
            raise UsageError(f"--pdb-nodes must be 'ca' or 'atoms', got {pdb_nodes!r}")
        g = read_graph(graph, format=format, node_labels=node_labels, directed=directed, cutoff=cutoff, pdb_nodes=pdb_nodes)
        with console.status(f"coarsening {g.describe()} with {method}"):
            result = coarsen_graph(g, ratio=ratio, method=method, k=k, seed=seed)
        for note in result.coarsening.notes:
            console.print(f"[yellow]note:[/] {note}", soft_wrap=True)
        files = {}
        if out is not None:
            fmt = write_graph(result.coarse, out)
            files["coarse_graph"] = str(out)
            if fmt == "graph6":
                console.print("[yellow]note:[/] graph6 keeps no edge weights", soft_wrap=True)
            if assignment is None and not is_stream_output(out):  # no /dev/null.assignment.csv
                assignment = out.with_name(out.name.rsplit(".", 1)[0] + ".assignment.csv")
        if assignment is not None:
            names = g.node_names or [str(i) for i in range(g.num_nodes)]
            with atomic_open(assignment, "w", encoding="utf-8", newline="") as handle:
                handle.write("node,supernode\n")
                handle.writelines(f"{n},{s}\n" for n, s in zip(names, result.coarsening.assignment.tolist()))
            files["assignment"] = str(assignment)
        if plot is not None:
            plot_coarsening(g, result, plot, seed=seed)
            files["plot"] = str(plot)
        for kind, path in files.items():
            console.print(f"wrote {kind.replace('_', ' ')}: {path}")
        report = {"graph": str(graph), "method": method, **result.quality, "notes": result.coarsening.notes, "files": files}
        if json_out:
            typer.echo(json.dumps(report, indent=2))
        else:
            typer.echo(format_report(report))


def format_report(report: dict) -> str:
    """The human-readable quality report."""
    lines = [
        f"{report['graph']}: {report['num_nodes']} nodes -> {report['num_supernodes']} supernodes "
        f"(ratio {report['ratio']:.3f}, method {report['method']})",
        f"first {report['k']} Laplacian eigenvalues: mean relative error {report['mean_relative_error']:.4f}, "
        f"max {report['max_relative_error']:.4f}",
    ]
    eps = report["rsa_epsilon"]
    lines.append(
        "restricted spectral approximation constant: "
        + (f"{eps:.4f}" if eps is not None else "not defined for this method (not a partition)")
    )
    lines.append(f"  {'i':>3} {'lambda':>12} {'coarse':>12} {'rel. error':>11}")
    for i, (a, b, e) in enumerate(
        zip(report["eigenvalues"], report["coarse_eigenvalues"], report["relative_errors"]), start=1
    ):
        lines.append(f"  {i:>3} {a:>12.6g} {b:>12.6g} {e:>11.4f}")
    return "\n".join(lines)
