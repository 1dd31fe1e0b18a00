"""Verify evidence: a bundle (or one artifact with its record), its provenance, and the lake.

A bundle is read twice and written once. First every member's header is checked and nothing
is written: a relative path inside one top folder (the bag), each name once, plain files and
folders only, at most 10,000 members and `KEEPTRUSTS_VERIFY_MAX_BYTES` unpacked in all, no
payload file larger than manifest.json declares. Then the members are copied into a scratch
folder, counted and hashed as they are copied. Then BagIt fixity (every checksum recomputed),
every manifest.json entry (bytes, sha256, records; paths only under `data/`), the provenance
statement beside the archive (subject digest, signature), and, when the lake is at hand, each
partition's data version. Every difference is reported: file, expected, found.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import os
import re
import stat
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path, PurePosixPath

import bagit
from securesystemslib.signer import SSlibKey

from keeptrusts_pipelines.evidence.bundle import MANIFEST
from keeptrusts_pipelines.evidence.provenance import SUFFIX, read_bounded, read_provenance
from keeptrusts_pipelines.exports.engine import METADATA_FILE
from keeptrusts_pipelines.exports.folder import ARTIFACT_DIR, BrokenRecord
from keeptrusts_pipelines.lake.files import sha256_of
from keeptrusts_pipelines.lake.layout import Lake
from keeptrusts_pipelines.model.records import ExportRecord
from keeptrusts_pipelines.model.schema import TABLES

MAX_BYTES_VARIABLE = "KEEPTRUSTS_VERIFY_MAX_BYTES"
DEFAULT_MAX_BYTES = 20 << 30
MAX_MEMBERS = 10_000
# The bag's root holds what evidence.bag writes, and manifest.json: nothing else.
BAG_ROOT_FILES = frozenset(
    {"bagit.txt", "bag-info.txt", "manifest-sha256.txt", "tagmanifest-sha256.txt", MANIFEST}
)
PAYLOAD = "data"
# Tag files are KiB (manifest-sha256.txt: one line per payload file) and are read whole.
TAG_FILE_MAX_BYTES = 16 << 20
RECORD_MAX_BYTES = 1 << 20
COPY_CHUNK = 1 << 20
SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Finding:
    file: str
    problem: str
    expected: str = ""
    found: str = ""

    def __str__(self) -> str:
        detail = f" (expected {self.expected}, found {self.found})" if self.expected else ""
        return _printable(f"{self.file}: {self.problem}{detail}")


@dataclass
class Verification:
    path: str
    findings: list[Finding] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    export_id: str | None = None
    sha256: str | None = None  # of the file checked, when it could be read

    @property
    def ok(self) -> bool:
        return not self.findings


@dataclass(frozen=True)
class UnpackLimits:
    total_bytes: int = DEFAULT_MAX_BYTES
    members: int = MAX_MEMBERS


class UnsafeArchive(Exception):
    """An archive that is refused before (or while) it is unpacked; nothing of it is trusted."""


def _printable(text: str) -> str:
    """`text` safe for a terminal: control and format characters written as escapes."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


def _shown(value: object, limit: int = 120) -> str:
    """A value from the evidence, quoted and cut short, for a message."""
    return _cut(repr(value), limit)


def _cut(text: str, limit: int = 200) -> str:
    """A name from the evidence, cut short, for a message."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- the archive ------------------------------------------------------------------------


class _BoundedReads:
    """The decompressed stream for tarfile, refusing any single read above `limit`: tarfile
    reads a pax or GNU long-name header whole, whatever size that header claims."""

    def __init__(self, stream: gzip.GzipFile, limit: int) -> None:
        self._stream = stream
        self._limit = limit

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0 or size > self._limit:
            raise UnsafeArchive(f"a header of more than {self._limit:,} bytes")
        return self._stream.read(size)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self._stream.seek(offset, whence)

    def tell(self) -> int:
        return self._stream.tell()


@contextmanager
def _open_archive(path: Path) -> Iterator[tarfile.TarFile]:
    with (
        gzip.GzipFile(path, "rb") as stream,
        tarfile.open(
            fileobj=_BoundedReads(stream, TAG_FILE_MAX_BYTES + tarfile.RECORDSIZE), mode="r:"
        ) as archive,
    ):
        yield archive


@dataclass(frozen=True)
class _Member:
    name: str  # as the archive spells it
    path: PurePosixPath  # normalised: top folder first
    size: int
    is_dir: bool
    written: bool  # False: a finding, not unpacked

    @property
    def relative(self) -> str:
        """Its path inside the bag: `data/events.jsonl`, `manifest.json`; "" for the bag."""
        return PurePosixPath(*self.path.parts[1:]).as_posix() if len(self.path.parts) > 1 else ""


@dataclass
class _Survey:
    top: str = ""
    members: list[_Member] = field(default_factory=list)
    manifest: bytes | None = None
    findings: list[Finding] = field(default_factory=list)


def _member_path(info: tarfile.TarInfo) -> PurePosixPath:
    path = PurePosixPath(info.name)
    if path.is_absolute() or ".." in path.parts:
        raise UnsafeArchive(f"{_shown(info.name)}: a path outside the archive's folder")
    if not path.parts:
        raise UnsafeArchive(
            f"{_shown(info.name)}: a member naming the archive's own folder, not one inside it"
        )
    if info.type not in (tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.DIRTYPE) or info.sparse:
        raise UnsafeArchive(f"{_shown(info.name)}: a link or special file, not a plain file")
    return path


def _placement(relative: PurePosixPath, is_dir: bool) -> str | None:
    """Why a member does not belong in the bag, or None: the bag itself, its `data/` tree,
    and the BagIt tag files and manifest.json at its root."""
    parts = relative.parts
    if not parts or parts[0] == PAYLOAD:
        return None
    if len(parts) == 1 and is_dir:
        return "a folder at the bag's root other than data/"
    if len(parts) == 1:
        if parts[0] in BAG_ROOT_FILES:
            return None
        return "at the bag's root, but neither a BagIt tag file nor manifest.json"
    return "outside data/, and not a BagIt tag file"


def _survey(path: Path, limits: UnpackLimits) -> _Survey:
    """Every member's header checked, manifest.json read; nothing written."""
    survey = _Survey()
    seen: set[PurePosixPath] = set()
    total = 0
    with _open_archive(path) as archive:
        for info in archive:
            if len(survey.members) >= limits.members:
                raise UnsafeArchive(f"more than {limits.members:,} members")
            member_path = _member_path(info)
            if member_path in seen:
                raise UnsafeArchive(
                    f"{_shown(info.name)}: more than once in the archive "
                    "(a later copy would replace what an earlier one showed)"
                )
            seen.add(member_path)
            top = member_path.parts[0]
            if survey.top and top != survey.top:
                raise UnsafeArchive(
                    f"expected one top folder (the bag), found {_shown(survey.top)} "
                    f"and {_shown(top)}"
                )
            survey.top = top
            relative = PurePosixPath(*member_path.parts[1:])
            if not info.isdir():
                if not relative.parts:
                    raise UnsafeArchive(f"{_shown(info.name)}: a file outside the bag's folder")
                if info.size > limits.total_bytes - total:
                    raise UnsafeArchive(
                        f"{_shown(info.name)}: {info.size:,} bytes would take the unpacked "
                        f"total to {total + info.size:,}, over the {limits.total_bytes:,} "
                        f"bytes allowed in all ({MAX_BYTES_VARIABLE})"
                    )
                total += info.size
                if len(relative.parts) == 1 and info.size > TAG_FILE_MAX_BYTES:
                    raise UnsafeArchive(
                        f"{_shown(info.name)}: {info.size:,} bytes at the bag's root, more "
                        f"than a tag file holds ({TAG_FILE_MAX_BYTES:,})"
                    )
            problem = _placement(relative, info.isdir())
            if problem:
                survey.findings.append(Finding(_cut(relative.as_posix()), problem))
            elif relative.as_posix() == MANIFEST:
                survey.manifest = _read_member(archive, info)
            survey.members.append(
                _Member(info.name, member_path, info.size, info.isdir(), problem is None)
            )
    if not survey.members:
        raise UnsafeArchive("an empty archive")
    return survey


def _read_member(archive: tarfile.TarFile, info: tarfile.TarInfo) -> bytes:
    source = archive.extractfile(info)
    content = source.read(info.size) if source else b""
    if len(content) != info.size:
        raise UnsafeArchive(f"{_shown(info.name)}: ends before its {info.size:,} bytes")
    return content


def _declared_sizes(survey: _Survey, manifest: _Manifest) -> None:
    """Refuse, before anything is written, a payload file larger than manifest.json says."""
    for member in survey.members:
        declared = manifest.artifacts.get(member.relative)
        if not member.is_dir and declared is not None and member.size > declared.bytes:
            raise UnsafeArchive(
                f"{_cut(member.relative)}: {member.size:,} bytes in the "
                f"archive, more than the {declared.bytes:,} bytes manifest.json declares"
            )


class _RecordCounter:
    """Non-blank lines of a JSONL stream fed in chunks (a line may span two chunks)."""

    def __init__(self) -> None:
        self.complete = 0
        self.open_line = False  # the current line has a non-blank character

    def feed(self, chunk: bytes) -> None:
        pieces = chunk.split(b"\n")
        for piece in pieces[:-1]:
            if self.open_line or piece.strip():
                self.complete += 1
            self.open_line = False
        self.open_line = self.open_line or bool(pieces[-1].strip())

    @property
    def records(self) -> int:
        return self.complete + self.open_line


@dataclass(frozen=True)
class _Copied:
    bytes: int
    sha256: str
    records: int | None  # non-blank lines, for a .jsonl payload file


def _copy(path: Path, survey: _Survey, scratch: Path, limits: UnpackLimits) -> dict[str, _Copied]:
    """Unpack the surveyed members that belong in the bag into `scratch`, counting and
    hashing as they are copied; what each file turned out to hold, by path inside the bag."""
    copied: dict[str, _Copied] = {}
    written = 0
    expected = iter(survey.members)
    root = scratch.resolve()
    with _open_archive(path) as archive:
        for info in archive:
            member = next(expected, None)
            if member is None or (member.name, member.size, member.is_dir) != (
                info.name,
                info.size,
                info.isdir(),
            ):
                raise UnsafeArchive("the archive changed while it was read")
            if not member.written:
                continue
            target = scratch.joinpath(*member.path.parts)
            if not target.resolve().is_relative_to(root):
                raise UnsafeArchive(f"{_shown(member.name)}: a path outside the archive's folder")
            if member.is_dir:
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            source = archive.extractfile(info)
            if source is None:
                raise UnsafeArchive(f"{_shown(member.name)}: not a plain file")
            digest = hashlib.sha256()
            counter = _RecordCounter() if target.suffix == ".jsonl" else None
            size = 0
            # "xb": never through or over a file already there.
            with target.open("xb") as handle:
                while chunk := source.read(COPY_CHUNK):
                    size += len(chunk)
                    if size > member.size or written + size > limits.total_bytes:
                        raise UnsafeArchive(
                            f"{_shown(member.name)}: more bytes than its header or "
                            f"{MAX_BYTES_VARIABLE} allow"
                        )
                    handle.write(chunk)
                    digest.update(chunk)
                    if counter:
                        counter.feed(chunk)
            if size != member.size:
                raise UnsafeArchive(f"{_shown(member.name)}: ends before its {member.size:,} bytes")
            written += size
            copied[member.relative] = _Copied(
                size, digest.hexdigest(), counter.records if counter else None
            )
    if next(expected, None) is not None:
        raise UnsafeArchive("the archive changed while it was read")
    manifest = copied.get(MANIFEST)
    if survey.manifest is not None and (
        manifest is None or manifest.sha256 != hashlib.sha256(survey.manifest).hexdigest()
    ):
        raise UnsafeArchive("the archive changed while it was read")
    return copied


def _archive_problem(error: BaseException) -> str:
    if isinstance(error, UnsafeArchive):
        return f"refused: {error}"
    if isinstance(error, EOFError):
        return "refused: the compressed stream ends early (a truncated archive)"
    if isinstance(error, zlib.error):
        return f"refused: corrupt compressed data ({error})"
    if isinstance(error, gzip.BadGzipFile):
        return f"refused: not a gzip file ({error})"
    if isinstance(error, tarfile.TarError):
        return f"refused: not a readable tar archive ({error})"
    if isinstance(error, OSError):
        return f"could not be unpacked into a scratch folder ({error.strerror or error})"
    return f"refused: {error}"


@contextmanager
def _scratch_folder(scratch: Path | None) -> Iterator[Path]:
    if scratch is not None:
        yield scratch
        return
    with tempfile.TemporaryDirectory(prefix="kt-verify-") as folder:
        yield Path(folder)


# --- manifest.json ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Declared:
    bytes: int
    sha256: str
    records: int | None


@dataclass(frozen=True)
class _Partition:
    table: str
    day: date
    version: str


@dataclass
class _Manifest:
    artifacts: dict[str, _Declared | None] = field(default_factory=dict)  # None: bad fields
    partitions: list[_Partition] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    usable: bool = False


def _payload_path(value: object) -> str | None:
    """`value` when it is a canonical relative POSIX path under data/ (so it resolves inside
    the bag whatever the bag's folder), else None. Decided on the text alone: nothing opened."""
    if not isinstance(value, str) or "\\" in value or "\0" in value:
        return None
    path = PurePosixPath(value)
    if (
        path.is_absolute()
        or path.as_posix() != value
        or len(path.parts) < 2
        or path.parts[0] != PAYLOAD
        or ".." in path.parts
    ):
        return None
    return value


def _whole_number(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _artifact(index: int, entry: object, manifest: _Manifest) -> None:
    label = f"artifact {index + 1}"
    if not isinstance(entry, dict):
        manifest.findings.append(Finding(MANIFEST, f"{label}: not a JSON object"))
        return
    if "path" not in entry:
        manifest.findings.append(Finding(MANIFEST, f"{label}: no path"))
        return
    path = _payload_path(entry["path"])
    if path is None:
        manifest.findings.append(
            Finding(
                MANIFEST,
                f"{label} ({_shown(entry['path'])}): not a relative path under data/ "
                "inside the bag; not read",
            )
        )
        return
    if path in manifest.artifacts:
        manifest.findings.append(Finding(MANIFEST, f"{label} ({path}): listed twice"))
        return
    problems = []
    if not _whole_number(entry.get("bytes")):
        problems.append(f"bytes is {_shown(entry.get('bytes'))}, not a whole number")
    if not isinstance(entry.get("sha256"), str) or not SHA256.fullmatch(entry["sha256"]):
        problems.append(f"sha256 is {_shown(entry.get('sha256'))}, not 64 hex digits")
    if entry.get("records") is not None and not _whole_number(entry["records"]):
        problems.append(f"records is {_shown(entry['records'])}, not a whole number")
    if problems:
        manifest.findings.append(Finding(MANIFEST, f"{label} ({path}): " + "; ".join(problems)))
        manifest.artifacts[path] = None
        return
    manifest.artifacts[path] = _Declared(entry["bytes"], entry["sha256"], entry.get("records"))


def _partitions(raw: object, source: str, findings: list[Finding]) -> list[_Partition]:
    """Lake partitions as recorded (table, day, data version); a finding for each unusable one.
    Only known tables: a partition's path is built from them."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        findings.append(Finding(source, "partitions is not a list"))
        return []
    partitions = []
    for index, entry in enumerate(raw):
        label = f"partition {index + 1}"
        if not isinstance(entry, dict):
            findings.append(Finding(source, f"{label}: not a JSON object"))
            continue
        table, day = entry.get("table"), entry.get("day")
        version = entry.get("data_version") or entry.get("sha256")
        if not isinstance(table, str) or table not in TABLES:
            findings.append(Finding(source, f"{label}: table {_shown(table)} is not a lake table"))
            continue
        try:
            parsed = date.fromisoformat(day) if isinstance(day, str) else None
        except ValueError:
            parsed = None
        if parsed is None:
            findings.append(Finding(source, f"{label}: day {_shown(day)} is not a date"))
            continue
        if not isinstance(version, str):
            findings.append(Finding(source, f"{label}: no data version"))
            continue
        partitions.append(_Partition(table, parsed, version))
    return partitions


def _parse_manifest(content: bytes | None) -> _Manifest:
    manifest = _Manifest()
    if content is None:
        manifest.findings.append(Finding(MANIFEST, "missing"))
        return manifest
    try:
        document = json.loads(content)
    except (ValueError, RecursionError) as error:
        reason = "nested too deeply" if isinstance(error, RecursionError) else str(error)
        manifest.findings.append(Finding(MANIFEST, f"not JSON ({reason})"))
        return manifest
    if not isinstance(document, dict):
        manifest.findings.append(Finding(MANIFEST, "not a JSON object"))
        return manifest
    artifacts = document.get("artifacts", [])
    if not isinstance(artifacts, list):
        manifest.findings.append(Finding(MANIFEST, "artifacts is not a list"))
        return manifest
    for index, entry in enumerate(artifacts):
        _artifact(index, entry, manifest)
    lineage = document.get("lineage") or {}
    if isinstance(lineage, dict):
        raw = lineage.get("partitions")
        manifest.partitions = _partitions(raw, f"{MANIFEST} lineage", manifest.findings)
    else:
        manifest.findings.append(Finding(MANIFEST, "lineage is not a JSON object"))
    manifest.usable = True
    return manifest


def _check_artifacts(manifest: _Manifest, copied: dict[str, _Copied], result: Verification) -> None:
    result.findings.extend(manifest.findings)
    if not manifest.usable:
        return
    for path, declared in manifest.artifacts.items():
        found = copied.get(path)
        if found is None:
            result.findings.append(Finding(path, "listed in manifest.json but missing"))
            continue
        if declared is None:
            continue
        if found.bytes != declared.bytes:
            result.findings.append(
                Finding(path, "size differs", str(declared.bytes), str(found.bytes))
            )
        if found.sha256 != declared.sha256:
            result.findings.append(Finding(path, "sha256 differs", declared.sha256, found.sha256))
        if found.records is not None and found.records != declared.records:
            result.findings.append(
                Finding(path, "record count differs", str(declared.records), str(found.records))
            )
    for path in sorted(copied):
        if path.startswith(f"{PAYLOAD}/") and path not in manifest.artifacts:
            result.findings.append(Finding(path, "in the bundle but not in manifest.json"))
    checked = sum(1 for declared in manifest.artifacts.values() if declared is not None)
    result.checked.append(f"manifest.json: {checked} artifacts (bytes, sha256, records)")


# --- BagIt, provenance, lake ---------------------------------------------------------------


@contextmanager
def _quiet(logger: logging.Logger) -> Iterator[None]:
    """bagit logs each problem it raises: the findings already say it, once."""
    disabled = logger.disabled
    logger.disabled = True
    try:
        yield
    finally:
        logger.disabled = disabled


def _bagit(bag: Path, result: Verification) -> None:
    try:
        with _quiet(logging.getLogger("bagit")):
            bagit.Bag(str(bag)).validate(processes=1, fast=False)
    except bagit.BagValidationError as error:
        for detail in error.details or []:
            if isinstance(detail, bagit.ChecksumMismatch):
                result.findings.append(
                    Finding(detail.path, "checksum differs", detail.expected, detail.found)
                )
            elif isinstance(detail, bagit.FileMissing):
                result.findings.append(Finding(detail.path, "listed in the bag but missing"))
            elif isinstance(detail, bagit.UnexpectedFile):
                result.findings.append(Finding(detail.path, "in the bag but in no manifest"))
            else:
                result.findings.append(Finding(bag.name, str(detail)))
        if not error.details:
            result.findings.append(Finding(bag.name, f"not a valid BagIt bag: {error.message}"))
    except (bagit.BagError, ValueError, LookupError, OSError) as error:
        # ValueError: a tag file that is not text in its declared encoding.
        result.findings.append(Finding(bag.name, f"not a valid BagIt bag: {error}"))
    else:
        result.checked.append("BagIt fixity: every checksum recomputed")


def _provenance(artifact: Path, digest: str, key: SSlibKey | None, result: Verification) -> None:
    path = artifact.with_name(artifact.name + SUFFIX)
    if not os.path.lexists(path):
        if key is None:
            result.notes.append(f"no provenance statement beside it ({path.name})")
        else:
            result.findings.append(
                Finding(
                    artifact.name,
                    "no provenance statement beside it: a signature was required by --public-key",
                    path.name,
                    "none",
                )
            )
        return
    try:
        document, how = read_provenance(path, key)
    except ValueError as error:
        result.findings.append(Finding(path.name, str(error)))
        return
    subject = document["subject"][0]
    if subject["digest"]["sha256"] != digest:
        result.findings.append(
            Finding(path.name, "subject digest differs", subject["digest"]["sha256"], digest)
        )
    elif subject["name"] != artifact.name:
        # A delivered copy carries its content hash in its name: it is matched by digest.
        result.notes.append(
            _printable(
                f"{path.name}: named {_cut(subject['name'])} in its statement; "
                "the same bytes by sha256"
            )
        )
    export_id = document.get("predicate", {}).get("export_id")
    result.export_id = export_id if isinstance(export_id, str) else None
    result.checked.append(f"provenance statement: subject digest; {how}")


def _lake(partitions: list[_Partition], layout: Lake | None, result: Verification) -> None:
    if layout is None or not partitions or not layout.reachable():
        result.notes.append("lake not at hand: partitions not compared")
        return
    gone = 0
    for partition in partitions:
        if not layout.has_partition(partition.table, partition.day):
            gone += 1
            continue
        # Hashed again from the stored bytes: a checksum kept beside them is not evidence.
        current = layout.partition_sha256(partition.table, partition.day, reread=True)
        if current != partition.version:
            result.findings.append(
                Finding(
                    f"lake {partition.table} {partition.day.isoformat()}",
                    "data version changed since the evidence was made",
                    partition.version,
                    current,
                )
            )
    if gone:
        result.notes.append(f"{gone} partition(s) no longer in the lake (pruned): not compared")
    result.checked.append(f"lake: {len(partitions) - gone} partition data versions compared")


# --- the two kinds of evidence ---------------------------------------------------------------


def _check_bundle(
    path: Path, limits: UnpackLimits, scratch: Path | None, result: Verification
) -> list[_Partition] | None:
    """The bundle's partitions, or None when the archive was refused."""
    with _scratch_folder(scratch) as folder:
        try:
            survey = _survey(path, limits)
            manifest = _parse_manifest(survey.manifest)
            _declared_sizes(survey, manifest)
            copied = _copy(path, survey, folder, limits)
        except (UnsafeArchive, tarfile.TarError, EOFError, zlib.error, OSError) as error:
            result.findings.append(Finding(path.name, _archive_problem(error)))
            return None
        result.findings.extend(survey.findings)
        (folder / survey.top).mkdir(exist_ok=True)
        _bagit(folder / survey.top, result)
        _check_artifacts(manifest, copied, result)
    return manifest.partitions


def _check_artifact(path: Path, digest: str, result: Verification) -> list[_Partition] | None:
    """An export artifact against its record; the partitions it read, or None without one."""
    # Beside it when copied with its record; one folder up in an export folder (artifact/).
    places = [path.parent / METADATA_FILE]
    if path.parent.name == ARTIFACT_DIR:
        places.append(path.parent.parent / METADATA_FILE)
    record_path = next((place for place in places if os.path.lexists(place)), None)
    if record_path is None:
        result.findings.append(
            Finding(path.name, f"no {METADATA_FILE} beside it or its {ARTIFACT_DIR}/ folder")
        )
        return None
    try:
        document = json.loads(read_bounded(record_path, RECORD_MAX_BYTES, "larger than 1 MiB"))
        record = ExportRecord.from_json(document) if isinstance(document, dict) else None
    except (ValueError, RecursionError, BrokenRecord) as error:
        reason = "nested too deeply" if isinstance(error, RecursionError) else str(error)
        result.findings.append(Finding(METADATA_FILE, f"not an export record: {reason}"))
        return None
    if record is None or record.sha256 is None or not _whole_number(record.bytes):
        result.findings.append(
            Finding(METADATA_FILE, "not an export record (a JSON object with sha256 and bytes)")
        )
        return None
    result.export_id = record.export_id
    if digest != record.sha256:
        result.findings.append(Finding(path.name, "sha256 differs", record.sha256, digest))
    size = path.stat().st_size
    if size != record.bytes:
        result.findings.append(Finding(path.name, "size differs", str(record.bytes), str(size)))
    result.checked.append(f"{METADATA_FILE}: bytes and sha256")
    partitions = None if record.partitions is None else list(record.partitions)
    return _partitions(partitions, METADATA_FILE, result.findings)


def _not_a_file(path: Path) -> str | None:
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "no such file"
    except OSError as error:
        return f"cannot be read ({error.strerror})"
    if stat.S_ISDIR(mode):
        return "a folder, not a file: give a bundle (.tar.gz) or an export artifact"
    if not stat.S_ISREG(mode):
        return "not a regular file (a FIFO, socket or device): give a bundle or an artifact"
    return None


def verify(
    path: Path,
    key: SSlibKey | None = None,
    layout: Lake | None = None,
    *,
    limits: UnpackLimits | None = None,
    scratch: Path | None = None,
) -> Verification:
    """Check a bundle (`.tar.gz`) or an export artifact with its `export.json`.

    A bundle is unpacked into `scratch` when given (left for the caller to remove), else into
    a temporary folder removed on return; `limits` default to 20 GiB and 10,000 members
    (the front doors pass KEEPTRUSTS_VERIFY_MAX_BYTES's).
    """
    result = Verification(str(path))
    limits = limits or UnpackLimits()
    problem = _not_a_file(path)
    if problem is None:
        try:
            result.sha256 = sha256_of(path)
        except OSError as error:
            problem = f"cannot be read ({error.strerror})"
    if problem is not None:
        result.findings.append(Finding(str(path), problem))
        return result
    if path.name.endswith(".tar.gz"):
        partitions = _check_bundle(path, limits, scratch, result)
    else:
        partitions = _check_artifact(path, result.sha256, result)
    if partitions is None:
        return result
    _provenance(path, result.sha256, key, result)
    _lake(partitions, layout, result)
    return result
