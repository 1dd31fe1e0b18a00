"""Where each table's daily partitions and quarantine files live under the lake root."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

PARTITION_FILE = "part-0.parquet"
QUARANTINE_FILE = "rejects.jsonl"


@dataclass(frozen=True)
class LakeLayout:
    """`<root>/<table>/date=YYYY-MM-DD/part-0.parquet`, quarantine under `<root>/quarantine/`."""

    root: Path

    def partition_dir(self, table: str, day: date) -> Path:
        return self.root / table / f"date={day.isoformat()}"

    def partition_file(self, table: str, day: date) -> Path:
        return self.partition_dir(table, day) / PARTITION_FILE

    def quarantine_file(self, table: str, day: date) -> Path:
        return self.root / "quarantine" / table / f"date={day.isoformat()}" / QUARANTINE_FILE

    def days(self, table: str) -> list[date]:
        """Days that have a partition file, oldest first."""
        found = []
        for directory in (self.root / table).glob("date=*"):
            if (directory / PARTITION_FILE).exists():
                found.append(date.fromisoformat(directory.name.removeprefix("date=")))
        return sorted(found)
