"""Schedules: when runs happen on their own."""

import dagster as dg

from keeptrusts_pipelines.defs.jobs import lake_job

# Yesterday's partition, once the gateway has flushed it.
lake_daily_schedule = dg.build_schedule_from_partitioned_job(
    lake_job,
    hour_of_day=0,
    minute_of_hour=30,
    name="lake_daily_schedule",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
