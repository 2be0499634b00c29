"""Kinds of input: each turns files into graphs for one domain, registered by name (``--kind``).

Each kind is one package here (``molecules/``, ``proteins/``, ``ratings/``, ``wireless/``,
``graph/``) holding everything of its own: its :class:`~gnncli.domains.base.Domain` subclass,
readers, featurizers, models and layers. Adding a kind of input is one package that subclasses
:class:`~gnncli.domains.base.Domain` plus one :func:`register_domain` line in :mod:`gnncli.kinds`
(or a call of its own, as a test's toy domain does). Registrations name the class by path, so
nothing heavy is imported until a domain is used; the core (everything outside these packages
but the command line) imports no kind.
"""

from gnncli.domains.base import DOMAINS, Dataset, Domain, DomainOption, get_domain, register_domain, resolve_domain

__all__ = ["DOMAINS", "Dataset", "Domain", "DomainOption", "get_domain", "register_domain", "resolve_domain"]
