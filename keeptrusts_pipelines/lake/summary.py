"""What the lake holds, counted from its files (not from any run record)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from keeptrusts_pipelines.lake.layout import Lake
from keeptrusts_pipelines.model.schema import TABLES


@dataclass(frozen=True)
class TableSummary:
    table: str
    rows: int
    days: int
    first_day: date | None
    last_day: date | None
    bytes: int
    quarantined: int


def summarize(lake: Lake) -> list[TableSummary]:
    """One line per canonical table: rows, days, span, size and quarantined records."""
    summaries = []
    for table in TABLES:
        days = lake.days(table)
        summaries.append(
            TableSummary(
                table=table,
                rows=lake.rows(table, days),
                days=len(days),
                first_day=days[0] if days else None,
                last_day=days[-1] if days else None,
                bytes=sum(lake.partition_bytes(table, day) for day in days),
                quarantined=lake.quarantined_records(table),
            )
        )
    return summaries
