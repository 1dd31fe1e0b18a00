"""Delivery to S3-compatible storage (AWS, MinIO, R2): create-once keys, SHA-256 checksums
sent and checked after, multipart above a threshold, optional Object Lock retention.

Keys hold the artifact's sha256, so an identical artifact maps to the same key (re-delivery
finds it there and creates nothing) while a different one can never overwrite it; the put
itself is conditional (`If-None-Match: *`) so two writers cannot both create it.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from keeptrusts_pipelines.delivery.target import Delivered, ProbeStep, TargetAddress
from keeptrusts_pipelines.errors import ConfigurationError, KeeptrustsError

MULTIPART_THRESHOLD = 64 << 20
PART_SIZE = 64 << 20
LOCK_MODES = ("GOVERNANCE", "COMPLIANCE")
# Recent boto3 adds CRC checksums to every upload, which some S3-compatible stores refuse;
# "sha256" sends (and checks) SHA-256 only, "none" sends no checksum header at all.
CHECKSUM_MODES = ("sha256", "none")
MAX_PRESIGN_SECONDS = 7 * 24 * 3600


class DeliveryError(KeeptrustsError):
    """An upload that did not happen as asked; says which step and why."""


@dataclass(frozen=True)
class S3Target:
    bucket: str
    prefix: str = ""
    region: str | None = None
    endpoint_url: str | None = None
    checksum: str = "sha256"
    lock_mode: str | None = None
    lock_days: int | None = None

    def __post_init__(self) -> None:
        if not self.bucket:
            raise ConfigurationError("S3 target: bucket is empty; give --s3-bucket NAME")
        if self.checksum not in CHECKSUM_MODES:
            raise ConfigurationError(
                f"KEEPTRUSTS_S3_CHECKSUM={self.checksum!r}: use one of {', '.join(CHECKSUM_MODES)}"
            )
        if (self.lock_mode is None) != (self.lock_days is None):
            raise ConfigurationError(
                "Object Lock: give both the mode (GOVERNANCE or COMPLIANCE) and the days"
            )
        if self.lock_mode is not None and self.lock_mode not in LOCK_MODES:
            raise ConfigurationError(
                f"Object Lock mode {self.lock_mode!r}: use GOVERNANCE or COMPLIANCE"
            )
        if self.lock_days is not None and self.lock_days < 1:
            raise ConfigurationError(f"Object Lock days {self.lock_days}: use at least 1")

    def key(self, name: str) -> str:
        base = self.prefix.strip("/")
        return f"{base}/{name}" if base else name

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    # A DeliveryTarget (delivery/target.py):
    @property
    def address(self) -> TargetAddress:
        return TargetAddress("s3", self.bucket, self.prefix, self.region)

    def deliver(self, path: Path, name: str) -> Delivered:
        return deliver(path, self, name=name)

    def check(self) -> list[ProbeStep]:
        return check_connection(self)

    def link(self, key: str, seconds: int) -> str:
        return presigned_url(self, key, seconds)


def client_for(target: S3Target) -> Any:
    """A boto3 client that sends only the checksums this project asks for."""
    config = Config(
        signature_version="s3v4",
        retries={"max_attempts": 5, "mode": "standard"},
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        connect_timeout=10,
        read_timeout=60,
    )
    return boto3.client(
        "s3", endpoint_url=target.endpoint_url, region_name=target.region, config=config
    )


def _digest(path: Path, part_size: int | None = None) -> tuple[str, list[bytes]]:
    """The file's sha256 (hex) and, with `part_size`, each part's raw sha256."""
    whole, parts = hashlib.sha256(), []
    with path.open("rb") as handle:
        while chunk := handle.read(part_size or (1 << 20)):
            whole.update(chunk)
            if part_size:
                parts.append(hashlib.sha256(chunk).digest())
    return whole.hexdigest(), parts


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _sha256_headers(sha256: str, checksum: bool) -> dict[str, str]:
    if not checksum:
        return {}
    return {"ChecksumAlgorithm": "SHA256", "ChecksumSHA256": _b64(bytes.fromhex(sha256))}


def _lock(target: S3Target, now: datetime) -> dict[str, object]:
    if target.lock_mode is None:
        return {}
    return {
        "ObjectLockMode": target.lock_mode,
        "ObjectLockRetainUntilDate": now + timedelta(days=target.lock_days or 0),
    }


def _parts(path: Path, size: int) -> Iterator[tuple[int, bytes]]:
    with path.open("rb") as handle:
        number = 1
        while chunk := handle.read(size):
            yield number, chunk
            number += 1


def _explain(step: str, target: S3Target, error: Exception) -> DeliveryError:
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        message = error.response.get("Error", {}).get("Message", "")
        hint = ""
        no_lock = code == "ObjectLockConfigurationNotFoundError" or (
            code == "InvalidRequest" and "objectlock" in message.lower().replace(" ", "")
        )
        if no_lock:
            hint = (
                "; the bucket has no Object Lock (R2 has none): unset "
                "KEEPTRUSTS_S3_OBJECT_LOCK_MODE/DAYS or use a bucket created with Object Lock"
            )
        elif code in ("NoSuchBucket",):
            hint = f"; create the bucket {target.bucket} or fix --s3-bucket"
        elif code in ("AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
            hint = "; check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE"
        elif "Checksum" in code or "checksum" in message.lower():
            hint = "; the store refused the checksum: try KEEPTRUSTS_S3_CHECKSUM=none"
        return DeliveryError(f"{step} s3://{target.bucket}: {code or 'error'} {message}{hint}")
    return DeliveryError(f"{step} s3://{target.bucket}: {type(error).__name__}: {error}")


def deliver(
    path: Path,
    target: S3Target,
    name: str | None = None,
    client: Any | None = None,
    now: datetime | None = None,
    multipart_threshold: int = MULTIPART_THRESHOLD,
    part_size: int = PART_SIZE,
) -> Delivered:
    """Upload `path` as `<prefix>/<name>` once; an identical object already there is reused."""
    client = client or client_for(target)
    now = now or datetime.now(UTC)
    key = target.key(name or path.name)
    multipart = path.stat().st_size > multipart_threshold
    sha256, part_digests = _digest(path, part_size if multipart else None)
    checksum = target.checksum == "sha256"
    extra = {"Metadata": {"sha256": sha256}, **_lock(target, now)}
    try:
        if multipart:
            _multipart(client, target, key, path, part_size, part_digests, checksum, extra)
        else:
            with path.open("rb") as body:
                client.put_object(
                    Bucket=target.bucket,
                    Key=key,
                    Body=body,
                    IfNoneMatch="*",
                    **_sha256_headers(sha256, checksum),
                    **extra,
                )
        created = True
    except ClientError as error:
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if status != 412 and error.response.get("Error", {}).get("Code") != "PreconditionFailed":
            raise _explain("upload to", target, error) from None
        created = False  # the key exists: it must hold these very bytes
    except BotoCoreError as error:
        raise _explain("upload to", target, error) from None
    try:
        head = client.head_object(Bucket=target.bucket, Key=key, ChecksumMode="ENABLED")
    except (ClientError, BotoCoreError) as error:
        raise _explain("read back", target, error) from None
    stored = head.get("Metadata", {}).get("sha256")
    if stored != sha256:
        raise DeliveryError(
            f"{target.uri(key)} already holds other bytes (sha256 {stored}, not {sha256}); "
            "keys hold the content hash, so this object was written by something else"
        )
    reported = head.get("ChecksumSHA256")
    if checksum and reported and not multipart and reported != _b64(bytes.fromhex(sha256)):
        raise DeliveryError(f"{target.uri(key)}: the store's SHA-256 differs from the file's")
    return Delivered(
        uri=target.uri(key),
        key=key,
        version_id=head.get("VersionId"),
        sha256=sha256,
        checksum=reported,
        created=created,
    )


def _multipart(client, target, key, path, part_size, digests, checksum, extra) -> None:
    started = client.create_multipart_upload(
        Bucket=target.bucket,
        Key=key,
        **({"ChecksumAlgorithm": "SHA256"} if checksum else {}),
        **extra,
    )
    upload_id = started["UploadId"]
    try:
        parts = []
        for number, chunk in _parts(path, part_size):
            sent = client.upload_part(
                Bucket=target.bucket,
                Key=key,
                UploadId=upload_id,
                PartNumber=number,
                Body=chunk,
                **({"ChecksumSHA256": _b64(digests[number - 1])} if checksum else {}),
            )
            part = {"ETag": sent["ETag"], "PartNumber": number}
            if checksum:
                part["ChecksumSHA256"] = _b64(digests[number - 1])
            parts.append(part)
        client.complete_multipart_upload(
            Bucket=target.bucket,
            Key=key,
            UploadId=upload_id,
            MultipartUpload={"Parts": parts},
            IfNoneMatch="*",
        )
    except BaseException:
        client.abort_multipart_upload(Bucket=target.bucket, Key=key, UploadId=upload_id)
        raise


def presigned_url(target: S3Target, key: str, seconds: int, client: Any | None = None) -> str:
    """A download link for a delivered object; S3 allows at most 7 days."""
    if not 1 <= seconds <= MAX_PRESIGN_SECONDS:
        raise ConfigurationError(
            f"presigned URL expiry {seconds} s: use 1 to {MAX_PRESIGN_SECONDS} (7 days, S3's limit)"
        )
    client = client or client_for(target)
    return client.generate_presigned_url(
        "get_object", Params={"Bucket": target.bucket, "Key": key}, ExpiresIn=seconds
    )


def check_connection(target: S3Target, client: Any | None = None) -> list[ProbeStep]:
    """The seeds' Test Connection: write, read back and remove a probe object, step by step."""
    client = client or client_for(target)
    key = target.key(f".keeptrusts-probe-{uuid.uuid4().hex}")
    body = f"keeptrusts-pipelines connection probe {datetime.now(UTC).isoformat()}".encode()
    steps: list[ProbeStep] = []
    actions = [
        ("write", lambda: client.put_object(Bucket=target.bucket, Key=key, Body=body)),
        ("read back", lambda: client.get_object(Bucket=target.bucket, Key=key)["Body"].read()),
        ("remove", lambda: client.delete_object(Bucket=target.bucket, Key=key)),
    ]
    for step, action in actions:
        try:
            answer = action()
        except (ClientError, BotoCoreError) as error:
            steps.append(ProbeStep(step, False, str(_explain(step, target, error))))
            break
        if step == "read back" and answer != body:
            steps.append(
                ProbeStep(step, False, "the object read back differs from the one written")
            )
            break
        steps.append(ProbeStep(step, True, target.uri(key)))
    return steps
