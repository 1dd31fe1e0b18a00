"""The figures of a report: key metrics, framework results, policies, interventions,
escalations, the configuration log and a stratified sample of events, as plain JSON-able
values (the PDF's embedded summary)."""

from __future__ import annotations

from datetime import date, datetime

from keeptrusts_pipelines.exports.redaction import Redaction
from keeptrusts_pipelines.model.schema import ESCALATION_STATUSES, SEVERITIES, TABLES
from keeptrusts_pipelines.reports.frameworks import catalog_paths, evaluate, framework
from keeptrusts_pipelines.reports.scope import Scope

# About this many sample events (periods times deciding policies), at least one period.
SAMPLE_EVENTS = 30
# The frameworks a report summarises, in the order it shows them.
REPORTED_FRAMEWORKS = ("aesia", "aepd", "ens")


def _plain(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if value is not None and not isinstance(value, bool | int | float | str):
        return float(value)  # DuckDB's decimals
    return value


def _rows(scope: Scope, name: str, **parameters: object) -> list[dict]:
    return [{k: _plain(v) for k, v in row.items()} for row in scope.named(name, **parameters)]


def sample_periods(days: list[date], policies: int) -> list[tuple[date, date]]:
    """The window's days cut into consecutive periods (first, last day), as many as keep the
    sample near SAMPLE_EVENTS with one event per period and policy."""
    count = max(1, min(len(days), SAMPLE_EVENTS // max(1, policies)))
    starts = [days[len(days) * index // count] for index in range(count)]
    ends = [days[len(days) * (index + 1) // count - 1] for index in range(count)]
    return list(zip(starts, ends, strict=True))


def event_sample(scope: Scope) -> tuple[dict, list[dict]]:
    """How the sample is drawn, and its events: one intervention per period and deciding
    policy, the one whose event id has the smallest SHA-256."""
    policies = scope.named("reports/event_sample_policies")[0]["policies"]
    periods = sample_periods(scope.request.window.days(), policies)
    events = _rows(scope, "reports/event_samples", period_starts=[first for first, _ in periods])
    design = {
        "method": "stratified by period and deciding policy; in each stratum the intervention "
        "whose event id has the smallest SHA-256",
        "periods": [{"from": first.isoformat(), "to": last.isoformat()} for first, last in periods],
        "policies": policies,
    }
    return design, events


def framework_results(scope: Scope) -> list[dict]:
    """Each reported framework's controls as its JSON report has them, without the ids to
    cross-reference (those stay in `compliance-<name>`)."""
    available = catalog_paths()
    results = []
    for name in REPORTED_FRAMEWORKS:
        if name not in available:
            continue
        report = evaluate(framework(name), scope)
        controls = [
            {key: control[key] for key in ("id", "title", "reference", "status", "rule", "figures")}
            for control in report["controls"]
        ]
        results.append(
            {
                "framework": report["framework"],
                "title": report["title"],
                "authority": report["authority"],
                "summary": report["summary"],
                "controls": controls,
            }
        )
    return results


# Fields of the summary that name a person: pseudonymised whole, like the exports' fields.
IDENTITY_FIELDS = ("user", "assignee", "author")
# Fields the report itself writes (the window, the lake's partitions): nothing to redact.
OWN_FIELDS = (
    "window",
    "content",
    "partitions_read",
    "sources",
    "event_sample_design",
    "redaction",
)


def report_summary(scope: Scope, redaction: Redaction | None = None) -> dict:
    """Everything the PDF shows, computed by DuckDB from the lake: aggregates, not rows.

    With `redaction`, every text taken from the data (policy and gateway names, their
    descriptions, the sample events, the configuration log, the filters) is redacted and
    identities pseudonymised.
    """
    request = scope.request
    sample_design, samples = event_sample(scope)
    orders = {"severities": list(SEVERITIES), "statuses": list(ESCALATION_STATUSES)}
    summary = {
        "window": {**request.window.as_dict(), "last_day": request.window.inclusive_end()},
        "filters": request.filters.active(),
        "content": "raw" if request.raw_content else "redacted",
        "coverage": _rows(scope, "reports/scope_coverage")[0],
        "sources": _rows(scope, "reports/sources_read", tables=list(TABLES)),
        "key_metrics": _rows(scope, "reports/key_metrics")[0],
        "frameworks": framework_results(scope),
        "policies": _rows(scope, "reports/policy_descriptions"),
        "violations_by_policy_severity": _rows(
            scope, "reports/violations_by_policy_severity", **orders
        ),
        "actions_by_day": _rows(scope, "reports/actions_by_day"),
        "escalations_by_status": _rows(scope, "reports/escalations_by_status", **orders),
        "escalation_timeline": _rows(scope, "reports/escalation_timeline"),
        "config_changes": _rows(scope, "reports/config_changes"),
        "event_sample_design": sample_design,
        "event_samples": samples,
        "partitions_read": [
            {"table": p.table, "day": p.day, "sha256": p.sha256} for p in scope.partitions
        ],
    }
    if redaction is None:
        return summary
    data = {k: v for k, v in summary.items() if k not in OWN_FIELDS}
    return {**summary, **redaction.document(data, IDENTITY_FIELDS)}
