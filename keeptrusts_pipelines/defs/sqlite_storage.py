"""Dagster's SQLite storage, whose pool slots are claimed and freed one process at a time.

Dagster's SQL event log claims a pool slot in several statements (is a slot free? queue the
step, assign it, take a free slot row) and keeps claimers apart with SELECT ... FOR UPDATE SKIP
LOCKED. SQLite has no row locks: workers claiming together can all be assigned and take the
same slot row, and more exports than the pool's limit write at once. Here every change to a
pool's slots holds one file lock beside the event logs, so the claims of all the instance's
processes (`kt`'s workers, the daemon's runs, the webserver) take turns. dagster.yaml names
this storage; its files are laid out as `storage: sqlite:` lays them out.

Dagster's storage classes have no public import path: its Internals reference documents them
under `dagster._core.storage`, the extension point dagster-postgres and dagster-mysql subclass
as this module does. It is the project's only import below `dagster`'s public names (a test
keeps it so).
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage

if TYPE_CHECKING:
    from dagster._serdes import ConfigurableClassData
    from dagster._utils.concurrency import ConcurrencyClaimStatus

SLOTS_LOCK = "pool-slots.lock"


class SqliteEventLogWithAtomicSlots(SqliteEventLogStorage):
    """SQLite's event log; a claim, a release or a new limit of a pool is one step."""

    @contextmanager
    def _slots_locked(self) -> Iterator[None]:
        # A new open file per call: flock then also keeps this process's threads apart.
        with (Path(self._base_dir) / SLOTS_LOCK).open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            yield

    def claim_concurrency_slot(
        self, concurrency_key: str, run_id: str, step_key: str, priority: int | None = None
    ) -> ConcurrencyClaimStatus:
        with self._slots_locked():
            return super().claim_concurrency_slot(concurrency_key, run_id, step_key, priority)

    def free_concurrency_slots_for_run(self, run_id: str) -> None:
        with self._slots_locked():
            super().free_concurrency_slots_for_run(run_id)

    def free_concurrency_slot_for_step(self, run_id: str, step_key: str) -> None:
        with self._slots_locked():
            super().free_concurrency_slot_for_step(run_id, step_key)

    def initialize_concurrency_limit_to_default(self, concurrency_key: str) -> bool:
        # Workers starting together on a new instance each allocate the default slots.
        with self._slots_locked():
            return super().initialize_concurrency_limit_to_default(concurrency_key)

    def set_concurrency_slots(self, concurrency_key: str, num: int) -> None:
        with self._slots_locked():
            super().set_concurrency_slots(concurrency_key, num)


class SqliteStorageWithAtomicSlots(DagsterSqliteStorage):
    """`storage: sqlite:` with its event log claiming pool slots atomically."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None) -> None:
        super().__init__(base_dir, inst_data)
        events = self._event_log_storage
        self._event_log_storage = SqliteEventLogWithAtomicSlots(events._base_dir)

    @classmethod
    def from_config_value(  # ty: ignore[invalid-method-override]
        cls, inst_data: ConfigurableClassData, config_value: dict
    ) -> SqliteStorageWithAtomicSlots:
        # Dagster's own names its class here, not `cls`.
        return cls.from_local(inst_data=inst_data, **config_value)
