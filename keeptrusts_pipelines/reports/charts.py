"""Charts of a report, drawn by matplotlib as SVG with fixed ids and no dates, so the same
figures always give the same bytes."""

from __future__ import annotations

import io
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")  # no display: charts are files
import matplotlib.pyplot as plt

from keeptrusts_pipelines.model.schema import SEVERITIES

ACTION_COLOURS = {
    "allow": "#9bb7d4",
    "redact": "#f2c14e",
    "block": "#d1495b",
    "escalate": "#6a4c93",
}
# One colour per severity, in SEVERITIES' order (info … critical), light to dark.
SEVERITY_COLOURS = dict(
    zip(SEVERITIES, ("#c9d6df", "#9bb7d4", "#f2c14e", "#f08a4b", "#d1495b"), strict=True)
)


def _svg(figure: plt.Figure) -> str:
    # Text stays text (the PDF draws it with its own fonts): smaller, faster, selectable.
    with matplotlib.rc_context({"svg.hashsalt": "keeptrusts", "svg.fonttype": "none"}):
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg") :]  # inline in HTML: no XML prolog or doctype


def actions_per_day(rows: list[dict]) -> str | None:
    """Stacked areas: decisions per day by action (one shape per action, however many days)."""
    if not rows:
        return None
    days = sorted({row["day"] for row in rows})
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for row in rows:
        counts[row["action"]][row["day"]] = row["events"]
    figure, axes = plt.subplots(figsize=(7.2, 2.6))
    axes.stackplot(
        range(len(days)),
        *[[counts[action].get(day, 0) for day in days] for action in ACTION_COLOURS],
        labels=list(ACTION_COLOURS),
        colors=list(ACTION_COLOURS.values()),
        step="mid",
    )
    step = max(1, len(days) // 8)
    axes.set_xticks(range(0, len(days), step), [days[i] for i in range(0, len(days), step)])
    axes.set_xlim(-0.5, len(days) - 0.5)
    axes.tick_params(axis="x", labelsize=7, rotation=30)
    axes.tick_params(axis="y", labelsize=7)
    axes.set_ylabel("decisions", fontsize=8)
    axes.legend(fontsize=7, ncols=4, frameon=False, loc="upper left", bbox_to_anchor=(0, 1.18))
    axes.spines[["top", "right"]].set_visible(False)
    return _svg(figure)


def interventions_by_policy(rows: list[dict]) -> str | None:
    """Horizontal stacked bars: interventions per deciding policy by severity."""
    if not rows:
        return None
    policies = sorted({row["policy"] for row in rows})
    totals: dict[tuple[str, str], int] = defaultdict(int)
    for row in rows:
        totals[(row["policy"], row["severity"])] += row["events"]
    figure, axes = plt.subplots(figsize=(7.2, 0.45 * len(policies) + 0.9))
    left = [0] * len(policies)
    for severity, colour in SEVERITY_COLOURS.items():
        values = [totals[(policy, severity)] for policy in policies]
        axes.barh(policies, values, left=left, color=colour, label=severity)
        left = [a + b for a, b in zip(left, values, strict=True)]
    axes.invert_yaxis()  # policies read top-down in the table's order
    axes.tick_params(labelsize=7)
    axes.set_xlabel("interventions", fontsize=8)
    axes.legend(fontsize=7, ncols=5, frameon=False, loc="lower left", bbox_to_anchor=(0, 1.0))
    axes.spines[["top", "right"]].set_visible(False)
    return _svg(figure)


def escalation_timeline(rows: list[dict]) -> str | None:
    """Lines: escalations opened and closed per day."""
    if not rows:
        return None
    days = [row["day"] for row in rows]
    figure, axes = plt.subplots(figsize=(7.2, 2.3))
    axes.plot(range(len(days)), [r["opened"] for r in rows], color="#6a4c93", label="opened")
    axes.plot(range(len(days)), [r["closed"] for r in rows], color="#2a9d8f", label="closed")
    step = max(1, len(days) // 8)
    axes.set_xticks(range(0, len(days), step), [days[i] for i in range(0, len(days), step)])
    axes.tick_params(axis="x", labelsize=7, rotation=30)
    axes.tick_params(axis="y", labelsize=7)
    axes.set_ylabel("escalations", fontsize=8)
    # Above the plot: inside it, the legend hides the lines wherever they run high.
    axes.legend(fontsize=7, ncols=2, frameon=False, loc="lower left", bbox_to_anchor=(0, 1.0))
    axes.spines[["top", "right"]].set_visible(False)
    return _svg(figure)
