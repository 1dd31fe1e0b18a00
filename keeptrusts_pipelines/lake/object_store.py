"""The lake under an S3 prefix (AWS, MinIO, R2): the same hive layout as a local lake.

A partition is written as one conditional, checksummed PUT of a file made locally by the same
writer, so its bytes (and data version) are those a local lake would hold, and no reader ever
sees part of one. Readers stream objects: Polars through its native object store, pyarrow
through `pyarrow.fs.S3FileSystem`. DuckDB's httpfs extension cannot be fetched here; pyarrow's
filesystem registered with DuckDB through fsspec (`attach`) serves counts, but full scans
through it failed now and then on moto (3 of 30 scans of a 60k-row partition: "invalid
TType"), so reports read local copies (`local_files`). Connection details come from
the standard AWS environment; credentials are never held here, only resolved by each client's
own chain.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import duckdb
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from botocore.exceptions import ClientError
from fsspec.implementations.arrow import ArrowFSWrapper

from keeptrusts_pipelines.errors import KeeptrustsError
from keeptrusts_pipelines.lake.files import HASH_CHUNK, sha256_of
from keeptrusts_pipelines.lake.layout import (
    PARTITION_FILE,
    QUARANTINE_FILE,
    Location,
    PartitionChanged,
    WrittenFile,
)

DEFAULT_REGION = "us-east-1"
# Partitions copied at once: object stores answer many requests in parallel, each slowly.
COPY_WORKERS = 8
PARTITION_KEY = re.compile(r"date=(\d{4}-\d{2}-\d{2})/" + re.escape(PARTITION_FILE))
# Refusals of a conditional write: the object changed since it was looked at.
PRECONDITION_CODES = ("PreconditionFailed", "ConditionalRequestConflict", "412")
MISSING_CODES = ("404", "NoSuchKey", "NotFound")


class ConcurrentLakeWrite(KeeptrustsError):
    """Another writer replaced a partition while this one was writing it."""


@dataclass(frozen=True)
class S3Lake:
    """A lake at `s3://<bucket>/<prefix>`. Endpoint (AWS_ENDPOINT_URL for MinIO or R2), region
    and credentials come from the AWS SDK's own configuration chain: environment, config
    files, roles."""

    bucket: str
    prefix: str

    # --- where things are -------------------------------------------------------------------

    def key(self, *parts: str) -> str:
        return "/".join([self.prefix, *parts] if self.prefix else parts)

    def partition_key(self, table: str, day: date) -> str:
        return self.key(table, f"date={day.isoformat()}", PARTITION_FILE)

    def quarantine_key(self, table: str, day: date) -> str:
        return self.key("quarantine", table, f"date={day.isoformat()}", QUARANTINE_FILE)

    def url(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def describe(self) -> str:
        return self.url(self.prefix).rstrip("/")

    def _key_of(self, location: Location) -> str:
        return str(location).removeprefix(f"s3://{self.bucket}/")

    # --- clients ----------------------------------------------------------------------------

    @cached_property
    def client(self) -> Any:
        return boto3.client("s3")

    @cached_property
    def endpoint_url(self) -> str | None:
        """The S3-compatible endpoint the SDK resolved; None for AWS itself."""
        endpoint = self.client.meta.endpoint_url
        host = urlsplit(endpoint).hostname or ""
        return None if host.endswith(".amazonaws.com") else endpoint

    @property
    def region(self) -> str:
        return self.client.meta.region_name or DEFAULT_REGION

    @cached_property
    def filesystem(self) -> pafs.S3FileSystem:
        return pafs.S3FileSystem(region=self.region, endpoint_override=self.endpoint_url)

    @property
    def storage_options(self) -> dict[str, str]:
        options = {"aws_region": self.region}
        if self.endpoint_url:
            options["aws_endpoint_url"] = self.endpoint_url
            if self.endpoint_url.startswith("http://"):
                options["aws_allow_http"] = "true"
        return options

    def attach(self, connection: duckdb.DuckDBPyConnection) -> None:
        # fsspec names the wrapper's protocol after the filesystem ("s3"): DuckDB then opens
        # s3:// paths through it, ahead of its own (absent) httpfs extension.
        connection.register_filesystem(ArrowFSWrapper(self.filesystem))

    def arrow_source(self, location: Location) -> tuple[str, pafs.S3FileSystem]:
        return f"{self.bucket}/{self._key_of(location)}", self.filesystem

    # --- reading ----------------------------------------------------------------------------

    def _head(self, key: str) -> dict[str, Any] | None:
        try:
            return self.client.head_object(Bucket=self.bucket, Key=key, ChecksumMode="ENABLED")
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in MISSING_CODES:
                return None
            raise

    def keys(self, prefix: str) -> list[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix
        )
        keys = []
        for page in pages:
            for item in page.get("Contents", []):
                keys.append(item["Key"])
                self._listed_sizes[item["Key"]] = int(item["Size"])
        return keys

    @cached_property
    def _listed_sizes(self) -> dict[str, int]:
        # Sizes the last listing gave: `kt lake status` sums a table's days without a request
        # per day. A write or delete through this handle forgets its key.
        return {}

    def reachable(self) -> bool:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError:
            return False
        return True

    def days(self, table: str) -> list[date]:
        folder = self.key(table, "")
        found = []
        for key in self.keys(folder + "date="):
            matched = PARTITION_KEY.fullmatch(key.removeprefix(folder))
            if matched:
                found.append(date.fromisoformat(matched.group(1)))
        return sorted(found)

    def has_partition(self, table: str, day: date) -> bool:
        return self._head(self.partition_key(table, day)) is not None

    def missing_days(self, table: str, days: list[date]) -> list[date]:
        present = set(self.days(table))  # one listing instead of a request per day
        return [day for day in days if day not in present]

    def partition(self, table: str, day: date) -> str:
        return self.url(self.partition_key(table, day))

    def partition_bytes(self, table: str, day: date) -> int:
        listed = self._listed_sizes.get(self.partition_key(table, day))
        if listed is not None:
            return listed
        head = self._head(self.partition_key(table, day))
        if head is None:
            raise FileNotFoundError(self.partition(table, day))
        return int(head["ContentLength"])

    def partition_sha256(self, table: str, day: date, reread: bool = False) -> str:
        key = self.partition_key(table, day)
        if not reread:
            stored = self._stored_sha256(key)
            if stored:
                return stored
        return self._hash_of_object(key)

    def rows(self, table: str, days: list[date]) -> int:
        def footer_rows(day: date) -> int:
            path, filesystem = self.arrow_source(self.partition(table, day))
            return pq.read_metadata(path, filesystem=filesystem).num_rows

        with ThreadPoolExecutor(max_workers=COPY_WORKERS) as pool:
            return sum(pool.map(footer_rows, days))

    def data_versions(self, table: str, days: list[date]) -> list[str]:
        with ThreadPoolExecutor(max_workers=COPY_WORKERS) as pool:
            return list(pool.map(lambda day: self.partition_sha256(table, day), days))

    def _stored_sha256(self, key: str) -> str | None:
        """The whole-object SHA-256 the store verified when the object was uploaded, if it
        has one (a multipart upload keeps a checksum of checksums instead)."""
        head = self._head(key)
        if head is None:
            raise FileNotFoundError(self.url(key))
        return _verified_sha256(head)

    def _hash_of_object(self, key: str) -> str:
        digest = hashlib.sha256()
        body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
        for chunk in body.iter_chunks(HASH_CHUNK):
            digest.update(chunk)
        return digest.hexdigest()

    def read_bytes(self, location: Location) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=self._key_of(location))["Body"].read()

    @cached_property
    def _copies(self) -> tempfile.TemporaryDirectory:
        # Removed with this object (or at exit): copies live as long as the lake handle.
        return tempfile.TemporaryDirectory(prefix="kt-lake-copies-")

    def local_files(self, locations: list[Location]) -> list[Path]:
        # A report runs some twenty DuckDB queries over the same partitions: each is fetched
        # once. A copy is named by the object's ETag and fetched only if the object still has
        # it, so it is never stale.
        with ThreadPoolExecutor(max_workers=COPY_WORKERS) as pool:
            return list(pool.map(self._local_copy, locations))

    def _local_copy(self, location: Location) -> Path:
        key = self._key_of(location)
        head = self._head(key)
        if head is None:
            raise FileNotFoundError(self.url(key))
        etag = head["ETag"].strip('"')
        copy = Path(self._copies.name) / etag / key
        if not copy.exists():
            copy.parent.mkdir(parents=True, exist_ok=True)
            partial = copy.with_name(f".{copy.name}.{os.getpid()}.{threading.get_ident()}")
            body = self.client.get_object(Bucket=self.bucket, Key=key, IfMatch=head["ETag"])
            with partial.open("wb") as handle:
                for chunk in body["Body"].iter_chunks(HASH_CHUNK):
                    handle.write(chunk)
            os.replace(partial, copy)
        return copy

    def quarantined_records(self, table: str) -> int:
        keys = self.keys(self.key("quarantine", table, "date="))
        return sum(
            len(self.read_bytes(self.url(key)).splitlines())
            for key in keys
            if key.endswith(".jsonl")
        )

    # --- writing ----------------------------------------------------------------------------

    def write_partition(self, table: str, day: date, write: Callable[[Path], None]) -> WrittenFile:
        return self._write(self.partition_key(table, day), write)

    def write_quarantine(
        self, table: str, day: date, write: Callable[[Path], None] | None
    ) -> str | None:
        key = self.quarantine_key(table, day)
        if write is None:
            self.client.delete_object(Bucket=self.bucket, Key=key)
            return None
        return str(self._write(key, write).location)

    def delete_partition(self, table: str, day: date, version: str | None = None) -> str | None:
        key = self.partition_key(table, day)
        self._listed_sizes.pop(key, None)
        head = self._head(key)
        if head is None:
            return None
        if version is None:
            self.client.delete_object(Bucket=self.bucket, Key=key)
            return self.url(key)
        if (_verified_sha256(head) or self._hash_of_object(key)) != version:
            raise PartitionChanged(f"{self.url(key)} is no longer version {version[:12]}")
        try:  # only the object whose version was checked, not one written since
            self.client.delete_object(Bucket=self.bucket, Key=key, IfMatch=head["ETag"])
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") not in PRECONDITION_CODES:
                raise
            raise PartitionChanged(f"{self.url(key)} was written again meanwhile") from None
        return self.url(key)

    def _write(self, key: str, write: Callable[[Path], None]) -> WrittenFile:
        """`write` makes the file locally; one PUT publishes it, checked by S3 against its
        SHA-256 and conditional on the object being the one seen (or none)."""
        self._listed_sizes.pop(key, None)
        # The object as it was when this write began: replaced only if still that one.
        current = self._head(key)
        with tempfile.TemporaryDirectory(prefix="kt-lake-") as scratch:
            path = Path(scratch) / key.rpartition("/")[2]
            write(path)
            digest = sha256_of(path)
            size = path.stat().st_size
            condition = {"IfMatch": current["ETag"]} if current else {"IfNoneMatch": "*"}
            with path.open("rb") as body:
                try:
                    self.client.put_object(
                        Bucket=self.bucket,
                        Key=key,
                        Body=body,
                        ChecksumAlgorithm="SHA256",
                        ChecksumSHA256=base64.b64encode(bytes.fromhex(digest)).decode(),
                        **condition,
                    )
                except ClientError as error:
                    code = error.response.get("Error", {}).get("Code")
                    if code not in PRECONDITION_CODES:
                        raise
                    # A concurrent writer won; the same bytes are as good as ours.
                    if self._stored_sha256(key) != digest:
                        raise ConcurrentLakeWrite(
                            f"{self.url(key)} was replaced by another writer while this one "
                            "wrote it: materialize the day again"
                        ) from None
        return WrittenFile(self.url(key), size, digest)


def _verified_sha256(head: dict[str, Any]) -> str | None:
    """The whole-object SHA-256 in a HEAD answer, if the store verified one on upload."""
    checksum = head.get("ChecksumSHA256")
    if not checksum or "-" in checksum or head.get("ChecksumType", "FULL_OBJECT") != "FULL_OBJECT":
        return None
    return base64.b64decode(checksum).hex()
