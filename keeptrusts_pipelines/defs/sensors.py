"""Sensors: export request files become runs; finished exports notify a webhook."""

import os
import warnings
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

import boto3
import dagster as dg

from keeptrusts_pipelines.defs.assets.evidence import evidence_bundles
from keeptrusts_pipelines.defs.assets.lake import decision_events
from keeptrusts_pipelines.defs.jobs import evidence_jobs, export_job
from keeptrusts_pipelines.defs.ops import export_id_of
from keeptrusts_pipelines.defs.partitions import EVIDENCE_PARTITIONS, daily_partitions
from keeptrusts_pipelines.defs.resources import CustodyResource, ExportsResource, WebhookResource
from keeptrusts_pipelines.delivery.webhook import notify
from keeptrusts_pipelines.errors import ConfigurationError, KeeptrustsError
from keeptrusts_pipelines.exports.inbox import LocalInbox, RequestInbox, S3Inbox, parse_request
from keeptrusts_pipelines.exports.lifecycle import read_failure, read_record
from keeptrusts_pipelines.model.export_runs import (
    ACTOR_TAG,
    NOTIFY_TAG,
    REQUEST_ID_TAG,
    export_id_for_request,
    export_run_config,
    request_tags,
)
from keeptrusts_pipelines.settings import requests_root

# Dagster's run status sensors pass its own beta `owners` parameter on; the warning is not ours.
warnings.filterwarnings(
    "ignore", message="Parameter `owners` of initializer `SensorDefinition", category=dg.BetaWarning
)


def inboxes() -> list[RequestInbox]:
    """KEEPTRUSTS_HOME/requests/, and the S3 prefix of KEEPTRUSTS_REQUESTS_S3_URL when set."""
    found: list[RequestInbox] = [LocalInbox(requests_root())]
    url = os.environ.get("KEEPTRUSTS_REQUESTS_S3_URL")
    if url:
        parsed = urlparse(url)
        if parsed.scheme != "s3" or not parsed.netloc:
            raise ConfigurationError(f"KEEPTRUSTS_REQUESTS_S3_URL={url!r}: use s3://bucket/prefix")
        client = boto3.client("s3", endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None)
        found.append(S3Inbox(client, parsed.netloc, parsed.path))
    return found


@dg.sensor(
    job=export_job,
    minimum_interval_seconds=15,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Each export request file (JSON) in KEEPTRUSTS_HOME/requests/ (or the S3 prefix "
    "of KEEPTRUSTS_REQUESTS_S3_URL) becomes exactly one export run (run key = request id); an "
    "invalid one moves to rejected/ with its error.",
)
def export_inbox_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    runs = []
    for inbox in inboxes():
        for name in inbox.pending():
            try:
                request_id, request = parse_request(name, inbox.read(name), datetime.now(UTC))
            except KeeptrustsError as error:
                context.log.warning(f"request {name} in {inbox.describe()} rejected: {error}")
                inbox.reject(name, str(error))
                continue
            # Run keys make a request run once, however often its file is seen; a file whose
            # run exists moves out of the way.
            run_tags = {"dagster/run_key": request_id, "dagster/sensor_name": context.sensor_name}
            if context.instance.get_run_records(dg.RunsFilter(tags=run_tags), limit=1):
                inbox.accept(name)
                continue
            export_id = export_id_for_request(request_id)
            runs.append(
                dg.RunRequest(
                    run_key=request_id,
                    run_config=export_run_config(request),
                    tags={
                        **request_tags(request, export_id),
                        REQUEST_ID_TAG: request_id,
                        ACTOR_TAG: f"inbox:{inbox.describe()}",
                    },
                )
            )
    return dg.SensorResult(run_requests=runs)


def _notification(run: dg.DagsterRun, exports: ExportsResource, status: str) -> dict:
    """What a webhook receives: ids, counts and hashes; never event content."""
    export_id = export_id_of(run)
    body: dict[str, object] = {
        "event": f"export.{status}",
        "export_id": export_id,
        "run_id": run.run_id,
        "status": status,
        "format": run.tags.get("keeptrusts/format"),
        "window": {
            "from": run.tags.get("keeptrusts/window_from"),
            "to": run.tags.get("keeptrusts/window_to"),
        },
    }
    record = read_record(exports.path(), export_id)
    if status == "completed" and record:
        body.update(
            records=record["records"],
            bytes=record["bytes"],
            sha256=record["sha256"],
            artifact=Path(record["artifact"]).name,
            expires_at=record.get("expires_at"),
        )
    failure = read_failure(exports.path(), export_id)
    if status == "failed":
        body["error"] = failure["error"] if failure else "the run failed before exporting"
    return body


def _post(context: dg.RunStatusSensorContext, webhook: WebhookResource, body: dict) -> None:
    if not webhook.url or context.dagster_run.tags.get(NOTIFY_TAG) == "false":
        return
    delivery = notify(webhook.url, webhook.secret or "", body)
    if delivery.delivered:
        context.log.info(f"{body['event']} {body['export_id']} notified")
    else:
        # The export stands either way; a lost notification is logged, never raised.
        context.log.warning(
            f"{body['event']} {body['export_id']}: webhook not delivered after "
            f"{delivery.attempts} attempt(s) ({delivery.error})"
        )


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=[export_job],
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Post each completed export to KEEPTRUSTS_WEBHOOK_URL, signed.",
)
def export_completed_sensor(
    context: dg.RunStatusSensorContext, exports: ExportsResource, webhook: WebhookResource
) -> None:
    _post(context, webhook, _notification(context.dagster_run, exports, "completed"))


@dg.run_failure_sensor(
    monitored_jobs=[export_job],
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Record each failed export in the custody ledger and post it to "
    "KEEPTRUSTS_WEBHOOK_URL, signed.",
)
def export_failed_sensor(
    context: dg.RunFailureSensorContext,
    exports: ExportsResource,
    webhook: WebhookResource,
    custody: CustodyResource,
) -> None:
    run = context.dagster_run
    export_id = export_id_of(run)
    # A run killed before its op could record the failure is recorded here (once per run).
    custody.ledger().append(
        "failed",
        export_id,
        actor=run.tags.get(ACTOR_TAG, "dagster"),
        run_id=run.run_id,
        idempotency_key=f"failed:{run.run_id}",
    )
    _post(context, webhook, _notification(run, exports, "failed"))


# Periods one tick may request: oldest first, so a long outage drains in order.
CATCH_UP_PER_TICK = 12
BUSY_OR_DONE = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.SUCCESS,
]


def missing_periods(instance: dg.DagsterInstance, now: datetime) -> list[tuple[str, str]]:
    """(period, key) of every closed period whose days are all in the lake but which has no
    evidence yet and no run on its way, oldest first."""
    lake_days = instance.get_materialized_partitions(decision_events.key)
    wanted = []
    for period, partitions in EVIDENCE_PARTITIONS.items():
        done = instance.get_materialized_partitions(evidence_bundles[period].key)
        for key in partitions.get_partition_keys(current_time=now):
            if key in done:
                continue
            window = partitions.time_window_for_partition_key(key)
            days = daily_partitions.get_partition_keys_in_time_window(window)
            if not days or any(day not in lake_days for day in days):
                continue  # not all of the period is in the lake (yet)
            runs = instance.get_run_records(
                dg.RunsFilter(
                    job_name=evidence_jobs[period].name,
                    tags={"dagster/partition": key},
                    statuses=BUSY_OR_DONE,
                ),
                limit=1,
            )
            if not runs:
                wanted.append((window.start.isoformat(), period, key))
    return [(period, key) for _, period, key in sorted(wanted)]


@dg.sensor(
    jobs=list(evidence_jobs.values()),
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="After downtime, every closed period whose days are in the lake but which has "
    "no evidence gets it: oldest first, once each.",
)
def evidence_catch_up_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    now = datetime.now(UTC)
    missing = missing_periods(context.instance, now)[:CATCH_UP_PER_TICK]
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(job_name=evidence_jobs[period].name, partition_key=key)
            for period, key in missing
        ]
    )
