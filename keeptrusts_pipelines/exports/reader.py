"""Which lake partitions an export reads, and its rows as one lazy, streaming query."""

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from keeptrusts_pipelines.errors import ExportRequestError
from keeptrusts_pipelines.exports.kinds import KINDS, ExportKind
from keeptrusts_pipelines.lake.files import sha256_of
from keeptrusts_pipelines.lake.layout import LakeLayout
from keeptrusts_pipelines.model.export_request import ExportRequest, validate
from keeptrusts_pipelines.queries import query

# Grouping conversations sorts the whole window: DuckDB does it within this memory, spilling.
DUCKDB_MEMORY_LIMIT = "1GB"


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


def plan_export(request: ExportRequest, layout: LakeLayout, now: datetime) -> Plan:
    """The partitions a request reads; days missing from the lake are an error naming them."""
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
        PartitionRead(kind.table, day.isoformat(), sha256_of(path))
        for day, path in zip(closed, files, strict=True)
    ]
    return Plan(kind, files, partitions, warnings)


def export_rows(request: ExportRequest, plan: Plan, scratch: Path) -> pl.LazyFrame:
    """The export's rows, in order, as a lazy query; `scratch` holds any intermediate files."""
    selected = plan.kind.select(plan.files, request.window, request.filters)
    if not plan.kind.grouped:
        return selected  # partitions are sorted by (time, id) and scanned in day order
    turns = scratch / "turns.parquet"
    selected.sink_parquet(turns)
    grouped = scratch / "conversations.parquet"
    with duckdb.connect() as connection:
        connection.execute("SET TimeZone = 'UTC'")
        connection.execute(f"SET memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
        connection.execute(f"SET temp_directory = '{scratch / 'spill'}'")
        connection.execute("SET enable_progress_bar = false")
        connection.sql(query("export_conversations"), params={"turns": [str(turns)]}).write_parquet(
            str(grouped)
        )
    return pl.scan_parquet(grouped)


def preview(request: ExportRequest, layout: LakeLayout, now: datetime | None = None) -> int:
    """How many records the request would export: an exact count over the pruned partitions."""
    plan = plan_export(request, layout, now or datetime.now(UTC))
    selected = plan.kind.select(plan.files, request.window, request.filters)
    return int(selected.select(pl.len()).collect().item())
