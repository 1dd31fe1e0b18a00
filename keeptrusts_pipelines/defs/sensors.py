"""Sensors: export request files become runs; finished exports notify a webhook."""

import warnings
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

import boto3
import dagster as dg
from botocore.exceptions import BotoCoreError, ClientError

from keeptrusts_pipelines.custody.export_entries import ExportEntries
from keeptrusts_pipelines.defs.assets.evidence import evidence_bundles, evidence_id
from keeptrusts_pipelines.defs.assets.lake import decision_events
from keeptrusts_pipelines.defs.jobs import evidence_jobs, export_job
from keeptrusts_pipelines.defs.ops import export_id_of
from keeptrusts_pipelines.defs.partitions import EVIDENCE_PARTITIONS, daily_partitions
from keeptrusts_pipelines.defs.resources import (
    CustodyResource,
    EvidenceResource,
    ExportsResource,
    WebhookResource,
)
from keeptrusts_pipelines.delivery.webhook import notify
from keeptrusts_pipelines.errors import ExportRequestError, KeeptrustsError
from keeptrusts_pipelines.exports.folder import BrokenRecord, ExportFolder
from keeptrusts_pipelines.exports.inbox import (
    REJECTED,
    REQUEST_FILE_SHA256_TAG,
    REQUEST_FILE_TAG,
    LocalInbox,
    RequestFile,
    RequestInbox,
    S3Inbox,
    read_request,
)
from keeptrusts_pipelines.model.export_request import request_to_fields
from keeptrusts_pipelines.model.export_runs import (
    ACTOR_TAG,
    NOTIFY_TAG,
    REQUEST_ID_TAG,
    export_id_for_request,
    export_run_config,
    request_tags,
    run_actor,
    window_of_tags,
)
from keeptrusts_pipelines.settings import Settings, exports_root, requests_root

# Dagster's run status sensors pass its own beta `owners` parameter on; the warning is not ours.
warnings.filterwarnings(
    "ignore", message="Parameter `owners` of initializer `SensorDefinition", category=dg.BetaWarning
)


def inboxes() -> list[RequestInbox]:
    """KEEPTRUSTS_HOME/requests/, and the S3 prefix of KEEPTRUSTS_REQUESTS_S3_URL when set."""
    settings = Settings.from_environment()
    found: list[RequestInbox] = [LocalInbox(requests_root(settings.home))]
    if settings.requests_s3_url:
        parsed = urlparse(settings.requests_s3_url)
        client = boto3.client("s3", endpoint_url=settings.aws_endpoint_url)
        found.append(S3Inbox(client, parsed.netloc, parsed.path))
    return found


# Errors of the inbox itself (storage down, a file gone meanwhile): the file waits a tick.
INBOX_UNAVAILABLE = (OSError, BotoCoreError, ClientError)


def _taken_id(taken: RequestFile, holder: str, where: str) -> ExportRequestError:
    return ExportRequestError(
        "request_id",
        f"{taken.request_id!r} is already the id of request file {holder!r} ({where}), which "
        "holds another request; give this one a request_id of its own",
    )


def _config_error(error: dg.DagsterInvalidConfigError) -> ExportRequestError:
    """Dagster's refusal of a request's run config, as one line."""
    reasons = " ".join(" ".join(reason.message.split()) for reason in error.errors)
    if len(reasons) > 1000:
        reasons = reasons[:999] + "…"
    return ExportRequestError("run config", f"export_job's config schema refuses it: {reasons}")


def _inbox_run(
    context: dg.SensorEvaluationContext,
    inbox: RequestInbox,
    name: str,
    requested: dict[str, RequestFile],
) -> dg.RunRequest | None:
    """The run a request file becomes; None when its run exists (the file is then accepted) or
    was requested this tick. ExportRequestError when the file cannot run."""
    taken = read_request(inbox, name, datetime.now(UTC))
    # Run keys make a request run once, however often its file is seen.
    run_tags = {"dagster/run_key": taken.request_id, "dagster/sensor_name": context.sensor_name}
    records = context.instance.get_run_records(dg.RunsFilter(tags=run_tags), limit=1)
    if records:
        run = records[0].dagster_run
        # The very same content seen again is done (as is a file whose run predates the tag).
        if run.tags.get(REQUEST_FILE_SHA256_TAG, taken.sha256) != taken.sha256:
            raise _taken_id(taken, run.tags.get(REQUEST_FILE_TAG, "?"), f"run {run.run_id}")
        stored = inbox.accept(name)
        if stored != name:
            context.log.info(f"request {name} in {inbox.describe()} accepted as {stored}")
        return None
    first = requested.get(taken.request_id)
    if first is not None:
        if first.sha256 != taken.sha256:
            raise _taken_id(taken, first.name, "requested in this tick")
        return None  # the same request twice: accepted once its run exists
    export_id = export_id_for_request(taken.request_id)
    # The request lives in the export's folder; the run config holds no user ids.
    folder = ExportFolder(exports_root(), export_id)
    stored = folder.store_request(request_to_fields(taken.request))
    run_config = export_run_config(taken.request, request_sha256=stored)
    try:
        dg.validate_run_config(export_job, run_config)
    except dg.DagsterInvalidConfigError as error:
        folder.request_path.unlink(missing_ok=True)
        raise _config_error(error) from None
    requested[taken.request_id] = taken
    return dg.RunRequest(
        run_key=taken.request_id,
        run_config=run_config,
        tags={
            **request_tags(taken.request, export_id),
            REQUEST_ID_TAG: taken.request_id,
            REQUEST_FILE_TAG: name,
            REQUEST_FILE_SHA256_TAG: taken.sha256,
            ACTOR_TAG: f"inbox:{inbox.describe()}",
        },
    )


def _reject(
    context: dg.SensorEvaluationContext, inbox: RequestInbox, name: str, reason: str, logged: str
) -> None:
    try:
        stored = inbox.reject(name, reason)
    except Exception as error:  # the tick goes on; the file waits a tick
        context.log.warning(
            f"request {ascii(name)[:100]} in {inbox.describe()} could not be moved to "
            f"{REJECTED}/ ({type(error).__name__}); tried again next tick"
        )
        return
    context.log.warning(
        f"request {ascii(name)[:100]} in {inbox.describe()} rejected as {REJECTED}/{stored}: "
        f"{logged}"
    )


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
    requested: dict[str, RequestFile] = {}
    for inbox in inboxes():
        try:
            names = inbox.pending()
        except INBOX_UNAVAILABLE as error:
            context.log.warning(
                f"inbox {inbox.describe()} not listed ({type(error).__name__}); next tick"
            )
            continue
        for name in names:
            try:
                run = _inbox_run(context, inbox, name, requested)
            except INBOX_UNAVAILABLE as error:
                context.log.warning(
                    f"request {ascii(name)[:100]} in {inbox.describe()} not readable now "
                    f"({type(error).__name__}); tried again next tick"
                )
            except KeeptrustsError as error:
                _reject(context, inbox, name, str(error), str(error))
            except Exception as error:  # one bad file never stops the tick
                # Only the kind is logged: the message may quote the file's content.
                kind = type(error).__name__
                reason = (
                    f"file: could not be read as a request ({kind}); write one JSON object "
                    "of at most 1 MiB as the README shows"
                )
                _reject(context, inbox, name, reason, f"unexpected {kind}")
            else:
                if run is not None:
                    runs.append(run)
    return dg.SensorResult(run_requests=runs)


# Set by Dagster on a failed run: whether its run retries will re-run it.
WILL_RETRY_TAG = "dagster/will_retry"
# The period a run of an evidence job builds, by job name.
EVIDENCE_JOB_PERIODS = {job.name: period for period, job in evidence_jobs.items()}


def _export_folder(
    run: dg.DagsterRun, exports: ExportsResource, evidence: EvidenceResource
) -> ExportFolder | None:
    """The folder of what a run makes: an export, or a period's bundle; None for other runs."""
    try:
        if run.job_name == export_job.name:
            return ExportFolder(exports.path(), export_id_of(run))
        period = EVIDENCE_JOB_PERIODS.get(run.job_name)
        key = run.tags.get("dagster/partition")
        if period and key:
            return ExportFolder(evidence.path(), evidence_id(period, key))
    except KeeptrustsError:
        pass  # a run tagged with no valid export id is not an export of ours
    return None


def _notification(run: dg.DagsterRun, folder: ExportFolder, status: str) -> dict:
    """What a webhook receives: ids, counts and hashes; never event content."""
    try:
        record = folder.read_record() or {}
        failure = folder.read_failure()
    except BrokenRecord:
        record, failure = {}, None
    request = record.get("request") or {}
    body: dict[str, object] = {
        "event": f"export.{status}",
        "export_id": folder.name,
        "run_id": run.run_id,
        "status": status,
        "format": run.tags.get("keeptrusts/format") or request.get("format"),
        "window": request.get("window") or window_of_tags(run.tags),
    }
    if status == "completed" and record:
        body.update(
            records=record.get("records"),
            bytes=record.get("bytes"),
            sha256=record.get("sha256"),
            artifact=Path(str(record.get("artifact"))).name,
            expires_at=record.get("expires_at"),
        )
    if status == "failed":
        body["error"] = failure["error"] if failure else "the run failed before exporting"
    return body


def _post(
    context: dg.RunStatusSensorContext,
    webhook: WebhookResource,
    folder: ExportFolder,
    status: str,
) -> None:
    """Post an export's terminal state once, however many runs and ticks see it."""
    run = context.instance.get_run_by_id(context.dagster_run.run_id) or context.dagster_run
    if not webhook.url or run.tags.get(NOTIFY_TAG) == "false":
        return
    if status == "failed" and run.tags.get(WILL_RETRY_TAG) == "true":
        return  # its retry will end it, and say how
    body = _notification(run, folder, status)
    # Once per state of an artifact: a period bundle superseded by late data is news again.
    digest = str(body.get("sha256") or "")[:16]
    if not folder.claim_once(f"notified-{status}{'-' + digest if digest else ''}"):
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


# Runs that kt starts on the local instance carry no code location, so these sensors watch
# every run and pick out the exports and period bundles themselves.
@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitor_all_code_locations=True,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Post each completed export and period bundle to KEEPTRUSTS_WEBHOOK_URL, "
    "signed, once, however it was launched.",
)
def export_completed_sensor(
    context: dg.RunStatusSensorContext,
    exports: ExportsResource,
    evidence: EvidenceResource,
    webhook: WebhookResource,
) -> None:
    folder = _export_folder(context.dagster_run, exports, evidence)
    if folder is not None:
        _post(context, webhook, folder, "completed")


@dg.run_failure_sensor(
    monitor_all_code_locations=True,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Record each failed export and period bundle in the custody ledger and post it "
    "to KEEPTRUSTS_WEBHOOK_URL, signed, once (not for a run Dagster will retry).",
)
def export_failed_sensor(
    context: dg.RunFailureSensorContext,
    exports: ExportsResource,
    evidence: EvidenceResource,
    webhook: WebhookResource,
    custody: CustodyResource,
) -> None:
    run = context.dagster_run
    folder = _export_folder(run, exports, evidence)
    if folder is None:
        return
    # A run killed before its op could record the failure is recorded here (once per run).
    ExportEntries(custody.ledger(), folder.name, run_actor(run.tags), run.run_id).failed()
    _post(context, webhook, folder, "failed")


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
