"""Where artifacts are delivered, named by one URL: `s3://bucket/prefix?region=eu-west-1`.

Every door spells a target this way: kt's `--deliver-to` (its `--s3-bucket`, `--s3-prefix` and
`--s3-region` compose the same URL), run config and run tags, deliveries.yaml, the API and
`KEEPTRUSTS_EVIDENCE_S3_URL`. The URL is checked here, once for all of them, and
`open_target` picks the kind of store by its scheme; S3-compatible storage is the first.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from urllib.parse import parse_qsl, urlsplit

from keeptrusts_pipelines.errors import ConfigurationError

if TYPE_CHECKING:
    from keeptrusts_pipelines.delivery.s3_access import S3Access

MAX_URL = 1024
MAX_PREFIX = 512
EXAMPLE = "s3://bucket/prefix?region=eu-west-1"
KT_FLAGS = ("--deliver-to", "--s3-bucket", "--s3-prefix", "--s3-region")
CLI_HELP = f"Deliver to this target, e.g. {EXAMPLE} (or give --s3-bucket and --s3-prefix)."
# S3's bucket naming rules: 3-63 lower-case letters, digits, dots and hyphens.
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
# AWS regions (eu-west-1), and the names S3-compatible stores use (auto, us-east-1, local).
_REGION = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")
# What an error shows of a URL holding credentials (`//user:secret@`): never the secret.
_USERINFO = re.compile(r"//[^/?#]*@")
# Key prefixes: printable ASCII without the URL's own separators or a backslash.
_PREFIX = re.compile(r"[A-Za-z0-9 !$&'()*+,\-.:;=@_~/]*")


@dataclass(frozen=True)
class Delivered:
    """One object delivered: where it is and what the store reports of it."""

    uri: str
    key: str
    version_id: str | None
    sha256: str
    checksum: str | None  # the store's own checksum of the object, as it reports it
    created: bool  # False when an identical object was already there


@dataclass(frozen=True)
class ProbeStep:
    """One step of a connection test (write, read back, remove): whether it passed, and why."""

    step: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class TargetAddress:
    """A target's URL, taken apart: the store's kind, the bucket, the key prefix, the region."""

    scheme: str
    bucket: str
    prefix: str = ""
    region: str | None = None

    @property
    def location(self) -> str:
        """Where artifacts go, as kt prints it: `s3://bucket/prefix`."""
        return f"{self.scheme}://{self.bucket}/{self.prefix}"

    @property
    def url(self) -> str:
        """The one spelling every door takes back: the location and its region."""
        return self.location + (f"?region={self.region}" if self.region else "")


class DeliveryTarget(Protocol):
    """A store artifacts are delivered to, create-once and checked after."""

    @property
    def address(self) -> TargetAddress: ...

    def deliver(self, path: Path, name: str) -> Delivered:
        """Store `path` under the prefix as `name` once; an identical object there is reused."""
        ...

    def check(self) -> list[ProbeStep]:
        """Write, read back and remove a probe object, step by step."""
        ...

    def link(self, key: str, seconds: int) -> str:
        """A download link to the object at `key`, valid for `seconds`."""
        ...


def parse_target(url: str, where: str) -> TargetAddress:
    """The address of a target URL; ConfigurationError naming `where` and the fix otherwise."""

    def refuse(why: str) -> ConfigurationError:
        shown = _USERINFO.sub("//…@", url) if isinstance(url, str) else repr(type(url))
        shown = shown if len(shown) <= 120 else shown[:117] + "..."
        return ConfigurationError(f"{where}={shown!r}: {why}; give {EXAMPLE}")

    if not isinstance(url, str) or not url.strip():
        raise refuse("no target")
    if len(url) > MAX_URL:
        raise refuse(f"longer than {MAX_URL} characters")
    # urlsplit drops tabs and line breaks without a word: they are refused here instead.
    if not url.strip().isprintable() or not url.isascii():
        raise refuse("only printable ASCII characters")
    parts = urlsplit(url.strip())
    if parts.scheme not in OPENERS:
        raise refuse(f"{parts.scheme or 'no'} scheme is not a delivery target")
    if parts.username or parts.password or "@" in parts.netloc:
        raise refuse("credentials do not belong in the URL (they come from the AWS environment)")
    if parts.fragment:
        raise refuse("a target has no #fragment")
    query = parse_qsl(parts.query, keep_blank_values=True)
    unknown = sorted({name for name, _ in query} - {"region"})
    if unknown or len(query) > 1:
        raise refuse(f"the only option is region, once (not {', '.join(unknown) or 'twice'})")
    region = query[0][1] if query else None
    return target_address(parts.scheme, parts.netloc, parts.path.removeprefix("/"), region, where)


def location_of(url: str) -> str:
    """Where a target URL delivers, as kt prints it (`s3://bucket/prefix`)."""
    return parse_target(url, "target").location


def target_address(
    scheme: str, bucket: str, prefix: str = "", region: str | None = None, where: str = "target"
) -> TargetAddress:
    """A target's address from its parts (kt's --s3-bucket, --s3-prefix, --s3-region), checked
    as its URL is."""

    def refuse(field: str, value: object, fix: str) -> ConfigurationError:
        return ConfigurationError(f"{where}: {field} {value!r}: {fix}")

    if not isinstance(bucket, str) or not _BUCKET.fullmatch(bucket) or ".." in bucket:
        raise refuse("bucket", bucket, "use 3-63 lower-case letters, digits, dots and hyphens")
    if not isinstance(prefix, str) or len(prefix) > MAX_PREFIX or not _PREFIX.fullmatch(prefix):
        raise refuse(
            "prefix",
            prefix[:80] if isinstance(prefix, str) else prefix,
            f"use at most {MAX_PREFIX} letters, digits, '/', '-', '_' and '.'",
        )
    segments = prefix.strip("/").split("/") if prefix.strip("/") else []
    if prefix.startswith("/") or any(segment in ("", ".", "..") for segment in segments):
        raise refuse("prefix", prefix[:80], "name folders: no empty, '.' or '..' parts")
    if region is not None and (not isinstance(region, str) or not _REGION.fullmatch(region)):
        raise refuse("region", region, "use a region name such as eu-west-1")
    return TargetAddress(scheme, bucket, prefix, region or None)


def chosen_target(
    url: str | None,
    bucket: str | None,
    prefix: str = "",
    region: str | None = None,
    names: tuple[str, str, str, str] = KT_FLAGS,
) -> TargetAddress | None:
    """The target a door was given, as a URL or as a bucket, prefix and region (kt's
    --s3-* flags, the API's s3_* fields); None when neither. `names` are the door's spellings
    of the four, for its errors."""
    url_name, bucket_name, prefix_name, region_name = names
    if url and bucket:
        raise ConfigurationError(f"{url_name}: give it or {bucket_name}, not both")
    if url:
        if prefix or region:
            raise ConfigurationError(
                f"{prefix_name}, {region_name}: they go with {bucket_name}; with {url_name} put "
                "them in the URL (s3://bucket/prefix?region=REGION)"
            )
        return parse_target(url, url_name)
    if bucket:
        return target_address("s3", bucket, prefix, region, bucket_name)
    if prefix or region:
        raise ConfigurationError(f"{prefix_name}, {region_name}: give {bucket_name} too")
    return None


def _open_s3(target: TargetAddress, access: S3Access) -> DeliveryTarget:
    # boto3 loads only when something is delivered.
    return access.target(target.bucket, target.prefix, target.region)


OPENERS: dict[str, Callable[[TargetAddress, S3Access], DeliveryTarget]] = {"s3": _open_s3}


def open_target(
    target: str | TargetAddress, access: S3Access, where: str = "target"
) -> DeliveryTarget:
    """The store a target URL (or address) names, reached with `access` (endpoint, checksums,
    Object Lock); `where` names the setting in errors."""
    if isinstance(target, str):
        target = parse_target(target, where)
    return OPENERS[target.scheme](target, access)
