"""Export runs on the local Dagster instance under KEEPTRUSTS_HOME, without a daemon.

Reading the history (`kt export status`, `list`) goes straight to the instance's SQLite run
storage where it keeps its runs there (defs/run_history.py), so Dagster is imported only to
execute a run, or to fail a run whose worker died.

`submit` writes the run's submission (its id, config and tags) under DAGSTER_HOME and hands it
to a detached worker process (`python -m` on this module with the run id), which executes it
with `execute_in_process` on the same instance. How many exports run at once is Dagster's to
bound: export_artifact is in the `exports` pool, whose limit dagster.yaml sets; every executor
claims a slot before the op runs, so a worker's run waits for one as a run the daemon launched
does. Until the worker has created its run, the submission stands for it: the export reads as
queued from the moment `submit` returns. `execute` runs an export in this process instead, for a
caller that waits for it anyway (`kt export create --wait`): no second Python start-up, and only
the export job's definitions are loaded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from keeptrusts_pipelines.custody.export_entries import ExportEntries
from keeptrusts_pipelines.errors import KeeptrustsError
from keeptrusts_pipelines.exports.folder import ExportFolder
from keeptrusts_pipelines.model.export_runs import (
    EXPORT_ID_TAG,
    EXPORTS_POOL,
    ExportRun,
    launcher_tags,
    run_actor,
)
from keeptrusts_pipelines.settings import dagster_home
from keeptrusts_pipelines.settings import exports_root as default_exports_root

if TYPE_CHECKING:
    import dagster as dg

    from keeptrusts_pipelines.custody.ledger import CustodyLedger

IN_FLIGHT = ("STARTING", "STARTED")
# Runs executed here log to the run's event log (the UI shows it), not to the terminal.
QUIET_CONSOLE = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
SUBMISSIONS = "submissions"
WORKER_LOGS = "worker-logs"
WORKER_NEVER_RAN = (
    "the export's worker stopped before its run started (see worker-logs under DAGSTER_HOME); "
    "create the export again"
)


def resolved_export_job() -> dg.JobDefinition:
    """export_job with the code location's resources, without loading the other domains."""
    import dagster as dg

    from keeptrusts_pipelines.definitions import build_resources, fixed_for_every_run
    from keeptrusts_pipelines.defs.export_job import export_job

    resources = fixed_for_every_run(build_resources())
    return dg.Definitions(jobs=[export_job], resources=resources).resolve_job_def(export_job.name)


def _run_tags(job: dg.JobDefinition, tags: dict[str, str]) -> dict[str, str]:
    # As the webserver and daemon do: the job's tags on its runs, and who launched it.
    return {**job.run_tags, **tags, **launcher_tags(tags)}


@dataclass
class Submission:
    """A run handed to a worker and not yet ended: what the worker executes, and what stands
    for the run until the worker has created it. `pid` is the worker's once it is started;
    `failed` says the worker died before creating the run."""

    run_id: str
    run_config: dict
    tags: dict[str, str]
    created: float
    pid: int | None = None
    failed: bool = False

    @staticmethod
    def folder() -> Path:
        # As the run history finds the home: reading submissions imports no Dagster.
        return Path(os.environ.get("DAGSTER_HOME") or dagster_home()) / SUBMISSIONS

    @classmethod
    def path_of(cls, run_id: str) -> Path:
        return cls.folder() / f"{uuid.UUID(run_id)}.json"  # a run id, never a path

    @classmethod
    def load(cls, run_id: str) -> Submission | None:
        try:
            return cls(**json.loads(cls.path_of(run_id).read_text(encoding="utf-8")))
        except FileNotFoundError:
            return None

    @classmethod
    def pending(cls) -> list[Submission]:
        """Every submission on this home, newest first (unreadable files are skipped)."""
        found = []
        for path in cls.folder().glob("*.json"):
            try:
                found.append(cls(**json.loads(path.read_text(encoding="utf-8"))))
            except (OSError, ValueError, TypeError):
                continue  # one being replaced, or not ours
        return sorted(found, key=lambda submission: submission.created, reverse=True)

    @property
    def export_id(self) -> str:
        return self.as_run().export_id

    def save(self) -> None:
        path = self.path_of(self.run_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Through a temporary file: a reader never sees half a submission.
        staging = path.with_name(f".{path.name}.{os.getpid()}")
        staging.write_text(json.dumps(asdict(self)), encoding="utf-8")
        staging.replace(path)

    def remove(self) -> None:
        self.path_of(self.run_id).unlink(missing_ok=True)

    def worker_alive(self) -> bool:
        if self.pid is None:
            return True  # being started by the process that submitted it
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return not _zombie(self.pid)

    def as_run(self) -> ExportRun:
        """The run it stands for: queued until its worker creates it, failed if it never will."""
        return ExportRun(
            run_id=self.run_id,
            status="FAILURE" if self.failed else "QUEUED",
            tags=self.tags,
            created=self.created,
            started=None,
            ended=None,
        )


def start_worker(run_id: str) -> subprocess.Popen:
    """A detached process executing the submitted run `run_id`, logging under DAGSTER_HOME."""
    from keeptrusts_pipelines.defs.instance import prepare_dagster_home

    logs = prepare_dagster_home() / WORKER_LOGS
    logs.mkdir(exist_ok=True)
    with (logs / f"{run_id}.log").open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", __name__, run_id],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # outlives `kt`, as a queued run should
            env=os.environ.copy(),
        )


class LocalExportRuns:
    """Export runs on the instance of DAGSTER_HOME (prepared under KEEPTRUSTS_HOME)."""

    def __init__(self, exports_root: Path | None = None) -> None:
        from keeptrusts_pipelines.defs.run_history import open_history

        self.history = open_history()
        self.exports_root = exports_root or default_exports_root()
        self._instance: dg.DagsterInstance | None = None

    @property
    def instance(self) -> dg.DagsterInstance:
        if self._instance is None:
            from keeptrusts_pipelines.defs.instance import local_instance

            self._instance = local_instance()
        return self._instance

    def submit(self, run_config: dict, tags: dict[str, str]) -> str:
        if self.history is None:
            # Dagster creates its storage on first use, and workers starting together on a new
            # home would race to create it: it is created here, once.
            self.instance  # noqa: B018
        submission = Submission(
            run_id=str(uuid.uuid4()), run_config=run_config, tags=tags, created=time.time()
        )
        submission.save()
        submission.pid = start_worker(submission.run_id).pid
        submission.save()
        return submission.run_id

    def execute(self, run_config: dict, tags: dict[str, str], run_id: str) -> None:
        """Execute a run of export_job in this process as `run_id`, a new run on the instance
        (in its history as any run); it ends before this returns, failed or not."""
        self._execute(run_config, tags, run_id)

    def _execute(self, run_config: dict, tags: dict[str, str], run_id: str) -> bool:
        from keeptrusts_pipelines.defs.instance import ensure_pool

        job = resolved_export_job()
        ensure_pool(self.instance, EXPORTS_POOL)  # before the executor claims a slot of it
        result = job.execute_in_process(
            run_config={**run_config, **QUIET_CONSOLE},
            instance=self.instance,
            run_id=run_id,
            tags=_run_tags(job, tags),
            raise_on_error=False,  # a failed export is a failed run, read back as any other
        )
        return result.success

    def find(self, export_id: str) -> ExportRun | None:
        found = self._find_run(export_id)
        if found is not None:
            return self._as_seen(found)
        waiting = [s for s in Submission.pending() if s.export_id == export_id]
        return waiting[0].as_run() if waiting else None

    def _find_run(self, export_id: str) -> ExportRun | None:
        if self.history is not None:
            return self.history.find(export_id)
        import dagster as dg

        found = self._runs(dg.RunsFilter(job_name="export_job", tags={EXPORT_ID_TAG: export_id}), 1)
        return found[0] if found else None

    def recent(self, limit: int) -> list[ExportRun]:
        if self.history is not None:
            runs = self.history.recent(limit)
        else:
            import dagster as dg

            runs = self._runs(dg.RunsFilter(job_name="export_job"), limit)
        runs = [self._as_seen(run) for run in runs]
        known = {run.run_id for run in runs}
        waiting = [s.as_run() for s in Submission.pending() if s.run_id not in known]
        if not waiting:
            return runs
        merged = sorted([*waiting, *runs], key=lambda run: run.created or 0.0, reverse=True)
        return merged[:limit]

    def _as_seen(self, run: ExportRun) -> ExportRun:
        """A started run whose export has not begun is waiting for a slot of the `exports`
        pool: STARTING, as Dagster names a run not yet running its steps (the doors say queued).
        Its export begins when the op takes the export folder in the run's name."""
        if run.status != "STARTED":
            return run
        try:
            holder = ExportFolder(self.exports_root, run.export_id).worker()
        except KeeptrustsError:
            return run
        if holder is not None and holder[0].startswith(run.run_id):
            return run
        return replace(run, status="STARTING")

    def settle(self, exports_root: Path, ledger: CustodyLedger) -> None:
        """Fail runs whose worker died, as the daemon's monitor would (there may be no daemon),
        and submissions whose worker died before creating their run.

        Dagster is imported only when the history shows such a run."""
        self._settle_submissions(exports_root, ledger)
        if self.history is not None and not any(
            _abandoned(run, exports_root) for run in self.history.in_flight(IN_FLIGHT, 200)
        ):
            return
        from keeptrusts_pipelines.defs.export_monitor import fail_abandoned_runs

        fail_abandoned_runs(self.instance, exports_root, ledger)

    def _settle_submissions(self, exports_root: Path, ledger: CustodyLedger) -> None:
        for submission in Submission.pending():
            if submission.failed or submission.worker_alive():
                continue
            found = self._find_run(submission.export_id)
            if found is not None and found.run_id == submission.run_id:
                if found.status in IN_FLIGHT:
                    # Its worker died; if its op never took the export (it was waiting for a
                    # pool slot), no folder lock tells the monitor, so it is failed here.
                    from keeptrusts_pipelines.defs.export_monitor import (
                        fail_run_that_never_began,
                    )

                    fail_run_that_never_began(self.instance, found.run_id, exports_root, ledger)
                submission.remove()  # its run exists: the monitor judges the rest
                continue
            from keeptrusts_pipelines.exports.lifecycle import record_failure

            try:
                record_failure(exports_root, submission.export_id, WORKER_NEVER_RAN, _now())
            except KeeptrustsError:
                continue  # not an export folder of this home
            ExportEntries(
                ledger, submission.export_id, run_actor(submission.tags), submission.run_id
            ).failed("worker stopped before the run started")
            submission.failed = True
            submission.save()

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


def _now() -> datetime:
    return datetime.now(UTC)


def _zombie(pid: int) -> bool:
    """A worker that ended but was not yet reaped by a long-lived parent (`kt serve`)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False  # no /proc here: trust the signal check
    return stat.rsplit(")", 1)[-1].split()[:1] == ["Z"]


def _abandoned(run: ExportRun, exports_root: Path) -> bool:
    """Whether a run in flight left its export unheld: its worker died."""
    try:
        return ExportFolder(exports_root, run.export_id).abandoned_by(run.run_id)
    except KeeptrustsError:
        return False  # not an export folder the monitor judges either


def execute_submitted(run_id: str) -> bool:
    """Execute a submitted run as a new run of the instance; True when it succeeded."""
    submission = Submission.load(run_id)
    if submission is None:
        raise SystemExit(f"no submitted run {run_id} under {Submission.folder()}")
    runs = LocalExportRuns()
    try:
        return runs._execute(submission.run_config, submission.tags, run_id)
    finally:
        # Once the run exists it stands for itself; until then the submission is kept, so
        # `settle` can say the worker stopped before it.
        if runs.instance.get_run_by_id(run_id) is not None:
            submission.remove()


if __name__ == "__main__":
    raise SystemExit(0 if execute_submitted(sys.argv[1]) else 1)
