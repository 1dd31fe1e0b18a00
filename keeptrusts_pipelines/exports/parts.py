"""An export as numbered part files, each complete, and its publication as one artifact.

A large export is zipped while it is written, not after: the first part is written plain
(most exports are one part, and that part is the artifact) and, once it is half full, a
thread deflates it into the zip behind the writer; every later part is deflated into the same
zip by its writer thread as its rows stream. Nothing is compressed or copied again after.
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from keeptrusts_pipelines.exports.sink import DeflatingSink, HashingSink, ThreadedSink
from keeptrusts_pipelines.exports.writers import FormatWriter
from keeptrusts_pipelines.exports.zip_members import Archive, FileFollower, write_file
from keeptrusts_pipelines.lake.files import atomic_path

SAMPLE_ROWS = 1_000
FIRST_PART = "part-0001"
ARCHIVE = "parts.zip"
# How full the first part is when its deflating starts. Earlier wastes work on exports that
# stay one part; later leaves the thread behind when the part ends. At half, it catches up
# (deflate runs ten times faster than rows are made) before the first part ends.
FOLLOW_FROM = 0.5


@dataclass(frozen=True)
class Output:
    """What `PartFiles` wrote: one plain part, or the zip of `zipped_parts` parts (0: not a
    zip); and its sha256."""

    path: Path
    sha256: str
    zipped_parts: int = 0


class PartFiles:
    """Writes batches as numbered parts, starting a new part before one would pass `part_bytes`
    (a part exceeds it only when a single row is larger); `member_name(n)` names part n in
    the zip of several.

    The first part is written plain to `staging/part-0001`; past half full a thread deflates
    it into `staging/parts.zip` behind the writer. Every later part is deflated into that zip
    by its writer thread as its rows stream."""

    def __init__(
        self,
        staging: Path,
        new_writer: Callable[[], FormatWriter],
        part_bytes: int,
        member_name: Callable[[int], str],
    ) -> None:
        self.staging, self.new_writer, self.part_bytes = staging, new_writer, part_bytes
        self.member_name = member_name
        self.count = 0
        self.bytes_per_row = 0.0
        self.first = HashingSink(staging / FIRST_PART)
        self.archive: Archive | None = None
        self.follower: FileFollower | None = None
        self._open()

    def _open(self) -> None:
        self.count += 1
        if self.count == 1:
            self.handle: ThreadedSink = self.first
        else:
            assert self.archive is not None  # made when the first part ended
            self.handle = DeflatingSink(self.archive.member(self.member_name(self.count)))
        self.writer = self.new_writer()
        self.writer.begin(self.handle)
        self.rows_in_part = 0

    def _close(self) -> None:
        self.writer.end()
        self.handle.close()

    def _follow_first(self) -> None:
        """Start deflating the first part into the zip, behind its writer."""
        if self.follower is None:
            self.archive = Archive(self.staging / ARCHIVE)
            self.follower = FileFollower(self.first.path, self.archive.member(self.member_name(1)))
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
        if self.count == 1:
            self._follow_first()  # several parts: the first is zipped too
            self._close()
            assert self.follower is not None
            self.follower.finish(self.first.tell())
            # It has kept up (see FOLLOW_FROM): the zip takes the next part once it holds this.
            self.follower.wait()
            self.first.path.unlink()
        else:
            self._close()
        self._open()

    def close(self) -> Output:
        self._close()
        if self.count == 1:
            if self.follower is not None:
                self.follower.cancel()  # one part: it is the artifact, unzipped
                assert self.archive is not None
                self.archive.discard()
            return Output(self.first.path, self.first.sha256())
        assert self.archive is not None
        return Output(self.archive.path, self.archive.close(), self.count)


def publish(
    parts: list[Path], folder: Path, stem: str, extension: str, sha256s: list[str], zipped: bool
) -> tuple[Path, str]:
    """The artifact in `folder`, and its sha256: `stem.zip` for a zip of several parts (moved
    when `zipped`, else made here from plain parts), or the single part as `stem.extension`.
    `sha256s` are the parts' own."""
    final = folder / f"{stem}.{'zip' if zipped or len(parts) > 1 else extension}"
    if len(parts) == 1:
        parts[0].replace(final)
        return final, sha256s[0]
    with atomic_path(final) as path:
        archive = Archive(path)
        for number, part in enumerate(parts, 1):
            write_file(part, archive.member(member_name(stem, extension, number)))
        sha256 = archive.close()
    return final, sha256


def member_name(stem: str, extension: str, number: int) -> str:
    """Part `number` of an artifact, as its zip names it."""
    return f"{stem}.part-{number:04d}.{extension}"
