"""Each kind of input's own options, added to a command in a help panel per kind.

A domain declares its options (:class:`~gnncli.domains.base.DomainOption`) in its own module;
:func:`with_domain_options` turns them into Typer options of a command (``--smiles-col`` under
"Molecules options" in ``gnn train --help``) and hands their values to the command as one dict,
``domain_options``. Whether a value fits the input is checked where the input's kind is known
(:func:`gnncli.domains.base.check_options`): an option of another kind is a one-line usage error.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Annotated, Any, Optional

import typer

from gnncli.domains.base import all_domains


def domain_parameters(command: str) -> list[inspect.Parameter]:
    """One keyword parameter per domain option of ``command`` (an option that several kinds share
    is declared once, in the panel of the first kind registered)."""
    params: dict[str, inspect.Parameter] = {}
    for domain in all_domains():
        for option in domain.options:
            if command not in option.commands or option.name in params:
                continue
            kind = list[option.type] if option.multiple else option.type  # type: ignore[valid-type]
            info = typer.Option(
                option.flag, *option.flags[1:], help=option.help, metavar=option.metavar, show_default=False,
                rich_help_panel=f"{domain.title or domain.name} options",
            )
            params[option.name] = inspect.Parameter(
                option.name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Annotated[Optional[kind], info],
            )
    return list(params.values())


def with_domain_options(command: str) -> Callable:
    """Decorate a command function that takes ``domain_options: dict``: every registered kind's
    options for ``command`` become its Typer options, and arrive in that dict by name."""

    def deco(func: Callable) -> Callable:
        signature = inspect.signature(func, eval_str=True)  # what Typer would see without this wrapper
        extra = domain_parameters(command)
        names = {p.name for p in extra}
        clash = names & set(signature.parameters)
        if clash:
            raise RuntimeError(f"domain options {sorted(clash)} clash with options of gnn {command}")
        own = [p for p in signature.parameters.values() if p.name != "domain_options"]

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            values = {name: kwargs.pop(name) for name in list(kwargs) if name in names}
            return func(*args, domain_options=values, **kwargs)

        wrapper.__signature__ = signature.replace(parameters=[*own, *extra])  # type: ignore[attr-defined]
        return wrapper

    return deco
