"""The export runs of the local instance, read straight from its SQLite run storage.

`kt export status` and `kt export list` only read the run history, and opening the instance
through Dagster costs about 3 s of imports (Dagster, its storage, alembic) before a single row
is read. Where the instance keeps its runs in SQLite under DAGSTER_HOME (the project's
dagster.yaml), the two tables a run's status and tags live in (`runs`, `run_tags`, Dagster's
run storage schema) are read here, read-only, with no Dagster import. Anywhere else —
PostgreSQL storage, a deployment's own dagster.yaml, an instance with no runs yet —
`open_history` gives None and the caller reads through Dagster.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path

from keeptrusts_pipelines.defs.instance_templates import SQLITE_TEMPLATE
from keeptrusts_pipelines.model.export_runs import EXPORT_ID_TAG, ExportRun
from keeptrusts_pipelines.settings import dagster_home

EXPORT_JOB = "export_job"
# Storage sections that keep SQLite files under DAGSTER_HOME: Dagster's own, and the project's
# (defs/sqlite_storage.py, the same files).
SQLITE_BASE_DIR = {"base_dir": {"env": "DAGSTER_HOME"}}
SQLITE_STORAGES = (
    {"sqlite": SQLITE_BASE_DIR},
    {
        "custom": {
            "module": "keeptrusts_pipelines.defs.sqlite_storage",
            "class": "SqliteStorageWithAtomicSlots",
            "config": SQLITE_BASE_DIR,
        }
    },
)
# Set, the instance keeps its runs in PostgreSQL (defs/instance.py installs that dagster.yaml).
PG_URL_VARIABLE = "KEEPTRUSTS_DAGSTER_PG_URL"
# A writer holds SQLite's lock for milliseconds; a reader waits rather than fail.
BUSY_TIMEOUT_SECONDS = 30
# Dagster's columns and tables the history needs; another schema is read through Dagster.
NEEDED = {"runs": {"id", "run_id", "pipeline_name", "status", "create_timestamp"}}
NEEDED["runs"] |= {"start_time", "end_time"}
NEEDED["run_tags"] = {"run_id", "key", "value"}
# Tags Dagster writes to run_tags only to find runs by (a run's pools): not the run's own.
STORAGE_ONLY_TAGS = ".dagster/"


def runs_database() -> Path | None:
    """The SQLite file the local instance keeps its runs in, or None when it keeps them
    elsewhere or has none yet."""
    if os.environ.get(PG_URL_VARIABLE):
        return None
    home = Path(os.environ.get("DAGSTER_HOME") or dagster_home())
    database = home / "history" / "runs.db"
    if not database.is_file() or not _stores_in_sqlite(home / "dagster.yaml"):
        return None
    return database


def _stores_in_sqlite(installed: Path) -> bool:
    """Whether the instance's dagster.yaml keeps its storage in SQLite files."""
    try:
        text = installed.read_bytes()
        if text == SQLITE_TEMPLATE.read_bytes():
            return True  # the file kt installs, as it is in most homes: no YAML to parse
    except OSError:
        return False
    import yaml  # a deployment's own file

    try:
        config = yaml.safe_load(text) or {}
    except yaml.YAMLError:
        return False
    return isinstance(config, dict) and config.get("storage") in SQLITE_STORAGES


def open_history() -> SqliteRunHistory | None:
    """The local instance's run history when it can be read without Dagster, else None."""
    database = runs_database()
    if database is None:
        return None
    history = SqliteRunHistory(database)
    return history if history.readable() else None


def _seconds(moment: str | None) -> float | None:
    """A `create_timestamp` as Dagster stores it (naive UTC text) in seconds since the epoch."""
    if not moment:
        return None
    return datetime.fromisoformat(moment).replace(tzinfo=UTC).timestamp()


class SqliteRunHistory:
    """Runs of export_job, newest first, as `dg.DagsterInstance.get_run_records` gives them."""

    def __init__(self, database: Path) -> None:
        self.database = database

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        uri = f"{self.database.as_uri()}?mode=ro"
        with closing(sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_SECONDS)) as connection:
            yield connection

    def readable(self) -> bool:
        """Whether the file holds the tables and columns this reads."""
        try:
            with self._connect() as connection:
                for table, columns in NEEDED.items():
                    found = {row[1] for row in connection.execute(f"PRAGMA table_info({table})")}
                    if not columns <= found:
                        return False
        except sqlite3.Error:
            return False
        return True

    def _runs(self, where: str, parameters: Sequence[object], limit: int) -> list[ExportRun]:
        with self._connect() as connection:
            rows = connection.execute(
                "SELECT run_id, status, create_timestamp, start_time, end_time FROM runs "
                f"WHERE pipeline_name = ? AND {where} ORDER BY id DESC LIMIT ?",
                [EXPORT_JOB, *parameters, limit],
            ).fetchall()
            tags: dict[str, dict[str, str]] = {row[0]: {} for row in rows}
            ids = list(tags)
            for start in range(0, len(ids), 500):  # SQLite's bound-parameter limit
                batch = ids[start : start + 500]
                marks = ",".join("?" * len(batch))
                for run_id, key, value in connection.execute(
                    f"SELECT run_id, key, value FROM run_tags WHERE run_id IN ({marks})", batch
                ):
                    if not key.startswith(STORAGE_ONLY_TAGS):
                        tags[run_id][key] = value
        return [
            ExportRun(
                run_id=run_id,
                status=status,
                tags=tags[run_id],
                created=_seconds(created),
                started=started,
                ended=ended,
            )
            for run_id, status, created, started, ended in rows
        ]

    def find(self, export_id: str) -> ExportRun | None:
        found = self._runs(
            "run_id IN (SELECT run_id FROM run_tags WHERE key = ? AND value = ?)",
            [EXPORT_ID_TAG, export_id],
            1,
        )
        return found[0] if found else None

    def recent(self, limit: int) -> list[ExportRun]:
        return self._runs("1 = 1", [], limit)

    def in_flight(self, statuses: Sequence[str], limit: int) -> list[ExportRun]:
        marks = ",".join("?" * len(statuses))
        return self._runs(f"status IN ({marks})", list(statuses), limit)
