"""Which columns of a molecule table a run reads: its molecules and reactions, descriptor columns,
computed features and sample weights; and the featurizer that reads them.

One molecule column and nothing else is the plain case (:class:`MoleculeFeaturizer`, and the
fused fast path of ``gnn predict``); anything more is a :class:`RowFeaturizer`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gnncli.domains.molecules.reader import MoleculeFrame
from gnncli.domains.tables import is_number, numbers
from gnncli.errors import InputError, UsageError
from gnncli.domains.molecules.descriptors import MOLECULE_FEATURES
from gnncli.featurizers.molecule import InvalidMolecule, MoleculeFeaturizer, parse_smiles
from gnncli.domains.molecules.reaction import MODES
from gnncli.domains.molecules.rows import RowFeaturizer

_SAMPLE = 20


def _as_list(value) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _sample(frame, column: str) -> list[str]:
    return [v for v in frame[column].dropna().head(_SAMPLE).tolist() if isinstance(v, str) and v.strip()]


def looks_like_reactions(frame, column: str) -> bool:
    """Whether most of the first rows of ``column`` are reaction SMILES (``a>b>c``)."""
    values = _sample(frame, column)
    return bool(values) and sum(v.count(">") == 2 for v in values) >= 0.8 * len(values)


def looks_like_smiles(frame, column: str) -> bool:
    """Whether most of the first rows of ``column`` parse as molecules (numbers do not count)."""
    values = _sample(frame, column)
    if not values or is_number(values).all():
        return False
    ok = 0
    for v in values:
        try:
            parse_smiles(v)
            ok += 1
        except (InvalidMolecule, ValueError):
            pass
    return ok >= 0.8 * len(values)


def choose_inputs(mf: MoleculeFrame, options: dict, notes: list[str], saved=None, *, others: set[str] = frozenset()):
    """The featurizer for the columns ``options`` name in ``mf`` (or found there), and the set of
    those columns (which are not targets). ``saved`` is a resumed run's featurizer, which must be
    the one these options give. Unused columns that hold SMILES are reported in ``notes``."""
    smiles_cols = _as_list(options.get("smiles_col")) or ([] if options.get("reaction_col") else [mf.smiles_col])
    reaction_cols = _as_list(options.get("reaction_col"))
    descriptors = _as_list(options.get("descriptor_col"))
    features = _as_list(options.get("molecule_features"))
    mode = options.get("reaction_mode") or "reac_diff"
    for name in features:
        if name not in MOLECULE_FEATURES:
            raise UsageError(f"--molecule-features {name}: unknown (choose from {', '.join(MOLECULE_FEATURES)})")
    if mode not in MODES:
        raise UsageError(f"--reaction-mode {mode}: unknown (choose from {', '.join(MODES)})")
    named = smiles_cols + reaction_cols + descriptors
    repeated = sorted({c for c in named if named.count(c) > 1})
    if repeated:
        raise UsageError(f"column '{repeated[0]}' is named twice among --smiles-col, --reaction-col and --descriptor-col")
    mf.require(named)
    components = []
    for column in smiles_cols:
        if looks_like_reactions(mf.frame, column):
            notes.append(f"column '{column}' holds reaction SMILES (reactants>agents>products): read as reactions, "
                         "each a condensed graph of reaction (say --reaction-col to name it so)")
            components.append((column, "reaction"))
        else:
            components.append((column, "molecule"))
    components += [(column, "reaction") for column in reaction_cols]
    if "reaction" not in {k for _, k in components} and options.get("reaction_mode"):
        raise UsageError("--reaction-mode applies to reaction columns, and this input has none")
    used = set(named) | set(others)
    for column in mf.frame.columns:
        if column in used:
            continue
        if looks_like_reactions(mf.frame, column) or looks_like_smiles(mf.frame, column):
            flags = " ".join(f"--smiles-col {c}" for c in [*smiles_cols, column])
            notes.append(f"column '{column}' also holds SMILES and is not used (each row is read as "
                         f"{len(components)} molecule{'s' if len(components) > 1 else ''}); to use it too: {flags}")
    if len(components) == 1 and components[0][1] == "molecule" and not descriptors and not features:
        featurizer = MoleculeFeaturizer()
    else:
        featurizer = RowFeaturizer(tuple(k for _, k in components), tuple(c for c, _ in components), tuple(descriptors),
                                   tuple(features), mode)
    if saved is not None:
        if saved.spec != featurizer.spec:
            raise InputError(f"{mf.source}: the run's inputs were featurized as {saved.spec}; these options give {featurizer.spec}")
        featurizer = saved if not isinstance(saved, RowFeaturizer) else saved.renamed(featurizer.columns, featurizer.descriptors)
    return featurizer, set(named)


def parse_weights(mf: MoleculeFrame, column: str) -> np.ndarray:
    """The sample weights of every row: non-negative finite numbers, or an error naming the row."""
    mf.require([column])
    values, absent, bad = numbers(mf.frame[column])
    problems = ~np.isfinite(values) | (np.nan_to_num(values) < 0)  # missing, not a number, infinite or negative
    if problems.any():
        pos = int(np.flatnonzero(problems)[0])
        shown = "empty" if absent.iloc[pos] else f"'{mf.frame[column].iloc[pos]}'"
        raise InputError(f"{mf.where(pos)}: weight '{column}' is {shown}; weights are non-negative numbers")
    if not (values > 0).any():
        raise InputError(f"{mf.source}: every weight in '{column}' is 0")
    return values


def inference_featurizer(featurizer, options: dict):
    """The run's featurizer reading the columns ``gnn predict``/``embed`` options name (in order,
    replacing the run's), and the column the reader looks for first (None: found by name)."""
    smiles_cols = _as_list(options.get("smiles_col"))
    reaction_cols = _as_list(options.get("reaction_col"))
    descriptors = _as_list(options.get("descriptor_col"))
    if not isinstance(featurizer, RowFeaturizer):
        if len(smiles_cols) > 1:
            raise UsageError(f"the run reads one molecule per row, and {len(smiles_cols)} --smiles-col were given")
        if reaction_cols or descriptors:
            flag = "--reaction-col" if reaction_cols else "--descriptor-col"
            raise UsageError(f"{flag}: the run reads one molecule per row and nothing else")
        return featurizer, (smiles_cols[0] if smiles_cols else None)
    columns = list(featurizer.columns)
    for kind, given, flag in (("molecule", smiles_cols, "--smiles-col"), ("reaction", reaction_cols, "--reaction-col")):
        slots = [i for i, k in enumerate(featurizer.kinds) if k == kind]
        if given and len(given) != len(slots):
            names = ", ".join(featurizer.columns[i] for i in slots) or "none"
            raise UsageError(f"{flag}: the run reads {len(slots)} {kind} column(s) ({names}); {len(given)} given")
        for i, column in zip(slots, given):
            columns[i] = column
    if descriptors and len(descriptors) != featurizer.num_descriptors:
        raise UsageError(f"--descriptor-col: the run reads {featurizer.num_descriptors} descriptor column(s) "
                         f"({', '.join(featurizer.descriptors) or 'none'}); {len(descriptors)} given")
    renamed = featurizer.renamed(columns, descriptors or None)
    return renamed, renamed.columns[0]


def check_columns(mf: MoleculeFrame, featurizer) -> None:
    """An input for ``featurizer`` must have every column it reads."""
    columns: Sequence[str] = getattr(featurizer, "input_columns", ())
    mf.require(columns, " (name the run's columns in this input with --smiles-col, --reaction-col or --descriptor-col)")
