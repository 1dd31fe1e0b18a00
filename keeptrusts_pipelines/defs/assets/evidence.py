"""Period evidence: a compliance-all bundle per week, month and quarter, and its delivery.

Each bundle partition depends on the daily lake partitions of its period, so the asset graph
runs from daily events through period bundles to delivered objects: the chain of custody
the bundle's manifest also records. A re-materialized day makes its periods stale; their next
bundle supersedes the delivered one, and its provenance names it.
"""

import json
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from keeptrusts_pipelines.custody.checkpoints import write_checkpoint
from keeptrusts_pipelines.defs.assets.lake import lake_assets
from keeptrusts_pipelines.defs.partitions import EVIDENCE_PARTITIONS
from keeptrusts_pipelines.defs.resources import (
    CustodyResource,
    DeliveryResource,
    EvidenceResource,
    LakeResource,
)
from keeptrusts_pipelines.delivery.s3 import deliver
from keeptrusts_pipelines.evidence.provenance import SUFFIX, read_provenance, write_provenance
from keeptrusts_pipelines.exports.engine import run_export
from keeptrusts_pipelines.exports.lifecycle import read_record
from keeptrusts_pipelines.lake.files import atomic_path
from keeptrusts_pipelines.model.export_request import ExportRequest, Window

# Bump when a change to reports or bundles changes a bundle's bytes.
EVIDENCE_CODE_VERSION = "1"
DELIVERY_RECORD = "delivery.json"


def evidence_id(period: str, key: str) -> str:
    """The folder and ledger id of a period's bundle: `quarterly-2026-07-01`."""
    return f"{period}-{key}"


def delivered_name(archive: Path, sha256: str) -> str:
    """The object name of a delivered bundle: its content hash in it, so keys never collide."""
    return archive.name.replace(".tar.gz", f"-{sha256[:16]}.tar.gz")


def _supersedes(previous: dict | None, folder: Path) -> dict | None:
    """The bundle a new one replaces, by name, sha256 and delivered key (if it was delivered)."""
    if previous is None:
        return None
    delivery = folder / DELIVERY_RECORD
    delivered = json.loads(delivery.read_text()) if delivery.exists() else {}
    return {
        "archive": Path(previous["artifact"]).name,
        "sha256": previous["sha256"],
        "key": delivered.get("key") if delivered.get("sha256") == previous["sha256"] else None,
    }


def _bundle_asset(period: str) -> dg.AssetsDefinition:
    @dg.asset(
        name=f"{period}_evidence_bundle",
        partitions_def=EVIDENCE_PARTITIONS[period],
        deps=[
            dg.AssetDep(asset, partition_mapping=dg.TimeWindowPartitionMapping())
            for asset in lake_assets
        ],
        group_name="evidence",
        kinds={"bagit"},
        code_version=EVIDENCE_CODE_VERSION,
        description=f"The {period} compliance-all bundle (BagIt tar.gz) of every daily partition "
        "of the period: framework reports, PDF, events, escalations, config history, manifest; "
        "its provenance statement beside it.",
    )
    def bundle(
        context: dg.AssetExecutionContext,
        lake: LakeResource,
        evidence: EvidenceResource,
        custody: CustodyResource,
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
        ledger = custody.ledger()
        actor = f"dagster:{context.run.tags.get('dagster/schedule_name') or 'run'}"
        ledger.append(
            "created",
            export_id,
            actor=actor,
            run_id=context.run.run_id,
            idempotency_key=f"created:{export_id}:{context.run.run_id}",
        )
        result = run_export(
            request,
            lake.layout(),
            evidence.path(),
            export_id=export_id,
            provenance={
                "run_id": context.run.run_id,
                "custody_ledger_head": dict(zip(("sequence", "hash"), ledger.head(), strict=True)),
                "period": {"kind": period, "key": context.partition_key},
            },
        )
        artifact = Path(result.artifact)
        superseded = supersedes if supersedes and supersedes["sha256"] != result.sha256 else None
        if superseded:
            statement, _ = read_provenance(Path(result.provenance), None)
            statement["predicate"]["supersedes"] = superseded
            write_provenance(artifact, statement)
        ledger.append(
            "completed",
            export_id,
            actor=actor,
            run_id=context.run.run_id,
            artifact_sha256=result.sha256,
            detail={"records": result.records, "bytes": result.bytes},
            idempotency_key=f"completed:{export_id}:{result.sha256}",
        )
        return dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(str(artifact)),
                "provenance": dg.MetadataValue.path(result.provenance or ""),
                "sha256": dg.MetadataValue.text(result.sha256),
                "bytes": dg.MetadataValue.int(result.bytes),
                "dagster/row_count": dg.MetadataValue.int(result.records),
                "partitions_read": dg.MetadataValue.int(len(result.partitions)),
                "window": dg.MetadataValue.json(request.window.as_dict()),
                "supersedes": dg.MetadataValue.json(superseded),
                "warnings": dg.MetadataValue.json(result.warnings),
            },
            data_version=dg.DataVersion(result.sha256),
        )

    return bundle


def _delivery_asset(period: str, bundle: dg.AssetsDefinition) -> dg.AssetsDefinition:
    @dg.asset(
        name=f"{period}_evidence_delivery",
        partitions_def=EVIDENCE_PARTITIONS[period],
        deps=[bundle],
        group_name="evidence",
        kinds={"s3"},
        code_version=EVIDENCE_CODE_VERSION,
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
        archive = Path(record["artifact"])
        name = delivered_name(archive, record["sha256"])
        folder = f"{period}/{context.partition_key}"
        delivered = deliver(archive, target, name=f"{folder}/{name}")
        provenance = Path(str(archive) + SUFFIX)
        statement = None
        if delivered.created and provenance.exists():
            # The statement of the run that made these bytes travels beside them.
            statement = deliver(provenance, target, name=f"{folder}/{name}{SUFFIX}")
        ledger = custody.ledger()
        ledger.append(
            "delivered",
            export_id,
            actor="dagster",
            run_id=context.run.run_id,
            artifact_sha256=delivered.sha256,
            detail={"uri": delivered.uri, "version_id": delivered.version_id},
            idempotency_key=f"delivered:{export_id}:{delivered.sha256}",
        )
        # The head, delivered beside the bundle, anchors the ledger out of reach of whoever
        # can edit its database; a re-delivery of the same bytes sends no new checkpoint.
        checkpoint = write_checkpoint(ledger)
        anchor = None
        if delivered.created and checkpoint is not None:
            anchor = deliver(
                checkpoint.path,
                target,
                name=f"{folder}/custody-checkpoint-{checkpoint.sequence:08d}.json",
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
