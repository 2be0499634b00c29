"""The lectures' comparisons as named suites (``gnn benchmark --suite NAME``).

A suite is a list of labelled settings for one kind of input, with the training defaults it
needs and a function that reads the summary in one line (does the claim hold here?). A kind of
input registers its own suites from its module with :func:`register_suite`; the molecule
suites are below.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gnncli.benchmark.grid import Setting
from gnncli.registry import Registry

SUITES = Registry("suite")


@dataclass(frozen=True)
class Suite:
    """A named comparison: ``settings`` on ``kind`` input, read by ``read(summary) -> str``.

    ``defaults`` are training options the suite sets unless the command line does (e.g. the
    split); ``claim`` is what the source says, quoted in the reading."""

    name: str
    kind: str
    description: str
    settings: tuple[Setting, ...]
    read: Callable[[dict], str]
    claim: str = ""
    defaults: dict[str, Any] = field(default_factory=dict)


def register_suite(suite: Suite) -> Suite:
    SUITES.register(suite.name, suite, kind=suite.kind)
    return suite


# ------------------------------------------------------------------------------- reading helpers


def stat(summary: dict, label: str, column: str | None = None) -> dict:
    column = column or summary["primary"]
    entry = next(e for e in summary["settings"] if e["label"] == label)
    return entry["metrics"].get(column, {"mean": None, "sd": None, "n": 0})


def higher_is_better(summary: dict) -> bool:
    return bool(summary["directions"].get(summary["primary"].split("_", 1)[1], False))


def compare(summary: dict, a: str, b: str) -> tuple[str, float | None]:
    """``"better"``, ``"worse"`` or ``"within noise"`` for setting ``b`` against ``a`` on the primary
    metric (a difference smaller than the larger of the two SDs is noise), and the difference."""
    sa, sb = stat(summary, a), stat(summary, b)
    if sa["mean"] is None or sb["mean"] is None:
        return "not measured", None
    diff = sb["mean"] - sa["mean"]
    noise = max(sa["sd"] or 0.0, sb["sd"] or 0.0)
    if abs(diff) <= noise:
        return "within noise", diff
    return ("better" if (diff > 0) == higher_is_better(summary) else "worse"), diff


def _fmt(summary: dict, label: str) -> str:
    s = stat(summary, label)
    return "-" if s["mean"] is None else f"{s['mean']:.3f}"


def _metric(summary: dict) -> str:
    return f"test {summary['primary'].removeprefix('test_')}"


# ------------------------------------------------------------------------------- molecule suites

_VN_BASES = (("GCN", "gcn"), ("GIN", "gin"), ("D-MPNN", "dmpnn"))


def _read_vn(summary: dict) -> str:
    parts, helps = [], 0
    for label, _ in _VN_BASES:
        verdict, diff = compare(summary, label, f"{label}+VN")
        helps += verdict == "better"
        sign = "" if diff is None else f" ({diff:+.3f}, {verdict})"
        parts.append(f"{label} {_fmt(summary, label)} -> {_fmt(summary, label + '+VN')}{sign}")
    return (f"virtual node, {_metric(summary)}: " + "; ".join(parts)
            + f". It helps {helps} of {len(_VN_BASES)} models beyond noise (the lecture's OGB table: GIN 0.756 -> GIN+VN 0.771 ROC-AUC on ogbg-molhiv).")


register_suite(Suite(
    "molecules-vn", "molecules", "GCN, GIN and D-MPNN, each with and without a virtual node",
    tuple(s for label, name in _VN_BASES for s in (Setting(label, name), Setting(f"{label}+VN", name, {"virtual_node": True}))),
    _read_vn, claim="a virtual node improves GNNs on molecules (OGB: GIN 0.756 -> GIN+VN 0.771 on ogbg-molhiv)",
))


def _read_transformer(summary: dict) -> str:
    verdict, diff = compare(summary, "GPS", "MPNN+VN")
    plain, _ = compare(summary, "MPNN", "MPNN+VN")
    matched = "matches" if verdict in ("within noise", "better") else "does not match"
    return (f"{_metric(summary)}: MPNN {_fmt(summary, 'MPNN')}, MPNN+VN {_fmt(summary, 'MPNN+VN')}, "
            f"graph transformer (GPS) {_fmt(summary, 'GPS')}: MPNN+VN {matched} the transformer here "
            f"({verdict} against it), and the virtual node is {plain} against the plain MPNN.")


register_suite(Suite(
    "mpnn-vs-transformer", "molecules", "message passing (GINE) with and without a virtual node against a GraphGPS transformer",
    (Setting("MPNN", "gine"), Setting("MPNN+VN", "gine", {"virtual_node": True}), Setting("GPS", "gps")),
    _read_transformer, claim="MPNN with a virtual node matches graph transformers (Cai et al. 2023)",
))

_AGGREGATIONS = (("sum", "sum"), ("mean", "mean"), ("max", "max"), ("VPA", "vpa"))


def _read_aggregation(summary: dict) -> str:
    labels = [f"GIN-{a}" for a, _ in _AGGREGATIONS]
    scored = [(stat(summary, lab)["mean"], lab) for lab in labels if stat(summary, lab)["mean"] is not None]
    ranked = [lab for _, lab in sorted(scored, reverse=higher_is_better(summary))]
    verdicts = {lab: compare(summary, lab, "GIN-VPA")[0] for lab in labels if lab != "GIN-VPA"}
    holds = all(v in ("better", "within noise") for v in verdicts.values())
    return (f"{_metric(summary)}, best first: " + ", ".join(f"{lab} {_fmt(summary, lab)}" for lab in ranked)
            + f". VPA against " + ", ".join(f"{lab.removeprefix('GIN-')}: {v}" for lab, v in verdicts.items())
            + f"; the GNN-VPA claim (VPA at least as good as the others) {'holds' if holds else 'does not hold'} here.")


register_suite(Suite(
    "aggregation", "molecules", "GIN with sum, mean, max and variance-preserving (1/sqrt(N)) aggregation, in its layers and its readout",
    tuple(Setting(f"GIN-{label}", "gin", {"aggr": aggr, "readout": aggr}) for label, aggr in _AGGREGATIONS),
    _read_aggregation, claim="variance-preserving aggregation keeps GIN's expressivity and trains better (GNN-VPA, Schneckenreiter et al. 2024)",
))


# ------------------------------------------------------------------------------- other kinds


def _read_proteins(summary: dict) -> str:
    gain, _ = compare(summary, "logistic regression", "EGNN")
    vn, _ = compare(summary, "EGNN", "VN-EGNN")
    gcn, _ = compare(summary, "GCN", "EGNN")
    return (f"{_metric(summary)}: " + ", ".join(f"{lab} {_fmt(summary, lab)}" for lab in
                                               ("logistic regression", "GCN", "EGNN", "VN-EGNN"))
            + f". EGNN against the per-residue baseline: {gain}; against GCN: {gcn}; virtual nodes (VN-EGNN) against EGNN: {vn}.")


register_suite(Suite(
    "proteins", "proteins", "binding sites: EGNN, VN-EGNN, GCN and per-residue logistic regression on the same features",
    (Setting("logistic regression", "logreg"), Setting("GCN", "gcn"), Setting("EGNN", "egnn"),
     Setting("VN-EGNN", "egnn", {"virtual_node": True})),
    _read_proteins, claim="equivariant GNNs find binding sites beyond per-residue features, and virtual nodes help (VN-EGNN)",
    defaults={"task": "binding-site"},
))


def _read_ratings(summary: dict) -> str:
    labels = ("linear", "FCNN", "graph filter", "GNN", "GC-MC", "kernel-ae (default)")

    def gap(label: str) -> str:
        test, train = stat(summary, label, "test_rmse"), stat(summary, label, "train_rmse")
        if test["mean"] is None or train["mean"] is None:
            return f"{label} -"
        return f"{label} {train['mean']:.3f}/{test['mean']:.3f}"

    overfit = [lab for lab in labels if (stat(summary, lab, "test_rmse")["mean"] or 0) - (stat(summary, lab, "train_rmse")["mean"] or 0) > 0.05]
    gnn_vs_filter, _ = compare(summary, "graph filter", "GNN")
    default_vs_gcmc, _ = compare(summary, "GC-MC", "kernel-ae (default)")
    return ("train/test RMSE: " + ", ".join(gap(lab) for lab in labels)
            + f". Overfitting (test - train > 0.05): {', '.join(overfit) or 'none'}; the GNN against the graph filter: {gnn_vs_filter}"
            + f"; gnn train's default (kernel-ae) against GC-MC: {default_vs_gcmc}.")


register_suite(Suite(
    "ratings", "ratings", "linear regression, fully connected, graph filter, GNN and GC-MC on ratings (train and test RMSE), beside gnn train's default (kernel-ae)",
    (Setting("linear", "linear"), Setting("FCNN", "fcnn"), Setting("graph filter", "graph-filter"), Setting("GNN", "gnn"),
     Setting("GC-MC", "gcmc"), Setting("kernel-ae (default)", "kernel-ae")),
    _read_ratings, claim="linear and fully connected models overfit, graph filters and GNNs generalize, the GNN beats the filter",
))


def _read_wireless(summary: dict) -> str:
    def line(label: str) -> str:
        sat, rate = stat(summary, label, "test_satisfied"), stat(summary, label, "test_sum_rate")
        if sat["mean"] is None:
            return f"{label} -"
        return f"{label} {rate['mean']:.1f} sum rate, {100 * sat['mean']:.1f}% meeting f_min"

    labels = [e["label"] for e in summary["settings"]]
    sa = stat(summary, "state-augmented", "test_satisfied")["mean"]
    others = [stat(summary, lab, "test_satisfied")["mean"] for lab in labels if lab != "state-augmented"]
    best = sa is not None and all(o is None or sa >= o for o in others)
    return ("; ".join(line(lab) for lab in labels)
            + f". The state-augmented policy {'meets the minimum rate for the most users' if best else 'does not lead on users meeting f_min'} here.")


register_suite(Suite(
    "wireless", "wireless", "power allocation: state-augmented and primal-dual GNN policies beside full power, random power and WMMSE",
    (Setting("state-augmented", "leconv", {"task": "state-augmented"}), Setting("primal-dual", "leconv", {"task": "primal-dual"})),
    _read_wireless, claim="state augmentation meets per-user minimum rates that a primal-dual policy alone does not",
))
