"""One export's folder under the exports root: its records, its artifact, its staging area.

Records (`export.json`, `failure.json`, `request.json`) sit at the folder's top; the artifact
and its provenance statement live in `artifact/`, so no export name can ever replace a record.
A folder name is one safe path component, every path is resolved inside the root, and record
files are read with a bound. While an export is written, its worker holds a lock on `.lock`:
the operating system drops it when the worker dies, which is how an abandoned export is told
from a running one.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePath

from keeptrusts_pipelines.errors import ExportRequestError, KeeptrustsError
from keeptrusts_pipelines.lake.files import atomic_path

RECORD_FILE = "export.json"
FAILURE_FILE = "failure.json"
REQUEST_FILE = "request.json"
ARTIFACT_DIR = "artifact"
STAGING_DIR = ".staging"
LOCK_FILE = ".lock"
MAX_RECORD_BYTES = 4 << 20
# Ids kt hands out and accepts: `exp_` and lower-case letters and digits.
EXPORT_ID = re.compile(r"exp_[a-z0-9]{1,40}")
# Any folder the engine writes into (export ids, period evidence ids such as quarterly-2026-07-01).
FOLDER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}")


ENDED = "ended"
# A look at the lock (`worker()`) holds it shared for an instant; a worker finding it taken
# tries again for this long before it concludes another worker is writing the export.
LOOK_SECONDS = 10.0
# Folders whose lock this process holds, so the engine can run inside a run that holds it.
_HELD: set[str] = set()


def _note(handle, text: str) -> None:
    handle.seek(0)
    handle.truncate()
    handle.write(text)
    handle.flush()


def _lock_unless_written(handle, name: str) -> None:
    """Take the lock, waiting out a look at it, but not a worker writing the export."""
    deadline = time.monotonic() + LOOK_SECONDS
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise KeeptrustsError(
                    f"{name} is being written by another worker; wait for it to end"
                ) from None
            time.sleep(0.01)


class BrokenRecord(KeeptrustsError):
    """A record file that exists but cannot be read as one."""


def check_export_id(text: str, field: str = "id") -> str:
    """`text` when it is an export id; else an error naming the field and the expected shape."""
    if not isinstance(text, str) or not EXPORT_ID.fullmatch(text):
        shown = repr(text)[:60]
        raise ExportRequestError(
            field, f"{shown} is not an export id; ids look like exp_1a2b3c4d5e6f (kt export list)"
        )
    return text


def read_json_file(path: Path, limit: int = MAX_RECORD_BYTES) -> dict | None:
    """A JSON object from a regular file of at most `limit` bytes; None when there is none."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
        raise BrokenRecord(f"{path.name}: not a regular file of at most {limit:,} bytes")
    try:
        with path.open("rb") as handle:
            document = json.loads(handle.read(limit + 1))
    except (OSError, ValueError, RecursionError) as error:
        raise BrokenRecord(
            f"{path.name}: cannot be read as JSON ({type(error).__name__})"
        ) from None
    if not isinstance(document, dict):
        raise BrokenRecord(f"{path.name}: holds {type(document).__name__}, not a JSON object")
    return document


@dataclass(frozen=True)
class ExportFolder:
    root: Path
    name: str

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not FOLDER_NAME.fullmatch(self.name):
            raise ExportRequestError("id", f"{self.name!r} is not a valid export folder name")

    @property
    def path(self) -> Path:
        return self.root / self.name

    @property
    def record_path(self) -> Path:
        return self.path / RECORD_FILE

    @property
    def failure_path(self) -> Path:
        return self.path / FAILURE_FILE

    @property
    def request_path(self) -> Path:
        return self.path / REQUEST_FILE

    @property
    def artifacts(self) -> Path:
        return self.path / ARTIFACT_DIR

    @property
    def staging(self) -> Path:
        return self.path / STAGING_DIR

    def read_record(self) -> dict | None:
        return read_json_file(self.record_path)

    def read_failure(self) -> dict | None:
        return read_json_file(self.failure_path)

    def read_json(self, path: Path) -> dict | None:
        return read_json_file(path)

    def write_json(self, path: Path, document: dict) -> None:
        with atomic_path(path) as temporary:
            temporary.write_text(
                json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
            )

    def store_request(self, fields: dict) -> str:
        """Keep a request's plain fields as `request.json`; the sha256 that names that copy."""
        body = json.dumps(fields, sort_keys=True, ensure_ascii=False).encode()
        with atomic_path(self.request_path) as temporary:
            temporary.write_bytes(body)
        return hashlib.sha256(body).hexdigest()

    def stored_request(self, sha256: str) -> dict:
        """The request kept by `store_request`, refused unless its bytes still have `sha256`."""
        document = read_json_file(self.request_path)
        if document is None:
            raise BrokenRecord(f"{self.name}: its {REQUEST_FILE} is missing")
        body = json.dumps(document, sort_keys=True, ensure_ascii=False).encode()
        if hashlib.sha256(body).hexdigest() != sha256:
            raise BrokenRecord(f"{self.name}: its {REQUEST_FILE} changed since it was submitted")
        return document

    def artifact_file(self, named: str | None) -> Path | None:
        """The artifact a record names, looked for only inside this folder's `artifact/`."""
        if not isinstance(named, str) or not named:
            return None
        candidate = self.artifacts / PurePath(named).name
        if candidate.is_symlink() or not candidate.resolve().is_relative_to(
            self.artifacts.resolve()
        ):
            return None
        return candidate if candidate.is_file() else None

    @contextmanager
    def working(self, owner: str) -> Iterator[None]:
        """Hold the folder's lock while an export is written, in the name of `owner` (a run id).

        Re-entrant within a process: a run that holds it may call the engine, which takes it
        too. On the way out, normal or not, the lock file says the work ended; only a worker
        killed while holding it leaves its bare name behind.
        """
        key = str(self.path)
        if key in _HELD:
            yield
            return
        self.path.mkdir(parents=True, exist_ok=True)
        with (self.path / LOCK_FILE).open("a+") as handle:
            _lock_unless_written(handle, self.name)
            _note(handle, owner)
            _HELD.add(key)
            try:
                yield
            finally:
                _HELD.discard(key)
                _note(handle, f"{owner} {ENDED}")
                fcntl.flock(handle, fcntl.LOCK_UN)

    def worker(self) -> tuple[str, bool] | None:
        """(what the lock file says, whether a live worker holds it); None if never locked."""
        path = self.path / LOCK_FILE
        try:
            handle = path.open("r")
        except FileNotFoundError:
            return None
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return handle.read(200), True
            # Read under the lock: read before it, a worker that ended in between would
            # leave its bare name (as a killed one does) in what this returns.
            try:
                return handle.read(200), False
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def abandoned_by(self, owner: str) -> bool:
        """True when `owner` took the lock and died holding it (killed, not ended)."""
        return self.worker() == (owner, False)

    def claim_once(self, what: str) -> bool:
        """True the first time `what` is claimed for this export (an exclusive marker file)."""
        self.path.mkdir(parents=True, exist_ok=True)
        try:
            os.close(os.open(self.path / f".{what}", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
        except FileExistsError:
            return False
        return True

    def discard_if_empty(self) -> None:
        """Remove a folder that holds nothing but its lock (an export that never completed)."""
        leftovers = {p.name for p in self.path.iterdir()} - {LOCK_FILE, ARTIFACT_DIR}
        if leftovers or any(self.artifacts.glob("*")):
            return
        shutil.rmtree(self.path, ignore_errors=True)

    def sweep_staging(self) -> bool:
        """Remove a staging area no live worker holds; True when one was removed."""
        if not self.staging.exists():
            return False
        try:
            handle = (self.path / LOCK_FILE).open("r")
        except FileNotFoundError:
            shutil.rmtree(self.staging, ignore_errors=True)  # never worked on
            return True
        with handle:
            # Held while removing: a worker starting meanwhile waits, then makes a new one.
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            shutil.rmtree(self.staging, ignore_errors=True)
            return True


def folders(root: Path) -> Iterator[ExportFolder]:
    """Every well-named export folder under `root`."""
    if not root.is_dir():
        return
    for path in sorted(root.iterdir()):
        if path.is_dir() and not path.is_symlink() and FOLDER_NAME.fullmatch(path.name):
            yield ExportFolder(root, path.name)
