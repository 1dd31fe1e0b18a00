"""The figures of a report: key metrics, interventions, escalations, configuration changes and
a bounded sample of events, as plain JSON-able values (the PDF's embedded summary)."""

from __future__ import annotations

from datetime import date, datetime

from keeptrusts_pipelines.exports.redaction import Redaction
from keeptrusts_pipelines.reports.scope import Scope

SAMPLE_EVENTS = 25
CONFIG_CHANGES_SHOWN = 60


def _plain(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if value is not None and not isinstance(value, bool | int | float | str):
        return float(value)  # DuckDB's decimals
    return value


def _rows(scope: Scope, name: str, **parameters: object) -> list[dict]:
    return [{k: _plain(v) for k, v in row.items()} for row in scope.named(name, **parameters)]


# Fields of the summary that name a person: pseudonymised whole, like the exports' fields.
IDENTITY_FIELDS = ("user", "assignee", "author")
# Fields the report itself writes (the window, the lake's partitions): nothing to redact.
OWN_FIELDS = ("window", "content", "partitions_read", "redaction")


def report_summary(scope: Scope, redaction: Redaction | None = None) -> dict:
    """Everything the PDF shows, computed by DuckDB from the lake: aggregates, not rows.

    With `redaction`, every text taken from the data (policy and gateway names, the sample
    events, the configuration log, the filters) is redacted and identities pseudonymised.
    """
    request = scope.request
    samples = _rows(scope, "reports/event_samples", limit=SAMPLE_EVENTS)
    changes = _rows(scope, "reports/config_changes")
    summary = {
        "window": request.window.as_dict(),
        "filters": request.filters.active(),
        "content": "raw" if request.raw_content else "redacted",
        "key_metrics": _rows(scope, "reports/key_metrics")[0],
        "violations_by_policy_severity": _rows(scope, "reports/violations_by_policy_severity"),
        "actions_by_day": _rows(scope, "reports/actions_by_day"),
        "escalations_by_status": _rows(scope, "reports/escalations_by_status"),
        "escalation_timeline": _rows(scope, "reports/escalation_timeline"),
        "config_changes": {"total": len(changes), "shown": changes[:CONFIG_CHANGES_SHOWN]},
        "event_samples": samples,
        "partitions_read": [
            {"table": p.table, "day": p.day, "sha256": p.sha256} for p in scope.partitions
        ],
    }
    if redaction is None:
        return summary
    data = {k: v for k, v in summary.items() if k not in OWN_FIELDS}
    return {**summary, **redaction.document(data, IDENTITY_FIELDS)}
