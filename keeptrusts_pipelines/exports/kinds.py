"""What each export type reads from the lake, and with which query."""

from dataclasses import dataclass

from keeptrusts_pipelines.model.export_request import Filters
from keeptrusts_pipelines.model.schema import SEVERITIES

LIST_FILTERS = ("policy", "action", "result", "gateway", "consumer_group", "team", "user", "model")


@dataclass(frozen=True)
class ExportKind:
    """An export type: its lake table, its query in `sql/`, and how the rows are streamed."""

    export_type: str
    table: str
    query: str
    parameters: tuple[str, ...]
    time_columns: tuple[str, ...]
    # Per-day kinds stream one partition at a time; the others need the whole window at once
    # (conversations can cross midnight) and stream from DuckDB's own sort.
    per_day: bool
    records_key: str

    def bind(self, filters: Filters) -> dict[str, object]:
        """The query parameters for `filters`, restricted to those this kind's query takes."""
        values: dict[str, object] = {name: list(getattr(filters, name)) for name in LIST_FILTERS}
        values["severities"] = list(SEVERITIES)
        values["min_severity_rank"] = (
            SEVERITIES.index(filters.min_severity) + 1 if filters.min_severity else 0
        )
        return {name: values[name] for name in self.parameters}


EVENT_PARAMETERS = (*LIST_FILTERS, "severities", "min_severity_rank")

KINDS = {
    "events": ExportKind(
        "events",
        "decision_events",
        "export_events",
        EVENT_PARAMETERS,
        ("timestamp",),
        True,
        "events",
    ),
    "conversations": ExportKind(
        "conversations",
        "decision_events",
        "export_conversations",
        EVENT_PARAMETERS,
        ("timestamp",),
        False,
        "conversations",
    ),
    "escalations": ExportKind(
        "escalations",
        "escalations",
        "export_escalations",
        ("severities", "min_severity_rank"),
        ("opened_at", "resolved_at"),
        True,
        "escalations",
    ),
    "config-history": ExportKind(
        "config-history",
        "config_versions",
        "export_config_history",
        ("gateway",),
        ("created_at",),
        True,
        "config_versions",
    ),
}
