"""What each export type reads from the lake, and how its rows are selected and shaped.

Selection is a Polars lazy query over the window's partitions: filter values are literals in
expressions, never text in a query language, and Polars streams the partitions in order.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from keeptrusts_pipelines.model.export_request import EVENT_FILTERS, Filters, Window
from keeptrusts_pipelines.model.schema import CONFIG_VERSIONS, SEVERITIES

# Filters matched against a column of the same name (OR within a filter, AND across them).
COLUMN_FILTERS = tuple(
    name for name in EVENT_FILTERS if name not in ("evaluated_policy", "min_severity")
)


def evaluated_key(value: str) -> tuple[str, str | None]:
    """(policy, verdict or None) of an `evaluated_policy` filter value."""
    name, _, verdict = value.partition(":")
    return name, verdict or None


def _in_window(column: str, window: Window) -> pl.Expr:
    return (pl.col(column) >= window.start) & (pl.col(column) < window.end)


def _at_least(severity: str | None) -> pl.Expr:
    if severity is None:
        return pl.lit(True)
    return pl.col("severity").is_in(list(SEVERITIES[SEVERITIES.index(severity) :]))


def event_conditions(filters: Filters) -> list[pl.Expr]:
    """The filters of decision events: `policy` is the deciding policy; `evaluated_policy`
    matches any evaluated one, by name (`pii-filter`) or name and verdict (`pii-filter:block`)."""
    conditions = [
        pl.col(name).is_in(list(getattr(filters, name)))
        for name in COLUMN_FILTERS
        if getattr(filters, name)
    ]
    if filters.evaluated_policy:
        wanted = [evaluated_key(value) for value in filters.evaluated_policy]
        names = [name for name, verdict in wanted if verdict is None]
        pairs = [f"{name}:{verdict}" for name, verdict in wanted if verdict is not None]
        policy = pl.element().struct.field("name")
        pair = pl.concat_str(policy, pl.lit(":"), pl.element().struct.field("verdict"))
        matched = pl.col("policies_evaluated").list.eval(policy.is_in(names) | pair.is_in(pairs))
        conditions.append(matched.list.any())
    conditions.append(_at_least(filters.min_severity))
    return conditions


# The lake's partitions: local paths, or object URLs read with the lake's storage options.
Files = Sequence[Path | str]
StorageOptions = dict[str, str] | None


def _events(
    files: Files, window: Window, filters: Filters, storage: StorageOptions = None
) -> pl.LazyFrame:
    return (
        pl.scan_parquet(list(files), storage_options=storage)
        .filter(_in_window("timestamp", window), *event_conditions(filters))
        .select(
            pl.col("event_id").alias("id"),
            "timestamp",
            "model",
            "policy",
            "action",
            "result",
            (
                pl.col("cost_tokens_input").fill_null(0) + pl.col("cost_tokens_output").fill_null(0)
            ).alias("tokens"),
            "latency_ms",
            "request_id",
            "environment",
            "gateway",
            "consumer_group",
            "team",
            "user",
            "provider",
            "severity",
            "policies_evaluated",
            "input",
            "output",
            "cost_tokens_input",
            "cost_tokens_output",
            "escalation_id",
            "config_version",
            "conversation_id",
            "trace_id",
            "citations",
        )
    )


def _escalations(
    files: Files, window: Window, filters: Filters, storage: StorageOptions = None
) -> pl.LazyFrame:
    return (
        pl.scan_parquet(list(files), storage_options=storage)
        .filter(_in_window("opened_at", window), _at_least(filters.min_severity))
        .select(
            pl.col("escalation_id").alias("id"),
            "opened_at",
            "severity",
            "status",
            "reason",
            "assignee",
            "resolved_at",
            "resolution_note",
            "event_id",
            "request_id",
        )
    )


_CONFIG_VERSIONS = pl.from_arrow(CONFIG_VERSIONS.empty_table()).schema


def _config_history(
    files: Files, window: Window, filters: Filters, storage: StorageOptions = None
) -> pl.LazyFrame:
    # Days written before a column existed (policy_definitions) read it as null.
    selected = pl.scan_parquet(
        list(files), schema=_CONFIG_VERSIONS, missing_columns="insert", storage_options=storage
    ).filter(_in_window("created_at", window))
    if filters.gateway:
        selected = selected.filter(pl.col("gateway").is_in(list(filters.gateway)))
    return selected.select(
        pl.col("config_version").alias("id"),
        "created_at", "gateway", "author", "summary", "policies", "policy_definitions", "sha256",
    )  # fmt: skip


@dataclass(frozen=True)
class ExportKind:
    """An export type: its lake table, how it selects rows, and its key in a JSON export."""

    export_type: str
    table: str
    select: Callable[[Files, Window, Filters, StorageOptions], pl.LazyFrame]
    records_key: str
    # Conversations are grouped across days (one can cross midnight), so their rows are
    # sorted over the whole window (by DuckDB, spilling to disk) instead of streamed per day.
    grouped: bool = False


KINDS = {
    "events": ExportKind("events", "decision_events", _events, "events"),
    "conversations": ExportKind(
        "conversations", "decision_events", _events, "conversations", grouped=True
    ),
    "escalations": ExportKind("escalations", "escalations", _escalations, "escalations"),
    "config-history": ExportKind(
        "config-history", "config_versions", _config_history, "config_versions"
    ),
}
