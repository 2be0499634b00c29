"""Featurizing table rows that hold more than one SMILES: several molecules (a solute and its
solvent), reactions, and per-row numbers (descriptor columns, RDKit-computed features).

A row becomes one graph made of its components, in column order, with no edge between them:
node attribute ``part`` says which component a node belongs to, so that a model reads each out
on its own (:class:`~gnncli.models.model.GraphModel` with ``parts``). The row's numbers are
its graph attribute ``features``: the descriptor columns, then each molecule component's
computed features. When any component is a reaction, every component is a condensed graph of
reaction (a molecule as the reaction that leaves it unchanged), so all share one encoder.

Imports only numpy and RDKit (it runs in worker processes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from gnncli.domains.molecules.descriptors import MOLECULE_FEATURES, compute, feature_width
from gnncli.featurizers.molecule import DEFAULT_MAX_ATOMS, InvalidMolecule, MoleculeFeaturizer, _could_not, parse_smiles
from gnncli.domains.molecules.reaction import CGRFeaturizer, Reaction, parse_reaction

KINDS = ("molecule", "reaction")


@dataclass(frozen=True)
class RowFeaturizer:
    """Rows of ``len(columns)`` SMILES (molecules or reactions) and ``len(descriptors)`` numbers.

    Args:
        kinds: ``"molecule"`` or ``"reaction"`` for each component, in order.
        columns: the column each component is read from (for messages; not part of :attr:`spec`,
            so a run can read columns named otherwise).
        descriptors: the descriptor columns, in order.
        molecule_features: names from :data:`~gnncli.domains.molecules.descriptors.MOLECULE_FEATURES`,
            computed for every molecule component.
        reaction_mode: the CGR mode (see :mod:`gnncli.domains.molecules.reaction`).
    """

    kinds: tuple[str, ...] = ("molecule",)
    columns: tuple[str, ...] = field(default=("smiles",), compare=False)
    descriptors: tuple[str, ...] = field(default=(), compare=False)
    molecule_features: tuple[str, ...] = ()
    reaction_mode: str = "reac_diff"
    num_descriptors: int = -1

    def __post_init__(self) -> None:
        for kind in self.kinds:
            if kind not in KINDS:
                raise ValueError(f"unknown component kind '{kind}'")
        for name in self.molecule_features:
            if name not in MOLECULE_FEATURES:
                raise ValueError(f"unknown molecule features '{name}' (choose from {', '.join(MOLECULE_FEATURES)})")
        if len(self.columns) != len(self.kinds):
            raise ValueError("one column per component")
        if self.num_descriptors < 0:
            object.__setattr__(self, "num_descriptors", len(self.descriptors))
        elif self.num_descriptors != len(self.descriptors):
            raise ValueError(f"{self.num_descriptors} descriptor columns expected, {len(self.descriptors)} given")
        graph = CGRFeaturizer(self.reaction_mode) if "reaction" in self.kinds else MoleculeFeaturizer()
        object.__setattr__(self, "graph", graph)

    @property
    def atom_dim(self) -> int:
        return self.graph.atom_dim

    @property
    def bond_dim(self) -> int:
        return self.graph.bond_dim

    @property
    def parts(self) -> int:
        return len(self.kinds)

    @property
    def feature_dim(self) -> int:
        per_molecule = sum(feature_width(name) for name in self.molecule_features)
        return self.num_descriptors + per_molecule * self.kinds.count("molecule")

    def fingerprint_columns(self) -> list[int]:
        """Positions in ``features`` of fingerprint bits and counts (``morgan``, ``morgan_binary``):
        features that are already on a common scale, and that standardizing would blow up (a bit
        set in one training molecule in a thousand would become a value of about 30)."""
        columns, at = [], self.num_descriptors
        for kind in self.kinds:
            if kind != "molecule":
                continue
            for name in self.molecule_features:
                width = feature_width(name)
                if name.startswith("morgan"):
                    columns.extend(range(at, at + width))
                at += width
        return columns

    @property
    def spec(self) -> dict:
        """What identifies this featurizer in a run (the graph featurizer's spec under ``graph``)."""
        return {"name": "gnn-rows", "version": 1, "graph": self.graph.spec, "kinds": list(self.kinds),
                "descriptors": self.num_descriptors, "molecule_features": list(self.molecule_features),
                "feature_dim": self.feature_dim}

    @property
    def cache_spec(self) -> dict:
        """:attr:`spec` with the column names (what the feature cache is keyed by)."""
        return {**self.spec, "columns": list(self.columns), "descriptor_columns": list(self.descriptors)}

    @property
    def input_columns(self) -> list[str]:
        """The columns a row is read from: the components', then the descriptors'."""
        return [*self.columns, *self.descriptors]

    @classmethod
    def from_spec(cls, spec: dict, columns: Sequence[str] | None = None, descriptors: Sequence[str] | None = None
                  ) -> RowFeaturizer:
        kinds = tuple(spec["kinds"])
        featurizer = cls(
            kinds, tuple(columns) if columns is not None else tuple(f"component {i + 1}" for i in range(len(kinds))),
            tuple(descriptors) if descriptors is not None else tuple(f"descriptor {i + 1}" for i in range(spec["descriptors"])),
            tuple(spec["molecule_features"]), spec["graph"].get("mode", "reac_diff"), int(spec["descriptors"]),
        )
        if featurizer.spec != spec:
            raise ValueError(f"featurizer {spec} is not available (this version of gnn has {featurizer.spec})")
        return featurizer

    def renamed(self, columns: Sequence[str] | None = None, descriptors: Sequence[str] | None = None) -> RowFeaturizer:
        """The same featurizer reading other columns (``gnn predict --smiles-col``)."""
        return RowFeaturizer(self.kinds, tuple(columns) if columns else self.columns,
                             tuple(descriptors) if descriptors else self.descriptors,
                             self.molecule_features, self.reaction_mode, self.num_descriptors)

    def parse(self, row: Sequence, max_atoms: int | None) -> tuple[list, np.ndarray]:
        """One row's components (molecules or :class:`Reaction` objects) and descriptor values;
        raises :class:`InvalidMolecule` naming the column at fault."""
        items = []
        for kind, column, text in zip(self.kinds, self.columns, row):
            try:
                items.append(parse_smiles(text, max_atoms) if kind == "molecule" else parse_reaction(text, max_atoms))
            except InvalidMolecule as exc:
                raise InvalidMolecule(f"column '{column}': {exc}") from None
        values = np.zeros(self.num_descriptors, np.float32)
        for j, (column, text) in enumerate(zip(self.descriptors, row[self.parts :])):
            try:
                values[j] = float(str(text).strip())
            except ValueError:
                values[j] = np.nan
            if not np.isfinite(values[j]) or text is None:
                shown = "empty" if text is None or not str(text).strip() or str(text) == "nan" else f"'{text}'"
                raise InvalidMolecule(f"descriptor '{column}' is {shown}, not a number")
        return items, values

    def stack(self, parsed: Sequence[tuple[list, np.ndarray]]) -> tuple[np.ndarray, ...]:
        """Rows from :meth:`parse`, featurized and concatenated:
        ``(x, edge_index, edge_attr, num_atoms, num_edges, part, features)``, ``edge_index`` local
        to each row's graph, ``part`` [total_atoms], ``features`` [rows, feature_dim]."""
        k = self.parts
        flat = [item for items, _ in parsed for item in items]  # row-major: row 0's components, ...
        if isinstance(self.graph, CGRFeaturizer):
            flat = [item if isinstance(item, Reaction) else Reaction.unchanged(item) for item in flat]
        x, ei, ea, na, ne = self.graph.stack(flat)
        rows = len(parsed)
        na_rows, ne_rows = na.reshape(rows, k), ne.reshape(rows, k)
        # Each component's atoms follow the earlier components' of its row: shift its edges by them.
        offsets = (np.cumsum(na_rows, axis=1) - na_rows).reshape(-1)
        ei = ei + np.repeat(offsets, ne)
        part = np.repeat(np.tile(np.arange(k), rows), na)
        features = [np.stack([values for _, values in parsed]) if rows else np.zeros((0, self.num_descriptors), np.float32)]
        for c, kind in enumerate(self.kinds):
            if kind == "molecule" and self.molecule_features:
                features.append(compute(self.molecule_features, [items[c] for items, _ in parsed]))
        feats = np.concatenate(features, axis=1).astype(np.float32) if rows else np.zeros((0, self.feature_dim), np.float32)
        return x, ei, ea, na_rows.sum(1), ne_rows.sum(1), part, feats


def featurize_rows(featurizer: RowFeaturizer, rows: list, max_atoms: int | None = DEFAULT_MAX_ATOMS) -> tuple:
    """Featurize table rows (what a worker process returns): the arrays of
    :meth:`RowFeaturizer.stack` over the valid rows, then ``errors`` (position -> reason)."""
    parsed, kept, errors = [], [], {}
    for pos, row in enumerate(rows):
        if row is None:
            errors[pos] = "record could not be read"
            continue
        try:
            parsed.append(featurizer.parse(row, max_atoms))
            kept.append(pos)
        except InvalidMolecule as exc:
            errors[pos] = str(exc)
        except Exception as exc:  # RDKit can fail in exotic ways on odd input; keep the row, mark it
            errors[pos] = _could_not(exc)
    try:
        return (*featurizer.stack(parsed), errors)
    except Exception:
        pass
    good = []
    for pos, item in zip(kept, parsed):  # some row made RDKit fail: find it, keep the others
        try:
            featurizer.stack([item])
            good.append(item)
        except Exception as exc:
            errors[pos] = _could_not(exc)
    return (*featurizer.stack(good), errors)
