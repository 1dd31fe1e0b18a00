"""Which lake partitions an export reads, and its rows as one lazy, streaming query."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl
import pyarrow.parquet as pq

from keeptrusts_pipelines.errors import ExportRequestError
from keeptrusts_pipelines.exports.kinds import KINDS, ExportKind
from keeptrusts_pipelines.lake.layout import Lake, Location
from keeptrusts_pipelines.model.export_request import ExportRequest, validate
from keeptrusts_pipelines.queries import query

# Grouping conversations sorts the whole window: DuckDB does it within this memory, spilling.
DUCKDB_MEMORY_LIMIT = "1GB"
# Rows per streamed group of partitions: large enough for parallel work, small enough that
# peak memory stays flat as the window grows.
GROUP_ROWS = 200_000


@dataclass(frozen=True)
class PartitionRead:
    table: str
    day: str
    sha256: str


@dataclass(frozen=True)
class Plan:
    kind: ExportKind
    files: list[Location]
    partitions: list[PartitionRead]
    warnings: list[str]
    lake: Lake

    def select(self, files: list[Location], request: ExportRequest) -> pl.LazyFrame:
        """The request's rows of `files`, a lazy query streaming from wherever the lake is."""
        return self.kind.select(files, request.window, request.filters, self.lake.storage_options)


def plan_export(
    request: ExportRequest, lake: Lake, now: datetime, with_hashes: bool = True
) -> Plan:
    """The partitions a request reads; days missing from the lake are an error naming them.

    `with_hashes` records each partition's sha256 (its data version) for the export's lineage.
    """
    validate(request)
    kind = KINDS[request.export_type]
    today = now.astimezone(UTC).date()
    closed = [day for day in request.window.days() if day < today]
    missing = lake.missing_days(kind.table, closed)
    if missing:
        listed = ", ".join(day.isoformat() for day in missing[:10])
        more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
        raise ExportRequestError(
            "window",
            f"the lake has no {kind.table} partition for {listed}{more}; bring those days in "
            f"(kt lake ingest --from {missing[0]} --to {missing[-1]}) or choose another window",
        )
    if not closed:
        raise ExportRequestError(
            "window",
            f"{request.window.first_day} is not a closed UTC day yet; the lake holds days up to "
            "yesterday, so end the window before today",
        )
    warnings = []
    if len(closed) < len(request.window.days()):
        warnings.append(
            f"The lake holds closed UTC days only: records from {today.isoformat()}T00:00:00Z "
            "on are not in this export yet."
        )
    files = [lake.partition(kind.table, day) for day in closed]
    versions = lake.data_versions(kind.table, closed) if with_hashes else [""] * len(closed)
    partitions = [
        PartitionRead(kind.table, day.isoformat(), version)
        for day, version in zip(closed, versions, strict=True)
    ]
    return Plan(kind, files, partitions, warnings, lake)


def export_rows(request: ExportRequest, plan: Plan, scratch: Path) -> Iterator[pl.LazyFrame]:
    """The export's rows, in order, as lazy queries over groups of consecutive partitions.

    Each group holds about GROUP_ROWS rows, so memory depends on that, not on the window;
    within a group Polars streams in parallel. `scratch` holds any intermediate files.
    """
    if plan.kind.grouped:
        yield _grouped_conversations(request, plan, scratch)
        return
    for files in _groups(plan.files, plan.lake):
        yield plan.select(files, request)


def _groups(files: list[Location], lake: Lake) -> Iterator[list[Location]]:
    """Consecutive partitions of at most GROUP_ROWS rows together (a larger day alone)."""
    group: list[Location] = []
    rows = 0
    for path in files:
        source, filesystem = lake.arrow_source(path)
        day_rows = pq.read_metadata(source, filesystem=filesystem).num_rows
        if group and rows + day_rows > GROUP_ROWS:
            yield group
            group, rows = [], 0
        group.append(path)
        rows += day_rows
    if group:
        yield group


def _grouped_conversations(request: ExportRequest, plan: Plan, scratch: Path) -> pl.LazyFrame:
    """Turns sorted by conversation over the whole window: DuckDB sorts, spilling to disk."""
    turns = scratch / "turns.parquet"
    plan.select(plan.files, request).sink_parquet(turns)
    grouped = scratch / "conversations.parquet"
    with duckdb.connect() as connection:
        connection.execute("SET TimeZone = 'UTC'")
        connection.execute(f"SET memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
        connection.execute(f"SET temp_directory = '{scratch / 'spill'}'")
        connection.execute("SET enable_progress_bar = false")
        sorted_turns = connection.sql(query("export_conversations"), params={"turns": [str(turns)]})
        sorted_turns.write_parquet(str(grouped))
    return pl.scan_parquet(grouped)


def preview(request: ExportRequest, lake: Lake, now: datetime | None = None) -> int:
    """How many records the request would export: an exact count over the pruned partitions."""
    plan = plan_export(request, lake, now or datetime.now(UTC), with_hashes=False)
    selected = plan.select(plan.files, request)
    return int(selected.select(pl.len()).collect().item())
