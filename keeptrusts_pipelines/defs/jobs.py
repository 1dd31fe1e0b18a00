"""Jobs: what a run does."""

import dagster as dg

from keeptrusts_pipelines.defs.assets.evidence import evidence_bundles
from keeptrusts_pipelines.defs.assets.lake import lake_assets
from keeptrusts_pipelines.defs.ops import expired_exports, export_artifact, pruned_lake_days
from keeptrusts_pipelines.defs.partitions import EVIDENCE_PARTITIONS
from keeptrusts_pipelines.model.export_runs import KIND_TAG

# Run retries re-run runs whose worker died; a step that failed (a bad request, days missing
# from the lake) fails the same way again, so its run is not retried. dagster.yaml says the
# same for every run (backfills of assets run outside these jobs); the tag keeps it per job.
NO_RETRY_ON_STEP_FAILURE = {"dagster/retry_on_asset_or_op_failure": "false"}

# Partitioned by the daily partitions of the assets it selects.
lake_job = dg.define_asset_job(
    name="lake_job",
    selection=dg.AssetSelection.assets(*lake_assets),
    description="Bring one UTC day of gateway records into the lake and check it.",
    tags={KIND_TAG: "lake"},
)


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


@dg.job(
    description="Remove the artifacts of exports past KEEPTRUSTS_EXPORT_TTL_DAYS.",
    tags={KIND_TAG: "maintenance"},
)
def export_expiry_job() -> None:
    expired_exports()


def _evidence_job(period: str):  # an asset job, resolved by the Definitions
    # The bundle and what follows it: its delivery, which exists only where a bucket is set.
    return dg.define_asset_job(
        name=f"{period}_evidence_job",
        selection=dg.AssetSelection.assets(evidence_bundles[period]).downstream(depth=1),
        description=f"Build (and deliver, where a bucket is set) one {period} evidence bundle.",
        tags={KIND_TAG: "evidence", **NO_RETRY_ON_STEP_FAILURE},
    )


evidence_jobs = {period: _evidence_job(period) for period in EVIDENCE_PARTITIONS}


@dg.job(
    description="Prune old lake days that delivered evidence covers and no hold keeps.",
    tags={KIND_TAG: "maintenance"},
)
def lake_retention_job() -> None:
    pruned_lake_days()
