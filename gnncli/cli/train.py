"""`gnn train`."""

from __future__ import annotations

import typer

from gnncli.cli.common import fail


def register(app: typer.Typer) -> None:
    @app.command("train", help="Not yet available.\n\nExample: gnn train --help")
    def command() -> None:
        raise fail("'gnn train' is not yet available", 2)
