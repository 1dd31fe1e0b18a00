"""Landing folders of gateway files (`file://` or `s3://`): JSONL, JSONL.gz and Parquet.

Layout: `<root>/<table>/date=YYYY-MM-DD/<any name>.jsonl|.jsonl.gz|.parquet`; each day's
folder holds that UTC day's records.
"""

from __future__ import annotations

import gzip
import io
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Protocol

import pyarrow.parquet as pq

from keeptrusts_pipelines.model.schema import TABLES
from keeptrusts_pipelines.sources.batch import Reject, SourceBatch
from keeptrusts_pipelines.sources.records import raw_table

LANDING_SUFFIXES = (".jsonl", ".jsonl.gz", ".parquet")


class LandingStore(Protocol):
    """Where landing files are: list a folder's file names, read one file's bytes."""

    def list(self, folder: str) -> list[str]: ...

    def read(self, name: str) -> bytes: ...

    def describe(self) -> str: ...


def day_folder(table: str, day: date) -> str:
    return f"{table}/date={day.isoformat()}"


def parse_landing_file(
    name: str, content: bytes
) -> tuple[list[tuple[dict[str, Any], str]], list[Reject]]:
    """Records of a landing file with their origin (`file:line`), and lines that are not records."""
    if name.endswith(".parquet"):
        table = pq.read_table(io.BytesIO(content))
        return [(row, f"{name}:{index + 1}") for index, row in enumerate(table.to_pylist())], []
    if name.endswith(".gz"):
        content = gzip.decompress(content)
    records: list[tuple[dict[str, Any], str]] = []
    rejects: list[Reject] = []
    for number, line in enumerate(content.decode("utf-8", errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        origin = f"{name}:{number}"
        try:
            value = json.loads(line)
        except json.JSONDecodeError as error:
            rejects.append(
                Reject(f"invalid JSON: {error.msg} at column {error.colno}", line, origin)
            )
            continue
        if not isinstance(value, dict):
            rejects.append(Reject("not a JSON object: each line must be one record", line, origin))
            continue
        records.append((value, origin))
    return records, rejects


@dataclass(frozen=True)
class LandingSource:
    """Reads a day of a table from every landing file in its folder, in name order."""

    store: LandingStore

    def read(self, table: str, day: date) -> SourceBatch:
        records: list[tuple[dict[str, Any], str]] = []
        rejects: list[Reject] = []
        for name in sorted(self.store.list(day_folder(table, day))):
            if name.endswith(LANDING_SUFFIXES):
                found, bad = parse_landing_file(name, self.store.read(name))
                records += found
                rejects += bad
        return SourceBatch(raw=raw_table(TABLES[table], records), rejects=rejects)

    def describe(self) -> str:
        return self.store.describe()


@dataclass(frozen=True)
class LocalLandingStore:
    root: Path

    def list(self, folder: str) -> list[str]:
        directory = self.root / folder
        if not directory.is_dir():
            return []
        return [f"{folder}/{path.name}" for path in directory.iterdir() if path.is_file()]

    def read(self, name: str) -> bytes:
        return (self.root / name).read_bytes()

    def describe(self) -> str:
        return self.root.as_uri()


@dataclass(frozen=True)
class S3LandingStore:
    """A landing prefix in any S3-compatible store; the client carries endpoint and credentials."""

    client: Any
    bucket: str
    prefix: str = ""

    def _key(self, name: str) -> str:
        return f"{self.prefix.strip('/')}/{name}" if self.prefix.strip("/") else name

    def list(self, folder: str) -> list[str]:
        base = self._key(folder) + "/"
        names: list[str] = []
        for page in self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=base
        ):
            names += [f"{folder}/{item['Key'][len(base) :]}" for item in page.get("Contents", [])]
        return names

    def read(self, name: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=self._key(name))["Body"].read()

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix.strip('/')}"
