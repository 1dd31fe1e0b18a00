"""The gateway's own database (PostgreSQL or SQLite) read through SQLAlchemy, an hour at a time."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from keeptrusts_pipelines.model.days import day_bounds
from keeptrusts_pipelines.model.schema import TABLES
from keeptrusts_pipelines.queries import query
from keeptrusts_pipelines.sources.batch import SourceBatch
from keeptrusts_pipelines.sources.records import raw_table

# Bounded reads: one query per hour of the day, fetched in batches of this many rows.
CHUNK = timedelta(hours=1)
FETCH_ROWS = 5_000


def rfc3339(moment: datetime) -> str:
    """The text form SQLite databases store timestamps in: sortable, UTC, microseconds."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class DatabaseSource:
    """`postgresql+psycopg://…` or `sqlite:///…` with the tables of sql/gateway_schema.sql."""

    url: str
    engine: sa.Engine = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.engine = sa.create_engine(self.url, pool_pre_ping=True)

    def read(self, table: str, day: date) -> SourceBatch:
        statement = sa.text(query(f"gateway_{table}_between"))
        records: list[tuple[dict[str, Any], str]] = []
        origin = f"{self.engine.dialect.name}:{table}"
        start, end = day_bounds(day)
        with self.engine.connect() as connection:
            while start < end:
                stop = min(start + CHUNK, end)
                result = connection.execution_options(stream_results=True).execute(
                    statement, {"start": self._bound(start), "end": self._bound(stop)}
                )
                for partition in result.mappings().partitions(FETCH_ROWS):
                    records += [(dict(row), origin) for row in partition]
                start = stop
        return SourceBatch(raw=raw_table(TABLES[table], records))

    def _bound(self, moment: datetime) -> datetime | str:
        # SQLite has no timestamp type: its rows hold RFC 3339 text, which sorts like time.
        return rfc3339(moment) if self.engine.dialect.name == "sqlite" else moment

    def describe(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)
