"""Export request files: the programmatic API, as a folder or an S3 prefix of JSON files.

A file holds one request: `{"request_id": "...", "type": "events", "format": "csv",
"from": "2026-05-01", "to": "2026-05-31", "filters": {"team": ["legal"]}, ...}` (or `"last":
"7d"` instead of from/to). Accepted files move to `accepted/`, rejected ones to `rejected/`
with `<name>.error.txt` beside them saying why; neither move overwrites a file already there
(the newcomer gets a suffix: `may.1.json`). Hidden files (`.name.json`, uploads in progress)
are left alone.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from botocore.exceptions import ClientError

from keeptrusts_pipelines.errors import ExportRequestError
from keeptrusts_pipelines.lake.files import atomic_path
from keeptrusts_pipelines.model.export_request import ExportRequest, request_from_fields

ACCEPTED, REJECTED = "accepted", "rejected"
# A request is a few hundred bytes; the bound keeps a huge file out of memory, out of the
# sensor's tick and out of Dagster's run storage.
MAX_REQUEST_BYTES = 1024 * 1024
MAX_NAME_BYTES = 200
MAX_REQUEST_ID = 200
# Letters and digits (any script), spaces and `_ - . ( ) + , = @`; first a letter or digit.
_PLAIN_NAME = re.compile(r"\w[\w .()+,=@-]*\.json")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Tags of the run a request file became: which file it was, and its content's sha256.
REQUEST_FILE_TAG = "keeptrusts/request_file"
REQUEST_FILE_SHA256_TAG = "keeptrusts/request_file_sha256"


class RequestInbox(Protocol):
    def pending(self) -> list[str]: ...

    def size(self, name: str) -> int: ...

    def read(self, name: str) -> bytes: ...

    def accept(self, name: str) -> str: ...

    def reject(self, name: str, error: str) -> str: ...

    def describe(self) -> str: ...


def is_plain_name(name: str) -> bool:
    """Whether a file name can be used as it is: see _PLAIN_NAME, no `..`, at most 200 bytes."""
    return (
        _PLAIN_NAME.fullmatch(name) is not None
        and ".." not in name
        and len(name.encode("utf-8")) <= MAX_NAME_BYTES
    )


def stored_name(name: str) -> str:
    """The name a file keeps in accepted/ or rejected/: its own if plain, else one derived."""
    if is_plain_name(name):
        return name
    return f"renamed-{hashlib.sha256(name.encode('utf-8', 'surrogatepass')).hexdigest()[:16]}.json"


def _free_names(name: str) -> Iterator[str]:
    """`may.json`, then `may.1.json`, `may.2.json`, …"""
    yield name
    stem = name.removesuffix(".json")
    number = 1
    while True:
        yield f"{stem}.{number}.json"
        number += 1


@dataclass(frozen=True)
class RequestFile:
    """A request file, read and validated."""

    name: str
    request_id: str
    request: ExportRequest
    sha256: str


def _too_large(size: int) -> ExportRequestError:
    return ExportRequestError(
        "file", f"is {size:,} bytes; a request file holds at most 1 MiB ({MAX_REQUEST_BYTES:,})"
    )


def read_request(inbox: RequestInbox, name: str, now: datetime) -> RequestFile:
    """A pending file's request; ExportRequestError says what is wrong: the name, the size
    (checked before reading), the JSON or a field."""
    if not is_plain_name(name):
        shown = ascii(name) if len(name) <= 60 else f"{name[:57]!a}…"
        raise ExportRequestError(
            "file",
            f"the name {shown} is not a plain request file name (letters, digits, spaces and "
            f"_ - . ( ) + , = @, no '..', at most {MAX_NAME_BYTES} bytes, ending .json); "
            f"rejected as {stored_name(name)}",
        )
    size = inbox.size(name)
    if size > MAX_REQUEST_BYTES:
        raise _too_large(size)
    content = inbox.read(name)
    if len(content) > MAX_REQUEST_BYTES:  # it grew since its size was read
        raise _too_large(len(content))
    request_id, request = parse_request(name, content, now)
    return RequestFile(name, request_id, request, hashlib.sha256(content).hexdigest())


def parse_request(name: str, content: bytes, now: datetime) -> tuple[str, ExportRequest]:
    """(request id, validated request) of a request file; the id defaults to the file's stem."""
    try:
        document = json.loads(content)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ExportRequestError("file", f"not JSON ({error}); write one JSON object") from None
    except RecursionError:
        raise ExportRequestError(
            "file", "nested too deeply to be a request; write one flat JSON object"
        ) from None
    if not isinstance(document, dict):
        raise ExportRequestError("file", "must hold one JSON object, not a list or a value")
    request_id = document.pop("request_id", None)
    if request_id is None or request_id == "":
        request_id = PurePosixPath(name).stem
    if (
        not isinstance(request_id, str)
        or len(request_id) > MAX_REQUEST_ID
        or _CONTROL.search(request_id)
    ):
        raise ExportRequestError(
            "request_id",
            f"must be a string of at most {MAX_REQUEST_ID} characters without control "
            'characters, such as "q2-audit"',
        )
    return request_id, request_from_fields(document, now)


@dataclass(frozen=True)
class LocalInbox:
    root: Path

    def pending(self) -> list[str]:
        """Regular files named *.json, hidden ones and symbolic links left alone."""
        self.root.mkdir(parents=True, exist_ok=True)
        return sorted(
            path.name
            for path in self.root.glob("*.json")
            if not path.name.startswith(".") and path.is_file() and not path.is_symlink()
        )

    def size(self, name: str) -> int:
        return (self.root / name).stat().st_size

    def read(self, name: str) -> bytes:
        with (self.root / name).open("rb") as handle:
            return handle.read(MAX_REQUEST_BYTES + 1)

    def _move(self, name: str, folder: str) -> Path:
        target_folder = self.root / folder
        target_folder.mkdir(exist_ok=True)
        # One sensor tick at a time moves files, so a name free now is free when moved to.
        target = next(
            target_folder / free
            for free in _free_names(stored_name(name))
            if not (target_folder / free).exists()
        )
        os.replace(self.root / name, target)
        return target

    def accept(self, name: str) -> str:
        return self._move(name, ACCEPTED).name

    def reject(self, name: str, error: str) -> str:
        moved = self._move(name, REJECTED)
        with atomic_path(moved.with_name(moved.name + ".error.txt")) as note:
            note.write_text(error + "\n", encoding="utf-8")
        return moved.name

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
        return sorted(name for name in names if name.endswith(".json") and not name.startswith("."))

    def size(self, name: str) -> int:
        return self.client.head_object(Bucket=self.bucket, Key=self._key(name))["ContentLength"]

    def read(self, name: str) -> bytes:
        body = self.client.get_object(Bucket=self.bucket, Key=self._key(name))["Body"]
        try:
            return body.read(MAX_REQUEST_BYTES + 1)
        finally:
            body.close()

    def _exists(self, name: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(name))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def _move(self, name: str, folder: str) -> str:
        # One sensor tick at a time moves files, so a name free now is free when copied to.
        target = next(
            free for free in _free_names(stored_name(name)) if not self._exists(f"{folder}/{free}")
        )
        source = {"Bucket": self.bucket, "Key": self._key(name)}
        self.client.copy_object(
            Bucket=self.bucket, Key=self._key(f"{folder}/{target}"), CopySource=source
        )
        self.client.delete_object(**source)
        return target

    def accept(self, name: str) -> str:
        return self._move(name, ACCEPTED)

    def reject(self, name: str, error: str) -> str:
        moved = self._move(name, REJECTED)
        self.client.put_object(
            Bucket=self.bucket,
            Key=self._key(f"{REJECTED}/{moved}.error.txt"),
            Body=(error + "\n").encode(),
            ContentType="text/plain; charset=utf-8",
        )
        return moved

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix.strip('/')}"
