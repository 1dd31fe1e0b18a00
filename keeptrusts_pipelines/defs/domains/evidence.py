"""Evidence: weekly, monthly and quarterly bundles, their deliveries where a bucket is set,
their schedules and the sensor that catches up missed periods."""

import dagster as dg

from keeptrusts_pipelines.defs.assets.evidence import evidence_assets_for
from keeptrusts_pipelines.defs.jobs import evidence_jobs
from keeptrusts_pipelines.defs.schedules import evidence_schedules
from keeptrusts_pipelines.defs.sensors import evidence_catch_up_sensor


def evidence_definitions(delivered: bool) -> dg.Definitions:
    return dg.Definitions(
        assets=dg.with_source_code_references(evidence_assets_for(delivered)),
        jobs=list(evidence_jobs.values()),
        schedules=evidence_schedules,
        sensors=[evidence_catch_up_sensor],
    )
