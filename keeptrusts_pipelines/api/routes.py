"""The `/v1` API: export jobs, preview, schedules, S3 settings, the audit log, tokens."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict, Field

from keeptrusts_pipelines.api import s3_settings
from keeptrusts_pipelines.api.door import Door, door_of, requires
from keeptrusts_pipelines.api.errors import ApiError
from keeptrusts_pipelines.api.tokens import Token, TokenError, parse_expiry
from keeptrusts_pipelines.delivery.destination import (
    SavedDestination,
    destination_path,
    load_destination,
    remove_destination,
    save_destination,
)
from keeptrusts_pipelines.delivery.target import TargetAddress, chosen_target, target_address
from keeptrusts_pipelines.errors import ConfigurationError, ExportRequestError
from keeptrusts_pipelines.model.export_request import ExportRequest, request_from_fields, rfc3339
from keeptrusts_pipelines.service.jobs import STATUSES, ExportJobs

router = APIRouter(prefix="/v1")
# A body's spellings of a delivery target, for its errors.
TARGET_FIELDS = ("deliver_to", "s3_bucket", "s3_prefix", "s3_region")
MAX_PAGE = 200
MAX_REASON = 500


class TimeWindow(BaseModel):
    """`{from, to}` (dates or RFC 3339, ends included) or `{last: 24h|7d|30d|90d}`."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    start: str | None = Field(default=None, alias="from", max_length=64)
    end: str | None = Field(default=None, alias="to", max_length=64)
    last: str | None = Field(default=None, max_length=8)


class Destination(BaseModel):
    """Where the artifact goes: a target URL (`s3://bucket/prefix?region=…`) or a bucket, or
    `deliver: false` to keep it local; absent, the saved S3 destination."""

    model_config = ConfigDict(extra="forbid", strict=True)
    deliver_to: str | None = Field(default=None, max_length=1024)
    s3_bucket: str | None = Field(default=None, max_length=63)
    s3_prefix: str = Field(default="", max_length=512)
    s3_region: str | None = Field(default=None, max_length=32)
    deliver: bool = True


class PreviewBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    format: str = Field(default="csv", max_length=64)
    type: str = Field(default="events", max_length=64)
    time_window: TimeWindow | None = None
    last: str | None = Field(default=None, max_length=8, description="Same as time_window.last")
    filters: dict[str, Any] | None = Field(
        default=None, description="policy, evaluated_policy, action, result, environment, "
        "gateway, consumer_group, team, user, model, provider (lists), min_severity",
    )  # fmt: skip


class ExportJobBody(PreviewBody):
    name: str | None = None
    title: str | None = None
    description: str | None = None
    raw_content: bool = False
    reason: str | None = Field(
        default=None, max_length=MAX_REASON, description="Required with raw_content."
    )
    destination: Destination | None = None


def request_of(body: PreviewBody) -> ExportRequest:
    """The body's request through the one request definition; errors name the field."""
    window = body.time_window or TimeWindow()
    last = body.last or window.last
    fields = {
        "type": body.type,
        "format": body.format,
        "from": window.start,
        "to": window.end,
        "last": last,
        "filters": body.filters,
    }
    if isinstance(body, ExportJobBody):
        fields.update(
            name=body.name,
            title=body.title,
            description=body.description,
            raw_content=body.raw_content,
        )
    try:
        return request_from_fields(fields, datetime.now(UTC).replace(microsecond=0))
    except ExportRequestError as error:
        field = {"from": "time_window.from", "to": "time_window.to"}.get(error.field, error.field)
        raise ApiError(422, str(error).split(": ", 1)[-1], field) from None


def public_view(view: dict) -> dict:
    """An export as the API shows it: the artifact by name (not a server path), with links."""
    shown = dict(view)
    if shown.get("artifact"):
        shown["artifact"] = Path(shown["artifact"]).name
    shown["links"] = {
        "self": f"/v1/exports/jobs/{view['export_id']}",
        "download": f"/v1/exports/jobs/{view['export_id']}/download",
    }
    return shown


def _target(
    url: str | None, bucket: str | None, prefix: str, region: str | None, field: str
) -> TargetAddress | None:
    """A body's delivery target, from its URL or its s3_* fields; errors name `field`."""
    try:
        return chosen_target(url, bucket, prefix, region, TARGET_FIELDS)
    except ConfigurationError as error:
        raise ApiError(422, str(error), field) from None


def _delivery(jobs: ExportJobs, destination: Destination | None) -> dict[str, object]:
    if destination is None:
        return jobs.delivery_for(None)
    target = _target(
        destination.deliver_to,
        destination.s3_bucket,
        destination.s3_prefix,
        destination.s3_region,
        "destination",
    )
    if target is not None and not destination.deliver:
        raise ApiError(422, "give a target or deliver: false, not both", "destination")
    return jobs.delivery_for(target, keep=not destination.deliver)


Reader = Annotated[Token, Depends(requires("exports.read"))]


@router.post("/exports/jobs", status_code=201, tags=["exports"])
def create_export(
    body: ExportJobBody,
    request: Request,
    token: Annotated[Token, Depends(requires("exports.create"))],
) -> JSONResponse:
    """Start an export job (a Dagster run of export_job); redacted unless raw_content."""
    door = door_of(request)
    export_request = request_of(body)
    reason = (body.reason or "").strip()
    if body.raw_content:
        if not token.allows("exports.raw"):
            raise ApiError(403, f"role {token.role} may not export raw content", "raw_content")
        if not reason:
            raise ApiError(
                422, "raw content needs a reason: say why unredacted prompts are needed", "reason"
            )
    jobs = door.jobs(token)
    delivery = _delivery(jobs, body.destination)
    export_id = jobs.submit(export_request, delivery)
    if body.raw_content:
        door.ledger.append("raw_requested", export_id, actor=token.actor, detail={"reason": reason})
    view = public_view(jobs.find(export_id))
    return JSONResponse(view, status_code=201, headers={"Location": view["links"]["self"]})


@router.get("/exports/jobs", tags=["exports"])
def list_exports(
    request: Request,
    token: Reader,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 20,
    offset: Annotated[int, Query(ge=0, le=10_000)] = 0,
    status: Annotated[list[str] | None, Query(description=", ".join(STATUSES))] = None,
    format: Annotated[list[str] | None, Query()] = None,
    creator: Annotated[str | None, Query(max_length=80, description="A token's name")] = None,
) -> dict:
    """The newest export jobs, `limit` at a time from `offset`; `next` is the next offset."""
    jobs = door_of(request).jobs(token)
    actor = creator if creator is None or ":" in creator else f"token:{creator}"
    try:
        found = jobs.list(
            offset + limit + 1,
            {value.lower() for value in status or ()},
            {value.lower() for value in format or ()},
            actor,
        )
    except ExportRequestError as error:
        raise ApiError(422, str(error).split(": ", 1)[-1], error.field) from None
    page = found[offset : offset + limit]
    more = len(found) > offset + limit
    return {
        "items": [public_view(view) for view in page],
        "offset": offset,
        "limit": limit,
        "next": offset + limit if more else None,
    }


@router.get("/exports/jobs/{export_id}", tags=["exports"])
def get_export(export_id: str, request: Request, token: Reader) -> dict:
    """One export: status, records, size, sha256, expiry."""
    return public_view(door_of(request).jobs(token).find(export_id))


@router.get("/exports/jobs/{export_id}/download", tags=["exports"])
def download_export(
    export_id: str,
    request: Request,
    token: Annotated[Token, Depends(requires("exports.download"))],
):
    """The artifact, streamed (range requests too), named and with its sha256 as ETag and
    Digest; a delivered artifact whose local copy expired redirects to a presigned link."""
    door = door_of(request)
    jobs = door.jobs(token)
    view = jobs.find(export_id)
    if view["status"] == "expired" and view.get("delivery"):
        url, _ = jobs.link(export_id, 300)
        door.ledger.append(
            "downloaded", export_id, actor=token.actor, artifact_sha256=view["sha256"],
            detail={"to": "http", "via": "presigned link"},
        )  # fmt: skip
        return RedirectResponse(url, status_code=307)
    if view["status"] != "completed" or not view.get("artifact"):
        reason = view.get("message") or view.get("error") or "wait for it to complete"
        raise ApiError(409, f"{export_id} is {view['status']}, not completed: {reason}", "id")
    artifact = Path(view["artifact"])
    ranged = request.headers.get("range")
    door.ledger.append(
        "downloaded", export_id, actor=token.actor, artifact_sha256=view["sha256"],
        detail={"to": "http", "via": "api", **({"range": ranged[:60]} if ranged else {})},
    )  # fmt: skip
    digest = base64.b64encode(bytes.fromhex(view["sha256"])).decode()
    return FileResponse(
        artifact,
        filename=artifact.name,
        headers={
            "ETag": f'"{view["sha256"]}"',
            "Digest": f"sha-256={digest}",
            "Repr-Digest": f"sha-256=:{digest}:",
            "Cache-Control": "private, no-store",
        },
    )


@router.delete("/exports/jobs/{export_id}", tags=["exports"])
def delete_export(
    export_id: str,
    request: Request,
    token: Annotated[Token, Depends(requires("exports.delete"))],
) -> dict:
    """Remove an export's artifact; its record and history stay."""
    record = door_of(request).jobs(token).delete(export_id)
    return {"export_id": export_id, "status": record["status"]}


@router.post("/exports/jobs/{export_id}/recreate", status_code=201, tags=["exports"])
def recreate_export(
    export_id: str,
    request: Request,
    token: Annotated[Token, Depends(requires("exports.create"))],
) -> dict:
    """Submit an export's recorded request again; the new job."""
    jobs = door_of(request).jobs(token)
    _original, new_id = jobs.recreate(export_id)
    return {**public_view(jobs.find(new_id)), "recreated_from": export_id}


@router.get("/exports/jobs/{export_id}/link", tags=["exports"])
def link_export(
    export_id: str,
    request: Request,
    token: Annotated[Token, Depends(requires("exports.download"))],
    expires: Annotated[str, Query(max_length=8)] = "24h",
) -> dict:
    """A presigned link to a delivered artifact (90m, 24h, 7d at most)."""
    from keeptrusts_pipelines.delivery.links import expiry_seconds

    try:
        seconds = expiry_seconds(expires)
    except ConfigurationError as error:
        raise ApiError(422, str(error), "expires") from None
    url, until = door_of(request).jobs(token).link(export_id, seconds)
    return {"export_id": export_id, "url": url, "expires_at": until}


@router.post("/exports/preview", tags=["exports"])
def preview_export(
    body: PreviewBody,
    request: Request,
    token: Annotated[Token, Depends(requires("exports.preview"))],
) -> dict:
    """How many records an export with this window and these filters would hold."""
    from keeptrusts_pipelines.exports.reader import preview

    door = door_of(request)
    export_request = request_of(body)
    count = preview(export_request, door.lake)
    door.ledger.append(
        "previewed", "", actor=token.actor,
        detail={"records": count, "window": export_request.window.as_dict()},
    )  # fmt: skip
    return {
        "records": count,
        "window": export_request.window.as_dict(),
        "filters": export_request.filters.active(),
    }


# Schedules: recurring deliveries in deliveries.yaml.
class ScheduleBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    name: str = Field(max_length=63)
    interval: Literal["weekly", "monthly", "quarterly"] | None = None
    cron: str | None = Field(default=None, max_length=100)
    window: str | None = Field(default=None, max_length=8)
    formats: list[str] = Field(min_length=1, max_length=10)
    timezone: str = Field(default="UTC", max_length=64)
    filters: dict[str, Any] = Field(default_factory=dict)
    deliver_to: str | None = Field(default=None, max_length=1024)
    s3_bucket: str | None = Field(default=None, max_length=63)
    s3_prefix: str = Field(default="", max_length=512)
    s3_region: str | None = Field(default=None, max_length=32)
    notify: bool = True


def _schedule_view(delivery) -> dict:
    from keeptrusts_pipelines.exports.deliveries import next_run

    return {
        **delivery.as_yaml(),
        "schedule": delivery.describe_schedule(),
        "covers": delivery.describe_window(),
        "next_run": rfc3339(next_run(delivery, datetime.now(UTC))),
    }


def _deliveries_file(door: Door) -> Path:
    from keeptrusts_pipelines.settings import deliveries_file

    return deliveries_file(door.home)


Admin = Annotated[Token, Depends(requires("schedules"))]


@router.get("/exports/schedules", tags=["schedules"])
def list_schedules(request: Request, token: Admin) -> dict:
    """Recurring deliveries, and entries set aside with their error."""
    from keeptrusts_pipelines.exports.deliveries import read_deliveries

    entries, problems = read_deliveries(_deliveries_file(door_of(request)))
    return {
        "items": [_schedule_view(entry) for entry in entries],
        "set_aside": [problem.__dict__ for problem in problems],
    }


@router.post("/exports/schedules", status_code=201, tags=["schedules"])
def add_schedule(body: ScheduleBody, request: Request, token: Admin) -> dict:
    """Add a recurring delivery (the code location reads it when it reloads)."""
    from keeptrusts_pipelines.exports.deliveries import add_delivery, parse_entry

    door = door_of(request)
    path = _deliveries_file(door)
    raw: dict[str, Any] = {
        "name": body.name, "formats": body.formats, "timezone": body.timezone,
        "filters": body.filters, "notify": body.notify,
    }  # fmt: skip
    if body.interval:
        raw["interval"] = body.interval
    if body.cron:
        raw["cron"] = body.cron
    if body.window:
        raw["window"] = body.window
    target = _target(body.deliver_to, body.s3_bucket, body.s3_prefix, body.s3_region, "schedule")
    if target is not None:
        raw["target"] = target.url
    if not (body.interval or body.cron):
        raise ApiError(422, "give interval (weekly, monthly, quarterly) or cron", "interval")
    try:
        delivery = parse_entry(0, raw, path)
        add_delivery(delivery, path)
    except ConfigurationError as error:
        message = str(error).split(": delivery ", 1)[-1]
        status = 409 if "exists" in message else 422
        raise ApiError(status, message, "schedule") from None
    door.ledger.append("scheduled", "", actor=token.actor, detail={"name": delivery.name})
    return _schedule_view(delivery)


@router.delete("/exports/schedules/{name}", tags=["schedules"])
def remove_schedule(name: str, request: Request, token: Admin) -> dict:
    from keeptrusts_pipelines.exports.deliveries import remove_delivery

    door = door_of(request)
    if not remove_delivery(name[:63], _deliveries_file(door)):
        raise ApiError(404, f"{name[:63]!r}: no such schedule", "name")
    door.ledger.append("unscheduled", "", actor=token.actor, detail={"name": name[:63]})
    return {"name": name, "deleted": True}


# S3 settings (Settings > Export Delivery).
class S3Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    bucket: str = Field(min_length=3, max_length=63)
    prefix: str = Field(default="", max_length=512)
    region: str | None = Field(default=None, max_length=32)
    access_key_id: str | None = Field(default=None, max_length=128)
    secret_access_key: str | None = Field(default=None, max_length=256)


SettingsAdmin = Annotated[Token, Depends(requires("settings"))]


def s3_view(door: Door) -> dict:
    saved = load_destination(destination_path(door.home))
    access_key = s3_settings.saved_access_key(door.home)
    return {
        "bucket": saved.bucket if saved else None,
        "prefix": saved.prefix if saved else None,
        "region": saved.region if saved else None,
        "tested_at": saved.tested_at if saved else None,
        "access_key_id": access_key,
        "secret_access_key_saved": access_key is not None,
    }


def test_connection(door: Door, body: S3Body) -> dict:
    """Test Connection with the body's credentials (or the saved/environment ones)."""
    from keeptrusts_pipelines.delivery.s3 import check_connection, client_for

    try:
        address = target_address("s3", body.bucket, body.prefix, body.region, "bucket")
        target = door.s3_access.target(address.bucket, address.prefix, address.region)
    except ConfigurationError as error:
        raise ApiError(422, str(error), "bucket") from None
    client = client_for(target)
    if body.access_key_id and body.secret_access_key:
        import boto3

        client = boto3.client(
            "s3", endpoint_url=target.endpoint_url, region_name=target.region,
            aws_access_key_id=body.access_key_id, aws_secret_access_key=body.secret_access_key,
            config=client.meta.config,
        )  # fmt: skip
    steps = check_connection(target, client)
    ok = len(steps) == 3 and all(step.ok for step in steps)
    return {"ok": ok, "steps": [step.__dict__ for step in steps]}


@router.get("/settings/s3", tags=["settings"])
def get_s3(request: Request, token: SettingsAdmin) -> dict:
    """The saved S3 destination; a saved secret is never shown, only that there is one."""
    return s3_view(door_of(request))


@router.post("/settings/s3/test", tags=["settings"])
def test_s3(body: S3Body, request: Request, token: SettingsAdmin) -> dict:
    """Test Connection: write, read back and remove a probe object."""
    return test_connection(door_of(request), body)


@router.put("/settings/s3", tags=["settings"])
def put_s3(body: S3Body, request: Request, token: SettingsAdmin) -> dict:
    """Save the destination (and credentials, encrypted) once Test Connection passes."""
    door = door_of(request)
    if bool(body.access_key_id) != bool(body.secret_access_key):
        raise ApiError(422, "give both access_key_id and secret_access_key, or neither",
                       "secret_access_key")  # fmt: skip
    if body.secret_access_key and door.settings.secret_key is None:
        raise ApiError(
            409, "KEEPTRUSTS_SECRET_KEY is not set on the server: secrets are saved only "
            "encrypted", "secret_access_key",
        )  # fmt: skip
    tested = test_connection(door, body)
    if not tested["ok"]:
        failed = next((step for step in tested["steps"] if not step["ok"]), None)
        reason = f"{failed['step']}: {failed['detail']}" if failed else "no answer"
        raise ApiError(409, f"not saved: Test Connection failed at {reason}", "bucket")
    if body.access_key_id and body.secret_access_key:
        s3_settings.save_credentials(
            door.home, body.access_key_id, body.secret_access_key, door.settings.secret_key
        )
        s3_settings.apply_credentials(door.home, door.settings.secret_key)
    save_destination(
        destination_path(door.home),
        SavedDestination(body.bucket, body.prefix, body.region, rfc3339(datetime.now(UTC))),
    )
    door.ledger.append(
        "settings_changed", "", actor=token.actor,
        detail={"s3": f"s3://{body.bucket}/{body.prefix}", "credentials": bool(body.access_key_id)},
    )  # fmt: skip
    return s3_view(door)


@router.delete("/settings/s3", tags=["settings"])
def delete_s3(request: Request, token: SettingsAdmin) -> dict:
    door = door_of(request)
    remove_destination(destination_path(door.home))
    s3_settings.remove_credentials(door.home)
    door.ledger.append("settings_changed", "", actor=token.actor, detail={"s3": None})
    return s3_view(door)


# The audit log: the custody ledger, newest first.
def audit_page(
    door: Door, limit: int, offset: int, export_id: str | None, action: str | None,
    actor: str | None,
) -> dict:  # fmt: skip
    entries = [
        entry
        for entry in door.ledger.entries(export_id)
        if (action is None or entry.action == action) and (actor is None or entry.actor == actor)
    ]
    entries.reverse()
    page = entries[offset : offset + limit]
    return {
        "items": [entry.__dict__ for entry in page],
        "offset": offset,
        "limit": limit,
        "total": len(entries),
        "next": offset + limit if len(entries) > offset + limit else None,
    }


@router.get("/audit", tags=["audit"])
def audit(
    request: Request,
    token: Annotated[Token, Depends(requires("audit.read"))],
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
    export_id: Annotated[str | None, Query(max_length=100)] = None,
    action: Annotated[str | None, Query(max_length=20)] = None,
    actor: Annotated[str | None, Query(max_length=200)] = None,
) -> dict:
    """The custody ledger, newest first: every export action and every refused request."""
    return audit_page(door_of(request), limit, offset, export_id, action, actor)


@router.get("/audit/verify", tags=["audit"])
def audit_verify(request: Request, token: Annotated[Token, Depends(requires("verify"))]) -> dict:
    """Walk the ledger's hash chain."""
    report = door_of(request).ledger.verify()
    return {**report.__dict__, "intact": report.intact}


# Tokens, for admins (kt token create does the same locally).
class TokenBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    name: str = Field(max_length=64)
    role: Literal["admin", "compliance", "auditor"]
    expires: str | None = Field(default="90d", max_length=8)


TokenAdmin = Annotated[Token, Depends(requires("tokens"))]


@router.get("/tokens", tags=["tokens"])
def list_tokens(request: Request, token: TokenAdmin) -> dict:
    now = datetime.now(UTC)
    return {"items": [known.as_dict(now) for known in door_of(request).tokens.list()]}


@router.post("/tokens", status_code=201, tags=["tokens"])
def create_token(body: TokenBody, request: Request, token: TokenAdmin) -> dict:
    """A new token, shown in this answer only."""
    door = door_of(request)
    try:
        created, plain = door.tokens.create(body.name, body.role, parse_expiry(body.expires))
    except TokenError as error:
        raise ApiError(409 if "taken" in str(error) else 422, str(error), error.field) from None
    door.ledger.append(
        "token_created", "", actor=token.actor, detail={"name": body.name, "role": body.role}
    )
    return {**created.as_dict(datetime.now(UTC)), "token": plain}


@router.delete("/tokens/{name}", tags=["tokens"])
def revoke_token(name: str, request: Request, token: TokenAdmin) -> dict:
    door = door_of(request)
    try:
        revoked = door.tokens.revoke(name[:64])
    except TokenError as error:
        raise ApiError(404, str(error), error.field) from None
    door.ledger.append("token_revoked", "", actor=token.actor, detail={"name": revoked.name})
    return revoked.as_dict(datetime.now(UTC))
