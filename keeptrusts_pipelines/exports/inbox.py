"""Export request files: the programmatic API, as a folder or an S3 prefix of JSON files.

A file holds one request: `{"request_id": "...", "type": "events", "format": "csv",
"from": "2026-05-01", "to": "2026-05-31", "filters": {"team": ["legal"]}, ...}` (or `"last":
"7d"` instead of from/to). Accepted files move to `accepted/`, rejected ones to `rejected/`
with `<name>.error.txt` beside them saying why.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from keeptrusts_pipelines.errors import ExportRequestError
from keeptrusts_pipelines.lake.files import atomic_path
from keeptrusts_pipelines.model.export_request import ExportRequest, request_from_fields

ACCEPTED, REJECTED = "accepted", "rejected"


class RequestInbox(Protocol):
    def pending(self) -> list[str]: ...

    def read(self, name: str) -> bytes: ...

    def accept(self, name: str) -> None: ...

    def reject(self, name: str, error: str) -> None: ...

    def describe(self) -> str: ...


def parse_request(name: str, content: bytes, now: datetime) -> tuple[str, ExportRequest]:
    """(request id, validated request) of a request file; the id defaults to the file's stem."""
    try:
        document = json.loads(content)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ExportRequestError("file", f"not JSON ({error}); write one JSON object") from None
    if not isinstance(document, dict):
        raise ExportRequestError("file", "must hold one JSON object, not a list or a value")
    request_id = str(document.pop("request_id", None) or PurePosixPath(name).stem)
    return request_id, request_from_fields(document, now)


@dataclass(frozen=True)
class LocalInbox:
    root: Path

    def pending(self) -> list[str]:
        self.root.mkdir(parents=True, exist_ok=True)
        return sorted(path.name for path in self.root.glob("*.json") if path.is_file())

    def read(self, name: str) -> bytes:
        return (self.root / name).read_bytes()

    def _move(self, name: str, folder: str) -> Path:
        target = self.root / folder / name
        target.parent.mkdir(exist_ok=True)
        os.replace(self.root / name, target)
        return target

    def accept(self, name: str) -> None:
        self._move(name, ACCEPTED)

    def reject(self, name: str, error: str) -> None:
        moved = self._move(name, REJECTED)
        with atomic_path(moved.with_name(moved.name + ".error.txt")) as note:
            note.write_text(error + "\n", encoding="utf-8")

    def describe(self) -> str:
        return self.root.as_uri()


@dataclass(frozen=True)
class S3Inbox:
    """Request files directly under a prefix; `accepted/` and `rejected/` beneath it."""

    client: Any
    bucket: str
    prefix: str = ""

    def _key(self, name: str) -> str:
        base = self.prefix.strip("/")
        return f"{base}/{name}" if base else name

    def pending(self) -> list[str]:
        base = self._key("")
        names: list[str] = []
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=base, Delimiter="/"
        )
        for page in pages:
            names += [item["Key"][len(base) :] for item in page.get("Contents", [])]
        return sorted(name for name in names if name.endswith(".json"))

    def read(self, name: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=self._key(name))["Body"].read()

    def _move(self, name: str, folder: str) -> None:
        source = {"Bucket": self.bucket, "Key": self._key(name)}
        self.client.copy_object(
            Bucket=self.bucket, Key=self._key(f"{folder}/{name}"), CopySource=source
        )
        self.client.delete_object(**source)

    def accept(self, name: str) -> None:
        self._move(name, ACCEPTED)

    def reject(self, name: str, error: str) -> None:
        self._move(name, REJECTED)
        self.client.put_object(
            Bucket=self.bucket,
            Key=self._key(f"{REJECTED}/{name}.error.txt"),
            Body=(error + "\n").encode(),
            ContentType="text/plain; charset=utf-8",
        )

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix.strip('/')}"
