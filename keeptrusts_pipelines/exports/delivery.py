"""An ad-hoc export delivered to its target: its artifact (and provenance statement) under
`<prefix>/<export_id>/`, create-once, with the object's URI recorded beside the artifact."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from keeptrusts_pipelines.delivery.target import DeliveryTarget
from keeptrusts_pipelines.evidence.provenance import SUFFIX
from keeptrusts_pipelines.exports.engine import ExportResult
from keeptrusts_pipelines.exports.lifecycle import read_record, write_record
from keeptrusts_pipelines.model.records import DeliveryRecord


def deliver_export(
    result: ExportResult,
    exports_root: Path,
    export_id: str,
    target: DeliveryTarget,
) -> dict[str, object]:
    """Upload a completed export to `target`; what was delivered (uri, version id, sha256)."""
    artifact = Path(result.artifact)
    sent = target.deliver(artifact, f"{export_id}/{artifact.name}")
    provenance = Path(str(artifact) + SUFFIX)
    if provenance.exists():
        target.deliver(provenance, f"{export_id}/{provenance.name}")
    delivered = {
        "uri": sent.uri,
        "bucket": target.address.bucket,
        "key": sent.key,
        "region": target.address.region,
        "version_id": sent.version_id,
        "sha256": sent.sha256,
    }
    record = read_record(exports_root, export_id)
    if record is not None:
        write_record(
            exports_root, export_id, replace(record, delivery=DeliveryRecord.from_json(delivered))
        )
    return delivered
