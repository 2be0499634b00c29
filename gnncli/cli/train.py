"""``gnn train``: fit a GNN on a molecule file and write a run folder."""

from __future__ import annotations

import enum
import math
from typing import Annotated

import typer
from rich.table import Table

from gnncli.cli.common import InputFormat, SmilesCol, console, handle_errors, make_progress, print_json
from gnncli.errors import UsageError
from gnncli.models.names import ENCODER_NAMES, READOUTS
from gnncli.train.splits import SPLITS

# Heavy modules (torch, PyG, RDKit) are imported inside the command so that --help is instant.
Model = enum.Enum("Model", {name: name for name in ENCODER_NAMES}, type=str)
Readout = enum.Enum("Readout", {name: name for name in READOUTS}, type=str)
Split = enum.Enum("Split", {name: name for name in SPLITS}, type=str)


class TaskType(str, enum.Enum):
    auto = "auto"
    regression = "regression"
    classification = "classification"


HELP = """Train a GNN on molecules and write a run folder (model, config, metrics, plots).

With no DATA, trains on the small molecule set that ships with gnn (logP, TPSA, Fsp3).

Examples:

  gnn train

  gnn train data.csv --target logS --epochs 50 --out runs/esol

  gnn train tox21.csv --split scaffold --model gine --ensemble 3

  gnn train --resume runs/esol
"""


def _sizes(text: str) -> tuple[float, float, float]:
    try:
        parts = tuple(float(p) for p in text.split(","))
    except ValueError:
        raise UsageError(f"--split-sizes {text}: expected three comma-separated fractions, e.g. 0.8,0.1,0.1") from None
    if len(parts) != 3:
        raise UsageError(f"--split-sizes {text}: expected three fractions (train,val,test)")
    return parts  # type: ignore[return-value]


def register(app: typer.Typer) -> None:
    @app.command("train", help=HELP)
    @handle_errors
    def train(
        data: Annotated[str | None, typer.Argument(help="CSV/TSV/.smi/SDF file of molecules, or - for stdin. Default: the bundled dataset.")] = None,
        target: Annotated[list[str] | None, typer.Option("--target", "-t", help="Target column (repeat for several). Default: every numeric column.")] = None,
        smiles_col: SmilesCol = None,
        format: InputFormat = None,
        task: Annotated[TaskType, typer.Option(help="Task type (auto: classification if every label is 0/1).")] = TaskType.auto,
        metric: Annotated[str | None, typer.Option(help="Validation metric for early stopping: rmse, mae, r2, scaled_rmse, scaled_mae (regression; several targets select on scaled_rmse by default, each target's RMSE over its SD); roc_auc, pr_auc, accuracy, mcc (classification).")] = None,
        model: Annotated[Model, typer.Option("--model", "-m", help="Encoder.")] = "dmpnn",  # type: ignore[assignment]
        hidden: Annotated[int | None, typer.Option(help="Hidden size (default 300; 64 for mpnn).")] = None,
        depth: Annotated[int, typer.Option(help="Message-passing layers.")] = 3,
        dropout: Annotated[float, typer.Option(help="Dropout.")] = 0.0,
        readout: Annotated[Readout, typer.Option(help="Graph readout (norm: sum / 100, as Chemprop).")] = "sum",  # type: ignore[assignment]
        ffn_layers: Annotated[int, typer.Option(help="Hidden layers of the output FFN.")] = 1,
        ffn_hidden: Annotated[int | None, typer.Option(help="Width of the FFN (default: hidden size).")] = None,
        virtual_node: Annotated[bool, typer.Option("--virtual-node", help="Add a virtual node to every graph.")] = False,
        epochs: Annotated[int, typer.Option(help="Training epochs.")] = 50,
        batch_size: Annotated[int, typer.Option(help="Molecules per batch.")] = 64,
        lr: Annotated[float, typer.Option(help="Peak learning rate (after warm-up).")] = 1e-3,
        warmup: Annotated[float, typer.Option(help="Warm-up epochs.")] = 2.0,
        patience: Annotated[int | None, typer.Option(help="Stop after this many epochs without a better validation metric.")] = 20,
        grad_clip: Annotated[float | None, typer.Option(help="Clip gradient norm (0: off).")] = 10.0,
        seed: Annotated[int, typer.Option(help="Seed for splits, initialization and batches.")] = 0,
        device: Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N (mixed precision on CUDA).")] = "auto",
        split: Annotated[Split, typer.Option(help="random, scaffold (Bemis-Murcko), kfold, or column (--split-col).")] = "random",  # type: ignore[assignment]
        split_sizes: Annotated[str, typer.Option(help="Train,val,test fractions.")] = "0.8,0.1,0.1",
        folds: Annotated[int, typer.Option(help="Folds for --split kfold.")] = 5,
        split_col: Annotated[str | None, typer.Option(help="Column of train/val/test labels (implies --split column).")] = None,
        ensemble: Annotated[int, typer.Option(help="Models trained with different seeds (with --split kfold: per fold); predictions average them.")] = 1,
        workers: Annotated[int, typer.Option(help="Featurization processes (0: automatic).")] = 0,
        cache: Annotated[bool, typer.Option("--cache/--no-cache", help="Reuse featurized files from the cache.")] = True,
        plots: Annotated[bool, typer.Option("--plots/--no-plots", help="Write PNG plots.")] = True,
        out: Annotated[str | None, typer.Option("--out", "-o", help="Run folder (default: a new folder under runs/).")] = None,
        resume: Annotated[str | None, typer.Option(help="Continue an interrupted run folder.")] = None,
        json_out: Annotated[bool, typer.Option("--json", help="Print the summary as JSON on stdout.")] = False,
    ) -> None:
        from gnncli import api
        from gnncli.models import ModelConfig
        from gnncli.progress import Reporter
        from gnncli.train.loop import LoopConfig

        reporter_progress = make_progress()
        with reporter_progress:
            reporter = Reporter(reporter_progress)
            if resume:
                summary = api.resume(resume, reporter, device=device if device != "auto" else None)
            else:
                if ensemble < 1:
                    raise UsageError(f"--ensemble {ensemble}: must be at least 1")
                if epochs < 1:
                    raise UsageError(f"--epochs {epochs}: must be at least 1")
                try:
                    model_config = ModelConfig(
                        encoder=model.value, hidden=hidden, depth=depth, dropout=dropout, readout=readout.value,
                        ffn_layers=ffn_layers, ffn_hidden=ffn_hidden, virtual_node=virtual_node,
                    )
                except ValueError as exc:
                    raise UsageError(str(exc)) from None
                if metric is not None:
                    from gnncli.train.metrics import HIGHER_IS_BETTER

                    if metric not in HIGHER_IS_BETTER:
                        raise UsageError(f"--metric {metric}: choose from {', '.join(HIGHER_IS_BETTER)}")
                opts = api.TrainOptions(
                    data=data, targets=target or None, smiles_col=smiles_col, fmt=format, task=task.value,
                    monitor=metric, split="column" if split_col else split.value, split_sizes=_sizes(split_sizes),
                    folds=folds, split_col=split_col, ensemble=ensemble, model=model_config,
                    loop=LoopConfig(
                        epochs=epochs, batch_size=batch_size, max_lr=lr, init_lr=lr / 10, final_lr=lr / 10,
                        warmup_epochs=warmup, patience=patience, grad_clip=grad_clip or None, seed=seed, device=device,
                    ),
                    workers=workers or None, cache=cache, plots=plots, out=out,
                )
                summary = api.train(opts, reporter)
        for warning in summary.get("warnings", []):
            console.print(f"[yellow]warning:[/] {warning}", markup=True, highlight=False)
        _print_summary(summary)
        if json_out:
            print_json(summary)


def _print_summary(summary: dict) -> None:
    table = Table(title=f"{summary['model']} on {', '.join(summary['targets'])} ({summary['task']})", show_edge=False)
    table.add_column("metric")
    table.add_column("validation", justify="right")
    table.add_column("test", justify="right")
    for key, value in summary["val"].items():
        if "/" in key or key == "loss":
            continue
        test = summary["test"].get(key, float("nan"))
        table.add_row(key, _fmt(value), _fmt(test))
    console.print(table)
    mols = summary["molecules"]
    skipped = f", {mols['invalid']} invalid skipped" if mols["invalid"] else ""
    console.print(
        f"{mols['train']} train / {mols['val']} validation / {mols['test']} test molecules{skipped}; "
        f"run folder: [bold]{summary['run']}[/]", markup=True, highlight=False,
    )


def _fmt(value: float) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.4f}"
