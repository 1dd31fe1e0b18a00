"""export_job: one export per run. Apart from the other jobs, so a run of it here (`kt export
create --wait`) loads the export op and its resources, not every domain's assets."""

import dagster as dg

from keeptrusts_pipelines.defs.ops import export_artifact
from keeptrusts_pipelines.model.export_runs import KIND_TAG

# Run retries re-run runs whose worker died; a step that failed (a bad request, days missing
# from the lake) fails the same way again, so its run is not retried. dagster.yaml says the
# same for every run (backfills of assets run outside these jobs); the tag keeps it per job.
NO_RETRY_ON_STEP_FAILURE = {"dagster/retry_on_asset_or_op_failure": "false"}


@dg.job(
    description="Export a window of the lake: the run config is the export request, the run's "
    "tags name the export (keeptrusts/export_id), its metadata the artifact and its sha256.",
    tags={KIND_TAG: "export", **NO_RETRY_ON_STEP_FAILURE},
    # One op: the run worker is the step, so a worker that dies leaves its run for the
    # export monitor to fail (and Dagster's run retries to re-run), not a half-failed step.
    executor_def=dg.in_process_executor,
)
def export_job() -> None:
    export_artifact()
