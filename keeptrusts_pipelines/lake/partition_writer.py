"""Write one day of a canonical table, and its quarantine, into the lake."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from keeptrusts_pipelines.lake.layout import Lake, Location
from keeptrusts_pipelines.model.schema import TableSpec
from keeptrusts_pipelines.sources.batch import Reject

# Fixed writer settings: the same rows always give the same bytes, hence the same hash.
# Readers decode a row group at a time, so its size, not the day's, bounds the memory of
# everything that reads the lake: 16k events decode to about 25 MB. (Groups of 64k made an
# export of a busy quarter peak ~130 MB above a quiet one's, for files 0.65% smaller.)
ROW_GROUP_SIZE = 16 * 1024
PARQUET_OPTIONS = {
    "compression": "zstd",
    "compression_level": 1,  # level 3 costs ~40% more time for the same size here
    "row_group_size": ROW_GROUP_SIZE,
}
# Min/max statistics serve pruning by time, id and filter values; on free text (prompts,
# outputs) they cost more to write than they ever save.
FREE_TEXT = {"input", "output", "reason", "resolution_note", "summary"}


def dictionary_columns(spec: TableSpec) -> list[str]:
    """Columns worth dictionary-encoding: all but identifiers, which never repeat."""
    return [
        field.name
        for field in spec.schema
        if not field.name.endswith("_id") and field.name != "sha256"
    ]


def statistics_columns(spec: TableSpec) -> list[str]:
    return [
        field.name
        for field in spec.schema
        if field.name not in FREE_TEXT and not pa.types.is_list(field.type)
    ]


@dataclass(frozen=True)
class PartitionFile:
    """A written partition: where it is and what it holds. Its sha256 is its data version."""

    path: Location
    rows: int
    bytes: int
    sha256: str


def write_partition(lake: Lake, spec: TableSpec, day: date, rows: pa.Table) -> PartitionFile:
    """Replace the day's partition with `rows` (already canonical and sorted). The bytes are
    made by this writer on either kind of lake, so a day's data version does not depend on it."""
    table = rows.cast(spec.schema).combine_chunks()
    options = {
        **PARQUET_OPTIONS,
        "write_statistics": statistics_columns(spec),
        "use_dictionary": dictionary_columns(spec),
    }
    written = lake.write_partition(
        spec.name, day, lambda path: pq.write_table(table, path, **options)
    )
    return PartitionFile(
        path=written.location, rows=table.num_rows, bytes=written.bytes, sha256=written.sha256
    )


def write_quarantine(
    lake: Lake, spec: TableSpec, day: date, rejects: list[Reject]
) -> Location | None:
    """Replace the day's quarantine file with `rejects`; remove it when there are none."""
    if not rejects:
        return lake.write_quarantine(spec.name, day, None)

    def write(path: Path) -> None:
        with path.open("w", encoding="utf-8") as handle:
            for reject in rejects:
                line = {"reason": reject.reason, "origin": reject.origin, "record": reject.record}
                handle.write(json.dumps(line, ensure_ascii=False) + "\n")

    return lake.write_quarantine(spec.name, day, write)
