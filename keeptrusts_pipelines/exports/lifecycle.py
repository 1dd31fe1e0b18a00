"""What happens to an export after it is written: expiry, deletion, failure, re-creation.

An export's record (`export.json`) keeps its history; the artifact beside it is what expires
or is deleted. Every change is written atomically and appended to the custody ledger.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from keeptrusts_pipelines.custody.export_entries import ExportEntries
from keeptrusts_pipelines.exports.folder import BrokenRecord, ExportFolder, folders
from keeptrusts_pipelines.model.export_request import PLAIN, fields_of_description, rfc3339
from keeptrusts_pipelines.model.records import ExportRecord
from keeptrusts_pipelines.model.request_spelling import Kind

if TYPE_CHECKING:  # `kt export status` reads records without loading SQLAlchemy
    from keeptrusts_pipelines.custody.ledger import CustodyLedger

ARTIFACT_GONE = {
    "expired": "expired on {when} and its artifact was removed; re-create it with: {command}",
    "deleted": "deleted on {when}; its history is kept. Re-create it with: {command}",
}


def read_record(exports_root: Path, export_id: str) -> ExportRecord | None:
    """An export's record; None when it has none; BrokenRecord when it cannot be read."""
    return record_of(ExportFolder(exports_root, export_id))


def record_of(folder: ExportFolder) -> ExportRecord | None:
    """The record in `folder`; None when it has none; BrokenRecord when it cannot be read."""
    document = folder.read_record()
    return None if document is None else ExportRecord.from_json(document)


def read_failure(exports_root: Path, export_id: str) -> dict | None:
    return ExportFolder(exports_root, export_id).read_failure()


def write_record(exports_root: Path, export_id: str, record: ExportRecord) -> None:
    folder = ExportFolder(exports_root, export_id)
    folder.write_json(folder.record_path, record.to_json())


def record_failure(exports_root: Path, export_id: str, message: str, now: datetime) -> None:
    """Keep why an export failed beside where its artifact would have been."""
    folder = ExportFolder(exports_root, export_id)
    folder.write_json(folder.failure_path, {"error": message, "failed_at": rfc3339(now)})


def clear_failure(exports_root: Path, export_id: str) -> None:
    ExportFolder(exports_root, export_id).failure_path.unlink(missing_ok=True)


def gone_message(record: ExportRecord) -> str | None:
    """Why a record has no artifact any more, with the command that makes it again."""
    template = ARTIFACT_GONE.get(record.status or "")
    if template is None:
        return None
    return template.format(
        when=record.removed_at or "?", command=recreate_command(record.request or {})
    )


def recreate_command(request: Mapping[str, Any]) -> str:
    """The `kt export create` command line of a recorded request, in kt's first spelling of
    each field."""
    plain = fields_of_description(request)
    words = ["kt", "export", "create"]
    for spelling in PLAIN:
        held = (plain.get(spelling.group) or {}) if spelling.group else plain
        value = held.get(spelling.key)
        if value in (None, "", [], False):
            continue
        if spelling.kind is Kind.SWITCH:
            words.append(spelling.flags[0])
            continue
        for one in value if isinstance(value, list | tuple) else [value]:
            words += [spelling.flags[0], str(one)]
    return shlex.join(words)


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _remove_artifact(
    folder: ExportFolder, record: ExportRecord, status: str, now: datetime
) -> ExportRecord:
    """Remove the artifact (and its statement) from the folder's `artifact/`, and say so."""
    # Signing libraries load with the statement's module: only when there is one to remove.
    from keeptrusts_pipelines.evidence.provenance import SUFFIX as PROVENANCE_SUFFIX

    artifact = folder.artifact_file(record.artifact)
    if artifact is not None:
        artifact.with_name(artifact.name + PROVENANCE_SUFFIX).unlink(missing_ok=True)
        artifact.unlink(missing_ok=True)  # another process expiring it at the same moment
    updated = replace(record, status=status, removed_at=rfc3339(now))
    folder.write_json(folder.record_path, updated.to_json())
    return updated


def expire_due(
    exports_root: Path, ledger: CustodyLedger, now: datetime | None = None, actor: str = "expiry"
) -> list[str]:
    """Remove the artifacts of completed exports past their `expires_at`; their ids."""
    now = now or datetime.now(UTC)
    expired = []
    for folder in folders(exports_root):
        folder.sweep_staging()  # left by a worker that died mid-export
        try:
            record = record_of(folder)
        except BrokenRecord:
            continue  # shown as broken where it is listed; nothing to expire
        if record is None or record.status != "completed":
            continue
        try:
            if _moment(str(record.expires_at)) > now:
                continue
        except ValueError:
            continue  # no readable expiry: kept, and listed as it is
        _remove_artifact(folder, record, "expired", now)
        ExportEntries(ledger, folder.name, actor).removed("expired", record.sha256 or "", now)
        expired.append(folder.name)
    return expired


def delete_export(
    exports_root: Path,
    export_id: str,
    ledger: CustodyLedger,
    actor: str,
    now: datetime | None = None,
) -> ExportRecord:
    """Remove a completed export's artifact and keep its record (status `deleted`)."""
    now = now or datetime.now(UTC)
    folder = ExportFolder(exports_root, export_id)
    record = record_of(folder)
    if record is None:
        raise FileNotFoundError(f"no export record for {export_id} under {exports_root}")
    if record.status != "completed":
        return record  # already expired or deleted: nothing more to remove
    updated = _remove_artifact(folder, record, "deleted", now)
    ExportEntries(ledger, export_id, actor).removed("deleted", record.sha256 or "", now)
    return updated
