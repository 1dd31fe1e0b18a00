"""Schedules: when runs happen on their own."""

from datetime import timedelta

import dagster as dg

from keeptrusts_pipelines.defs.assets.lake import decision_events
from keeptrusts_pipelines.defs.jobs import (
    evidence_jobs,
    export_expiry_job,
    export_job,
    lake_job,
    lake_retention_job,
)
from keeptrusts_pipelines.defs.partitions import EVIDENCE_PARTITIONS, daily_partitions
from keeptrusts_pipelines.exports.deliveries import Delivery, Problem, read_deliveries
from keeptrusts_pipelines.model.export_runs import (
    ACTOR_TAG,
    NOTIFY_TAG,
    export_id_for_request,
    export_run_config,
    request_tags,
)
from keeptrusts_pipelines.settings import deliveries_file

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


@dg.schedule(
    cron_schedule="15 * * * *",
    execution_timezone="UTC",
    job=export_expiry_job,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Hourly: remove the artifacts of exports older than KEEPTRUSTS_EXPORT_TTL_DAYS.",
)
def export_expiry_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    return dg.RunRequest(run_key=f"expiry-{context.scheduled_execution_time:%Y-%m-%dT%H}")


# When each period's evidence is due: 02:00 UTC after it closes.
EVIDENCE_CRONS = {
    "weekly": "0 2 * * 1",
    "monthly": "0 2 1 * *",
    "quarterly": "0 2 1 1,4,7,10 *",
}


def _evidence_schedule(period: str) -> dg.ScheduleDefinition:
    partitions = EVIDENCE_PARTITIONS[period]

    @dg.schedule(
        name=f"{period}_evidence_schedule",
        cron_schedule=EVIDENCE_CRONS[period],
        execution_timezone="UTC",
        job=evidence_jobs[period],
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"02:00 UTC after each {period} period closes: that period's evidence.",
    )
    def schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        closed = partitions.get_partition_keys(current_time=context.scheduled_execution_time)
        if not closed:
            return dg.SkipReason(f"no closed {period} period yet")
        return dg.RunRequest(run_key=f"{period}-{closed[-1]}", partition_key=closed[-1])

    return schedule


evidence_schedules = [_evidence_schedule(period) for period in EVIDENCE_PARTITIONS]


def _delivery_schedule(delivery: Delivery) -> dg.ScheduleDefinition:
    destination = {"deliver_to": delivery.target} if delivery.target else None

    @dg.schedule(
        name=f"delivery_{delivery.name.replace('-', '_')}",
        cron_schedule=delivery.cron,
        execution_timezone=delivery.timezone,
        job=export_job,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"deliveries.yaml: {delivery.name}: {delivery.describe_window()} in "
        f"{', '.join(delivery.formats)}; {delivery.describe_schedule()}",
    )
    def schedule(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest]:
        runs = []
        for request in delivery.requests(context.scheduled_execution_time):
            start = request.window.as_dict()["from"]
            # One export per delivery, format and period, whatever the tick's retries.
            export_id = export_id_for_request(f"delivery:{delivery.name}:{request.format}:{start}")
            tags = {**request_tags(request, export_id), ACTOR_TAG: f"delivery:{delivery.name}"}
            if not delivery.notify:
                tags[NOTIFY_TAG] = "false"
            runs.append(
                dg.RunRequest(
                    run_key=f"{delivery.name}-{request.format}-{start}",
                    run_config=export_run_config(request, destination),
                    tags=tags,
                )
            )
        return runs

    return schedule


def _set_aside(problem: Problem, number: int) -> dg.ScheduleDefinition:
    """A stopped schedule that shows, in the UI, why an entry of deliveries.yaml cannot run."""

    @dg.schedule(
        name=f"delivery_invalid_{number}",
        cron_schedule="0 0 1 1 *",
        job=export_job,
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description=f"deliveries.yaml entry {problem.name} is set aside: {problem.error}",
    )
    def schedule(context: dg.ScheduleEvaluationContext) -> dg.SkipReason:
        return dg.SkipReason(f"set aside: {problem.error}")

    return schedule


def delivery_schedules() -> list[dg.ScheduleDefinition]:
    """One schedule per entry of deliveries.yaml, read when the code location loads; an entry
    that cannot run is set aside (a stopped schedule naming its error), never in the way of the
    rest."""
    entries, problems = read_deliveries(deliveries_file())
    schedules = []
    for delivery in entries:
        try:
            schedules.append(_delivery_schedule(delivery))
        except dg.DagsterInvalidDefinitionError as error:
            problems.append(Problem(delivery.name, str(error).splitlines()[0]))
    return schedules + [_set_aside(p, n) for n, p in enumerate(problems, 1)]


@dg.schedule(
    cron_schedule="30 3 * * *",
    execution_timezone="UTC",
    job=lake_retention_job,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Daily at 03:30 UTC: prune lake days past retention that delivered evidence "
    "covers and no legal hold keeps.",
)
def lake_retention_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    return dg.RunRequest(run_key=f"retention-{context.scheduled_execution_time:%Y-%m-%d}")
