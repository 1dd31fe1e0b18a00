"""Period evidence: a compliance-all bundle per week, month and quarter, and its delivery.

Each bundle partition depends on the daily lake partitions of its period, so the asset graph
runs from daily events through period bundles to delivered objects: the chain of custody
the bundle's manifest also records. A re-materialized day makes its periods stale; their next
bundle supersedes the delivered one, and its provenance names it.
"""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg

from keeptrusts_pipelines.custody.export_entries import ExportEntries
from keeptrusts_pipelines.defs.assets.lake import config_versions, decision_events, escalations
from keeptrusts_pipelines.defs.partitions import EVIDENCE_PARTITIONS
from keeptrusts_pipelines.defs.resources import (
    CustodyResource,
    DeliveryResource,
    EvidenceResource,
    ExportsResource,
    LakeResource,
)
from keeptrusts_pipelines.errors import KeeptrustsError
from keeptrusts_pipelines.evidence.code_version import code_version
from keeptrusts_pipelines.evidence.provenance import SUFFIX, read_provenance, write_provenance
from keeptrusts_pipelines.evidence.verify import verify
from keeptrusts_pipelines.exports.engine import run_export
from keeptrusts_pipelines.exports.lifecycle import read_record
from keeptrusts_pipelines.lake.files import atomic_path
from keeptrusts_pipelines.model.export_request import ExportRequest, Window
from keeptrusts_pipelines.model.export_runs import run_actor
from keeptrusts_pipelines.model.records import ExportRecord

# Bump when a change to reports or bundles changes a bundle's bytes.
EVIDENCE_CODE_VERSION = "1"
DELIVERY_RECORD = "delivery.json"


def evidence_id(period: str, key: str) -> str:
    """The folder and ledger id of a period's bundle: `quarterly-2026-07-01`."""
    return f"{period}-{key}"


def delivered_name(archive: Path, sha256: str) -> str:
    """The object name of a delivered bundle: its content hash in it, so keys never collide."""
    return archive.name.replace(".tar.gz", f"-{sha256[:16]}.tar.gz")


def _supersedes(previous: ExportRecord | None, folder: Path) -> dict | None:
    """The bundle a new one replaces, by name, sha256 and delivered key (if it was delivered)."""
    if previous is None:
        return None
    delivery = folder / DELIVERY_RECORD
    delivered = json.loads(delivery.read_text()) if delivery.exists() else {}
    return {
        "archive": Path(str(previous.artifact)).name,
        "sha256": previous.sha256,
        "key": delivered.get("key") if delivered.get("sha256") == previous.sha256 else None,
    }


# Each period's schedule runs at 02:00 after it closes; by 04:00 its bundle is late.
FRESHNESS = {
    "weekly": dg.FreshnessPolicy.cron(
        deadline_cron="0 4 * * 1", lower_bound_delta=timedelta(hours=2)
    ),
    "monthly": dg.FreshnessPolicy.cron(
        deadline_cron="0 4 1 * *", lower_bound_delta=timedelta(hours=2)
    ),
    "quarterly": dg.FreshnessPolicy.cron(
        deadline_cron="0 4 1 1,4,7,10 *", lower_bound_delta=timedelta(hours=2)
    ),
}
# Periods a year holds: how far past loading the config history mapping still reaches back.
PERIODS_PER_YEAR = {"weekly": 53, "monthly": 12, "quarterly": 4}
OWNERS = ["team:compliance"]
# Storage and network errors may pass; a step retries them before its run fails.
TRANSIENT_RETRIES = dg.RetryPolicy(max_retries=2, delay=10, backoff=dg.Backoff.EXPONENTIAL)
VERIFIES = "bundle_verifies"
VERIFIES_DESCRIPTION = (
    "Checks the bundle as `kt verify` does, before anything downstream (delivery) runs: its "
    "BagIt fixity, manifest, provenance statement and every lake partition it names against "
    "the lake now, so an auditor's verification of the same bytes cannot fail."
)


def _config_history(period: str) -> dg.AssetDep:
    """config_versions from the lake's first day to the period's last: the bundle reads all of
    it (the configuration in force may be older than the period), so staleness in the UI is
    what `kt verify` finds."""
    partitions = EVIDENCE_PARTITIONS[period]
    # The offset reaches back over every period there is, and a year's more to come.
    reach = len(partitions.get_partition_keys()) + PERIODS_PER_YEAR[period]
    return dg.AssetDep(
        config_versions, partition_mapping=dg.TimeWindowPartitionMapping(start_offset=-reach)
    )


def _partitions_read(partitions: list) -> dg.TableMetadataValue:
    return dg.MetadataValue.table(
        records=[
            dg.TableRecord({"table": p.table, "day": p.day, "data_version": p.sha256})
            for p in partitions
        ],
        schema=dg.TableSchema(
            columns=[
                dg.TableColumn("table", "string", description="Lake table"),
                dg.TableColumn("day", "string", description="Daily partition (UTC)"),
                dg.TableColumn("data_version", "string", description="sha256 of its file"),
            ]
        ),
    )


def _signer(provenance: str | None) -> str:
    """The key id that signed the provenance statement, or `unsigned`."""
    if not provenance:
        return "unsigned"
    try:
        envelope = json.loads(Path(provenance).read_text())
    except (OSError, ValueError):
        return "unreadable"
    signatures = envelope.get("signatures") if isinstance(envelope, dict) else None
    keyids = [str(s.get("keyid")) for s in signatures or [] if isinstance(s, dict)]
    return ", ".join(keyids) or "unsigned"


def _bundle_asset(period: str) -> dg.AssetsDefinition:
    name = f"{period}_evidence_bundle"

    @dg.asset(
        name=name,
        partitions_def=EVIDENCE_PARTITIONS[period],
        deps=[
            dg.AssetDep(asset, partition_mapping=dg.TimeWindowPartitionMapping())
            for asset in (decision_events, escalations)
        ]
        + [_config_history(period)],
        group_name="evidence",
        kinds={"bagit"},
        owners=OWNERS,
        tags={"domain": "evidence", "period": period, "personal_data": "redacted"},
        code_version=EVIDENCE_CODE_VERSION,
        retry_policy=TRANSIENT_RETRIES,
        freshness_policy=FRESHNESS[period],
        description=f"The {period} compliance-all bundle (BagIt tar.gz) of every daily partition "
        "of the period: framework reports, PDF, events, escalations, config history since the "
        "lake's first day, manifest; its provenance statement beside it.",
        check_specs=[
            dg.AssetCheckSpec(
                VERIFIES,
                asset=name,
                blocking=True,
                description=VERIFIES_DESCRIPTION,
                partitions_def=EVIDENCE_PARTITIONS[period],
            )
        ],
    )
    def bundle(
        context: dg.AssetExecutionContext,
        lake: LakeResource,
        evidence: EvidenceResource,
        custody: CustodyResource,
        exports: ExportsResource,
    ) -> dg.MaterializeResult:
        window = context.partition_time_window
        export_id = evidence_id(period, context.partition_key)
        folder = evidence.path() / export_id
        previous = read_record(evidence.path(), export_id)
        supersedes = _supersedes(previous, folder)
        request = ExportRequest(
            window=Window(window.start.astimezone(UTC), window.end.astimezone(UTC)),
            format="compliance-all",
            title=f"{period.capitalize()} compliance evidence {context.partition_key}",
        )
        entries = ExportEntries(
            custody.ledger(), export_id, run_actor(context.run.tags), context.run.run_id
        )
        entries.created(per_run=True)
        try:
            result = run_export(
                request,
                lake.layout(),
                evidence.path(),
                export_id=export_id,
                redaction=exports.redaction(),
                options=exports.producer_options(),
                provenance={
                    "run_id": context.run.run_id,
                    "custody_ledger_head": entries.head(),
                    "period": {"kind": period, "key": context.partition_key},
                },
            )
        except KeeptrustsError as error:
            # Days missing from the lake or a bad request fail the same way every time: once,
            # recorded once (the failure sensor's entry for the run is this one).
            entries.failed()
            raise dg.Failure(description=str(error), allow_retries=False) from None
        artifact = Path(result.artifact)
        superseded = supersedes if supersedes and supersedes["sha256"] != result.sha256 else None
        if superseded:
            statement, _ = read_provenance(Path(result.provenance), None)
            statement["predicate"]["supersedes"] = superseded
            write_provenance(artifact, statement, exports.producer_options().signing_key)
        entries.completed(result.sha256, {"records": result.records, "bytes": result.bytes})
        checked = verify(artifact, None, lake.layout())
        return dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(str(artifact)),
                "provenance": dg.MetadataValue.path(result.provenance or ""),
                "sha256": dg.MetadataValue.text(result.sha256),
                "dagster/size_bytes": dg.MetadataValue.int(result.bytes),
                "dagster/row_count": dg.MetadataValue.int(result.records),
                "partitions_read": _partitions_read(result.partitions),
                "window": dg.MetadataValue.json(
                    {
                        "from": request.window.first_day.isoformat(),
                        "to": request.window.last_day.isoformat(),
                    }
                ),
                "period_end": dg.MetadataValue.text(request.window.inclusive_end()),
                "code_version": dg.MetadataValue.text(code_version()),
                "signer_key_id": dg.MetadataValue.text(_signer(result.provenance)),
                "supersedes": dg.MetadataValue.json(superseded),
                "warnings": dg.MetadataValue.json(result.warnings),
            },
            data_version=dg.DataVersion(result.sha256),
            check_results=[
                dg.AssetCheckResult(
                    check_name=VERIFIES,
                    passed=checked.ok,
                    severity=dg.AssetCheckSeverity.ERROR,
                    description="verifies as kt verify does"
                    if checked.ok
                    else f"{len(checked.findings)} finding(s): kt verify {artifact}",
                    metadata={
                        "partition": context.partition_key,
                        "checked": dg.MetadataValue.json(checked.checked),
                        "findings": dg.MetadataValue.json([str(f) for f in checked.findings]),
                    },
                )
            ],
        )

    return bundle


def _delivery_asset(period: str, bundle: dg.AssetsDefinition) -> dg.AssetsDefinition:
    @dg.asset(
        name=f"{period}_evidence_delivery",
        partitions_def=EVIDENCE_PARTITIONS[period],
        deps=[bundle],
        group_name="evidence",
        kinds={"s3"},
        owners=OWNERS,
        tags={"domain": "evidence", "period": period},
        code_version=EVIDENCE_CODE_VERSION,
        retry_policy=TRANSIENT_RETRIES,
        description=f"The {period} bundle and its provenance statement in the evidence bucket: "
        "create-once keys holding the content hash, SHA-256 checked, optional Object Lock.",
    )
    def delivery(
        context: dg.AssetExecutionContext,
        evidence: EvidenceResource,
        delivery: DeliveryResource,
        custody: CustodyResource,
    ) -> dg.MaterializeResult:
        target = delivery.target()
        if target is None:
            raise dg.Failure(
                description="no evidence bucket: set KEEPTRUSTS_EVIDENCE_S3_URL=s3://bucket/prefix "
                "(and AWS_ENDPOINT_URL for MinIO or R2), then re-run this partition"
            )
        export_id = evidence_id(period, context.partition_key)
        record = read_record(evidence.path(), export_id)
        if record is None:
            raise dg.Failure(description=f"no bundle for {export_id}: materialize {bundle.key}")
        archive = Path(str(record.artifact))
        name = delivered_name(archive, str(record.sha256))
        folder = f"{period}/{context.partition_key}"
        delivered = target.deliver(archive, f"{folder}/{name}")
        provenance = Path(str(archive) + SUFFIX)
        statement = None
        if delivered.created and provenance.exists():
            # The statement of the run that made these bytes travels beside them.
            statement = target.deliver(provenance, f"{folder}/{name}{SUFFIX}")
        ledger = custody.ledger()
        ExportEntries(ledger, export_id, run_actor(context.run.tags), context.run.run_id).delivered(
            delivered.sha256, {"uri": delivered.uri, "version_id": delivered.version_id}
        )
        # The head, delivered beside the bundle, anchors the ledger out of reach of whoever
        # can edit its database; a re-delivery of the same bytes sends no new checkpoint.
        checkpoint = custody.checkpoint(ledger)
        anchor = None
        if delivered.created and checkpoint is not None:
            anchor = target.deliver(
                checkpoint.path, f"{folder}/custody-checkpoint-{checkpoint.sequence:08d}.json"
            )
        with atomic_path(evidence.path() / export_id / DELIVERY_RECORD) as path:
            path.write_text(
                json.dumps(
                    {
                        "key": delivered.key,
                        "uri": delivered.uri,
                        "version_id": delivered.version_id,
                        "sha256": delivered.sha256,
                        "delivered_at": datetime.now(UTC).isoformat(),
                    },
                    indent=2,
                )
            )
        return dg.MaterializeResult(
            metadata={
                "uri": dg.MetadataValue.url(delivered.uri),
                "version_id": dg.MetadataValue.text(delivered.version_id or ""),
                "sha256": dg.MetadataValue.text(delivered.sha256),
                "store_checksum_sha256": dg.MetadataValue.text(delivered.checksum or ""),
                "created": dg.MetadataValue.bool(delivered.created),
                "provenance_uri": dg.MetadataValue.text(statement.uri if statement else ""),
                "custody_checkpoint_uri": dg.MetadataValue.text(anchor.uri if anchor else ""),
            },
            data_version=dg.DataVersion(delivered.sha256),
        )

    return delivery


evidence_bundles = {period: _bundle_asset(period) for period in EVIDENCE_PARTITIONS}
evidence_deliveries = {
    period: _delivery_asset(period, evidence_bundles[period]) for period in EVIDENCE_PARTITIONS
}
evidence_assets = [*evidence_bundles.values(), *evidence_deliveries.values()]


def evidence_assets_for(delivery_configured: bool) -> list[dg.AssetsDefinition]:
    """The bundles, and their deliveries only where there is somewhere to deliver to."""
    deliveries = list(evidence_deliveries.values()) if delivery_configured else []
    return [*evidence_bundles.values(), *deliveries]
