"""What a report covers, as DuckDB views: `events`, `escalations`, `config_versions` and
`partitions_read`, restricted to the request's window and filters (bound values, never text).

Reports are aggregates, so DuckDB answers them from the lake's Parquet directly: their cost
follows the number of groups, not the number of events.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from keeptrusts_pipelines.exports.reader import PartitionRead, plan_export
from keeptrusts_pipelines.lake.layout import Lake
from keeptrusts_pipelines.model.export_request import EVENT_FILTERS, ExportRequest
from keeptrusts_pipelines.model.schema import CONFIG_VERSIONS, ESCALATIONS, SEVERITIES
from keeptrusts_pipelines.queries import query

LIST_FILTERS = tuple(name for name in EVENT_FILTERS if name != "min_severity")
# DuckDB's working memory for a report's queries; beyond it, their sorts and joins spill to a
# private temporary folder, so a report's peak stays bounded however many events it covers.
MEMORY_LIMIT = "512MB"


@dataclass(frozen=True)
class Scope:
    """The DuckDB connection holding the views, and every lake partition behind them."""

    connection: duckdb.DuckDBPyConnection
    request: ExportRequest
    partitions: list[PartitionRead]
    warnings: list[str]

    def run(self, sql: str, **parameters: object) -> list[dict]:
        """The rows of a query over the views, as dicts; `$start`/`$end` are the window's."""
        values = {"start": self.request.window.start, "end": self.request.window.end}
        values.update(parameters)
        # DuckDB refuses values a query does not use: bind only those it names.
        bound = {key: value for key, value in values.items() if f"${key}" in sql}
        relation = self.connection.sql(sql, params=bound or None)
        if relation is None:  # a statement (CREATE …), run already
            return []
        columns = relation.columns
        return [dict(zip(columns, row, strict=True)) for row in relation.fetchall()]

    def named(self, name: str, **parameters: object) -> list[dict]:
        """The rows of `sql/<name>.sql`."""
        return self.run(query(name), **parameters)


def _view(
    connection: duckdb.DuckDBPyConnection,
    name: str,
    sql: str,
    files: list[Path],
    empty: pa.Schema,
    parameters: dict[str, object],
) -> None:
    """A view of `sql` over `files`, or an empty one of the same columns when there are none."""
    if files:
        relation = connection.sql(
            query(sql), params={"files": [str(f) for f in files], **parameters}
        )
        relation.create_view(name)
    else:
        connection.register(name, empty.empty_table())


def _partitions(lake: Lake, table: str, days: list) -> list[PartitionRead]:
    versions = lake.data_versions(table, days)
    return [
        PartitionRead(table, day.isoformat(), version)
        for day, version in zip(days, versions, strict=True)
    ]


@contextmanager
def open_scope(request: ExportRequest, lake: Lake, now: datetime | None = None) -> Iterator[Scope]:
    """Views over the request's window; days missing from the lake are refused, naming them."""
    now = now or datetime.now(UTC)
    plan = plan_export(request, lake, now)  # validates, and names any missing day
    closed = [date for date in request.window.days() if date < now.astimezone(UTC).date()]
    absent = set(lake.missing_days("escalations", closed))
    escalation_days = [d for d in closed if d not in absent]
    config_days = [d for d in lake.days("config_versions") if d <= request.window.last_day]
    partitions = (
        plan.partitions
        + _partitions(lake, "escalations", escalation_days)
        + _partitions(lake, "config_versions", config_days)
    )
    filters = request.filters
    severities = list(SEVERITIES[SEVERITIES.index(filters.min_severity or "info") :])
    window = {"start": request.window.start, "end": request.window.end}
    # A report scans its partitions many times: an object store's are read from copies.
    connection = duckdb.connect()
    spill = tempfile.TemporaryDirectory(prefix="kt-report-")
    try:
        connection.execute("SET TimeZone = 'UTC'")
        connection.execute("SET enable_progress_bar = false")
        connection.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
        connection.execute("SET temp_directory = $folder", {"folder": spill.name})
        connection.sql(
            query("reports/scope_events"),
            params={
                "files": [str(path) for path in lake.local_files(plan.files)],
                **window,
                **{name: list(getattr(filters, name)) for name in LIST_FILTERS},
                "severities": severities,
            },
        ).create_view("events")
        _view(
            connection,
            "escalations",
            "reports/scope_escalations",
            lake.local_files([lake.partition("escalations", d) for d in escalation_days]),
            ESCALATIONS,
            {**window, "severities": severities, "filtered": bool(filters.active())},
        )
        _view(
            connection,
            "config_versions",
            "reports/scope_config_versions",
            lake.local_files([lake.partition("config_versions", d) for d in config_days]),
            CONFIG_VERSIONS.append(pa.field("in_window", pa.bool_())),
            {**window, "gateway": list(filters.gateway)},
        )
        read = pa.table(
            {
                "table_name": [p.table for p in partitions],
                "day": [p.day for p in partitions],
                "sha256": [p.sha256 for p in partitions],
            }
        )
        connection.register("partitions_read", read)
        yield Scope(connection, request, partitions, list(plan.warnings))
    finally:
        connection.close()
        spill.cleanup()
