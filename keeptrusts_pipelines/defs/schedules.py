"""Schedules: when runs happen on their own."""

from datetime import timedelta

import dagster as dg

from keeptrusts_pipelines.defs.assets.lake import decision_events
from keeptrusts_pipelines.defs.jobs import lake_job
from keeptrusts_pipelines.defs.partitions import daily_partitions

# Days before yesterday that a tick looks back over for days never brought into the lake
# (daemon downtime); older gaps are filled with a backfill from the UI.
CATCH_UP_DAYS = 7


@dg.schedule(
    cron_schedule="30 0 * * *",
    execution_timezone="UTC",
    job=lake_job,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="At 00:30 UTC: yesterday's partition, plus any of the week before still missing.",
)
def lake_daily_schedule(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest]:
    yesterday = (context.scheduled_execution_time - timedelta(days=1)).date()
    present = context.instance.get_materialized_partitions(decision_events.key)
    first = daily_partitions.start.date()
    days = [yesterday - timedelta(days=back) for back in range(CATCH_UP_DAYS, -1, -1)]
    wanted = [
        day for day in days if day >= first and (day == yesterday or day.isoformat() not in present)
    ]
    return [dg.RunRequest(run_key=f"lake-{day}", partition_key=day.isoformat()) for day in wanted]
