"""One vocabulary of input formats for every command's ``--format``.

A name means the same file layout wherever it is accepted; each command (or kind of input)
accepts the subset it can read and lists it in its ``--help``. Older spellings are accepted as
aliases (``smiles`` for ``smi``, ``mmcif`` for ``cif``).
"""

from __future__ import annotations

from gnncli.errors import UsageError

#: Format name -> what it is.
FORMATS: dict[str, str] = {
    "csv": "comma-separated table (molecules: a SMILES column; graph commands: an edge list, or molecules if it has a SMILES column)",
    "tsv": "tab-separated table, as csv",
    "smi": "SMILES, one molecule per line, optionally followed by a name",
    "sdf": "SD file of molecule records",
    "edgelist": "edge list, 'source target [weight|label]' per line, separated by spaces, tabs or commas",
    "pdb": "PDB structure",
    "cif": "mmCIF structure",
    "graph6": "graph6 strings, one graph per line",
    "sparse6": "sparse6 strings, one graph per line",
    "graphml": "GraphML",
    "mtx": "Matrix Market adjacency matrix",
    "npz": "NumPy archive (graph commands: a scipy sparse adjacency, a dense 'adjacency' array or 'edge_index'; or channel matrices)",
    "npy": "NumPy array (channel matrices: (m, m), (T, m, m) or (networks, T, m, m))",
}

#: What ``gnn wl-test`` and ``gnn coarsen`` read (each has a reader in :data:`gnncli.domains.graph.files.READERS`).
GRAPH_FORMATS = ("csv", "tsv", "edgelist", "smi", "sdf", "pdb", "cif", "graph6", "sparse6", "graphml", "mtx", "npz")

ALIASES = {"smiles": "smi", "mmcif": "cif", "g6": "graph6", "s6": "sparse6", "tab": "tsv", "edges": "edgelist"}


def check_format(value: str | None, accepted: tuple[str, ...], what: str = "--format") -> str | None:
    """``value`` as a name of the vocabulary (aliases resolved), or None; a usage error naming the
    accepted formats when this command cannot read it."""
    if value is None:
        return None
    name = ALIASES.get(value.strip().lower(), value.strip().lower())
    if name not in accepted:
        raise UsageError(f"{what} {value}: not a format this command reads (choose from {', '.join(accepted)})")
    return name


def describe(accepted: tuple[str, ...]) -> str:
    """``accepted`` for a ``--help`` text: ``csv, tsv, smi or sdf``."""
    return accepted[0] if len(accepted) == 1 else f"{', '.join(accepted[:-1])} or {accepted[-1]}"
