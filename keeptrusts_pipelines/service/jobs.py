"""Export jobs as every door (kt, the HTTP API) sees them: submit, look up, list, download,
link, delete, re-create. Each export is a Dagster run of export_job joined with its folder
(records, artifact) and its custody entries; who acts is named by the door.

The runs backend is handed in (the local instance, or a webserver's GraphQL API), so this
module knows no Dagster and no terminal. Reading an export (status, list) loads no engine,
database driver or cloud client: those are imported by the actions that use them.
"""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from keeptrusts_pipelines.custody.export_entries import ExportEntries
from keeptrusts_pipelines.delivery.destination import destination_path, load_destination
from keeptrusts_pipelines.delivery.s3_access import S3Access
from keeptrusts_pipelines.errors import ConfigurationError, ExportRequestError, KeeptrustsError
from keeptrusts_pipelines.exports.folder import BrokenRecord, ExportFolder, check_export_id
from keeptrusts_pipelines.exports.lifecycle import (
    delete_export,
    expire_due,
    gone_message,
    record_of,
)
from keeptrusts_pipelines.lake.files import atomic_path
from keeptrusts_pipelines.model.export_request import (
    ExportRequest,
    Window,
    request_from_description,
    request_to_fields,
    rfc3339,
)
from keeptrusts_pipelines.model.export_runs import (
    ACTOR_TAG,
    ExportRun,
    export_run_config,
    request_tags,
    window_of_tags,
)
from keeptrusts_pipelines.model.records import DeliveryRecord, ExportRecord

if TYPE_CHECKING:
    from keeptrusts_pipelines.custody.ledger import CustodyLedger
    from keeptrusts_pipelines.delivery.target import TargetAddress
    from keeptrusts_pipelines.lake.layout import Lake

# Dagster's run statuses as the seeds name an export's.
RUN_STATUSES = {
    "QUEUED": "queued",
    "NOT_STARTED": "queued",
    "MANAGED": "queued",
    "STARTING": "queued",
    "STARTED": "processing",
    "SUCCESS": "completed",
    "FAILURE": "failed",
    "CANCELING": "failed",
    "CANCELED": "failed",
}
STATUSES = ("queued", "processing", "completed", "failed", "expired", "deleted", "broken")
FINAL = ("completed", "failed", "expired", "deleted", "broken")
# A download through a presigned link needs it only for as long as the transfer starts.
LINK_FOR_DOWNLOAD_SECONDS = 300


class ExportRuns(Protocol):
    """Where export runs are submitted and read back (the local instance or a webserver)."""

    def submit(self, run_config: dict, tags: dict[str, str]) -> str: ...

    def find(self, export_id: str) -> ExportRun | None: ...

    def recent(self, limit: int) -> list[ExportRun]: ...

    def settle(self, exports_root: Path, ledger: CustodyLedger) -> None: ...


@runtime_checkable
class RunsHere(Protocol):
    """A runs backend that can also execute a run in this process (the local instance)."""

    def execute(self, run_config: dict, tags: dict[str, str], run_id: str) -> None: ...


class LedgerOnUse:
    """The custody ledger at `url`, opened when an entry is first written or read: reading an
    export's status writes nothing, and opening the ledger loads SQLAlchemy (0.3 s or more)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._ledger: CustodyLedger | None = None

    def __getattr__(self, name: str) -> Any:
        if self._ledger is None:
            from keeptrusts_pipelines.custody.ledger import CustodyLedger

            self._ledger = CustodyLedger(self.url)
        return getattr(self._ledger, name)


class NoSuchExport(KeeptrustsError):
    """An export id with neither a run nor a record."""


def size_in_words(count: int | None) -> str:
    """Bytes as people read them: `312 bytes`, `2.3 MB`; empty when unknown."""
    if count is None:
        return ""
    value = float(count)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:,.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{count} bytes"


def window_in_words(window: dict | None) -> str:
    """A recorded window (exclusive end) as people read it: `2026-05-01 → 2026-05-31`."""
    try:
        start, end = (
            datetime.fromisoformat(str(window[k]).replace("Z", "+00:00")) for k in ("from", "to")
        )
        return Window(start, end).describe()
    except (TypeError, KeyError, ValueError):
        return ""


def _moment(seconds: float | None) -> str | None:
    return rfc3339(datetime.fromtimestamp(int(seconds), UTC)) if seconds else None


def _status(run: ExportRun | None, record: ExportRecord | None) -> str:
    """What happened, from the record first: a completed record means a complete artifact,
    whatever became of the run's worker afterwards."""
    recorded = record.status if record else None
    status = RUN_STATUSES.get(run.status, "queued") if run else "failed"
    if recorded == "completed" and status in ("queued", "processing"):
        return "processing"  # its run goes on after the artifact: delivery, the ledger
    if recorded in ("completed", "expired", "deleted"):
        return recorded
    if run is None:
        return "failed"
    # A run that succeeded without a record has not finished writing it yet.
    return "processing" if status == "completed" else status


def _failure(folder: ExportFolder) -> dict | None:
    try:
        return folder.read_failure()
    except BrokenRecord as error:
        return {"error": str(error)}


def export_view(export_id: str, run: ExportRun | None, root: Path) -> dict | None:
    """One export as the doors show it: its run's status joined with its record on disk."""
    folder = ExportFolder(root, export_id)
    try:
        record = record_of(folder)
    except BrokenRecord as error:
        record, broken = None, str(error)
    else:
        broken = None
    if run is None and record is None and broken is None:
        return None
    status = "broken" if broken else _status(run, record)
    tags = run.tags if run else {}
    request = (record.request if record else None) or {}
    if not request:
        try:  # a queued export has no record yet; kt and the inbox kept what was asked
            request = folder.read_json(folder.request_path) or {}
        except BrokenRecord:
            request = {}
    view = {
        "export_id": export_id,
        "run_id": run.run_id if run else None,
        "status": status,
        "name": request.get("name"),
        "type": tags.get("keeptrusts/type") or request.get("type"),
        "format": tags.get("keeptrusts/format") or request.get("format"),
        "window": request.get("window") or window_of_tags(tags),
        "filters": request.get("filters")
        or {
            key.removeprefix("keeptrusts/filter."): value
            for key, value in tags.items()
            if key.startswith("keeptrusts/filter.")
        },
        "actor": tags.get(ACTOR_TAG),
        "records": None,
        "bytes": None,
        "sha256": None,
        "artifact": None,
        "warnings": [],
        "created_at": _moment(run.created) if run else (record.created_at if record else None),
        "completed_at": None,
        "expires_at": None,
    }
    if broken:
        view["error"] = f"its record cannot be read: {broken}"
        return view
    if record and status in ("completed", "expired", "deleted"):
        artifact = folder.artifact_file(record.artifact) if status == "completed" else None
        view.update(
            records=record.records,
            bytes=record.bytes,
            sha256=record.sha256,
            artifact=str(artifact) if artifact else None,
            warnings=list(record.warnings or ()),
            completed_at=record.completed_at,
            expires_at=record.expires_at,
        )
        if status == "completed" and artifact is None:
            view["status"] = "broken"
            view["error"] = f"its artifact is missing from {folder.artifacts}"
        if status != "completed":
            view["message"] = gone_message(record)
        elif run is not None and run.status == "FAILURE":
            failure = _failure(folder)
            if failure:  # the artifact is whole; what came after it (delivery) is not
                view["warnings"] = [*view["warnings"], failure["error"]]
        if record.delivery:
            view["delivery"] = record.delivery.to_json()
    if status == "failed":
        failure = _failure(folder)
        ended = f"the run ended {run.status.lower()}" if run else "its run is not in the history"
        view["error"] = failure["error"] if failure else ended
    return view


@dataclass
class ExportJobs:
    """The export jobs of one KEEPTRUSTS_HOME, acted on in the name of `actor`."""

    home: Path
    runs: ExportRuns
    ledger: CustodyLedger | LedgerOnUse
    actor: str
    # The lake of KEEPTRUSTS_LAKE_URL, opened by the door.
    lake: Lake
    # How delivered artifacts are reached (endpoint, region), as the door's settings say.
    s3_access: S3Access = field(default_factory=S3Access)

    @property
    def exports_root(self) -> Path:
        return self.home / "exports"

    def delivery_for(self, target: TargetAddress | None, keep: bool = False) -> dict[str, object]:
        """Where an export goes (the run config's delivery fields): the target asked for, else
        the saved destination, unless `keep` (local only)."""
        if target is not None and keep:
            raise ConfigurationError(f"{target.location}: a target or local only, not both")
        if target is not None:
            return {"deliver_to": target.url}
        if keep:
            return {"deliver": False}
        saved = load_destination(destination_path(self.home))
        return {"deliver_to": saved.address.url} if saved else {}

    def submit(
        self,
        request: ExportRequest,
        delivery: dict[str, object] | None = None,
        reason: str | None = None,
        wait: bool = False,
    ) -> str:
        """Start an export job for a validated request; its id. Raw content is recorded with
        the `reason` given for it. With `wait`, a backend that can runs it in this process and
        returns when it has ended; others start it as usual (the caller polls)."""
        from keeptrusts_pipelines.exports.engine import new_export_id
        from keeptrusts_pipelines.exports.reader import plan_export

        # Refuse a window the lake cannot answer now, rather than in a failed run later.
        plan_export(request, self.lake, datetime.now(UTC), with_hashes=False)
        export_id = new_export_id()
        # The request lives in the export's folder; the run config holds no user ids.
        folder = ExportFolder(self.exports_root, export_id)
        stored = folder.store_request(request_to_fields(request))
        tags = {**request_tags(request, export_id), ACTOR_TAG: self.actor}
        if delivery and delivery.get("deliver_to"):
            tags["keeptrusts/delivery"] = str(delivery["deliver_to"])
        run_config = export_run_config(request, delivery, stored)
        if wait and isinstance(self.runs, RunsHere):
            # Recorded before it runs, as a submitted run is: the run's own `created` entry
            # (same key) then adds nothing, and the reason for raw content is kept.
            run_id = str(uuid.uuid4())  # as Dagster names runs
            self._record_created(request, export_id, run_id, reason)
            self.runs.execute(run_config, tags, run_id)
        else:
            run_id = self.runs.submit(run_config, tags)
            self._record_created(request, export_id, run_id, reason)
        return export_id

    def _record_created(
        self, request: ExportRequest, export_id: str, run_id: str, reason: str | None
    ) -> None:
        ExportEntries(self.ledger, export_id, self.actor, run_id).created(
            {
                "type": request.export_type,
                "format": request.format,
                **({"raw_content_reason": reason} if request.raw_content and reason else {}),
            }
        )

    def _settle(self) -> None:
        """Runs whose worker died are failed, and artifacts past their time expire."""
        self.runs.settle(self.exports_root, self.ledger)
        expire_due(self.exports_root, self.ledger, actor=self.actor)

    def find(self, export_id: str) -> dict:
        """One export's view; NoSuchExport when there is none."""
        check_export_id(export_id)
        self._settle()
        view = export_view(export_id, self.runs.find(export_id), self.exports_root)
        if view is None:
            raise NoSuchExport(f"id {export_id}: no such export; see the list of exports")
        return view

    def list(
        self,
        limit: int,
        statuses: set[str] | None = None,
        formats: set[str] | None = None,
        actor: str | None = None,
    ) -> list[dict]:
        """The newest exports, one row each (a retried export shows its newest run)."""
        unknown = sorted((statuses or set()) - set(STATUSES))
        if unknown:
            raise ExportRequestError("status", f"{unknown[0]}: use one of {', '.join(STATUSES)}")
        self._settle()
        filtered = bool(statuses or formats or actor)
        found, seen = [], set()
        for run in self.runs.recent(1000 if filtered else limit * 4):
            if run.export_id in seen or len(found) == limit:
                continue
            seen.add(run.export_id)
            try:
                view = export_view(run.export_id, run, self.exports_root)
            except KeeptrustsError:
                continue  # a run tagged with no valid export id is not an export of ours
            if view is None:
                continue
            if statuses and view["status"] not in statuses:
                continue
            if formats and str(view["format"]) not in formats:
                continue
            if actor and view.get("actor") != actor:
                continue
            found.append(view)
        return found

    def download(self, export_id: str, output: Path) -> dict:
        """Write a completed export's artifact to `output` (a fresh presigned link for a
        delivered one, checked against its sha256); its view."""
        view = self.find(export_id)
        delivered = view.get("delivery") if view["status"] in ("completed", "expired") else None
        if view["status"] != "completed" and not delivered:
            reason = view.get("message") or view.get("error") or "wait for it to complete"
            raise KeeptrustsError(f"id {export_id} is {view['status']}, not completed: {reason}")
        # Written beside `output` and renamed onto its name: a link planted meanwhile is
        # replaced, never followed, and a reader never sees half a file.
        if delivered:
            from keeptrusts_pipelines.delivery.links import fetch, link_for

            url = link_for(
                DeliveryRecord.from_json(delivered), LINK_FOR_DOWNLOAD_SECONDS, self.s3_access
            )
            fetch(url, output.absolute(), view["sha256"], int(view["bytes"]))
        else:
            with atomic_path(output.absolute()) as path:
                shutil.copyfile(view["artifact"], path)
        self.ledger.append(
            "downloaded",
            export_id,
            actor=self.actor,
            artifact_sha256=view["sha256"],
            detail={"to": output.name, "via": "presigned link" if delivered else "local copy"},
        )
        return view

    def link(self, export_id: str, seconds: int) -> tuple[str, str]:
        """(presigned URL, RFC 3339 expiry) of a delivered artifact."""
        view = self.find(export_id)
        if not view.get("delivery"):
            raise KeeptrustsError(f"id {export_id} was not delivered to S3; download it instead")
        from keeptrusts_pipelines.delivery.links import link_for

        url = link_for(DeliveryRecord.from_json(view["delivery"]), seconds, self.s3_access)
        until = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=seconds)
        return url, rfc3339(until)

    def delete(self, export_id: str) -> dict:
        """Remove an export's artifact; its record and history stay. The export's id and
        status, as the API answers a deletion."""
        view = self.find(export_id)
        if view["status"] in ("queued", "processing"):
            raise KeeptrustsError(f"id {export_id} is {view['status']}; wait for it to end")
        if view["status"] in ("failed", "broken"):
            raise KeeptrustsError(f"id {export_id} is {view['status']}: no artifact to delete")
        record = delete_export(self.exports_root, export_id, self.ledger, self.actor)
        return {"export_id": export_id, "status": record.status}

    def recreate(self, export_id: str, wait: bool = False) -> tuple[dict, str]:
        """Submit an export's recorded request again: (the original's view, the new id); with
        `wait`, as `submit` runs it."""
        original = self.find(export_id)
        record = record_of(ExportFolder(self.exports_root, export_id))
        if not record or not record.request or not original["sha256"]:
            raise ExportRequestError("id", f"{export_id} has no completed record to re-create")
        request = request_from_description(record.request)
        return original, self.submit(request, self.delivery_for(None), wait=wait)
