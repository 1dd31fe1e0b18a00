"""An export as numbered part files, each complete, and its publication as one artifact.

A large export is zipped while it is written, not after: the first part is written plain
(most exports are one part, and that part is the artifact) and, once it is half full, a
thread deflates it behind the writer; every later part is deflated by its writer thread as its
rows stream. The zip is then joined from the deflated parts without compressing anything again.
"""

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import polars as pl

from keeptrusts_pipelines.exports.sink import DeflatingSink, HashingSink, ThreadedSink
from keeptrusts_pipelines.exports.writers import FormatWriter
from keeptrusts_pipelines.exports.zip_members import FileFollower, deflate_file, join
from keeptrusts_pipelines.lake.files import atomic_path

SAMPLE_ROWS = 1_000
# A part already deflated, as a one-member zip (the ones `PartFiles` hands over).
DEFLATED_SUFFIX = ".zip"
# How full the first part is when its deflating starts. Earlier wastes work on exports that
# stay one part; later leaves the thread behind when the part ends. At half, it catches up
# (deflate runs ten times faster than rows are made) before the first part ends.
FOLLOW_FROM = 0.5


class PartFiles:
    """Writes batches to `staging/part-0001`, …, starting a new part before one would pass
    `part_bytes` (a part exceeds it only when a single row is larger).

    `close` returns the plain part of a one-part export, or every part deflated
    (`part-0001.zip`, …) to be joined into a zip by `publish`."""

    def __init__(self, staging: Path, new_writer: Callable[[], FormatWriter], part_bytes: int):
        self.staging, self.new_writer, self.part_bytes = staging, new_writer, part_bytes
        self.paths: list[Path] = []
        self.hashes: list[str] = []
        self.bytes_per_row = 0.0
        self.first: HashingSink | None = None
        self.follower: FileFollower | None = None
        self._open()

    def _open(self) -> None:
        number = len(self.paths) + 1
        if number == 1:
            self.paths.append(self.staging / "part-0001")
            self.first = HashingSink(self.paths[-1])
            self.handle: ThreadedSink = self.first
        else:
            self.paths.append(self.staging / f"part-{number:04d}{DEFLATED_SUFFIX}")
            self.handle = DeflatingSink(self.paths[-1])
        self.writer = self.new_writer()
        self.writer.begin(self.handle)
        self.rows_in_part = 0

    def _close(self) -> None:
        self.writer.end()
        self.handle.close()
        if self.handle is self.first:
            self.hashes.append(self.first.sha256())

    def _follow_first(self) -> None:
        """Start deflating the first part behind its writer."""
        if self.follower is None and self.first is not None:
            self.follower = FileFollower(self.first.path, self.first.path.with_suffix(".zip"))
            self.first.follow(self.follower.advance)

    def write(self, frame: pl.DataFrame) -> None:
        if frame.height == 0:
            self.writer.write(frame)
            return
        offset = 0
        while offset < frame.height:
            if self.handle is self.first and self.handle.tell() >= self.part_bytes * FOLLOW_FROM:
                self._follow_first()
            room = self.part_bytes - self.handle.tell()
            # Rows that fit, from the bytes per row seen so far (a small first slice measures it).
            fits = int(room / self.bytes_per_row) if self.bytes_per_row else SAMPLE_ROWS
            if fits < 1 and self.rows_in_part:
                self._next_part()
                continue
            piece = frame.slice(offset, max(1, fits))
            before = self.handle.tell()
            self.writer.write(piece)
            written = self.handle.tell() - before
            self.bytes_per_row = max(self.bytes_per_row, written / piece.height)
            self.rows_in_part += piece.height
            offset += piece.height

    def _next_part(self) -> None:
        ending_first = self.handle is self.first
        if ending_first:
            self._follow_first()  # several parts: the first is zipped too
        self._close()
        if ending_first:
            self.follower.finish(self.first.tell())
        self._open()

    def close(self) -> list[Path]:
        """The parts: the plain file of a one-part export, else each part deflated."""
        self._close()
        if len(self.paths) == 1:
            if self.follower is not None:
                self.follower.cancel()  # one part: it is the artifact, unzipped
            return self.paths
        self.follower.wait()
        return [self.follower.target, *self.paths[1:]]


def publish(
    parts: list[Path], folder: Path, stem: str, extension: str, single_sha256: str
) -> tuple[Path, str]:
    """Move a single part (whose sha256 is `single_sha256`) to `stem.extension`, or join
    several into a reproducible `stem.zip`, hashed as it is written; (artifact, its sha256).

    Parts named `*.zip` are already deflated (one-member zips); others are deflated here."""
    if len(parts) == 1:
        final = folder / f"{stem}.{extension}"
        parts[0].replace(final)
        return final, single_sha256
    final = folder / f"{stem}.zip"
    members = []
    for number, part in enumerate(parts, 1):
        if part.suffix != DEFLATED_SUFFIX:
            deflated = part.with_name(part.name + DEFLATED_SUFFIX)
            deflate_file(part, deflated)
            part = deflated
        members.append((f"{stem}.part-{number:04d}.{extension}", part))
    with atomic_path(final) as path, path.open("wb") as handle:
        target = HashedFile(handle)
        join(members, target)  # type: ignore[arg-type]
    return final, target.digest.hexdigest()


class HashedFile:
    """Writes through to `handle`, hashing every byte on the way: the archive's sha256
    without reading it again."""

    def __init__(self, handle: BinaryIO) -> None:
        self.handle = handle
        self.digest = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        return self.handle.write(data)

    def tell(self) -> int:
        return self.handle.tell()
