"""Jobs: what a run does."""

import dagster as dg

from keeptrusts_pipelines.defs.assets.evidence import evidence_bundles
from keeptrusts_pipelines.defs.assets.lake import lake_assets
from keeptrusts_pipelines.defs.export_job import (  # apart, so it loads without the assets
    NO_RETRY_ON_STEP_FAILURE,
    export_job,  # noqa: F401 (imported from here with the other jobs)
)
from keeptrusts_pipelines.defs.ops import expired_exports, pruned_lake_days
from keeptrusts_pipelines.defs.partitions import EVIDENCE_PARTITIONS
from keeptrusts_pipelines.model.export_runs import KIND_TAG

# Partitioned by the daily partitions of the assets it selects.
lake_job = dg.define_asset_job(
    name="lake_job",
    selection=dg.AssetSelection.assets(*lake_assets),
    description="Bring one UTC day of gateway records into the lake and check it.",
    tags={KIND_TAG: "lake"},
)


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
