"""The canonical tables: decision events, escalations and config versions.

Every source produces these columns and every writer reads them; the Arrow schemas here
are the one definition the lake, the SQL files and the tests are checked against.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from keeptrusts_pipelines.model.vocabulary import (
    ACTIONS,
    ESCALATION_STATUSES,
    RESULTS,
    SEVERITIES,
)

TIMESTAMP = pa.timestamp("us", tz="UTC")

POLICY_EVALUATION = pa.struct(
    [("name", pa.string()), ("verdict", pa.string()), ("severity", pa.string())]
)
CITATION = pa.struct([("asset", pa.string()), ("version", pa.int64())])
# What a configuration version says one of its policies does (`policy_definitions[]`).
POLICY_DEFINITION = pa.struct(
    [("policy", pa.string()), ("version", pa.string()), ("description", pa.string())]
)

DECISION_EVENTS = pa.schema(
    [
        pa.field("event_id", pa.string(), nullable=False),
        pa.field("request_id", pa.string(), nullable=False),
        pa.field("timestamp", TIMESTAMP, nullable=False),
        pa.field("environment", pa.string(), nullable=False),
        pa.field("gateway", pa.string(), nullable=False),
        pa.field("consumer_group", pa.string()),
        pa.field("team", pa.string()),
        pa.field("user", pa.string()),
        pa.field("model", pa.string(), nullable=False),
        pa.field("provider", pa.string(), nullable=False),
        pa.field("policy", pa.string(), nullable=False),
        pa.field("action", pa.string(), nullable=False),
        pa.field("result", pa.string(), nullable=False),
        pa.field("severity", pa.string(), nullable=False),
        pa.field("policies_evaluated", pa.list_(POLICY_EVALUATION)),
        pa.field("input", pa.string()),
        pa.field("output", pa.string()),
        pa.field("cost_tokens_input", pa.int64()),
        pa.field("cost_tokens_output", pa.int64()),
        pa.field("latency_ms", pa.int64()),
        pa.field("escalation_id", pa.string()),
        pa.field("config_version", pa.string(), nullable=False),
        pa.field("conversation_id", pa.string()),
        pa.field("trace_id", pa.string()),
        pa.field("citations", pa.list_(CITATION)),
    ]
)

ESCALATIONS = pa.schema(
    [
        pa.field("escalation_id", pa.string(), nullable=False),
        pa.field("event_id", pa.string(), nullable=False),
        pa.field("request_id", pa.string(), nullable=False),
        pa.field("opened_at", TIMESTAMP, nullable=False),
        pa.field("severity", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("status", pa.string(), nullable=False),
        pa.field("assignee", pa.string()),
        pa.field("resolved_at", TIMESTAMP),
        pa.field("resolution_note", pa.string()),
    ]
)

CONFIG_VERSIONS = pa.schema(
    [
        pa.field("config_version", pa.string(), nullable=False),
        pa.field("gateway", pa.string(), nullable=False),
        pa.field("created_at", TIMESTAMP, nullable=False),
        pa.field("author", pa.string(), nullable=False),
        pa.field("summary", pa.string(), nullable=False),
        pa.field("policies", pa.list_(pa.string())),
        pa.field("policy_definitions", pa.list_(POLICY_DEFINITION)),
        pa.field("sha256", pa.string(), nullable=False),
    ]
)


@dataclass(frozen=True)
class TableSpec:
    """How one canonical table is keyed, ordered and validated in the lake."""

    name: str
    schema: pa.Schema
    id_column: str
    time_column: str
    enums: dict[str, tuple[str, ...]]

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(field.name for field in self.schema if not field.nullable)

    @property
    def sort_keys(self) -> list[tuple[str, str]]:
        return [(self.time_column, "ascending"), (self.id_column, "ascending")]


DECISION_EVENTS_SPEC = TableSpec(
    name="decision_events",
    schema=DECISION_EVENTS,
    id_column="event_id",
    time_column="timestamp",
    enums={"action": ACTIONS, "result": RESULTS, "severity": SEVERITIES},
)
ESCALATIONS_SPEC = TableSpec(
    name="escalations",
    schema=ESCALATIONS,
    id_column="escalation_id",
    time_column="opened_at",
    enums={"severity": SEVERITIES, "status": ESCALATION_STATUSES},
)
CONFIG_VERSIONS_SPEC = TableSpec(
    name="config_versions",
    schema=CONFIG_VERSIONS,
    id_column="config_version",
    time_column="created_at",
    enums={},
)

TABLES: dict[str, TableSpec] = {
    spec.name: spec for spec in (DECISION_EVENTS_SPEC, ESCALATIONS_SPEC, CONFIG_VERSIONS_SPEC)
}
