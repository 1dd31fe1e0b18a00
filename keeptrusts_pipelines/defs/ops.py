"""Ops of the export jobs: run one export request; expire artifacts past their time.

The run config is the export request; the run's tags say which export it is, so the Runs
page filters by export id, format, window and filters. Nothing from the events themselves
(prompts, outputs, user ids) reaches tags, metadata, logs or error messages: only ids,
counts and hashes do.
"""

from datetime import UTC, datetime, timedelta

import dagster as dg

from keeptrusts_pipelines.custody.export_entries import ExportEntries
from keeptrusts_pipelines.defs.export_config import ExportConfig
from keeptrusts_pipelines.defs.partitions import EVIDENCE_PARTITIONS
from keeptrusts_pipelines.defs.resources import (
    CustodyResource,
    EvidenceResource,
    ExportsResource,
    LakeResource,
)
from keeptrusts_pipelines.delivery.target import open_target, parse_target
from keeptrusts_pipelines.errors import KeeptrustsError
from keeptrusts_pipelines.exports.engine import run_export
from keeptrusts_pipelines.exports.folder import ExportFolder, check_export_id
from keeptrusts_pipelines.exports.lifecycle import clear_failure, expire_due, record_failure
from keeptrusts_pipelines.lake.retention import load_holds, plan_retention, prune
from keeptrusts_pipelines.model.export_runs import (
    EXPORT_ID_TAG,
    EXPORTS_POOL,
    export_id_for_run,
    launcher_tags,
    request_tags,
    run_actor,
)


def export_id_of(run: dg.DagsterRun) -> str:
    return run.tags.get(EXPORT_ID_TAG) or export_id_for_run(run.run_id)


@dg.op(
    out=dg.Out(dg.Nothing),
    description="Export a window of the lake in a format, filtered, redacted unless raw content "
    "is asked for; record it in the custody ledger.",
    pool=EXPORTS_POOL,
)
def export_artifact(
    context: dg.OpExecutionContext,
    config: ExportConfig,
    lake: LakeResource,
    exports: ExportsResource,
    custody: CustodyResource,
) -> None:
    export_id = export_id_of(context.run)
    try:
        folder = ExportFolder(exports.path(), check_export_id(export_id, EXPORT_ID_TAG))
    except KeeptrustsError as error:
        raise dg.Failure(description=str(error), allow_retries=False) from None
    # The lock shows the export's monitor this run is alive until the op ends, delivery included.
    with folder.working(context.run_id):
        _export(context, config, lake, exports, custody, folder)


def _export(
    context: dg.OpExecutionContext,
    config: ExportConfig,
    lake: LakeResource,
    exports: ExportsResource,
    custody: CustodyResource,
    folder: ExportFolder,
) -> None:
    export_id = folder.name
    ledger = custody.ledger()
    entries = ExportEntries(ledger, export_id, run_actor(context.run.tags), context.run_id)
    started = datetime.now(UTC)

    def fail(message: str) -> dg.Failure:
        # Recorded once per run; the job's tag keeps Dagster from re-running a failed step, since
        # a bad request or a window the lake lacks fails the same way every time.
        record_failure(exports.path(), export_id, message, datetime.now(UTC))
        entries.failed()
        return dg.Failure(description=message, allow_retries=False)

    try:
        request = config.request(started, folder)
        # A target that cannot be used fails the run before anything is written.
        address = parse_target(config.deliver_to, "deliver_to") if config.deliver_to else None
    except KeeptrustsError as error:
        raise fail(str(error)) from None
    context.instance.add_run_tags(
        context.run_id, {**request_tags(request, export_id), **launcher_tags(context.run.tags)}
    )
    entries.created({"type": request.export_type, "format": request.format})
    try:
        result = run_export(
            request,
            lake.layout(),
            exports.path(),
            export_id=export_id,
            part_bytes=exports.part_bytes,
            redaction=exports.redaction(),
            options=exports.producer_options(),
            ttl=timedelta(days=exports.ttl_days),
            provenance={"run_id": context.run_id, "custody_ledger_head": entries.head()},
            worker=context.run_id,
        )
    except KeeptrustsError as error:
        raise fail(str(error)) from None
    except Exception as error:
        # Messages of other errors may quote data; only the kind of error leaves the process.
        raise fail(f"the export stopped with {type(error).__name__}; retry the run") from None
    clear_failure(exports.path(), export_id)
    entries.completed(
        result.sha256, {"records": result.records, "bytes": result.bytes, "parts": result.parts}
    )
    context.log.info(f"{export_id}: {result.records} records, {result.bytes} bytes")
    delivered = {}
    try:
        saved = exports.saved_destination() if config.deliver and address is None else None
        address = saved.address if saved is not None else address
    except KeeptrustsError as error:
        raise fail(f"the export is complete but was not delivered: {error}") from None
    if address is not None:
        # The store's client loads only for an export that is delivered.
        from keeptrusts_pipelines.exports.delivery import deliver_export

        try:
            target = open_target(address, exports.s3_access())
            delivered = deliver_export(result, exports.path(), export_id, target)
        except KeeptrustsError as error:
            raise fail(f"the export is complete but was not delivered: {error}") from None
        entries.delivered(result.sha256, delivered)
        custody.checkpoint(ledger)  # the head, anchored: entries deleted after it cannot hide
        context.log.info(f"{export_id}: delivered to {delivered['uri']}")
    context.add_output_metadata(
        {
            **{f"delivery_{k}": dg.MetadataValue.text(str(v)) for k, v in delivered.items()},
            "export_id": dg.MetadataValue.text(export_id),
            "records": dg.MetadataValue.int(result.records),
            "bytes": dg.MetadataValue.int(result.bytes),
            "sha256": dg.MetadataValue.text(result.sha256),
            "artifact": dg.MetadataValue.path(result.artifact),
            "parts": dg.MetadataValue.int(result.parts),
            "expires_at": dg.MetadataValue.text(result.expires_at or ""),
            "warnings": dg.MetadataValue.json(result.warnings),
            "partitions_read": dg.MetadataValue.int(len(result.partitions)),
            "content": dg.MetadataValue.text(result.request["content"]),
        }
    )


@dg.op(
    out=dg.Out(dg.Nothing),
    description="Remove the artifacts of exports past their expiry; keep their records.",
)
def expired_exports(
    context: dg.OpExecutionContext, exports: ExportsResource, custody: CustodyResource
) -> None:
    removed = expire_due(exports.path(), custody.ledger())
    context.log.info(f"{len(removed)} export(s) expired")
    context.add_output_metadata({"expired": dg.MetadataValue.json(removed)})


@dg.op(
    out=dg.Out(dg.Nothing),
    description="Prune lake days past KEEPTRUSTS_EVENT_RETENTION_HOURS that a delivered "
    "evidence bundle covers and no legal hold keeps; report every day considered.",
)
def pruned_lake_days(
    context: dg.OpExecutionContext, lake: LakeResource, evidence: EvidenceResource
) -> None:
    hours = lake.retention_hours
    if hours is None:
        context.log.info("KEEPTRUSTS_EVENT_RETENTION_HOURS is not set: nothing is pruned")
        context.add_output_metadata({"pruned": dg.MetadataValue.json([])})
        return
    decisions = plan_retention(
        lake.layout(),
        evidence.path(),
        datetime.now(UTC),
        hours,
        load_holds(lake.holds_path(), hold_everything=lake.legal_hold),
        periods=tuple(EVIDENCE_PARTITIONS),
    )
    removed, decisions = prune(lake.layout(), decisions)
    context.log.info(
        f"{sum(d.pruned for d in decisions)} day(s) pruned, "
        f"{sum(not d.pruned for d in decisions)} kept, {len(removed)} file(s) removed"
    )
    context.add_output_metadata(
        {
            "retention_hours": dg.MetadataValue.int(hours),
            "pruned": dg.MetadataValue.json(
                [{"day": d.day, "why": d.reason} for d in decisions if d.pruned]
            ),
            "kept": dg.MetadataValue.json(
                [{"day": d.day, "why": d.reason} for d in decisions if not d.pruned]
            ),
        }
    )
