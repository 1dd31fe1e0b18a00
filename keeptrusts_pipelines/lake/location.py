"""The lake a URL names: a local folder, `file://`, or `s3://bucket/prefix`, checked at the edge."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from keeptrusts_pipelines.errors import ConfigurationError
from keeptrusts_pipelines.lake.layout import Lake, LakeLayout

LAKE_URL_VARIABLE = "KEEPTRUSTS_LAKE_URL"
# S3's own bucket naming rule: 3 to 63 lowercase letters, digits, dots and hyphens.
BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


def check_lake_url(url: str) -> str:
    """`url` if it names a usable lake (a folder, `file://`, or `s3://bucket/prefix`); else
    one line naming KEEPTRUSTS_LAKE_URL and the fix. Never echoes what may be a credential."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    fix = "use a folder or s3://bucket/prefix"
    if scheme not in ("", "file", "s3"):
        raise ConfigurationError(
            f"{LAKE_URL_VARIABLE}: the scheme {scheme!r} is not supported; {fix}"
        )
    path = parts.path if scheme in ("file", "s3") else url
    if ".." in re.split(r"[/\\]", path):
        raise ConfigurationError(
            f"{LAKE_URL_VARIABLE}: '..' is not allowed in the lake's path; {fix} written out "
            "in full"
        )
    if scheme != "s3":
        return url
    if "@" in parts.netloc:
        raise ConfigurationError(
            f"{LAKE_URL_VARIABLE}: credentials do not belong in the URL; set AWS_ACCESS_KEY_ID "
            "and AWS_SECRET_ACCESS_KEY (or a role) and use s3://bucket/prefix"
        )
    if not parts.netloc:
        raise ConfigurationError(
            f"{LAKE_URL_VARIABLE}={url!r}: the URL names no bucket; use s3://bucket/prefix"
        )
    if not BUCKET_NAME.fullmatch(parts.netloc):
        raise ConfigurationError(
            f"{LAKE_URL_VARIABLE}={url!r}: {parts.netloc!r} is not an S3 bucket name "
            "(3 to 63 lowercase letters, digits, dots and hyphens); use s3://bucket/prefix"
        )
    if parts.query or parts.fragment:
        raise ConfigurationError(
            f"{LAKE_URL_VARIABLE}: the URL takes no query or fragment; use s3://bucket/prefix"
        )
    return url


def open_lake(url: str | Path) -> Lake:
    """The lake at `url`: a local folder, or an `s3://bucket/prefix` reached through the
    standard AWS environment (AWS_ENDPOINT_URL for MinIO or R2, AWS_REGION, credentials)."""
    text = check_lake_url(str(url))
    parts = urlsplit(text)
    if parts.scheme.lower() == "s3":
        # Imported here: boto3 and pyarrow's S3 support load only for a lake that needs them.
        from keeptrusts_pipelines.lake.object_store import S3Lake

        return S3Lake(parts.netloc, parts.path.strip("/"))
    if parts.scheme.lower() == "file":
        return LakeLayout(Path(parts.path))
    return LakeLayout(Path(text).expanduser())
