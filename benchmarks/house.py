"""The house: gnncli's module import graph, its floors, back arrows and circles.

    python benchmarks/house.py            # rooms, floors, arrows, back arrows, circles, core -> kind arrows
    python benchmarks/house.py --json     # the same as one JSON object
    python benchmarks/house.py --floors   # and every room on its floor
    python benchmarks/house.py --modules  # every module a room, a kind's modules too

Read with the stdlib ``ast`` module only (nothing of gnncli is imported):

* a **room** is one module of the core: a ``.py`` file under ``gnncli/``, a package's
  ``__init__.py`` being the package itself (``gnncli/models/__init__.py`` is the room
  ``gnncli.models``); and a **kind** of input, the package ``gnncli/domains/<kind>/`` with all
  under it, is one room (a kind is one folder; ``--modules``: each of its modules a room);
* an **arrow** ``a -> b`` is an ``import`` or ``from ... import`` in ``a`` of a gnncli module
  ``b``, at any depth in the file (imports inside functions, lazy ones included, count), relative
  imports resolved. ``from pkg import name`` points at ``pkg.name`` where that is a module, else at
  ``pkg``; ``import a.b.c`` points at the deepest module named. A parent package that Python runs
  on the way (``a.b``'s ``__init__`` before ``a.b.c``) is not an arrow: a package re-exporting
  its own submodules would otherwise be a circle with each of them;
* a **circle** is a strongly connected component of more than one room (or a room importing
  itself);
* **back arrows** and **floors**: each circle's rooms are put in the order (bottom first) that
  leaves the fewest of its arrows pointing up (a minimum feedback arc set: exact up to 16 rooms
  in a circle, else Eades, Lin and Smyth's heuristic); those arrows are the back arrows. Without
  them the graph has no cycle, and a room's floor is one above the highest floor it imports
  (floor 0 imports no gnncli module). With no circles there are no back arrows;
* the **core** is every other room except the command line (``gnncli.cli`` and
  ``gnncli.__main__``, which load every kind to build ``--help``). ``core -> kind`` counts
  arrows from the core into a kind.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "gnncli"


def modules(root: Path = ROOT, package: str = PACKAGE) -> dict[str, Path]:
    """Every module of ``package`` under ``root``: dotted name -> file."""
    found = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _deepest(name: str, known: dict[str, Path]) -> str | None:
    parts = name.split(".")
    for n in range(len(parts), 0, -1):
        candidate = ".".join(parts[:n])
        if candidate in known:
            return candidate
    return None


def arrows(known: dict[str, Path]) -> dict[str, set[str]]:
    """room -> the rooms it imports (see the module docstring)."""
    graph: dict[str, set[str]] = {name: set() for name in known}
    for name, path in known.items():
        is_package = path.name == "__init__.py"
        here = name if is_package else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = here.split(".")
                    base = base[: len(base) - (node.level - 1)]
                    module = ".".join(base + ([node.module] if node.module else []))
                else:
                    module = node.module or ""
                for alias in node.names:
                    sub = f"{module}.{alias.name}"
                    targets.append(sub if sub in known else module)
            for target in targets:
                if target == PACKAGE or target.startswith(PACKAGE + "."):
                    room = _deepest(target, known)
                    if room is not None and room != name:
                        graph[name].add(room)
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components (Tarjan's algorithm, iterative), each sorted, in order of
    first appearance; components of one room are circles only where the room imports itself."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1 or node in graph[node]:
                        found.append(sorted(component))
    return found


def _order(rooms: list[str], graph: dict[str, set[str]]) -> list[str]:
    """An order of ``rooms`` (bottom first) with as few arrows pointing up it as can be: exact
    (dynamic programming over subsets) up to 16 rooms, else Eades, Lin and Smyth's heuristic."""
    inside = {r: {t for t in graph[r] if t in rooms and t != r} for r in rooms}
    if len(rooms) <= 16:
        bit = {r: 1 << i for i, r in enumerate(rooms)}
        mask_of = {r: sum(bit[t] for t in inside[r]) for r in rooms}
        best: dict[int, tuple[int, list[str]]] = {0: (0, [])}
        for size in range(len(rooms)):
            layer = {}
            for placed, (cost, order) in best.items():
                for r in rooms:
                    if placed & bit[r]:
                        continue
                    # r goes just above ``placed``: arrows from placed rooms into r point up
                    extra = sum(1 for s in order if r in inside[s])
                    key = placed | bit[r]
                    if key not in layer or cost + extra < layer[key][0]:
                        layer[key] = (cost + extra, order + [r])
            best = layer
        return next(iter(best.values()))[1]
    left = set(rooms)
    into = {r: {s for s in rooms if r in inside[s]} for r in rooms}
    bottom: list[str] = []
    top: list[str] = []
    while left:
        changed = True
        while changed:
            changed = False
            for r in sorted(left):
                if not inside[r] & left:  # imports nothing left: next from the bottom
                    bottom.append(r)
                    left.discard(r)
                    changed = True
                elif not into[r] & left:  # imported by nothing left: next from the top
                    top.append(r)
                    left.discard(r)
                    changed = True
        if left:
            r = max(sorted(left), key=lambda r: len(into[r] & left) - len(inside[r] & left))
            bottom.append(r)  # most imported, least importing: low
            left.discard(r)
    return bottom + top[::-1]


def kind_of(module: str, known: dict[str, Path]) -> str | None:
    """The kind of input ``module`` belongs to (``gnncli.domains.<kind>`` a package), or None."""
    parts = module.split(".")
    if len(parts) > 2 and parts[:2] == [PACKAGE, "domains"]:
        package = ".".join(parts[:3])
        if package in known and known[package].name == "__init__.py":
            return parts[2]
    return None


def house(root: Path = ROOT, *, kinds_as_rooms: bool = True) -> dict:
    """The whole analysis as one dictionary (what ``--json`` prints). With ``kinds_as_rooms``
    each kind's folder is one room (arrows inside it dropped): a kind is one folder."""
    known = modules(root)
    graph = arrows(known)
    if kinds_as_rooms:
        def room_of(module: str) -> str:
            kind = kind_of(module, known)
            return f"{PACKAGE}.domains.{kind}" if kind else module

        rooms: dict[str, set[str]] = defaultdict(set)
        for a, bs in graph.items():
            rooms[room_of(a)] |= {room_of(b) for b in bs} - {room_of(a)}
        graph = dict(rooms)
    loops = circles(graph)
    back: list[tuple[str, str]] = []
    for loop in loops:
        rank = {r: i for i, r in enumerate(_order(loop, graph))}
        back += [(a, b) for a in loop for b in sorted(graph[a]) if b in rank and rank[b] >= rank[a]]
    kept = {a: {b for b in bs if (a, b) not in set(back)} for a, bs in graph.items()}
    floor: dict[str, int] = {}

    def level(room: str) -> int:  # the graph without back arrows has no cycle
        if room not in floor:
            floor[room] = 1 + max((level(t) for t in kept[room]), default=-1)
        return floor[room]

    sys.setrecursionlimit(max(10_000, sys.getrecursionlimit()))
    for room in graph:
        level(room)

    def kind(room: str) -> str | None:
        return kind_of(room, known)

    def core(room: str) -> bool:
        return kind(room) is None and not (room == f"{PACKAGE}.cli" or room.startswith(f"{PACKAGE}.cli.")
                                           or room == f"{PACKAGE}.__main__")

    core_to_kind = sorted((a, b) for a, bs in graph.items() for b in bs if core(a) and kind(b) is not None)
    floors: dict[int, list[str]] = defaultdict(list)
    for room, f in sorted(floor.items()):
        floors[f].append(room)
    return {
        "rooms": len(graph),
        "floors": len(floors),
        "arrows": sum(len(bs) for bs in graph.values()),
        "back_arrows": [list(a) for a in back],
        "circles": loops,
        "core_to_kind": [list(a) for a in core_to_kind],
        "kinds": sorted({k for r in graph if (k := kind(r))}),
        "by_floor": {str(f): floors[f] for f in sorted(floors)},
    }


def _short(room: str) -> str:
    return room.removeprefix(PACKAGE + ".") if room != PACKAGE else room


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print the analysis as JSON")
    parser.add_argument("--floors", action="store_true", help="list every room on its floor")
    parser.add_argument("--modules", action="store_true",
                        help="every module of a kind its own room (default: a kind's folder is one room)")
    args = parser.parse_args(argv)
    result = house(kinds_as_rooms=not args.modules)
    if args.json:
        print(json.dumps(result, indent=1))
        return 0
    print(f"{result['rooms']} rooms on {result['floors']} floors, {result['arrows']} arrows, "
          f"{len(result['back_arrows'])} back arrows, {len(result['circles'])} circles, "
          f"{len(result['core_to_kind'])} core -> kind arrows (kinds: {', '.join(result['kinds'])})")
    for i, loop in enumerate(result["circles"], 1):
        print(f"circle {i} ({len(loop)} rooms): {', '.join(map(_short, loop))}")
    for a, b in result["back_arrows"]:
        print(f"back arrow: {_short(a)} -> {_short(b)}")
    for a, b in result["core_to_kind"]:
        print(f"core -> kind: {_short(a)} -> {_short(b)}")
    if args.floors:
        for f, rooms in result["by_floor"].items():
            print(f"floor {f}: {', '.join(map(_short, rooms))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
