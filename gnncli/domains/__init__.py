"""Kinds of input: each turns files into graphs for one domain, registered by name (``--kind``).

Adding a kind of input is one module that subclasses :class:`~gnncli.domains.base.Domain` and
one line below (or a :func:`register_domain` call of its own, as a test's toy domain does).
Registrations name the class by path, so nothing heavy is imported until a domain is used.
"""

from gnncli.domains.base import DOMAINS, Dataset, Domain, DomainOption, get_domain, register_domain, resolve_domain

register_domain("molecules", "gnncli.domains.molecules:MoleculesDomain")
register_domain("proteins", "gnncli.domains.proteins:ProteinsDomain")
register_domain("ratings", "gnncli.domains.ratings:RatingsDomain")
register_domain("wireless", "gnncli.domains.wireless:WirelessDomain")
register_domain("graph", "gnncli.domains.graph:GraphDomain")

__all__ = ["DOMAINS", "Dataset", "Domain", "DomainOption", "get_domain", "register_domain", "resolve_domain"]
