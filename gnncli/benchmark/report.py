"""``report.html``: one self-contained page to send to a colleague (plots embedded as PNG data).

It holds the summary table (mean ± SD per setting and metric, best in bold), a bar chart with
error bars per metric, the learning curves of every run (validation metric per epoch, one colour
per setting), and a table of every run with its settings, status, error and metrics.
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

import numpy as np

from gnncli.benchmark.summary import format_mean_sd, metric_columns


def _png(fig) -> str:
    from gnncli.train.plots import _pyplot

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    _pyplot().close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def bar_chart(summary: dict, column: str) -> str:
    """Mean ± SD of ``column`` per setting, as an embedded PNG."""
    from gnncli.train.plots import _pyplot

    entries = [e for e in summary["settings"] if e["metrics"].get(column, {}).get("mean") is not None]
    fig, ax = _pyplot().subplots(figsize=(max(4.0, 0.7 * len(entries) + 2), 3.2))
    means = [e["metrics"][column]["mean"] for e in entries]
    sds = [e["metrics"][column]["sd"] or 0.0 for e in entries]
    best = summary["best"].get(column)
    colors = ["tab:orange" if e["label"] == best else "tab:blue" for e in entries]
    ax.bar(range(len(entries)), means, yerr=sds, capsize=4, color=colors)
    ax.set_xticks(range(len(entries)), [e["label"] for e in entries], rotation=30, ha="right", fontsize=8)
    ax.set_title(column)
    return _png(fig)


def learning_curves(rows: list[dict]) -> str | None:
    """Each run's validation metric per epoch (from its ``metrics.csv``), coloured by setting."""
    import pandas as pd

    from gnncli.train.plots import _pyplot

    curves = []
    for row in rows:
        path = Path(str(row.get("run", ""))) / "metrics.csv"
        monitor = row.get("monitor")
        if row.get("status") != "ok" or not path.is_file() or not monitor:
            continue
        history = pd.read_csv(path)
        column = f"val_{monitor}"
        if column in history:
            first = history[history["member"] == history["member"].min()]
            curves.append((row["setting"], first["epoch"].to_numpy(), first[column].to_numpy(), column))
    if not curves:
        return None
    fig, ax = _pyplot().subplots(figsize=(7, 3.5))
    labels = list(dict.fromkeys(c[0] for c in curves))
    cmap = _pyplot().get_cmap("tab20", max(len(labels), 1))
    for label, epochs, values, _ in curves:
        ax.plot(epochs, values, color=cmap(labels.index(label)), alpha=0.7, lw=1)
    for i, label in enumerate(labels):
        ax.plot([], [], color=cmap(i), label=label)
    ax.set(xlabel="epoch", ylabel=curves[0][3], title="Validation metric per epoch (first member of each run)")
    ax.legend(fontsize=7, ncol=2)
    return _png(fig)


def _cell(value) -> str:
    if isinstance(value, float):
        return "-" if not np.isfinite(value) else f"{value:.4g}"
    return html.escape(str(value))


def render(rows: list[dict], summary: dict) -> str:
    """The report as an HTML string."""
    columns = metric_columns(rows)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in ["setting", "runs", "failed", *columns, "time (s)"])
    body = []
    for entry in summary["settings"]:
        cells = [html.escape(entry["label"]), str(entry["runs"]), str(entry["failed"])]
        for c in columns:
            text = html.escape(format_mean_sd(entry["metrics"][c]))
            cells.append(f"<b>{text}</b>" if summary["best"].get(c) == entry["label"] else text)
        cells.append(html.escape(format_mean_sd(entry["time_s"], 1)))
        body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    charts = "".join(f'<figure><img alt="{html.escape(c)}" src="{bar_chart(summary, c)}"></figure>'
                     for c in columns if c.startswith("test_"))
    curves = learning_curves(rows)
    run_cols = ["run_id", "status", "error", "time_s", "overrides", *columns, "run"]
    run_rows = "".join(
        f'<tr id="{html.escape(str(r["run_id"]))}">' + "".join(f"<td>{_cell(r.get(c, ''))}</td>" for c in run_cols) + "</tr>"
        for r in rows
    )
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in summary.get("notes", []))
    embedded = json.dumps(summary, default=str).replace("</", "<\\/")  # safe inside <script>
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(summary['title'])}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1200px}}table{{border-collapse:collapse;font-size:13px}}
td,th{{border:1px solid #ccc;padding:3px 6px;text-align:right}}td:first-child,th:first-child{{text-align:left}}
figure{{display:inline-block;margin:0.5em}}</style></head><body>
<h1>{html.escape(summary['title'])}</h1>
<p>{summary['runs']} runs, {summary['failed']} failed. Mean ± sample SD over seeds; best per metric in bold.
Primary metric: {html.escape(str(summary.get('primary')))}.</p>
<ul>{notes}</ul>
<h2>Summary</h2><table><tr>{head}</tr>{''.join(body)}</table>
<h2>Test metrics</h2>{charts}
<h2>Learning curves</h2>{f'<img alt="learning curves" src="{curves}">' if curves else '<p>none recorded</p>'}
<h2>Runs</h2><table><tr>{''.join(f'<th>{c}</th>' for c in run_cols)}</tr>{run_rows}</table>
<script type="application/json" id="summary">{embedded}</script>
</body></html>
"""


def write_report(path: Path, rows: list[dict], summary: dict) -> None:
    from gnncli.io import atomic_open

    with atomic_open(path, "w", encoding="utf-8") as handle:
        handle.write(render(rows, summary))
