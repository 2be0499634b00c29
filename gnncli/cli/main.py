"""The root ``gnn`` app: ``--version``, ``--debug`` and the subcommands."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from gnncli import __version__
from gnncli.cli import common

app = typer.Typer(
    name="gnn",
    help="Graph neural networks from the command line: molecules, proteins, ratings, wireless.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"gnn {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show Python tracebacks on errors.")] = False,
) -> None:
    """Graph neural networks from the command line.

    Example: gnn train data.csv --target logS && gnn predict runs/<run> library.smi --top-k 100
    """
    common.set_debug(debug)


def _register() -> None:
    from gnncli.cli import benchmark, coarsen, embed, predict, train, wl_test

    for module in (train, predict, embed, benchmark, wl_test, coarsen):
        module.register(app)


_register()


def main() -> None:
    """The ``gnn`` console script.

    Every output is written atomically and closed before a command returns, so once stdout and
    stderr are flushed we leave with ``os._exit``: tearing down torch and PyG's modules at normal
    interpreter exit costs over a second on every command and does nothing for us.
    """
    from gnncli.runtime import tune_allocator

    tune_allocator()
    try:
        app()
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
