"""`gnn wl-test`: not yet available in this release."""

from __future__ import annotations

import typer

from gnncli.cli.common import fail


def register(app: typer.Typer) -> None:
    @app.command(
        "wl-test",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
        help="Not yet available in this release.\n\nExample: gnn wl-test --help",
    )
    def command(ctx: typer.Context) -> None:
        raise fail("'gnn wl-test' is not yet available in this release", 2)
