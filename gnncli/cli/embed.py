"""`gnn embed`."""

from __future__ import annotations

import typer

from gnncli.cli.common import fail


def register(app: typer.Typer) -> None:
    @app.command("embed", help="Not yet available.\n\nExample: gnn embed --help")
    def command() -> None:
        raise fail("'gnn embed' is not yet available", 2)
