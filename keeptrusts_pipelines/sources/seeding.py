"""Put canonical rows where a gateway would: landing files or the gateway database.

Used to try the file, S3 and database sources with demo traffic, and by the tests that
prove every source yields the same lake.
"""

from __future__ import annotations

import gzip
import io
from datetime import date, datetime
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa

from keeptrusts_pipelines.queries import query
from keeptrusts_pipelines.sources.database import rfc3339
from keeptrusts_pipelines.sources.landing import day_folder
from keeptrusts_pipelines.sources.records import record_json

LANDING_FORMATS = ("jsonl", "jsonl.gz", "parquet")


def landing_file(table: str, day: date, rows: pa.Table, file_format: str) -> tuple[str, bytes]:
    """The name and bytes of one landing file holding `rows`, as the gateway would ship it."""
    name = f"{day_folder(table, day)}/{table}-{day.isoformat()}.{file_format}"
    if file_format == "parquet":
        buffer = io.BytesIO()
        pq.write_table(rows, buffer)
        return name, buffer.getvalue()
    lines = "".join(record_json(record) + "\n" for record in rows.to_pylist()).encode()
    if file_format == "jsonl.gz":
        return name, gzip.compress(lines, mtime=0)
    if file_format == "jsonl":
        return name, lines
    raise ValueError(f"landing format {file_format!r}: use one of {', '.join(LANDING_FORMATS)}")


def create_gateway_schema(engine: sa.Engine) -> None:
    """Create the gateway tables of `sql/gateway_schema.sql` if they are missing."""
    statements = [s.strip() for s in query("gateway_schema").split(";")]
    with engine.begin() as connection:
        for statement in statements:
            lines = [line for line in statement.splitlines() if not line.startswith("--")]
            if any(line.strip() for line in lines):
                connection.exec_driver_sql("\n".join(lines))


def load_gateway_table(engine: sa.Engine, table: str, rows: pa.Table) -> int:
    """Insert canonical rows into a gateway table; nested values go in as JSON text."""
    target = sa.table(table, *(sa.column(name) for name in rows.column_names))
    sqlite = engine.dialect.name == "sqlite"
    records = [_database_record(record, sqlite) for record in rows.to_pylist()]
    with engine.begin() as connection:
        for start in range(0, len(records), 5_000):
            connection.execute(target.insert(), records[start : start + 5_000])
    return len(records)


def _database_record(record: dict[str, Any], sqlite: bool) -> dict[str, Any]:
    converted: dict[str, Any] = {}
    for name, value in record.items():
        if sqlite and isinstance(value, datetime):
            value = rfc3339(value)
        elif isinstance(value, list):
            value = record_json(value)
        converted[name] = value
    return converted
