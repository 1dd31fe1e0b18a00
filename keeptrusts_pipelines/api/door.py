"""What every request of the HTTP door shares: the home, the ledger, the tokens, the runs,
and who is asking (a bearer token, or the page's session)."""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path

from anyio import to_thread
from fastapi import Request

from keeptrusts_pipelines.api.errors import ApiError
from keeptrusts_pipelines.api.settings import ServeSettings
from keeptrusts_pipelines.api.tokens import Token, TokenStore
from keeptrusts_pipelines.custody.ledger import CustodyLedger
from keeptrusts_pipelines.delivery.s3_access import S3Access
from keeptrusts_pipelines.lake.layout import Lake
from keeptrusts_pipelines.lake.location import open_lake
from keeptrusts_pipelines.service.jobs import ExportJobs

SESSION_COOKIE = "kt_session"
SESSION_SECONDS = 8 * 3600
# Failed sign-ins from one client within this many seconds slow its next answers down.
FAILURE_WINDOW_SECONDS = 300
FREE_FAILURES = 3
MAX_DELAY_SECONDS = 5.0


@dataclass
class Session:
    token_id: str
    csrf: str
    expires: float


class SettledRuns:
    """The runs backend, settling abandoned runs at most once per SETTLE_SECONDS: every find
    and list settles, and under many pollers that repeated scan was the cost of an answer."""

    def __init__(self, runs, seconds: float) -> None:
        self.runs = runs
        self.seconds = seconds
        self.last = 0.0
        self.lock = threading.Lock()

    def submit(self, run_config: dict, tags: dict[str, str]) -> str:
        return self.runs.submit(run_config, tags)

    def find(self, export_id: str):
        return self.runs.find(export_id)

    def recent(self, limit: int):
        return self.runs.recent(limit)

    def settle(self, exports_root, ledger) -> None:
        with self.lock:
            if time.monotonic() - self.last < self.seconds:
                return
            self.last = time.monotonic()
        self.runs.settle(exports_root, ledger)


SETTLE_SECONDS = 5.0


@dataclass
class Door:
    home: Path
    ledger: CustodyLedger
    tokens: TokenStore
    runs: object
    settings: ServeSettings
    # The lake and the S3 store, as the settings read once at start say.
    lake_url: str
    s3_access: S3Access
    sessions: dict[str, Session] = field(default_factory=dict)
    failures: dict[str, deque] = field(default_factory=lambda: defaultdict(deque))
    lock: threading.Lock = field(default_factory=threading.Lock)

    @cached_property
    def lake(self) -> Lake:
        """The lake of KEEPTRUSTS_LAKE_URL (default: the folder under the home)."""
        return open_lake(self.lake_url)

    def jobs(self, token: Token) -> ExportJobs:
        return ExportJobs(
            self.home, self.runs, self.ledger, token.actor, self.lake, s3_access=self.s3_access
        )

    # Sessions of the Exports page: a random id in an HttpOnly cookie, held here.
    def open_session(self, token: Token) -> tuple[str, Session]:
        session_id = secrets.token_urlsafe(32)
        session = Session(token.token_id, secrets.token_urlsafe(32), time.time() + SESSION_SECONDS)
        with self.lock:
            self.sessions[session_id] = session
        return session_id, session

    def session(self, session_id: str | None) -> Session | None:
        if not session_id:
            return None
        with self.lock:
            session = self.sessions.get(session_id)
            if session and session.expires < time.time():
                del self.sessions[session_id]
                return None
        return session

    def close_session(self, session_id: str | None) -> None:
        with self.lock:
            self.sessions.pop(session_id or "", None)

    def failure_delay(self, client: str) -> float:
        """Seconds to hold a refusal for `client`: nothing for the first few, then doubling."""
        now = time.monotonic()
        with self.lock:
            seen = self.failures[client]
            while seen and seen[0] < now - FAILURE_WINDOW_SECONDS:
                seen.popleft()
            seen.append(now)
            extra = len(seen) - FREE_FAILURES
        return 0.0 if extra <= 0 else min(MAX_DELAY_SECONDS, 0.25 * 2 ** (extra - 1))


def door_of(request: Request) -> Door:
    return request.app.state.door


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def path_export_id(request: Request) -> str:
    return str(request.path_params.get("export_id") or "")[:100]


async def refuse(
    request: Request,
    status: int,
    message: str,
    actor: str,
    field: str | None = None,
    guess: bool = False,
) -> ApiError:
    """Record a refused request in the ledger (with who, what and why), slow down a client
    that keeps presenting unknown tokens (`guess`), and give the error to raise."""
    door = door_of(request)
    detail = {"method": request.method, "path": request.url.path, "status": status}
    await to_thread.run_sync(
        lambda: door.ledger.append(
            "refused", path_export_id(request), actor=actor, detail={**detail, "why": message}
        )
    )
    if guess:
        await asyncio.sleep(door.failure_delay(_client(request)))
    return ApiError(status, message, field)


async def authenticate(request: Request, plain: str | None, via: str) -> Token:
    """The live token of `plain`; a 401 (recorded) when there is none or it is not live."""
    door = door_of(request)
    if not plain:
        raise await refuse(
            request, 401, f"no token; send Authorization: Bearer <token> ({via})", "anonymous",
            "authorization",
        )  # fmt: skip
    token = await to_thread.run_sync(door.tokens.authenticate, plain)
    if token is None:
        raise await refuse(
            request, 401, "unknown token; create one with kt token create", "anonymous",
            "authorization", guess=True,
        )  # fmt: skip
    state = token.state(datetime.now(UTC))
    if state != "active":
        raise await refuse(
            request, 401, f"the token is {state}; ask an admin for a new one", token.actor,
            "authorization",
        )  # fmt: skip
    return token


async def permit(request: Request, token: Token, permission: str) -> Token:
    if not token.allows(permission):
        raise await refuse(
            request, 403, f"role {token.role} may not do this ({permission})", token.actor
        )
    return token


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def requires(permission: str):
    """A FastAPI dependency: the bearer token, allowed `permission`, else 401/403."""

    async def dependency(request: Request) -> Token:
        token = await authenticate(request, bearer(request), "header")
        return await permit(request, token, permission)

    return dependency
