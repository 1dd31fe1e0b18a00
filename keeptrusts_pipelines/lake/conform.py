"""Turn a source's rows into canonical rows of one partition day, setting bad ones aside."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from keeptrusts_pipelines.model.days import day_bounds
from keeptrusts_pipelines.model.schema import TableSpec
from keeptrusts_pipelines.queries import query
from keeptrusts_pipelines.sources.batch import Reject, SourceBatch


@dataclass(frozen=True)
class Conformed:
    """The canonical rows of a day, sorted, and every record that could not be one."""

    rows: pa.Table
    rejects: list[Reject]


def conform(spec: TableSpec, batch: SourceBatch, day: date) -> Conformed:
    """Type, validate and order `batch` as `spec` says, in DuckDB (no per-row Python)."""
    raw = _with_all_columns(spec, batch.raw)
    start, end = day_bounds(day)
    parameters: dict[str, object] = {"day_start": start, "day_end": end}
    parameters.update({column: list(values) for column, values in spec.enums.items()})
    with duckdb.connect() as connection:
        connection.execute("SET TimeZone = 'UTC'")
        connection.register("raw", raw)
        judged = connection.sql(query(f"conform_{spec.name}"), params=parameters).to_arrow_table()

    accepted = pc.is_null(judged["reject_reason"])
    rows = judged.filter(accepted).select(spec.schema.names).cast(spec.schema)
    rejected = judged.filter(pc.invert(accepted)).sort_by("source_row")  # as the source had them
    records = batch.raw.take(rejected["source_row"]).to_pylist()
    rejects = list(batch.rejects) + [
        Reject(reason=reason, record=json.dumps(record, default=str), origin=origin or "")
        for reason, record, origin in zip(
            rejected["reject_reason"].to_pylist(),
            records,
            rejected["source_origin"].to_pylist(),
            strict=True,
        )
    ]
    return Conformed(rows=rows.combine_chunks(), rejects=rejects)


def _with_all_columns(spec: TableSpec, raw: pa.Table) -> pa.Table:
    """Add absent canonical columns as nulls, and the row number and origin the SQL needs."""
    for name in spec.schema.names:
        if name not in raw.column_names:
            raw = raw.append_column(name, pa.nulls(raw.num_rows, pa.string()))
    if "source_origin" not in raw.column_names:
        raw = raw.append_column("source_origin", pa.nulls(raw.num_rows, pa.string()))
    return raw.append_column("source_row", pa.array(range(raw.num_rows), pa.int64()))
