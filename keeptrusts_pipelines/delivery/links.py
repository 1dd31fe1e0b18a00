"""Download links for delivered artifacts: presigned URLs, regenerated on demand for as long as
the object exists, and fetches through them that prove the bytes are the recorded ones."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import requests

from keeptrusts_pipelines.delivery.s3 import MAX_PRESIGN_SECONDS, DeliveryError
from keeptrusts_pipelines.delivery.s3_access import S3Access
from keeptrusts_pipelines.delivery.target import open_target, target_address
from keeptrusts_pipelines.errors import ConfigurationError
from keeptrusts_pipelines.lake.files import atomic_path
from keeptrusts_pipelines.model.records import DeliveryRecord

_EXPIRY = re.compile(r"(\d{1,4})([mhd])")
UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400}
CHUNK = 1 << 20


def expiry_seconds(text: str) -> int:
    """`90m`, `24h` or `7d` as seconds, at most S3's 7 days; ConfigurationError otherwise."""
    match = _EXPIRY.fullmatch(text.strip().lower())
    seconds = int(match[1]) * UNIT_SECONDS[match[2]] if match else 0
    if not 1 <= seconds <= MAX_PRESIGN_SECONDS:
        raise ConfigurationError(f"{text!r}: give 90m, 24h or 7d, at most 7d (S3's limit)")
    return seconds


def link_for(delivery: DeliveryRecord, seconds: int, access: S3Access) -> str:
    """A presigned GET link for a delivered object, from its delivery record, through the
    store `access` reaches (its region unless the record names one)."""
    bucket, key = delivery.bucket, delivery.key
    uri = delivery.uri or ""
    if not (bucket and key) and uri.startswith("s3://"):
        bucket, _, key = uri.removeprefix("s3://").partition("/")
    if not bucket or not key:
        raise DeliveryError("the delivery record names no bucket and key; it was not delivered")
    address = target_address("s3", bucket, "", delivery.region, "the delivery record")
    return open_target(address, access).link(str(key), seconds)


def fetch(url: str, output: Path, sha256: str, size: int) -> None:
    """Stream `url` to `output` (atomically), refusing bytes other than the recorded ones."""
    digest, received = hashlib.sha256(), 0
    try:
        with requests.get(url, stream=True, timeout=(10, 60)) as response:
            if response.status_code != 200:
                raise DeliveryError(f"the store answered HTTP {response.status_code}")
            with atomic_path(output) as temporary, temporary.open("wb") as handle:
                for chunk in response.iter_content(CHUNK):
                    received += len(chunk)
                    if received > size:
                        raise DeliveryError(f"the store sent more than the recorded {size} bytes")
                    digest.update(chunk)
                    handle.write(chunk)
                if digest.hexdigest() != sha256:
                    raise DeliveryError(
                        f"the object's sha256 is {digest.hexdigest()}, not the recorded {sha256}"
                    )
    except requests.RequestException as error:
        raise DeliveryError(f"the download link did not answer ({type(error).__name__})") from None
