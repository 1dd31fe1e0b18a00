"""Pick the event source from its URL (`KEEPTRUSTS_SOURCE_URL`)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from keeptrusts_pipelines.errors import ConfigurationError
from keeptrusts_pipelines.sources.batch import EventSource
from keeptrusts_pipelines.sources.database import DatabaseSource
from keeptrusts_pipelines.sources.demo import DEFAULT_EVENTS_PER_DAY, DEFAULT_SEED, DemoSource
from keeptrusts_pipelines.sources.landing import LandingSource, LocalLandingStore, S3LandingStore

DEFAULT_SOURCE_URL = f"demo://?seed={DEFAULT_SEED}"
SUPPORTED = "demo://?seed=N, file:///dir, s3://bucket/prefix, postgresql+psycopg://…, sqlite:///…"


def _int_option(options: dict[str, list[str]], name: str, default: int) -> int:
    text = options.get(name, [str(default)])[-1]
    if not text.isdigit() or int(text) <= 0:
        raise ConfigurationError(
            f"KEEPTRUSTS_SOURCE_URL: {name}={text!r} is not a positive integer; "
            f"use e.g. demo://?{name}={default}"
        )
    return int(text)


def open_source(url: str, s3_endpoint_url: str | None = None) -> EventSource:
    """The source a URL names; `s3_endpoint_url` reaches MinIO/R2 (else AWS_ENDPOINT_URL)."""
    parsed = urlparse(url)
    scheme = parsed.scheme.lower()
    if scheme == "demo":
        options = parse_qs(parsed.query)
        return DemoSource(
            seed=_int_option(options, "seed", DEFAULT_SEED),
            events_per_day=_int_option(options, "events_per_day", DEFAULT_EVENTS_PER_DAY),
        )
    if scheme == "file":
        root = Path(unquote(parsed.path))
        if not root.is_dir():
            raise ConfigurationError(
                f"KEEPTRUSTS_SOURCE_URL: landing folder {root} does not exist; "
                "create it or point the URL at the folder the gateway writes to"
            )
        return LandingSource(LocalLandingStore(root))
    if scheme == "s3":
        if not parsed.netloc:
            raise ConfigurationError(
                f"KEEPTRUSTS_SOURCE_URL: {url!r} names no bucket; use s3://bucket/prefix"
            )
        import boto3  # only for an S3 source: every run of the code location reads this module

        client = boto3.client("s3", endpoint_url=s3_endpoint_url)
        return LandingSource(S3LandingStore(client, parsed.netloc, parsed.path.strip("/")))
    if scheme.startswith(("postgresql", "sqlite")):
        return DatabaseSource(url)
    raise ConfigurationError(
        f"KEEPTRUSTS_SOURCE_URL: unsupported scheme {parsed.scheme!r}; use one of {SUPPORTED}"
    )
