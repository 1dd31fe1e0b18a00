"""Data checks on a written partition: what an auditor would ask of a day of the lake."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from keeptrusts_pipelines.lake.layout import Lake
from keeptrusts_pipelines.model.days import day_bounds
from keeptrusts_pipelines.model.schema import TableSpec

SAMPLE_SIZE = 5


@dataclass(frozen=True)
class CheckOutcome:
    name: str
    passed: bool
    description: str
    metadata: dict[str, object] = field(default_factory=dict)


def check_names(spec: TableSpec) -> list[str]:
    """Stable check names, e.g. `event_ids_unique`, `timestamps_inside_partition`."""
    plural_time = "timestamps" if spec.time_column == "timestamp" else spec.time_column
    return [
        "schema_matches",
        f"{spec.id_column}s_unique",
        f"{plural_time}_inside_partition",
        "required_fields_present",
        "quarantine_share_below_threshold",
    ]


def check_partition(
    spec: TableSpec, day: date, lake: Lake, rejected: int, max_reject_share: float
) -> list[CheckOutcome]:
    """Run every check on the day's partition in `lake`; `rejected` is its quarantine count."""
    schema_name, unique_name, inside_name, required_name, share_name = check_names(spec)
    path, filesystem = lake.arrow_source(lake.partition(spec.name, day))
    found_schema = pq.read_schema(path, filesystem=filesystem)
    schema_ok = _same_columns(found_schema, spec.schema)
    outcomes = [
        CheckOutcome(
            schema_name,
            schema_ok,
            "columns and types match the canonical schema"
            if schema_ok
            else "columns or types differ from the canonical schema",
            {"expected": _describe(spec.schema), "found": _describe(found_schema)},
        )
    ]
    if not schema_ok:
        # The other checks read columns by name; they cannot be trusted on a foreign schema.
        skipped = "not run: the schema does not match"
        outcomes += [
            CheckOutcome(name, False, skipped) for name in (unique_name, inside_name, required_name)
        ]
        table = None
    else:
        table = pq.read_table(path, filesystem=filesystem)
        outcomes += [
            _unique(unique_name, table, spec.id_column),
            _inside(inside_name, table, spec.time_column, day),
            _required(required_name, table, spec.required),
        ]
    rows = (
        table.num_rows
        if table is not None
        else pq.read_metadata(path, filesystem=filesystem).num_rows
    )
    outcomes.append(_reject_share(share_name, rows, rejected, max_reject_share))
    return outcomes


def _same_columns(found: pa.Schema, expected: pa.Schema) -> bool:
    return [(f.name, f.type) for f in found] == [(f.name, f.type) for f in expected]


def _describe(schema: pa.Schema) -> str:
    return ", ".join(f"{f.name}: {f.type}" for f in schema)


def _unique(name: str, table: pa.Table, column: str) -> CheckOutcome:
    counts = pc.value_counts(table[column])
    repeated = counts.filter(pc.greater(counts.field("counts"), 1))
    duplicates = [str(v) for v in repeated.field("values").to_pylist()[:SAMPLE_SIZE]]
    return CheckOutcome(
        name,
        len(repeated) == 0,
        f"every {column} appears once"
        if not len(repeated)
        else f"{len(repeated)} {column}s repeat",
        {"duplicated_ids": len(repeated), "examples": duplicates},
    )


def _inside(name: str, table: pa.Table, column: str, day: date) -> CheckOutcome:
    start, end = day_bounds(day)
    times = table[column]
    outside_mask = pc.or_(pc.less(times, pa.scalar(start)), pc.greater_equal(times, pa.scalar(end)))
    outside = pc.sum(pc.cast(outside_mask, pa.int64())).as_py() or 0
    return CheckOutcome(
        name,
        outside == 0,
        f"every {column} lies in {day.isoformat()} (UTC)"
        if outside == 0
        else f"{outside} rows have a {column} outside {day.isoformat()} (UTC)",
        {"rows_outside": outside},
    )


def _required(name: str, table: pa.Table, required: tuple[str, ...]) -> CheckOutcome:
    missing: dict[str, int] = {}
    for column in required:
        values = table[column]
        empty = pc.is_null(values)
        if pa.types.is_string(values.type):
            empty = pc.or_(empty, pc.equal(values, ""))
        count = pc.sum(pc.cast(empty, pa.int64())).as_py() or 0
        if count:
            missing[column] = count
    return CheckOutcome(
        name,
        not missing,
        "every required field is present"
        if not missing
        else "missing values in " + ", ".join(f"{k} ({v} rows)" for k, v in missing.items()),
        {"missing_by_field": missing},
    )


def _reject_share(name: str, rows: int, rejected: int, max_share: float) -> CheckOutcome:
    total = rows + rejected
    share = rejected / total if total else 0.0
    passed = share <= max_share
    return CheckOutcome(
        name,
        passed,
        f"{rejected} of {total} records quarantined ({share:.2%}), limit {max_share:.2%}",
        {"quarantined": rejected, "share": round(share, 6), "max_share": max_share},
    )
