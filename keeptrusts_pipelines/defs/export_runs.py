"""Export runs on the local Dagster instance under KEEPTRUSTS_HOME, without a daemon.

`submit` records the run in the instance (so the UI's run history shows it) and hands it to a
detached worker process; workers take one of a fixed number of slots, as the daemon's run queue
would, so many submissions at once run a few at a time. Run `python -m` on this module with a
run id to be that worker.
"""

import fcntl
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
from dagster._core.execution.api import execute_run  # runs a run that already exists

from keeptrusts_pipelines.custody.ledger import CustodyLedger
from keeptrusts_pipelines.defs.export_monitor import fail_abandoned_runs
from keeptrusts_pipelines.defs.instance import local_instance, prepare_dagster_home
from keeptrusts_pipelines.model.export_runs import EXPORT_ID_TAG, ExportRun, launcher_tags

# As dagster.yaml's run queue: at most this many exports run at once.
MAX_CONCURRENT_RUNS = 4
SLOT_POLL_SECONDS = 0.5


def resolved_export_job() -> dg.JobDefinition:
    """export_job with its resources, rebuilt in the worker process by `dg.reconstructable`."""
    from keeptrusts_pipelines.definitions import build_definitions

    return build_definitions().resolve_job_def("export_job")


class LocalExportRuns:
    """Export runs on the instance of DAGSTER_HOME (prepared under KEEPTRUSTS_HOME)."""

    def __init__(self) -> None:
        self.instance = local_instance()

    def submit(self, run_config: dict, tags: dict[str, str]) -> str:
        job = resolved_export_job()
        # As the webserver and daemon do: the job's tags on its runs, and who launched it.
        run_tags = {**job.run_tags, **tags, **launcher_tags(tags)}
        run = self.instance.create_run_for_job(job_def=job, run_config=run_config, tags=run_tags)
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

    def find(self, export_id: str) -> ExportRun | None:
        found = self._runs(dg.RunsFilter(job_name="export_job", tags={EXPORT_ID_TAG: export_id}), 1)
        return found[0] if found else None

    def recent(self, limit: int) -> list[ExportRun]:
        return self._runs(dg.RunsFilter(job_name="export_job"), limit)

    def settle(self, exports_root: Path, ledger: CustodyLedger) -> None:
        """Fail runs whose worker died, as the daemon's monitor would (there may be no daemon)."""
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
    instance = local_instance()
    with run_slot(prepare_dagster_home() / "run-slots"):
        run = instance.get_run_by_id(run_id)
        if run is None:
            raise SystemExit(f"no run {run_id} in {instance.root_directory}")
        result = execute_run(dg.reconstructable(resolved_export_job), run, instance)
    return result.success


if __name__ == "__main__":
    raise SystemExit(0 if execute_submitted(sys.argv[1]) else 1)
