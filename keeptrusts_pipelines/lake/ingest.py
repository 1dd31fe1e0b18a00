"""Bring one day of one table from a source into the lake: read, conform, write, check."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from keeptrusts_pipelines.lake.checks import CheckOutcome, check_partition
from keeptrusts_pipelines.lake.conform import conform
from keeptrusts_pipelines.lake.layout import Lake, Location
from keeptrusts_pipelines.lake.partition_writer import (
    PartitionFile,
    write_partition,
    write_quarantine,
)
from keeptrusts_pipelines.model.schema import TableSpec
from keeptrusts_pipelines.sources.batch import EventSource

DEFAULT_MAX_REJECT_SHARE = 0.01


@dataclass(frozen=True)
class IngestReport:
    day: date
    partition: PartitionFile
    quarantined: int
    quarantine_file: Location | None
    reject_reasons: dict[str, int]
    checks: list[CheckOutcome]


def ingest_day(
    source: EventSource,
    lake: Lake,
    spec: TableSpec,
    day: date,
    max_reject_share: float = DEFAULT_MAX_REJECT_SHARE,
) -> IngestReport:
    """Replace the day's partition with what the source holds now, then check it."""
    conformed = conform(spec, source.read(spec.name, day), day)
    quarantine_file = write_quarantine(lake, spec, day, conformed.rejects)
    partition = write_partition(lake, spec, day, conformed.rows)
    reasons: dict[str, int] = {}
    for reject in conformed.rejects:
        kind = reject.reason.split("'")[0].strip()
        reasons[kind] = reasons.get(kind, 0) + 1
    checks = check_partition(spec, day, lake, len(conformed.rejects), max_reject_share)
    return IngestReport(
        day=day,
        partition=partition,
        quarantined=len(conformed.rejects),
        quarantine_file=quarantine_file,
        reject_reasons=reasons,
        checks=checks,
    )
