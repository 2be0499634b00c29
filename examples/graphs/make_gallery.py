"""Regenerate the gallery of classic graph pairs in this folder.

Run from the repository root: ``python examples/graphs/make_gallery.py``.
The expected verdicts are in ``gallery.json`` (checked by tests/algorithms/test_wl.py).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import networkx as nx

HERE = Path(__file__).parent


def write_edgelist(g: nx.Graph, name: str) -> None:
    lines = ["source,target"] + [f"{u},{v}" for u, v in sorted(g.edges())]
    (HERE / name).write_text("\n".join(lines) + "\n")


def cfi_pair(base: nx.Graph) -> tuple[nx.Graph, nx.Graph]:
    """The Cai-Fürer-Immerman pair over ``base``: untwisted and with one edge twisted."""

    def build(twist: bool) -> nx.Graph:
        g = nx.Graph()
        edges = [tuple(sorted(e)) for e in base.edges()]
        for v in base.nodes():
            inc = [e for e in edges if v in e]
            for r in range(0, len(inc) + 1, 2):
                for subset in itertools.combinations(inc, r):
                    m = ("m", v, subset)
                    for e in inc:
                        g.add_edge(m, ("a", v, e, int(e in subset)))
        for i, e in enumerate(edges):
            u, v = e
            for b in (0, 1):
                other = 1 - b if (twist and i == 0) else b
                g.add_edge(("a", u, e, b), ("a", v, e, other))
        return nx.convert_node_labels_to_integers(g, ordering="sorted")

    return build(False), build(True)


def main() -> None:
    write_edgelist(nx.cycle_graph(6), "c6.csv")
    two = nx.disjoint_union(nx.cycle_graph(3), nx.cycle_graph(3))
    write_edgelist(two, "two_triangles.csv")
    (HERE / "decalin.smi").write_text("C1CCC2CCCCC2C1 decalin\n")
    (HERE / "bicyclopentyl.smi").write_text("C1CCC(C1)C1CCCC1 bicyclopentyl\n")
    rook = nx.convert_node_labels_to_integers(nx.cartesian_product(nx.complete_graph(4), nx.complete_graph(4)))
    # Shrikhande graph: Cayley graph of Z4 x Z4 with connection set {±(1,0), ±(0,1), ±(1,1)}
    shr = nx.Graph()
    gens = [(1, 0), (3, 0), (0, 1), (0, 3), (1, 1), (3, 3)]
    for a, b in itertools.product(range(4), repeat=2):
        for da, db in gens:
            shr.add_edge(4 * a + b, 4 * ((a + da) % 4) + (b + db) % 4)
    (HERE / "rook4x4.g6").write_bytes(nx.to_graph6_bytes(rook, header=False))
    (HERE / "shrikhande.g6").write_bytes(nx.to_graph6_bytes(shr, header=False))
    a, b = cfi_pair(nx.complete_graph(4))
    write_edgelist(a, "cfi_k4_a.csv")
    write_edgelist(b, "cfi_k4_b.csv")
    # a small SMILES data set with 1-WL-equivalent non-isomorphic molecules
    (HERE / "molecules.csv").write_text(
        "name,smiles\n"
        "decalin,C1CCC2CCCCC2C1\n"
        "bicyclopentyl,C1CCC(C1)C1CCCC1\n"
        "ethanol,CCO\n"
        "ethanol_again,OCC\n"
        "cyclohexane,C1CCCCC1\n"
        "spiro[4.4]nonane,C1CCC2(C1)CCCC2\n"
        "benzene,c1ccccc1\n"
        "cyclooctane,C1CCCCCCC1\n"
        "bicyclobutyl,C1CC(C1)C1CCC1\n"
    )


if __name__ == "__main__":
    main()
