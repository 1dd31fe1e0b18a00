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
from keeptrusts_pipelines.lake.files import sha256_of
from keeptrusts_pipelines.lake.layout import LakeLayout
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
    files: list[Path]
    partitions: list[PartitionRead]
    warnings: list[str]


def plan_export(
    request: ExportRequest, layout: LakeLayout, now: datetime, with_hashes: bool = True
) -> Plan:
    """The partitions a request reads; days missing from the lake are an error naming them.

    `with_hashes` records each partition's sha256 (its data version) for the export's lineage.
    """
    validate(request)
    kind = KINDS[request.export_type]
    today = now.astimezone(UTC).date()
    closed = [day for day in request.window.days() if day < today]
    missing = [day for day in closed if not layout.partition_file(kind.table, day).exists()]
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
    files = [layout.partition_file(kind.table, day) for day in closed]
    partitions = [
        PartitionRead(kind.table, day.isoformat(), sha256_of(path) if with_hashes else "")
        for day, path in zip(closed, files, strict=True)
    ]
    return Plan(kind, files, partitions, warnings)


def export_rows(request: ExportRequest, plan: Plan, scratch: Path) -> Iterator[pl.LazyFrame]:
    """The export's rows, in order, as lazy queries over groups of consecutive partitions.

    Each group holds about GROUP_ROWS rows, so memory depends on that, not on the window;
    within a group Polars streams in parallel. `scratch` holds any intermediate files.
    """
    if plan.kind.grouped:
        yield _grouped_conversations(request, plan, scratch)
        return
    for files in _groups(plan.files):
        yield plan.kind.select(files, request.window, request.filters)


def _groups(files: list[Path]) -> Iterator[list[Path]]:
    """Consecutive partitions of at most GROUP_ROWS rows together (a larger day alone)."""
    group: list[Path] = []
    rows = 0
    for path in files:
        day_rows = pq.read_metadata(path).num_rows
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
    plan.kind.select(plan.files, request.window, request.filters).sink_parquet(turns)
    grouped = scratch / "conversations.parquet"
    with duckdb.connect() as connection:
        connection.execute("SET TimeZone = 'UTC'")
        connection.execute(f"SET memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
        connection.execute(f"SET temp_directory = '{scratch / 'spill'}'")
        connection.execute("SET enable_progress_bar = false")
        sorted_turns = connection.sql(query("export_conversations"), params={"turns": [str(turns)]})
        sorted_turns.write_parquet(str(grouped))
    return pl.scan_parquet(grouped)


def preview(request: ExportRequest, layout: LakeLayout, now: datetime | None = None) -> int:
    """How many records the request would export: an exact count over the pruned partitions."""
    plan = plan_export(request, layout, now or datetime.now(UTC), with_hashes=False)
    selected = plan.kind.select(plan.files, request.window, request.filters)
    return int(selected.select(pl.len()).collect().item())
