"""An export as numbered part files, each complete, and its publication as one artifact."""

import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import polars as pl

from keeptrusts_pipelines.exports.sink import HashingSink
from keeptrusts_pipelines.exports.writers import FormatWriter
from keeptrusts_pipelines.lake.files import atomic_path

# Fixed zip entry metadata, so the same parts always pack into the same bytes.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
SAMPLE_ROWS = 1_000


class PartFiles:
    """Writes batches to `staging/part-0001`, …, starting a new part before one would pass
    `part_bytes` (a part exceeds it only when a single row is larger)."""

    def __init__(self, staging: Path, new_writer: Callable[[], FormatWriter], part_bytes: int):
        self.staging, self.new_writer, self.part_bytes = staging, new_writer, part_bytes
        self.paths: list[Path] = []
        self.hashes: list[str] = []
        self.bytes_per_row = 0.0
        self._open()

    def _open(self) -> None:
        self.paths.append(self.staging / f"part-{len(self.paths) + 1:04d}")
        self.handle = HashingSink(self.paths[-1])
        self.writer = self.new_writer()
        self.writer.begin(self.handle)
        self.rows_in_part = 0

    def _close(self) -> None:
        self.writer.end()
        self.handle.close()
        self.hashes.append(self.handle.sha256())

    def write(self, frame: pl.DataFrame) -> None:
        if frame.height == 0:
            self.writer.write(frame)
            return
        offset = 0
        while offset < frame.height:
            room = self.part_bytes - self.handle.tell()
            if room <= 0 and self.rows_in_part:
                self._close()
                self._open()
                room = self.part_bytes - self.handle.tell()
            # Rows that fit, from the bytes per row seen so far (a small first slice measures it).
            fits = int(room / self.bytes_per_row) if self.bytes_per_row else SAMPLE_ROWS
            piece = frame.slice(offset, max(1, fits))
            before = self.handle.tell()
            self.writer.write(piece)
            written = self.handle.tell() - before
            self.bytes_per_row = max(self.bytes_per_row, written / piece.height)
            self.rows_in_part += piece.height
            offset += piece.height

    def close(self) -> list[Path]:
        self._close()
        return self.paths


def publish(parts: list[Path], folder: Path, stem: str, extension: str) -> Path:
    """Move a single part to `stem.extension`, or pack several into a reproducible `stem.zip`."""
    if len(parts) == 1:
        final = folder / f"{stem}.{extension}"
        parts[0].replace(final)
        return final
    final = folder / f"{stem}.zip"
    # Fast deflate: parts are large text, and level 1 keeps most of the gain at a third the time.
    with (
        atomic_path(final) as path,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive,
    ):
        for number, part in enumerate(parts, 1):
            info = zipfile.ZipInfo(f"{stem}.part-{number:04d}.{extension}", date_time=ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            with part.open("rb") as source, archive.open(info, "w") as target:
                shutil.copyfileobj(source, target, 1 << 20)
    return final
