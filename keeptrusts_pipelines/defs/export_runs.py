"""Export runs on the local Dagster instance under KEEPTRUSTS_HOME, without a daemon.

Reading the history (`kt export status`, `list`) goes straight to the instance's SQLite run
storage where it keeps its runs there (defs/run_history.py), so Dagster is imported only to
write: to submit a run, to execute one in this process, or to fail a run whose worker died.

`submit` records the run in the instance (so the UI's run history shows it) and hands it to a
detached worker process; workers take one of a fixed number of slots, as the daemon's run queue
would, so many submissions at once run a few at a time. Run `python -m` on this module with a
run id to be that worker. `execute` runs an export in this process instead, for a caller that
waits for it anyway (`kt export create --wait`): no second Python start-up, and only the export
job's definitions are loaded.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from keeptrusts_pipelines.errors import KeeptrustsError
from keeptrusts_pipelines.exports.folder import ExportFolder
from keeptrusts_pipelines.model.export_runs import EXPORT_ID_TAG, ExportRun, launcher_tags

if TYPE_CHECKING:
    import dagster as dg

    from keeptrusts_pipelines.custody.ledger import CustodyLedger

# As dagster.yaml's run queue: at most this many exports run at once.
MAX_CONCURRENT_RUNS = 4
SLOT_POLL_SECONDS = 0.5
IN_FLIGHT = ("STARTING", "STARTED")
# Runs executed here log to the run's event log (the UI shows it), not to the terminal.
QUIET_CONSOLE = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


def resolved_export_job() -> dg.JobDefinition:
    """export_job with the code location's resources, without loading the other domains;
    rebuilt in the worker process by `dg.reconstructable`."""
    import dagster as dg

    from keeptrusts_pipelines.definitions import build_resources, fixed_for_every_run
    from keeptrusts_pipelines.defs.export_job import export_job

    resources = fixed_for_every_run(build_resources())
    return dg.Definitions(jobs=[export_job], resources=resources).resolve_job_def(export_job.name)


def _run_tags(job: dg.JobDefinition, tags: dict[str, str]) -> dict[str, str]:
    # As the webserver and daemon do: the job's tags on its runs, and who launched it.
    return {**job.run_tags, **tags, **launcher_tags(tags)}


class LocalExportRuns:
    """Export runs on the instance of DAGSTER_HOME (prepared under KEEPTRUSTS_HOME)."""

    def __init__(self) -> None:
        from keeptrusts_pipelines.defs.run_history import open_history

        self.history = open_history()
        self._instance: dg.DagsterInstance | None = None

    @property
    def instance(self) -> dg.DagsterInstance:
        if self._instance is None:
            from keeptrusts_pipelines.defs.instance import local_instance

            self._instance = local_instance()
        return self._instance

    def submit(self, run_config: dict, tags: dict[str, str]) -> str:
        job = resolved_export_job()
        run = self.instance.create_run_for_job(
            job_def=job, run_config=run_config, tags=_run_tags(job, tags)
        )
        from keeptrusts_pipelines.defs.instance import prepare_dagster_home

        logs = prepare_dagster_home() / "worker-logs"
        logs.mkdir(exist_ok=True)
        with (logs / f"{run.run_id}.log").open("wb") as log:
            subprocess.Popen(
                [sys.executable, "-m", __name__, run.run_id],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # outlives `kt`, as a queued job should
                env=os.environ.copy(),
            )
        return run.run_id

    def execute(self, run_config: dict, tags: dict[str, str], run_id: str) -> None:
        """Execute a run of export_job in this process as `run_id`, a new run on the instance
        (in its history as any run); it ends before this returns, failed or not."""
        job = resolved_export_job()
        job.execute_in_process(
            run_config={**run_config, **QUIET_CONSOLE},
            instance=self.instance,
            run_id=run_id,
            tags=_run_tags(job, tags),
            raise_on_error=False,  # a failed export is a failed run, read back as any other
        )

    def find(self, export_id: str) -> ExportRun | None:
        if self.history is not None:
            return self.history.find(export_id)
        import dagster as dg

        found = self._runs(dg.RunsFilter(job_name="export_job", tags={EXPORT_ID_TAG: export_id}), 1)
        return found[0] if found else None

    def recent(self, limit: int) -> list[ExportRun]:
        if self.history is not None:
            return self.history.recent(limit)
        import dagster as dg

        return self._runs(dg.RunsFilter(job_name="export_job"), limit)

    def settle(self, exports_root: Path, ledger: CustodyLedger) -> None:
        """Fail runs whose worker died, as the daemon's monitor would (there may be no daemon).

        Dagster is imported only when the history shows such a run."""
        if self.history is not None and not any(
            _abandoned(run, exports_root) for run in self.history.in_flight(IN_FLIGHT, 200)
        ):
            return
        from keeptrusts_pipelines.defs.export_monitor import fail_abandoned_runs

        fail_abandoned_runs(self.instance, exports_root, ledger)

    def _runs(self, filters: dg.RunsFilter, limit: int) -> list[ExportRun]:
        return [
            ExportRun(
                run_id=record.dagster_run.run_id,
                status=record.dagster_run.status.value,
                tags=dict(record.dagster_run.tags),
                created=record.create_timestamp.timestamp(),
                started=record.start_time,
                ended=record.end_time,
            )
            for record in self.instance.get_run_records(filters, limit=limit)
        ]


def _abandoned(run: ExportRun, exports_root: Path) -> bool:
    """Whether a run in flight left its export unheld: its worker died."""
    try:
        return ExportFolder(exports_root, run.export_id).abandoned_by(run.run_id)
    except KeeptrustsError:
        return False  # not an export folder the monitor judges either


@contextmanager
def run_slot(folder: Path) -> Iterator[None]:
    """Hold one of MAX_CONCURRENT_RUNS lock files for the life of a run.

    The operating system releases a dead worker's lock, so a crash never leaks a slot.
    """
    folder.mkdir(parents=True, exist_ok=True)
    while True:
        for number in range(MAX_CONCURRENT_RUNS):
            handle = (folder / f"slot-{number}.lock").open("w")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
                handle.close()
            return
        time.sleep(SLOT_POLL_SECONDS)


def execute_submitted(run_id: str) -> bool:
    """Execute a submitted run once a slot is free; True when it succeeded."""
    import dagster as dg
    from dagster._core.execution.api import execute_run  # runs a run that already exists

    from keeptrusts_pipelines.defs.instance import local_instance, prepare_dagster_home

    instance = local_instance()
    with run_slot(prepare_dagster_home() / "run-slots"):
        run = instance.get_run_by_id(run_id)
        if run is None:
            raise SystemExit(f"no run {run_id} in {instance.root_directory}")
        result = execute_run(dg.reconstructable(resolved_export_job), run, instance)
    return result.success


if __name__ == "__main__":
    raise SystemExit(0 if execute_submitted(sys.argv[1]) else 1)
