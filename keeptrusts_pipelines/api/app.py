"""The FastAPI application of `kt serve`: the `/v1` API, the Exports page at `/`, `/healthz`.

Safe by default: security headers on every answer, a request-body limit, CORS off unless
KEEPTRUSTS_API_CORS_ORIGINS names origins, access logs without query strings or bodies.
"""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from keeptrusts_pipelines.api import page, routes, s3_settings
from keeptrusts_pipelines.api.door import SETTLE_SECONDS, Door, SettledRuns
from keeptrusts_pipelines.api.errors import ApiError, error_response
from keeptrusts_pipelines.api.settings import ServeSettings
from keeptrusts_pipelines.api.tokens import TokenError, TokenStore
from keeptrusts_pipelines.custody.ledger import CustodyLedger, LedgerError
from keeptrusts_pipelines.errors import ConfigurationError, ExportRequestError, KeeptrustsError
from keeptrusts_pipelines.exports.formats import use_format_sources
from keeptrusts_pipelines.service.jobs import NoSuchExport
from keeptrusts_pipelines.settings import Settings, custody_url, dagster_url, lake_url

log = logging.getLogger("keeptrusts.api")

SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        b"frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'",
    ),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]
# FastAPI's /docs page loads its script and styles from a CDN; it gets its own policy.
DOCS_POLICY = (
    b"default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    b"style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: "
    b"https://fastapi.tiangolo.com; frame-ancestors 'none'"
)


class GuardMiddleware:
    """Security headers on every answer; request bodies over the limit refused with 413."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        docs = scope["path"] in ("/docs", "/redoc")
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length", b"0")
        limit = self.max_body_bytes
        if not declared.isdigit() or int(declared) > limit:
            response = error_response(413, f"the request body is over {limit:,} bytes", "body")
            await response(scope, receive, self._guarded(send, docs))
            return
        received = 0

        async def bounded_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise ApiError(413, f"the request body is over {limit:,} bytes", "body")
            return message

        await self.app(scope, bounded_receive, self._guarded(send, docs))

    @staticmethod
    def _guarded(send: Send, docs: bool) -> Send:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name for name, _ in message.get("headers", [])}
                extra = [
                    (name, DOCS_POLICY if docs and name == b"content-security-policy" else value)
                    for name, value in SECURITY_HEADERS
                    if name not in present
                ]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        return send_with_headers


def _message(error: Exception) -> str:
    return str(error).split(": ", 1)[-1] if isinstance(error, ExportRequestError) else str(error)


def create_app(
    home: Path | None = None, settings: ServeSettings | None = None, runs: object | None = None
) -> FastAPI:
    """The application over KEEPTRUSTS_HOME; `runs` defaults to the Dagster webserver of
    KEEPTRUSTS_DAGSTER_URL (its run queue and launcher: a pod per run on Kubernetes), else the
    local Dagster instance."""
    shared = Settings.from_environment()
    use_format_sources(shared.format_sources())
    home = home or shared.home
    settings = settings or ServeSettings.from_environment()
    if runs is None and dagster_url():
        from keeptrusts_pipelines.cli.graphql_runs import GraphQLExportRuns

        runs = GraphQLExportRuns(dagster_url())
    if runs is None:
        from keeptrusts_pipelines.defs.export_runs import LocalExportRuns

        runs = LocalExportRuns(home / "exports")
    url = custody_url(home)
    door = Door(
        home,
        CustodyLedger(url),
        TokenStore(url),
        SettledRuns(runs, SETTLE_SECONDS),
        settings,
        lake_url=shared.lake_url if home == shared.home else lake_url(home),
        s3_access=shared.s3_access(),
    )
    s3_settings.apply_credentials(home, settings.secret_key)
    app = FastAPI(
        title="Keeptrusts exports API",
        version="1",
        description="Export jobs, schedules, S3 settings and the audit log of keeptrusts-"
        "pipelines. Send `Authorization: Bearer <token>` (kt token create).",
        redoc_url=None,
    )
    app.state.door = door

    @app.exception_handler(ApiError)
    async def api_error(request: Request, error: ApiError):
        return error_response(error.status, error.message, error.field)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError):
        first = error.errors()[0] if error.errors() else {}
        location = [str(part) for part in first.get("loc", ()) if part not in ("body", "query")]
        if first.get("type") == "json_invalid":
            return error_response(400, "the body is not valid JSON", "body")
        field = ".".join(location) or None
        return error_response(422, str(first.get("msg", "invalid value")), field)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException):
        if error.status_code == 404:
            return error_response(404, f"no such path {request.url.path}; see /docs", None)
        return error_response(error.status_code, str(error.detail), None)

    @app.exception_handler(NoSuchExport)
    async def missing(request: Request, error: NoSuchExport):
        return error_response(404, str(error).removeprefix("id "), "id")

    @app.exception_handler(ExportRequestError)
    async def bad_request(request: Request, error: ExportRequestError):
        return error_response(422, _message(error), error.field)

    @app.exception_handler(TokenError)
    async def bad_token(request: Request, error: TokenError):
        return error_response(422, str(error), error.field)

    @app.exception_handler(ConfigurationError)
    async def not_configured(request: Request, error: ConfigurationError):
        return error_response(409, str(error), None)

    @app.exception_handler(LedgerError)
    async def ledger_down(request: Request, error: LedgerError):
        log.error("custody ledger: %s", error)
        return error_response(500, "the custody ledger cannot be written; see the server log")

    @app.exception_handler(KeeptrustsError)
    async def conflict(request: Request, error: KeeptrustsError):
        return error_response(409, str(error), None)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception):
        log.error("unexpected %s on %s %s", type(error).__name__, request.method, request.url.path)
        return error_response(500, "unexpected server error; see the server log", None)

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict:
        """Liveness: the custody ledger answers."""
        door.ledger.head()
        return {"status": "ok"}

    app.include_router(routes.router)
    app.include_router(page.router)
    app.mount("/static", page.static_files(), name="static")
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_middleware(GuardMiddleware, max_body_bytes=settings.max_body_bytes)
    return app
