"""The lake: daily partitions of the gateway's tables, their checks, ingestion and retention."""

import dagster as dg

from keeptrusts_pipelines.defs.assets.lake import lake_assets
from keeptrusts_pipelines.defs.jobs import lake_job, lake_retention_job
from keeptrusts_pipelines.defs.schedules import lake_daily_schedule, lake_retention_schedule


def lake_definitions() -> dg.Definitions:
    return dg.Definitions(
        assets=dg.with_source_code_references(lake_assets),
        jobs=[lake_job, lake_retention_job],
        schedules=[lake_daily_schedule, lake_retention_schedule],
    )
