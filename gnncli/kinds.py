"""The kinds of input ``gnn`` knows, by name: the registry every command dispatches through.

Each kind is a package under ``gnncli/domains/`` whose :class:`~gnncli.domains.base.Domain`
subclass is registered below by path (``"module:Class"``), so nothing of a kind is imported
until it is used: ``gnn --help`` stays instant. Adding a kind of input is its folder plus one
line below (or a :func:`register_domain` call of its own, as a test's toy domain does).

This module sits low in the house (it imports only :mod:`gnncli.registry` and
:mod:`gnncli.errors`): the model registry loads every kind through it (a kind registers its own
models when its module loads, see :func:`~gnncli.models.config.model_names`) and run folders
find their kind through it, without importing :mod:`gnncli.domains`.
"""

from __future__ import annotations

from typing import Any

from gnncli.errors import UsageError
from gnncli.registry import Registry

#: Every registered kind of input, by name (``--kind`` choices): ``gnncli.domains.DOMAINS``.
KINDS = Registry("kind of input")


def register_domain(name: str, target: Any, /, **meta: Any) -> Any:
    """Register a :class:`~gnncli.domains.base.Domain` subclass (or a ``"module:Class"`` path) as
    the kind ``name``."""
    return KINDS.register(name, target, **meta)


register_domain("molecules", "gnncli.domains.molecules:MoleculesDomain")
register_domain("proteins", "gnncli.domains.proteins:ProteinsDomain")
register_domain("ratings", "gnncli.domains.ratings:RatingsDomain")
register_domain("wireless", "gnncli.domains.wireless:WirelessDomain")
register_domain("graph", "gnncli.domains.graph:GraphDomain")

_INSTANCES: dict[str, Any] = {}


def get_domain(name: str) -> Any:
    """The domain (a :class:`~gnncli.domains.base.Domain`) registered as ``name`` (``--kind``);
    a usage error names the choices."""
    if name not in KINDS:
        raise UsageError(f"--kind {name}: unknown kind of input (choose from {', '.join(KINDS)})")
    cls = KINDS.get(name)
    instance = _INSTANCES.get(name)
    if type(instance) is not cls:  # first use, or the name was registered anew
        instance = _INSTANCES[name] = cls()
    return instance


def all_domains() -> list[Any]:
    """Every registered kind's domain, in registration order (each kind's module loaded: cheap,
    no torch or pandas at import)."""
    return [get_domain(name) for name in KINDS]
