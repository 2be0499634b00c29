"""``gnn train``: fit a GNN on any kind of input and write a run folder."""

from __future__ import annotations

import contextlib
import math
from typing import Annotated, Optional

import typer
from rich.table import Table

from gnncli.cli.common import InputFormat, TrainInputs, help_text, console, handle_errors, make_progress, print_json
from gnncli.cli.domain_options import with_domain_options
from gnncli.domains import DOMAINS
from gnncli.errors import UsageError
from gnncli.models.config import READOUTS, model_names

# Heavy modules (torch, PyG, RDKit) are imported inside the command so that --help is instant.

HELP = help_text("""Train a GNN and write a run folder (model, config, metrics, plots).

The kind of input is recognised from the file (or folder): molecules are CSV/TSV with a SMILES column, .smi or SDF; ratings are tables of user, item and rating (MovieLens u.data, ratings.csv). Say --kind to override. Several inputs, or a quoted glob, are read as one dataset in order: they must be of one kind (molecule and rating tables with the same columns). With no INPUT, trains on the small molecule set that ships with gnn (logP, TPSA, Fsp3). Each kind adds its own options, listed in its panel below.

Examples:

  gnn train

  gnn train data.csv --target logS --epochs 50 --out runs/esol

  gnn train tox21.csv --split scaffold --model gine --ensemble 3

  gnn train part1.csv part2.csv --target logS

  gnn train a.pdb b.pdb c.pdb --task binding-site

  gnn train 'structures/*.pdb' --task binding-site --out runs/sites

  gnn train --resume runs/esol

  gnn train u1.base --test u1.test --user-features u.user --item-features u.item --out runs/ml100k

  gnn train small.csv --target logS --from runs/esol --freeze-encoder

  gnn train data.csv --target logS --search 20
""")

_PANEL = "Training"


def _sizes(text: str) -> tuple[float, float, float]:
    try:
        parts = tuple(float(p) for p in text.split(","))
    except ValueError:
        raise UsageError(f"--split-sizes {text}: expected three comma-separated fractions, e.g. 0.8,0.1,0.1") from None
    if len(parts) != 3:
        raise UsageError(f"--split-sizes {text}: expected three fractions (train,val,test)")
    return parts  # type: ignore[return-value]


def _params(pairs: list[str]) -> dict:
    import json

    params = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--model-param {pair}: expected NAME=VALUE, e.g. --model-param heads=8")
        try:
            params[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            params[key.strip()] = value
    return params


def _model_help() -> str:
    from gnncli.domains.base import all_domains

    defaults = "; ".join(f"{d.default_model} for {d.name}" + "".join(f" ({m} for {t})" for t, m in d.task_models.items())
                         for d in all_domains())
    return f"Model: {', '.join(model_names())} (default: the kind of input's: {defaults})."


def _complete_models(incomplete: str) -> list[str]:
    return [name for name in model_names() if name.startswith(incomplete)]


def _complete_kinds(incomplete: str) -> list[str]:
    return [name for name in DOMAINS if name.startswith(incomplete)]


def _complete_readouts(incomplete: str) -> list[str]:
    return [name for name in READOUTS if name.startswith(incomplete)]


# Options that gnn benchmark shares (one definition, one help text).
Kind = Annotated[Optional[str], typer.Option(help=f"Kind of input: {', '.join(DOMAINS)} (default: recognised from INPUT).", autocompletion=_complete_kinds)]
Targets = Annotated[Optional[list[str]], typer.Option("--target", "-t", help="Target column (repeat for several). Default: every numeric column.")]
Task = Annotated[str, typer.Option(help="Task: auto (molecules: classification if every label is 0/1, multiclass if every label is an integer and a target has 3-10 classes, else regression), or one the kind of input names: regression, classification, multiclass, regression-mve (a mean and a variance per target).")]
Metric = Annotated[Optional[str], typer.Option(help="Validation metric for early stopping; the task names its choices (regression: rmse, mae, r2, scaled_rmse, scaled_mae; classification: roc_auc, pr_auc, accuracy, mcc; multiclass: roc_auc, accuracy, macro_f1, cross_entropy; regression-mve: nll and regression's, miscalibration_area, spearman). Several regression targets select on scaled_rmse, each target's RMSE over its SD.")]
Epochs = Annotated[Optional[int], typer.Option(help="Training epochs (default 50, or the model's own).", rich_help_panel=_PANEL, show_default=False)]
BatchSize = Annotated[Optional[int], typer.Option(help="Items (molecules, graphs, rating pairs) per batch (default 64, or the model's own).", rich_help_panel=_PANEL, show_default=False)]
Lr = Annotated[Optional[float], typer.Option(help="Peak learning rate after warm-up (default 0.001, or the model's own).", rich_help_panel=_PANEL, show_default=False)]
Patience = Annotated[Optional[int], typer.Option(help="Stop after this many epochs without a better validation metric (default 20, or the model's own; 0: never stop early).", rich_help_panel=_PANEL, show_default=False)]
SplitName = Annotated[str, typer.Option(help="random, kfold, column (--split-col), or one of the kind's own (molecules: scaffold, Bemis-Murcko).", rich_help_panel=_PANEL)]
SplitSizes = Annotated[str, typer.Option(help="Train,val,test fractions.", rich_help_panel=_PANEL)]
SplitCol = Annotated[Optional[str], typer.Option(help="Column of train/val/test labels (implies --split column).", rich_help_panel=_PANEL)]
DeviceName = Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N.", rich_help_panel=_PANEL)]
Precision = Annotated[str, typer.Option(help="Arithmetic of the training steps: auto (mixed bf16 on CUDA GPUs that have it, else fp16; on CPUs with native bf16 (AVX512-BF16 or AMX), bf16 for dmpnn; float32 otherwise), fp32, bf16 or fp16 (CUDA). Validation and saved weights are float32.", rich_help_panel=_PANEL)]


def register(app: typer.Typer) -> None:

    @app.command("train", help=HELP)
    @handle_errors
    @with_domain_options("train")
    def train(
        inputs: TrainInputs = None,
        kind: Kind = None,
        target: Targets = None,
        format: InputFormat = None,
        task: Task = "auto",
        metric: Metric = None,
        model: Annotated[Optional[str], typer.Option("--model", "-m", help=_model_help(), autocompletion=_complete_models)] = None,
        hidden: Annotated[Optional[int], typer.Option(help="Hidden size (default 300; 64 for mpnn).")] = None,
        depth: Annotated[Optional[int], typer.Option(help="Message-passing (or graph-filter) layers (default 3, or the model's own).", show_default=False)] = None,
        dropout: Annotated[Optional[float], typer.Option(help="Dropout (default 0, or the model's own).", show_default=False)] = None,
        readout: Annotated[str, typer.Option(help=f"Graph readout: {', '.join(READOUTS)} (norm: sum / 100, as Chemprop).", autocompletion=_complete_readouts)] = "sum",
        ffn_layers: Annotated[int, typer.Option(help="Hidden layers of the output FFN.")] = 1,
        ffn_hidden: Annotated[Optional[int], typer.Option(help="Width of the FFN (default: hidden size).")] = None,
        virtual_node: Annotated[bool, typer.Option("--virtual-node", help="Add a virtual node to every graph.")] = False,
        model_param: Annotated[Optional[list[str]], typer.Option("--model-param", metavar="NAME=VALUE", help="A model's own hyperparameter (repeatable), e.g. --model-param heads=8.")] = None,
        epochs: Epochs = None,
        batch_size: BatchSize = None,
        steps_per_epoch: Annotated[Optional[int], typer.Option(help="Batches per epoch, for data generated on the fly (default: the kind of input's).", rich_help_panel=_PANEL)] = None,
        lr: Lr = None,
        warmup: Annotated[Optional[float], typer.Option(help="Warm-up epochs (default 2, or the model's own).", rich_help_panel=_PANEL, show_default=False)] = None,
        patience: Patience = None,
        weight_decay: Annotated[Optional[float], typer.Option(help="L2 weight decay (default 0, or the model's own: 5e-4 for the graph kind's gcn, on its first layer as the paper).", rich_help_panel=_PANEL, show_default=False)] = None,
        grad_clip: Annotated[Optional[float], typer.Option(help="Clip gradient norm (0: off).", rich_help_panel=_PANEL)] = 10.0,
        seed: Annotated[int, typer.Option(help="Seed for splits, initialization and batches.", rich_help_panel=_PANEL)] = 0,
        device: DeviceName = "auto",
        precision: Precision = "auto",
        split: SplitName = "random",
        split_sizes: SplitSizes = "0.8,0.1,0.1",
        folds: Annotated[int, typer.Option(help="Folds for --split kfold.", rich_help_panel=_PANEL)] = 5,
        split_col: SplitCol = None,
        ensemble: Annotated[int, typer.Option(help="Models trained with different seeds (with --split kfold: per fold); predictions average them.", rich_help_panel=_PANEL)] = 1,
        from_run: Annotated[Optional[str], typer.Option("--from", metavar="RUN", help="Start each member from the encoder of a trained run (transfer learning): its encoder settings come too, its featurizer must be this input's; the head is new.", rich_help_panel=_PANEL)] = None,
        freeze_encoder: Annotated[bool, typer.Option("--freeze-encoder", help="With --from: keep the run's encoder as it is and train only the head.", rich_help_panel=_PANEL)] = False,
        search: Annotated[int, typer.Option(metavar="N", help="First try N settings of hidden size, depth, dropout, learning rate and batch size on the validation rows (Optuna's TPE, pruning poor trials; pip install 'gnncli[search]'), then train the best; the trials go to search.csv.", rich_help_panel=_PANEL)] = 0,
        workers: Annotated[int, typer.Option(help="Featurization processes (0: automatic).")] = 0,
        cache: Annotated[bool, typer.Option("--cache/--no-cache", help="Reuse featurized files from the cache.")] = True,
        plots: Annotated[bool, typer.Option("--plots/--no-plots", help="Write PNG plots.")] = True,
        out: Annotated[Optional[str], typer.Option("--out", "-o", help="Run folder (default: a new folder under runs/).")] = None,
        resume: Annotated[Optional[str], typer.Option(help="Continue an interrupted run folder.")] = None,
        json_out: Annotated[bool, typer.Option("--json", help="Print the summary as JSON on stdout.")] = False,
        domain_options: dict | None = None,
    ) -> None:
        from gnncli import api
        from gnncli.domains.base import expand_inputs
        from gnncli.models import ModelConfig
        from gnncli.progress import Reporter
        from gnncli.train.distributed import is_main
        from gnncli.train.loop import LoopConfig

        main = is_main()  # under torchrun (several processes), rank 0 alone shows progress and the summary
        if resume and main:
            _say_where_resuming(api.resume_point(resume), resume)
        progress = make_progress() if main else None
        with progress if progress is not None else contextlib.nullcontext():
            reporter = Reporter(progress)
            if resume:
                summary = api.resume(resume, reporter, device=device if device != "auto" else None)
            else:
                paths = expand_inputs(inputs or [])
                loop = _loop_settings(paths, kind, model, task, target or [], domain_options or {}, epochs=epochs,
                                      batch_size=batch_size, lr=lr, warmup=warmup, patience=patience,
                                      weight_decay=weight_decay)
                start = loop["lr"] if loop["schedule"] == "constant" else loop["lr"] / 10
                task = loop["task"]
                recipe = loop["model"]  # the task's own model settings, where its registration has some
                hidden = hidden if hidden is not None else recipe.get("hidden")
                depth = depth if depth is not None else recipe.get("depth")
                dropout = dropout if dropout is not None else recipe.get("dropout")
                try:
                    model_config = ModelConfig(
                        name=model, hidden=hidden, depth=depth, dropout=dropout, readout=readout, ffn_layers=ffn_layers,
                        ffn_hidden=ffn_hidden, virtual_node=virtual_node, params=_params(model_param or []),
                        kind=loop["kind"],
                    )
                except ValueError as exc:
                    raise UsageError(str(exc)) from None
                opts = api.TrainOptions(
                    kind=kind, targets=target or None, fmt=format, task=task, monitor=metric,
                    split="column" if split_col else split, split_sizes=_sizes(split_sizes), folds=folds,
                    split_col=split_col, ensemble=ensemble, model=model_config,
                    loop=LoopConfig(
                        epochs=loop["epochs"], batch_size=loop["batch_size"], max_lr=loop["lr"], init_lr=start,
                        final_lr=start, warmup_epochs=loop["warmup"], patience=loop["patience"] or None,
                        weight_decay=loop["weight_decay"],
                        grad_clip=grad_clip or None, seed=seed, device=device,
                        steps_per_epoch=steps_per_epoch, precision=precision,
                    ),
                    workers=workers or None, cache=cache, plots=plots, out=out, init_from=from_run,
                    freeze_encoder=freeze_encoder, search=search, options=domain_options or {},
                ).with_inputs(paths)
                summary = api.train(opts, reporter)
        if not main:
            return
        for warning in summary.get("warnings", []):
            console.print(f"[yellow]warning:[/] {warning}", markup=True, highlight=False)
        _print_summary(summary)
        if json_out:
            print_json(summary)


def _loop_settings(inputs: list[str], kind: str | None, model: str | None, task: str, targets: list[str],
                   options: dict, **given) -> dict:
    """The loop settings given on the command line, the rest from the model's registration
    (the kind of ``inputs``' default model for the task when --model is not given), with ``kind``
    (the kind of input, whose registration a model name means: the graph kind's ``gcn`` is its
    own), the learning-rate ``schedule`` the model trains with, the ``task`` (``auto`` settled
    where the kind can tell from a look at the inputs) and the task's own ``model`` settings."""
    from gnncli.domains import get_domain, resolve_domain
    from gnncli.errors import GnnError
    from gnncli.models.config import loop_defaults, task_defaults

    try:
        domain = resolve_domain(inputs, kind)
    except GnnError:
        if model is None:
            raise
        domain = None  # the input's own error comes again, in context, when training reads it
    resolved = domain.name if domain is not None else None
    if domain is not None and task == "auto":
        task = domain.settle_task(inputs, task, targets, options)
    name = model if model in model_names() else None
    if name is None and model is None:
        name = get_domain(resolved).model_for(task)
    defaults = loop_defaults(name, resolved, task) if name else loop_defaults(model_names()[0])
    settings = {k: (v if v is not None else defaults[k]) for k, v in given.items()}
    recipe = task_defaults(name, resolved, task).get("model", {}) if name else {}
    return {**settings, "kind": resolved, "schedule": defaults["schedule"], "task": task, "model": recipe}


def _say_where_resuming(point: dict, run: str) -> None:
    if point["complete"]:
        return  # api.resume says so in a warning
    for member in point["pending"]:
        who = f"member {member['member'] + 1} of {point['members']}" if point["members"] > 1 else run
        if member["epoch"]:
            console.print(f"resuming {who} after epoch {member['epoch']} of {member['epochs']}", highlight=False, soft_wrap=True)
        else:
            console.print(f"starting {who} from epoch 1 of {member['epochs']} (nothing of it was saved)", highlight=False, soft_wrap=True)


def _print_summary(summary: dict) -> None:
    if "val" not in summary:
        return
    title = f"{summary['model']} on {', '.join(summary.get('targets') or [summary.get('kind', '')])} ({summary['task']})"
    table = Table(title=title, show_edge=False)
    train = summary.get("train") if isinstance(summary.get("train"), dict) else None  # a kind that scores its training set too
    table.add_column("metric")
    if train is not None:
        table.add_column("train", justify="right")
    table.add_column("validation", justify="right")
    table.add_column("test", justify="right")
    for key, value in summary["val"].items():
        if "/" in key or key == "loss":
            continue
        test = summary["test"].get(key, float("nan"))
        first = [_fmt(train.get(key, float("nan")))] if train is not None else []
        table.add_row(key, *first, _fmt(value), _fmt(test))
    console.print(table)
    unit = summary.get("unit", "molecules")
    counts = summary.get(unit, {})
    skipped = f", {counts['invalid']} invalid skipped" if counts.get("invalid") else ""
    if summary.get("folds"):
        line = (f"{summary['folds']}-fold cross-validation: per fold {counts['train']} train / {counts['val']} "
                f"validation {unit}; {counts['test']} {unit} tested over all folds{skipped}")
    else:
        line = f"{counts['train']} train / {counts['val']} validation / {counts['test']} test {unit}{skipped}"
    console.print(f"{line}; run folder: [bold]{summary['run']}[/]", markup=True, highlight=False)


def _fmt(value: float) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.4f}"
