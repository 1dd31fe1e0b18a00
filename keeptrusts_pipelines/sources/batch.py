"""What a source hands to the lake for one table and one day."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

import pyarrow as pa


@dataclass(frozen=True)
class Reject:
    """A record set aside before it could be read as a row, with the reason and where it was."""

    reason: str
    record: str
    origin: str


@dataclass(frozen=True)
class SourceBatch:
    """Rows as the source holds them (any column types), plus records it could not parse."""

    raw: pa.Table
    rejects: list[Reject] = field(default_factory=list)


class EventSource(Protocol):
    """Anything that can hand over one table's records for one UTC day."""

    def read(self, table: str, day: date) -> SourceBatch: ...

    def describe(self) -> str:
        """Where the records come from, with any password hidden."""
        ...
