"""The root ``gnn`` app: ``--version``, ``--debug``, shell completion and the subcommands."""

from __future__ import annotations

import os
import re
import sys
import warnings
from collections.abc import Sequence
from typing import Annotated

import typer

from gnncli import __version__
from gnncli.cli import common

HELP = common.help_text(
    """Graph neural networks from the command line for molecules (SMILES, SDF), protein
    structures (PDB, mmCIF), rating tables and wireless channel matrices.

    Results go to stdout (CSV, or JSON with --json), progress and messages to stderr, and '-'
    reads standard input. Every command has --help with examples. gnn --debug COMMAND shows
    Python tracebacks and library warnings.

    Examples:

      gnn train

      gnn train data.csv --target logS --epochs 50 --out runs/esol

      gnn predict runs/esol library.smi --top-k 100 > hits.csv

      gnn train structures/ --task binding-site

      gnn train u1.base --test u1.test

      gnn train --kind wireless --pairs 50

      gnn train cora/ --task link-prediction

      gnn benchmark data.csv --target logS --models dmpnn,gin --seeds 3
    """
)

app = typer.Typer(
    name="gnn",
    help=HELP,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

#: Warnings that libraries raise about their own internals, which a user of gnn can do nothing
#: about: (start of the message, module that raises it). Hidden unless ``--debug`` is given.
UPSTREAM_WARNINGS: tuple[tuple[str, str], ...] = (
    # torch_geometric scripts two classes with torch.jit.script when it is imported, and torch
    # deprecates torch.jit.script: a DeprecationWarning up to 2.13, a FutureWarning (printed on
    # every command) from 2.14.
    ("`torch.jit.script", "torch.jit._script"),
)


def quiet_upstream_warnings() -> None:
    """Hide :data:`UPSTREAM_WARNINGS`, in this process and in worker processes it spawns."""
    for message, module in UPSTREAM_WARNINGS:
        warnings.filterwarnings("ignore", message=re.escape(message), module=re.escape(module) + r"\Z")
        option = f"ignore:{message}::{module}"  # passed on to spawned interpreters as -W
        if option not in sys.warnoptions:
            sys.warnoptions.append(option)


def wants_debug(argv: Sequence[str]) -> bool:
    """Whether ``--debug`` is among the root options, i.e. before the command name."""
    for arg in argv:
        if arg == "--debug":
            return True
        if not arg.startswith("-"):
            return False
    return False


def _version(value: bool) -> None:
    if value:
        typer.echo(f"gnn {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show Python tracebacks on errors, and library warnings.")] = False,
) -> None:
    common.set_debug(debug)


def _register() -> None:
    from gnncli.cli import benchmark, channels, coarsen, embed, predict, train, wl_test

    for module in (train, predict, embed, benchmark, wl_test, coarsen, channels):
        module.register(app)


_register()


def main() -> None:
    """The ``gnn`` console script.

    Library warnings about their own internals are hidden before any command imports torch
    (they fire at import time, before ``--debug`` is parsed), unless ``--debug`` is given.

    Every output is written atomically and closed before a command returns, so once stdout and
    stderr are flushed we leave with ``os._exit``: tearing down torch and PyG's modules at normal
    interpreter exit costs over a second on every command and does nothing for us.
    """
    from gnncli.runtime import tune_allocator

    if not wants_debug(sys.argv[1:]):
        quiet_upstream_warnings()
    tune_allocator()
    try:
        app(prog_name="gnn")  # also under `python -m gnncli.cli.main`: completion scripts are for `gnn`
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if not isinstance(exc.code, (int, type(None))):
            print(exc.code, file=sys.stderr)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (BrokenPipeError, ValueError, OSError):
            pass  # the reader went away (`| head`) or the stream is closed: nothing left to say
    os._exit(code)


if __name__ == "__main__":
    main()
