"""API tokens: shown once at creation, kept only as a SHA-256 hash in the custody database.

A token reads `kt_<id>_<secret>`: the id finds its row, the hash of the whole token is
compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from keeptrusts_pipelines.errors import ConfigurationError, KeeptrustsError

ROLES = ("admin", "compliance", "auditor")
# What each role may do; admin may do everything.
PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": frozenset(
        {
            "exports.read", "exports.create", "exports.preview", "exports.download",
            "exports.delete", "exports.raw", "audit.read", "verify", "settings", "schedules",
            "tokens", "legal_holds",
        }
    ),
    "compliance": frozenset(
        {
            "exports.read", "exports.create", "exports.preview", "exports.download",
            "exports.delete", "exports.raw",
        }
    ),
    "auditor": frozenset({"exports.read", "exports.download", "audit.read", "verify"}),
}  # fmt: skip
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_TOKEN = re.compile(r"^kt_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")
_EXPIRES = re.compile(r"^(\d{1,4})([hd])$")
# Compared against when a token names no row, so a miss takes as long as a mismatch.
_DUMMY_HASH = hashlib.sha256(b"no such token").hexdigest()

metadata = sa.MetaData()
tokens_table = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("token_id", sa.String(16), primary_key=True),
    sa.Column("name", sa.String(64), nullable=False, index=True),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("token_sha256", sa.String(64), nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("expires_at", sa.String(32), nullable=True),
    sa.Column("revoked_at", sa.String(32), nullable=True),
)


class TokenError(KeeptrustsError):
    """A token that cannot be created or revoked as asked; names the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True)
class Token:
    token_id: str
    name: str
    role: str
    created_at: str
    expires_at: str | None
    revoked_at: str | None

    @property
    def actor(self) -> str:
        """How the custody ledger names who acted."""
        return f"token:{self.name}"

    def allows(self, permission: str) -> bool:
        return permission in PERMISSIONS.get(self.role, frozenset())

    def state(self, now: datetime) -> str:
        if self.revoked_at:
            return "revoked"
        if self.expires_at and _moment(self.expires_at) <= now:
            return "expired"
        return "active"

    def as_dict(self, now: datetime) -> dict[str, str | None]:
        return {
            "name": self.name,
            "role": self.role,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "revoked_at": self.revoked_at,
            "state": self.state(now),
        }


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def parse_expiry(text: str | None) -> timedelta | None:
    """`90d` or `12h` (at most 3650 days); None or `never` for a token that does not expire."""
    if text is None or text == "never":
        return None
    match = _EXPIRES.match(text.strip())
    if not match or int(match.group(1)) < 1:
        raise TokenError("expires", f"{text!r}: give a duration such as 90d or 12h, or never")
    amount = int(match.group(1))
    span = timedelta(days=amount) if match.group(2) == "d" else timedelta(hours=amount)
    if span > timedelta(days=3650):
        raise TokenError("expires", f"{text!r}: at most 3650d")
    return span


class TokenStore:
    """The tokens table beside the custody ledger (same SQLAlchemy URL)."""

    def __init__(self, url: str) -> None:
        try:
            self.engine = sa.create_engine(url)
            metadata.create_all(self.engine)
        except sa.exc.ArgumentError:
            raise ConfigurationError(
                "KEEPTRUSTS_CUSTODY_URL: not a usable SQLAlchemy URL; use "
                "sqlite:///path/custody.db or postgresql+psycopg://user:password@host/db"
            ) from None

    def create(
        self, name: str, role: str, expires: timedelta | None, now: datetime | None = None
    ) -> tuple[Token, str]:
        """A new token: (its row, the token itself — shown once, never stored)."""
        if not _NAME.match(name or ""):
            raise TokenError(
                "name", f"{name!r}: use 1-64 letters, digits, dots, dashes or underscores"
            )
        if role not in ROLES:
            raise TokenError("role", f"{role!r}: use one of {', '.join(ROLES)}")
        now = now or datetime.now(UTC)
        token_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        plain = f"kt_{token_id}_{secret}"
        row = {
            "token_id": token_id,
            "name": name,
            "role": role,
            "token_sha256": token_hash(plain),
            "created_at": _stamp(now),
            "expires_at": _stamp(now + expires) if expires else None,
            "revoked_at": None,
        }
        # The name is the ledger's actor: one unrevoked token per name.
        with self.engine.begin() as connection:
            taken = connection.execute(
                sa.select(tokens_table.c.token_id).where(
                    tokens_table.c.name == name, tokens_table.c.revoked_at.is_(None)
                )
            ).first()
            if taken:
                raise TokenError(
                    "name", f"{name!r} is taken; revoke it first or choose another name"
                )
            connection.execute(tokens_table.insert().values(**row))
        return self._token(row), plain

    def authenticate(self, plain: str) -> Token | None:
        """The token's row when `plain` matches one (revoked or expired included); else None."""
        match = _TOKEN.match(plain or "")
        row = None
        if match:
            with self.engine.connect() as connection:
                row = (
                    connection.execute(
                        sa.select(tokens_table).where(tokens_table.c.token_id == match.group(1))
                    )
                    .mappings()
                    .first()
                )
        stored = row["token_sha256"] if row else _DUMMY_HASH
        same = hmac.compare_digest(stored, token_hash(plain or ""))
        return self._token(row) if row is not None and same else None

    def find(self, token_id: str) -> Token | None:
        with self.engine.connect() as connection:
            row = (
                connection.execute(
                    sa.select(tokens_table).where(tokens_table.c.token_id == token_id)
                )
                .mappings()
                .first()
            )
        return self._token(row) if row else None

    def list(self) -> list[Token]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(tokens_table).order_by(tokens_table.c.created_at, tokens_table.c.name)
            ).mappings()
            return [self._token(row) for row in rows]

    def revoke(self, name: str, now: datetime | None = None) -> Token:
        """Revoke the token of `name` (it stays listed, as revoked)."""
        stamp = _stamp(now or datetime.now(UTC))
        with self.engine.begin() as connection:
            done = connection.execute(
                tokens_table.update()
                .where(tokens_table.c.name == name, tokens_table.c.revoked_at.is_(None))
                .values(revoked_at=stamp)
            )
            if done.rowcount == 0:
                raise TokenError(
                    "name", f"{name!r}: no active token by that name; see kt token list"
                )
            row = (
                connection.execute(
                    sa.select(tokens_table)
                    .where(tokens_table.c.name == name)
                    .order_by(tokens_table.c.revoked_at.desc())
                )
                .mappings()
                .first()
            )
        return self._token(row)

    @staticmethod
    def _token(row) -> Token:
        return Token(
            token_id=row["token_id"],
            name=row["name"],
            role=row["role"],
            created_at=row["created_at"],
            expires_at=row["expires_at"],
            revoked_at=row["revoked_at"],
        )
