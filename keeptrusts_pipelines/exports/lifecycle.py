"""What happens to an export after it is written: expiry, deletion, failure, re-creation.

An export's record (`export.json`) keeps its history; the artifact beside it is what expires
or is deleted. Every change is written atomically and appended to the custody ledger.
"""

from __future__ import annotations

import json
import shlex
from datetime import UTC, datetime
from pathlib import Path

from keeptrusts_pipelines.custody.ledger import CustodyLedger
from keeptrusts_pipelines.exports.engine import METADATA_FILE
from keeptrusts_pipelines.lake.files import atomic_path
from keeptrusts_pipelines.model.export_request import Window, rfc3339

FAILURE_FILE = "failure.json"
ARTIFACT_GONE = {
    "expired": "expired on {when} and its artifact was removed; re-create it with: {command}",
    "deleted": "deleted on {when}; its history is kept. Re-create it with: {command}",
}


def read_record(exports_root: Path, export_id: str) -> dict | None:
    path = exports_root / export_id / METADATA_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def read_failure(exports_root: Path, export_id: str) -> dict | None:
    path = exports_root / export_id / FAILURE_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def write_record(exports_root: Path, export_id: str, record: dict) -> None:
    with atomic_path(exports_root / export_id / METADATA_FILE) as path:
        path.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def record_failure(exports_root: Path, export_id: str, message: str, now: datetime) -> None:
    """Keep why an export failed beside where its artifact would have been."""
    with atomic_path(exports_root / export_id / FAILURE_FILE) as path:
        path.write_text(json.dumps({"error": message, "failed_at": rfc3339(now)}) + "\n")


def clear_failure(exports_root: Path, export_id: str) -> None:
    (exports_root / export_id / FAILURE_FILE).unlink(missing_ok=True)


def gone_message(record: dict) -> str | None:
    """Why a record has no artifact any more, with the command that makes it again."""
    template = ARTIFACT_GONE.get(record.get("status", ""))
    if template is None:
        return None
    return template.format(
        when=record.get("removed_at", "?"), command=recreate_command(record["request"])
    )


def recreate_command(request: dict) -> str:
    """The `kt export create` command line of a recorded request."""
    window = Window(*(_moment(request["window"][end]) for end in ("from", "to")))
    words = ["kt", "export", "create", "--type", request["type"], "--format", request["format"]]
    words += ["--from", window.as_dict()["from"], "--to", window.inclusive_end()]
    for name, values in request.get("filters", {}).items():
        flag = "--min-severity" if name == "min_severity" else f"--filter-{name.replace('_', '-')}"
        for value in values if isinstance(values, list) else [values]:
            words += [flag, str(value)]
    for name in ("name", "title", "description"):
        if request.get(name):
            words += [f"--{name}", request[name]]
    if request.get("content") == "raw":
        words.append("--raw-content")
    return shlex.join(words)


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _remove_artifact(
    exports_root: Path, export_id: str, record: dict, status: str, now: datetime
) -> dict:
    artifact = record.get("artifact")
    if artifact:
        Path(artifact).unlink(missing_ok=True)
    updated = {**record, "status": status, "removed_at": rfc3339(now)}
    write_record(exports_root, export_id, updated)
    return updated


def expire_due(
    exports_root: Path, ledger: CustodyLedger, now: datetime | None = None, actor: str = "expiry"
) -> list[str]:
    """Remove the artifacts of completed exports past their `expires_at`; their ids."""
    now = now or datetime.now(UTC)
    expired = []
    for path in sorted(exports_root.glob(f"*/{METADATA_FILE}")):
        record = json.loads(path.read_text(encoding="utf-8"))
        expires_at = record.get("expires_at")
        if record.get("status") != "completed" or not expires_at:
            continue
        if _moment(expires_at) > now:
            continue
        export_id = record["export_id"]
        _remove_artifact(exports_root, export_id, record, "expired", now)
        ledger.append(
            "expired",
            export_id,
            actor=actor,
            artifact_sha256=record.get("sha256", ""),
            idempotency_key=f"expired:{export_id}",
            now=now,
        )
        expired.append(export_id)
    return expired


def delete_export(
    exports_root: Path,
    export_id: str,
    ledger: CustodyLedger,
    actor: str,
    now: datetime | None = None,
) -> dict:
    """Remove a completed export's artifact and keep its record (status `deleted`)."""
    now = now or datetime.now(UTC)
    record = read_record(exports_root, export_id)
    if record is None:
        raise FileNotFoundError(f"no export record for {export_id} under {exports_root}")
    if record.get("status") != "completed":
        return record  # already expired or deleted: nothing more to remove
    updated = _remove_artifact(exports_root, export_id, record, "deleted", now)
    ledger.append(
        "deleted",
        export_id,
        actor=actor,
        artifact_sha256=record.get("sha256", ""),
        idempotency_key=f"deleted:{export_id}",
        now=now,
    )
    return updated
