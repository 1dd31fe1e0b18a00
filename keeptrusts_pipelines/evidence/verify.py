"""Verify evidence: a bundle (or one artifact with its record), its provenance, and the lake.

A bundle is unpacked into a scratch folder only after every member has been checked: no
absolute path, no `..`, no link, no device. Then BagIt fixity (every checksum recomputed),
every manifest.json entry (bytes, sha256, records), the provenance statement beside the
archive (subject digest, signature), and, when the lake is at hand, each partition's data
version. Every difference is reported: file, expected, found.
"""

from __future__ import annotations

import hashlib
import json
import tarfile
import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path, PurePosixPath

import bagit
from securesystemslib.signer import SSlibKey

from keeptrusts_pipelines.evidence.bundle import MANIFEST
from keeptrusts_pipelines.evidence.provenance import SUFFIX, read_provenance
from keeptrusts_pipelines.exports.engine import METADATA_FILE
from keeptrusts_pipelines.lake.files import sha256_of
from keeptrusts_pipelines.lake.layout import LakeLayout


@dataclass(frozen=True)
class Finding:
    file: str
    problem: str
    expected: str = ""
    found: str = ""

    def __str__(self) -> str:
        detail = f" (expected {self.expected}, found {self.found})" if self.expected else ""
        return f"{self.file}: {self.problem}{detail}"


@dataclass
class Verification:
    path: str
    findings: list[Finding] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    export_id: str | None = None

    @property
    def ok(self) -> bool:
        return not self.findings


class UnsafeArchive(Exception):
    """An archive member that could write outside the folder it is unpacked into."""


def _safe_members(archive: tarfile.TarFile) -> list[tarfile.TarInfo]:
    members = archive.getmembers()
    for member in members:
        name = PurePosixPath(member.name)
        if name.is_absolute() or ".." in name.parts:
            raise UnsafeArchive(f"{member.name}: a path outside the archive's folder")
        if not (member.isfile() or member.isdir()):
            raise UnsafeArchive(f"{member.name}: a link or special file, not a plain file")
    return members


def _unpack(archive_path: Path, scratch: Path) -> Path:
    """Unpack a checked archive into `scratch`; its single top folder (the bag)."""
    with tarfile.open(archive_path, "r:gz") as archive:
        members = _safe_members(archive)
        for member in members:
            target = (scratch / member.name).resolve()
            if not target.is_relative_to(scratch.resolve()):
                raise UnsafeArchive(f"{member.name}: a path outside the archive's folder")
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            source = archive.extractfile(member)
            with target.open("wb") as handle:
                while chunk := source.read(1 << 20):
                    handle.write(chunk)
    tops = sorted({PurePosixPath(m.name).parts[0] for m in members})
    if len(tops) != 1:
        raise UnsafeArchive(f"expected one top folder (the bag), found {', '.join(tops) or 'none'}")
    return scratch / tops[0]


def _bagit(bag: Path, result: Verification) -> None:
    try:
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
    except bagit.BagError as error:
        result.findings.append(Finding(bag.name, f"not a valid BagIt bag: {error}"))
    else:
        result.checked.append("BagIt fixity: every checksum recomputed")


def _count_records(path: Path) -> int | None:
    if path.suffix != ".jsonl":
        return None
    with path.open("rb") as handle:
        return sum(1 for line in handle if line.strip())


def _manifest(bag: Path, result: Verification) -> dict | None:
    path = bag / MANIFEST
    if not path.exists():
        result.findings.append(Finding(MANIFEST, "missing"))
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        result.findings.append(Finding(MANIFEST, f"not JSON ({error})"))
        return None
    listed = set()
    for artifact in manifest.get("artifacts", []):
        name = artifact["path"]
        listed.add(name)
        file = bag / name
        if not file.is_file():
            result.findings.append(Finding(name, "listed in manifest.json but missing"))
            continue
        if file.stat().st_size != artifact["bytes"]:
            result.findings.append(
                Finding(name, "size differs", str(artifact["bytes"]), str(file.stat().st_size))
            )
        digest = sha256_of(file)
        if digest != artifact["sha256"]:
            result.findings.append(Finding(name, "sha256 differs", artifact["sha256"], digest))
        counted = _count_records(file)
        if counted is not None and counted != artifact.get("records"):
            result.findings.append(
                Finding(name, "record count differs", str(artifact.get("records")), str(counted))
            )
    for file in sorted((bag / "data").rglob("*")):
        name = file.relative_to(bag).as_posix()
        if file.is_file() and name not in listed:
            result.findings.append(Finding(name, "in the bundle but not in manifest.json"))
    result.checked.append(f"manifest.json: {len(listed)} artifacts (bytes, sha256, records)")
    return manifest


def _provenance(artifact: Path, key: SSlibKey | None, result: Verification) -> None:
    path = artifact.with_name(artifact.name + SUFFIX)
    if not path.exists():
        result.notes.append(f"no provenance statement beside it ({path.name})")
        return
    try:
        document, how = read_provenance(path, key)
    except (ValueError, KeyError, json.JSONDecodeError) as error:
        result.findings.append(Finding(path.name, str(error)))
        return
    subject = (document.get("subject") or [{}])[0]
    digest = hashlib.sha256(artifact.read_bytes()).hexdigest()
    expected = subject.get("digest", {}).get("sha256", "")
    if expected != digest:
        result.findings.append(Finding(path.name, "subject digest differs", expected, digest))
    if subject.get("name") != artifact.name:
        result.findings.append(
            Finding(path.name, "subject name differs", str(subject.get("name")), artifact.name)
        )
    result.export_id = (document.get("predicate") or {}).get("export_id")
    result.checked.append(f"provenance statement: subject digest, {how}")


def _lake(partitions: list[dict], layout: LakeLayout | None, result: Verification) -> None:
    if layout is None or not layout.root.is_dir() or not partitions:
        result.notes.append("lake not at hand: partitions not compared")
        return
    gone = 0
    for partition in partitions:
        path = layout.partition_file(partition["table"], date.fromisoformat(partition["day"]))
        recorded = partition.get("data_version") or partition.get("sha256")
        if not path.exists():
            gone += 1
            continue
        current = sha256_of(path)
        if current != recorded:
            result.findings.append(
                Finding(
                    f"lake {partition['table']} {partition['day']}",
                    "data version changed since the evidence was made",
                    recorded,
                    current,
                )
            )
    if gone:
        result.notes.append(f"{gone} partition(s) no longer in the lake (pruned): not compared")
    result.checked.append(f"lake: {len(partitions) - gone} partition data versions compared")


def verify(
    path: Path, key: SSlibKey | None = None, layout: LakeLayout | None = None
) -> Verification:
    """Check a bundle (`.tar.gz`) or an export artifact with its `export.json`."""
    result = Verification(str(path))
    if not path.is_file():
        result.findings.append(Finding(str(path), "no such file"))
        return result
    if path.name.endswith(".tar.gz"):
        with tempfile.TemporaryDirectory(prefix="kt-verify-") as scratch:
            try:
                bag = _unpack(path, Path(scratch))
            except (UnsafeArchive, tarfile.TarError, OSError) as error:
                result.findings.append(Finding(path.name, f"refused: {error}"))
                return result
            _bagit(bag, result)
            manifest = _manifest(bag, result)
        partitions = (manifest or {}).get("lineage", {}).get("partitions", [])
    else:
        record_path = path.parent / METADATA_FILE
        if not record_path.exists():
            result.findings.append(Finding(path.name, f"no {METADATA_FILE} beside it to check"))
            return result
        record = json.loads(record_path.read_text(encoding="utf-8"))
        result.export_id = record.get("export_id")
        digest = sha256_of(path)
        if digest != record["sha256"]:
            result.findings.append(Finding(path.name, "sha256 differs", record["sha256"], digest))
        if path.stat().st_size != record["bytes"]:
            result.findings.append(
                Finding(path.name, "size differs", str(record["bytes"]), str(path.stat().st_size))
            )
        result.checked.append(f"{METADATA_FILE}: bytes and sha256")
        partitions = [
            {"table": p["table"], "day": p["day"], "data_version": p["sha256"]}
            for p in record.get("partitions", [])
        ]
    _provenance(path, key, result)
    _lake(partitions, layout, result)
    return result
