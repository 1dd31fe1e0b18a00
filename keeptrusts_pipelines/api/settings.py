"""The settings of the HTTP door and of `kt` as its client, read from the environment once."""

from __future__ import annotations

import os
from dataclasses import dataclass

from keeptrusts_pipelines.errors import ConfigurationError

DEFAULT_MAX_BODY_BYTES = 1 << 20


def api_url() -> str | None:
    """`KEEPTRUSTS_API_URL`: the API `kt` talks to; unset, `kt` works locally."""
    return (os.environ.get("KEEPTRUSTS_API_URL") or "").rstrip("/") or None


def api_token() -> str | None:
    """`KEEPTRUSTS_API_TOKEN`: the bearer token `kt` sends to the API."""
    return os.environ.get("KEEPTRUSTS_API_TOKEN") or None


def secret_key() -> bytes | None:
    """`KEEPTRUSTS_SECRET_KEY`: the Fernet key that encrypts secrets saved through the page."""
    text = os.environ.get("KEEPTRUSTS_SECRET_KEY")
    if not text:
        return None
    from cryptography.fernet import Fernet

    try:
        Fernet(text.encode())
    except ValueError:
        # A secret: the message names what is wrong with it, never the value.
        raise ConfigurationError(
            "KEEPTRUSTS_SECRET_KEY: not a Fernet key; make one with python -c "
            "'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
        ) from None
    return text.encode()


def max_body_bytes() -> int:
    """`KEEPTRUSTS_API_MAX_BODY_BYTES` (default 1 MiB): larger request bodies are refused."""
    text = os.environ.get("KEEPTRUSTS_API_MAX_BODY_BYTES", str(DEFAULT_MAX_BODY_BYTES))
    if not text.isdigit() or int(text) < 1024:
        raise ConfigurationError(
            f"KEEPTRUSTS_API_MAX_BODY_BYTES={text!r}: use a whole number of bytes, at least 1024"
        )
    return int(text)


def cors_origins() -> tuple[str, ...]:
    """`KEEPTRUSTS_API_CORS_ORIGINS`: origins, comma-separated, allowed to call the API from a
    browser; unset, none (CORS off)."""
    text = os.environ.get("KEEPTRUSTS_API_CORS_ORIGINS", "")
    origins = tuple(part.strip() for part in text.split(",") if part.strip())
    for origin in origins:
        if origin == "*" or not origin.startswith(("http://", "https://")):
            raise ConfigurationError(
                f"KEEPTRUSTS_API_CORS_ORIGINS: {origin!r} is not an origin; give "
                "https://host[:port] values, comma-separated (no wildcard)"
            )
    return origins


@dataclass(frozen=True)
class ServeSettings:
    """What the HTTP door reads at start."""

    max_body_bytes: int
    cors_origins: tuple[str, ...]
    secret_key: bytes | None

    @classmethod
    def from_environment(cls) -> ServeSettings:
        return cls(max_body_bytes(), cors_origins(), secret_key())
