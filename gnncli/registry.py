"""Registries of named things (kinds of input, models, encoders) that load what they name lazily.

A registration holds either the object itself or a ``"module:attribute"`` string imported on first
use, so that the names (what the command line offers) are known without importing torch, RDKit or
the module that implements them: ``gnn --help`` stays instant however many models there are.

Example::

    MODELS = Registry("model")
    MODELS.register("gcmc", "gnncli.models.gcmc:build", help="graph autoencoder (GC-MC)")
    MODELS.names()          # ('gcmc',) -- nothing imported yet
    MODELS.get("gcmc")      # imports gnncli.models.gcmc and returns its ``build``
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Entry:
    """One registration: a name, its target (an object or ``"module:attribute"``) and metadata."""

    name: str
    target: Any
    meta: dict[str, Any] = field(default_factory=dict)

    def load(self) -> Any:
        """The registered object, imported on first use when the target is a string."""
        if isinstance(self.target, str):
            module, _, attr = self.target.partition(":")
            obj = importlib.import_module(module)
            for part in attr.split(".") if attr else ():
                obj = getattr(obj, part)
            self.target = obj
        return self.target


class Registry:
    """Names -> lazily loaded objects, in registration order."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._entries: dict[str, Entry] = {}

    def register(self, name: str, target: Any = None, /, **meta: Any) -> Any:
        """Register ``target`` under ``name`` (replacing an earlier one of that name).

        Without ``target``, returns a decorator that registers the decorated object.
        """
        if target is None:
            def deco(obj: Any) -> Any:
                self._entries[name] = Entry(name, obj, meta)
                return obj

            return deco
        self._entries[name] = Entry(name, target, meta)
        return target

    def unregister(self, name: str) -> None:
        self._entries.pop(name, None)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def names(self, where: Callable[[Entry], bool] | None = None) -> tuple[str, ...]:
        """Registered names, optionally only those whose entry passes ``where``."""
        return tuple(n for n, e in self._entries.items() if where is None or where(e))

    def entry(self, name: str) -> Entry:
        try:
            return self._entries[name]
        except KeyError:
            raise KeyError(f"unknown {self.what} '{name}' (choose from {', '.join(self._entries)})") from None

    def get(self, name: str) -> Any:
        """The object registered as ``name`` (imported now if registered by path)."""
        return self.entry(name).load()
