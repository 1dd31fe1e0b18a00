"""Export runs whose worker died: fail them, record why, clear their staging.

Dagster's default run launcher cannot tell whether a run worker is alive, so a worker killed
mid-export would leave its run "started" forever. The export's folder lock can: the worker
holds it from the op's start to its end, and only a killed worker leaves it unheld without
saying it ended. Such a run is reported failed (not a step failure, so Dagster's run retries
re-run it), its slot of the `exports` pool is freed, and, unless its artifact was already
complete, its failure goes to the export's record and the custody ledger, once per run.
"""

from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from keeptrusts_pipelines.custody.export_entries import ExportEntries
from keeptrusts_pipelines.custody.ledger import CustodyLedger
from keeptrusts_pipelines.defs.resources import CustodyResource, ExportsResource
from keeptrusts_pipelines.errors import KeeptrustsError
from keeptrusts_pipelines.exports.folder import ExportFolder
from keeptrusts_pipelines.exports.lifecycle import record_failure
from keeptrusts_pipelines.model.export_runs import EXPORT_ID_TAG, export_id_for_run, run_actor

WORKER_DIED = "the run's worker stopped while exporting; Dagster's run retries re-run it"
WORKER_NEVER_BEGAN = (
    "the run's worker stopped before the export began (while it waited for a slot of the "
    "exports pool); create the export again"
)
IN_FLIGHT = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]


def fail_abandoned_runs(
    instance: dg.DagsterInstance, exports_root: Path, ledger: CustodyLedger
) -> list[str]:
    """Fail every in-flight export_job run whose worker died holding its export; their ids."""
    failed = []
    records = instance.get_run_records(
        dg.RunsFilter(job_name="export_job", statuses=IN_FLIGHT), limit=200
    )
    for record in records:
        run = record.dagster_run
        export_id = run.tags.get(EXPORT_ID_TAG) or export_id_for_run(run.run_id)
        try:
            folder = ExportFolder(exports_root, export_id)
            if not folder.abandoned_by(run.run_id):
                continue
            if not _fail_run(instance, run, folder, ledger, WORKER_DIED, "worker stopped"):
                continue
        except KeeptrustsError:
            continue  # not an export folder this monitor can judge
        failed.append(run.run_id)
    return failed


def fail_run_that_never_began(
    instance: dg.DagsterInstance, run_id: str, exports_root: Path, ledger: CustodyLedger
) -> None:
    """Fail an in-flight run whose worker is known to be dead and whose op never took its
    export: it died waiting for a slot of the `exports` pool, which no folder lock shows."""
    run = instance.get_run_by_id(run_id)
    if run is None or run.status not in IN_FLIGHT:
        return
    export_id = run.tags.get(EXPORT_ID_TAG) or export_id_for_run(run.run_id)
    folder = ExportFolder(exports_root, export_id)
    if folder.worker() is None:
        _fail_run(instance, run, folder, ledger, WORKER_NEVER_BEGAN, "worker stopped")


def _fail_run(
    instance: dg.DagsterInstance,
    run: dg.DagsterRun,
    folder: ExportFolder,
    ledger: CustodyLedger,
    message: str,
    entry: str,
) -> bool:
    """Fail `run` and record why; False when it was no longer in flight."""
    current = instance.get_run_by_id(run.run_id)
    if current is None or current.status not in IN_FLIGHT:
        return False  # failed meanwhile by the daemon's monitor or another kt
    completed = (folder.read_record() or {}).get("status") == "completed"
    instance.report_run_failed(run, message=message)
    # The dead worker's slot of the `exports` pool goes back at once: without a daemon
    # nothing else would free it, and with one it would wait for its next sweep.
    if instance.event_log_storage.supports_global_concurrency_limits:
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
    folder.sweep_staging()
    if not completed:
        record_failure(folder.root, folder.name, message, datetime.now(UTC))
        ExportEntries(ledger, folder.name, run_actor(run.tags), run.run_id).failed(entry)
    return True


@dg.sensor(
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Fail export runs whose worker died mid-export (Dagster's run retries then "
    "re-run them) and record the failure in the export's record and the custody ledger.",
)
def export_worker_monitor_sensor(
    context: dg.SensorEvaluationContext, exports: ExportsResource, custody: CustodyResource
) -> dg.SkipReason:
    failed = fail_abandoned_runs(context.instance, exports.path(), custody.ledger())
    return dg.SkipReason(
        f"failed {len(failed)} abandoned run(s): {', '.join(failed)}"
        if failed
        else "every export run in flight has a live worker"
    )
