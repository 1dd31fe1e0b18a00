"""The Exports page at `/`: sign in with a token, request exports (with a preview count),
follow the job history, download; S3 settings and schedules for admins; the audit log.

Server-rendered (Jinja2), usable without JavaScript: a small script only refreshes the
history while jobs run. Sessions are random ids in an HttpOnly, SameSite=Strict cookie; every
form carries the session's CSRF token.
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from anyio import to_thread
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError

from keeptrusts_pipelines.api import routes
from keeptrusts_pipelines.api.door import SESSION_COOKIE, SESSION_SECONDS, door_of, refuse
from keeptrusts_pipelines.api.errors import ApiError
from keeptrusts_pipelines.api.tokens import Token
from keeptrusts_pipelines.errors import KeeptrustsError
from keeptrusts_pipelines.model.export_request import (
    EXPORT_TYPES,
    LIST_FILTERS,
    QUICK_RANGES,
    REPORT_FORMATS,
    TABULAR_FORMATS,
)
from keeptrusts_pipelines.model.schema import SEVERITIES
from keeptrusts_pipelines.service.jobs import size_in_words, window_in_words

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(include_in_schema=False)
QUICK_LABELS = {"24h": "Last 24 hours", "7d": "Last 7 days", "30d": "Last 30 days",
                "90d": "Last 90 days"}  # fmt: skip
RUNNING = ("queued", "processing")
# The seeds' advice for an empty export.
EMPTY_ADVICE = (
    "This export is empty: widen the time window and confirm that traffic actually passed "
    "through Keeptrusts during the selected period."
)


def static_files() -> StaticFiles:
    return StaticFiles(directory=HERE / "static")


def _moment(text: str | None) -> str:
    return (text or "").split(".")[0].replace("T", " ").rstrip("Z")


templates.env.filters.update(size=size_in_words, window_range=window_in_words, moment=_moment)


async def session_token(request: Request) -> tuple[Token | None, Any]:
    """The signed-in token and its session, or (None, None)."""
    door = door_of(request)
    session = door.session(request.cookies.get(SESSION_COOKIE))
    if session is None:
        return None, None
    token = await to_thread.run_sync(door.tokens.find, session.token_id)
    if token is None or token.state(datetime.now(UTC)) != "active":
        door.close_session(request.cookies.get(SESSION_COOKIE))
        return None, None
    return token, session


async def signed_in(request: Request, permission: str, form: dict | None = None):
    """(token, session) allowed `permission` with a valid CSRF token on forms; else raises."""
    token, session = await session_token(request)
    if token is None:
        raise await refuse(request, 401, "sign in with a token first", "anonymous", "session")
    if form is not None and not hmac.compare_digest(str(form.get("csrf") or ""), session.csrf):
        raise await refuse(request, 403, "the form is stale; reload the page", token.actor,
                           "csrf")  # fmt: skip
    if not token.allows(permission):
        raise await refuse(request, 403, f"role {token.role} may not do this", token.actor)
    return token, session


def _render(request: Request, name: str, status: int = 200, **context) -> HTMLResponse:
    return templates.TemplateResponse(request, name, context, status_code=status)


def _login(request: Request, error: str | None = None, status: int = 200) -> HTMLResponse:
    return _render(request, "login.html", status, error=error)


def _form_fields(form) -> dict[str, Any]:
    fields = {key: str(value).strip() for key, value in form.items() if key != "csrf"}
    return fields


def _body(fields: dict[str, str], create: bool) -> routes.PreviewBody:
    filters: dict[str, Any] = {}
    for name in LIST_FILTERS:
        values = [part.strip() for part in fields.get(f"filter_{name}", "").split(",")]
        if any(values):
            filters[name] = [value for value in values if value]
    if fields.get("min_severity"):
        filters["min_severity"] = fields["min_severity"]
    quick = fields.get("range") or "custom"
    window = (
        {"last": quick}
        if quick != "custom"
        else {"from": fields.get("from") or None, "to": fields.get("to") or None}
    )
    plain: dict[str, Any] = {
        "format": fields.get("format") or "csv",
        "type": fields.get("type") or "events",
        "time_window": window,
        "filters": filters or None,
    }
    if create:
        raw = fields.get("raw_content") == "on"
        plain.update(
            name=fields.get("name") or None,
            description=fields.get("description") or None,
            title=fields.get("title") or None,
            raw_content=raw,
            reason=fields.get("reason") or None,
        )
    model = routes.ExportJobBody if create else routes.PreviewBody
    try:
        return model.model_validate(plain)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        raise ApiError(422, str(first["msg"]), field) from None


def _history(request: Request, token: Token) -> list[dict]:
    return door_of(request).jobs(token).list(25)


def _exports_page(
    request: Request, token: Token, session, status: int = 200, **extra
) -> HTMLResponse:
    jobs = _history(request, token)
    return _render(
        request,
        "exports.html",
        status,
        token=token,
        csrf=session.csrf,
        jobs=jobs,
        running=any(job["status"] in RUNNING for job in jobs),
        formats=TABULAR_FORMATS + REPORT_FORMATS,
        types=EXPORT_TYPES,
        quick=QUICK_LABELS,
        quick_ranges=QUICK_RANGES,
        list_filters=LIST_FILTERS,
        severities=SEVERITIES,
        advice=EMPTY_ADVICE,
        fields=extra.pop("fields", {}),
        **extra,
    )


@router.get("/", response_class=HTMLResponse)
async def home(request: Request) -> Response:
    token, session = await session_token(request)
    if token is None:
        return _login(request)
    notice = request.query_params.get("notice")
    return await to_thread.run_sync(
        lambda: _exports_page(request, token, session, notice=notice and notice[:200])
    )


@router.get("/exports/history", response_class=HTMLResponse)
async def history(request: Request) -> Response:
    """The history table alone: what the page's script refreshes while jobs run."""
    token, session = await signed_in(request, "exports.read")
    jobs = await to_thread.run_sync(_history, request, token)
    return _render(
        request, "history.html", token=token, csrf=session.csrf, jobs=jobs, advice=EMPTY_ADVICE,
        running=any(job["status"] in RUNNING for job in jobs),
    )  # fmt: skip


@router.post("/login")
async def login(request: Request) -> Response:
    form = await request.form()
    plain = str(form.get("token") or "").strip()
    door = door_of(request)
    token = await to_thread.run_sync(door.tokens.authenticate, plain) if plain else None
    if token is None or token.state(datetime.now(UTC)) != "active":
        why = "no such token" if token is None else f"the token is {token.state(datetime.now(UTC))}"
        error = await refuse(
            request, 401, f"sign-in refused: {why}", token.actor if token else "anonymous",
            guess=token is None,
        )  # fmt: skip
        return _login(request, error.message, 401)
    session_id, _ = door.open_session(token)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        SESSION_COOKIE, session_id, max_age=SESSION_SECONDS, httponly=True, samesite="strict",
        secure=request.url.scheme == "https", path="/",
    )  # fmt: skip
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    door_of(request).close_session(request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/exports")
async def request_export(request: Request) -> Response:
    """The request form: `action=preview` counts, `action=create` submits."""
    form = await request.form()
    fields = _form_fields(form)
    create = fields.get("action") == "create"
    try:
        token, session = await signed_in(
            request, "exports.create" if create else "exports.preview", dict(form)
        )
    except ApiError as error:
        return _page_error(request, error)
    door = door_of(request)

    def act() -> Response:
        try:
            body = _body(fields, create)
            if not create:
                answer = routes.preview_export(body, request, token)
                return _exports_page(request, token, session, fields=fields, preview=answer)
            response = routes.create_export(body, request, token)
        except ApiError as error:
            return _exports_page(
                request, token, session, 422, fields=fields, error=error.message,
                error_field=error.field,
            )  # fmt: skip
        except KeeptrustsError as error:
            return _exports_page(request, token, session, 409, fields=fields, error=str(error))
        export_id = response.headers["location"].rsplit("/", 1)[-1]
        return RedirectResponse(f"/?notice=Export+{export_id}+queued", status_code=303)

    del door
    return await to_thread.run_sync(act)


def _page_error(request: Request, error: ApiError) -> Response:
    if error.status == 401:
        return _login(request, error.message, 401)
    return HTMLResponse(
        templates.get_template("error.html").render(message=error.message),
        status_code=error.status,
    )


@router.post("/exports/{export_id}/delete")
async def delete_export(export_id: str, request: Request) -> Response:
    form = await request.form()
    try:
        token, _ = await signed_in(request, "exports.delete", dict(form))
    except ApiError as error:
        return _page_error(request, error)
    try:
        await to_thread.run_sync(lambda: door_of(request).jobs(token).delete(export_id))
    except KeeptrustsError as error:
        return RedirectResponse(f"/?notice={_quoted(str(error))}", status_code=303)
    return RedirectResponse(f"/?notice=Deleted+the+artifact+of+{export_id}", status_code=303)


@router.post("/exports/{export_id}/recreate")
async def recreate_export(export_id: str, request: Request) -> Response:
    form = await request.form()
    try:
        token, _ = await signed_in(request, "exports.create", dict(form))
    except ApiError as error:
        return _page_error(request, error)
    try:
        _, new_id = await to_thread.run_sync(
            lambda: door_of(request).jobs(token).recreate(export_id)
        )
    except KeeptrustsError as error:
        return RedirectResponse(f"/?notice={_quoted(str(error))}", status_code=303)
    return RedirectResponse(f"/?notice=Re-created+{export_id}+as+{new_id}", status_code=303)


def _quoted(text: str) -> str:
    from urllib.parse import quote_plus

    return quote_plus(text[:200])


@router.get("/exports/{export_id}/download")
async def download(export_id: str, request: Request) -> Response:
    try:
        token, _ = await signed_in(request, "exports.download")
    except ApiError as error:
        return _page_error(request, error)
    try:
        return await to_thread.run_sync(lambda: routes.download_export(export_id, request, token))
    except ApiError as error:
        return _page_error(request, error)
    except KeeptrustsError as error:
        return _page_error(request, ApiError(409, str(error)))


@router.get("/audit", response_class=HTMLResponse)
async def audit(request: Request) -> Response:
    try:
        token, session = await signed_in(request, "audit.read")
    except ApiError as error:
        return _page_error(request, error)
    try:
        offset = max(0, min(int(request.query_params.get("offset", "0")), 1_000_000))
    except ValueError:
        offset = 0
    page = await to_thread.run_sync(
        lambda: routes.audit_page(door_of(request), 50, offset, None, None, None)
    )
    return _render(request, "audit.html", token=token, csrf=session.csrf, page=page)


def _settings_page(request: Request, token: Token, session, status: int = 200, **extra):
    from keeptrusts_pipelines.exports.deliveries import read_deliveries

    door = door_of(request)
    entries, problems = read_deliveries(routes._deliveries_file(door))
    return _render(
        request, "settings.html", status, token=token, csrf=session.csrf,
        s3=routes.s3_view(door), schedules=[routes._schedule_view(e) for e in entries],
        problems=problems, formats=TABULAR_FORMATS + REPORT_FORMATS, **extra,
    )  # fmt: skip


@router.get("/settings", response_class=HTMLResponse)
async def settings(request: Request) -> Response:
    try:
        token, session = await signed_in(request, "settings")
    except ApiError as error:
        return _page_error(request, error)
    return await to_thread.run_sync(lambda: _settings_page(request, token, session))


@router.post("/settings/s3")
async def save_s3(request: Request) -> Response:
    """Test Connection (`action=test`) or save after it passes (`action=save`)."""
    form = await request.form()
    try:
        token, session = await signed_in(request, "settings", dict(form))
    except ApiError as error:
        return _page_error(request, error)
    fields = _form_fields(form)

    def act() -> Response:
        try:
            body = routes.S3Body.model_validate(
                {
                    "bucket": fields.get("bucket", ""),
                    "prefix": fields.get("prefix", ""),
                    "region": fields.get("region") or None,
                    "access_key_id": fields.get("access_key_id") or None,
                    "secret_access_key": fields.get("secret_access_key") or None,
                }
            )
        except ValidationError as error:
            first = error.errors()[0]
            return _settings_page(
                request, token, session, 422,
                s3_error=f"{'.'.join(map(str, first['loc']))}: {first['msg']}",
            )  # fmt: skip
        try:
            if fields.get("action") == "test":
                result = routes.test_connection(door_of(request), body)
                return _settings_page(request, token, session, tested=result)
            routes.put_s3(body, request, token)
        except (ApiError, KeeptrustsError) as error:
            message = error.message if isinstance(error, ApiError) else str(error)
            return _settings_page(request, token, session, 409, s3_error=message)
        return _settings_page(request, token, session, s3_notice="Saved after Test Connection")

    return await to_thread.run_sync(act)


@router.post("/settings/schedules")
async def add_schedule(request: Request) -> Response:
    form = await request.form()
    try:
        token, session = await signed_in(request, "schedules", dict(form))
    except ApiError as error:
        return _page_error(request, error)
    fields = _form_fields(form)
    formats = form.getlist("formats") or ["csv"]

    def act() -> Response:
        try:
            body = routes.ScheduleBody.model_validate(
                {
                    "name": fields.get("name", ""),
                    "interval": fields.get("interval") or None,
                    "formats": [str(value) for value in formats],
                    "s3_bucket": fields.get("s3_bucket") or None,
                    "s3_prefix": fields.get("s3_prefix", ""),
                }
            )
            routes.add_schedule(body, request, token)
        except ValidationError as error:
            first = error.errors()[0]
            return _settings_page(request, token, session, 422,
                                  schedule_error=f"{first['loc'][0]}: {first['msg']}")  # fmt: skip
        except ApiError as error:
            return _settings_page(request, token, session, error.status,
                                  schedule_error=error.message)  # fmt: skip
        return RedirectResponse("/settings", status_code=303)

    return await to_thread.run_sync(act)


@router.post("/settings/schedules/{name}/delete")
async def remove_schedule(name: str, request: Request) -> Response:
    form = await request.form()
    try:
        token, _ = await signed_in(request, "schedules", dict(form))
    except ApiError as error:
        return _page_error(request, error)
    try:
        await to_thread.run_sync(lambda: routes.remove_schedule(name, request, token))
    except ApiError as error:
        return _page_error(request, error)
    return RedirectResponse("/settings", status_code=303)
