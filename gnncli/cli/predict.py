"""`gnn predict`."""

from __future__ import annotations

import typer

from gnncli.cli.common import fail


def register(app: typer.Typer) -> None:
    @app.command("predict", help="Not yet available.\n\nExample: gnn predict --help")
    def command() -> None:
        raise fail("'gnn predict' is not yet available", 2)
