"""A zip archive written member after member, each deflated while its bytes are written.

Each member's local header is written first with ZIP64 fields and written again, as long,
once its CRC-32 and sizes are known; the archive is laid out field for field as `zipfile`
lays out one written with `force_zip64`.

Deflate is ISA-L's (the isal package): on the exports' CSV it reads about 0.8-1 GB/s per
core, four to five times zlib's fastest level, and compresses a tenth better. Its output
depends on how its input is cut, so it is always fed whole blocks of BLOCK_BYTES: the same
content gives the same bytes however the rows arrived.
"""

from __future__ import annotations

import hashlib
import struct
import threading
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from isal import isal_zlib

# Fixed zip entry metadata, so the same parts always pack into the same bytes.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
# ISA-L's level 2 runs as fast as its level 1 and is 2% smaller; level 3 takes three times
# as long for 5% more (measured on a demo quarter's CSV).
COMPRESS_LEVEL = 2
CHUNK_BYTES = 1 << 20
# What deflate is fed at a time (see above): large enough that calls cost nothing.
BLOCK_BYTES = 1 << 20
RAW_DEFLATE = -15  # window bits: a bare deflate stream, as zip members hold
CENTRAL_ENTRY = struct.Struct("<4s4B4HL2L5H2L")
END_RECORD = struct.Struct("<4s4H2LH")
END_RECORD_64 = struct.Struct("<4sQ2H2L4Q")
END_LOCATOR_64 = struct.Struct("<4sLQL")
ZIP64_LIMIT = (1 << 31) - 1  # as zipfile: past this a size or offset needs ZIP64 fields
COUNT_LIMIT = (1 << 16) - 1
ZIP64_VERSION = 45


def entry(name: str) -> zipfile.ZipInfo:
    """A deflated entry with the fixed date and permissions of every archive this writes."""
    info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


class Archive:
    """A zip written at `path` one member after another, each deflated as its bytes are
    written (`member`); `close` adds the directory and returns the archive's sha256.

    The archive is hashed by reading it back, not on the way (each member's header is written
    again at its end): the members already ended are hashed in a thread while the next one is
    written, so `close` reads only the last."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle = path.open("wb")
        self._entries: list[zipfile.ZipInfo] = []
        self._writing: MemberWriter | None = None
        self._digest = hashlib.sha256()
        self._hashed = 0
        self._hasher: threading.Thread | None = None
        self._error: BaseException | None = None

    def member(self, name: str) -> MemberWriter:
        """The next member, once the one before it is closed."""
        if self._writing is not None and not self._writing.closed:
            raise RuntimeError(f"{self.path.name}: a member is still being written")
        if self._entries:
            self._handle.flush()
            self._hash_in_thread(self._handle.tell())
        self._writing = MemberWriter(self._handle, entry(name), self._entries.append)
        return self._writing

    def close(self) -> str:
        _write_directory(self._entries, self._handle)
        self._handle.close()
        self._wait_for_hasher()
        self._hash_until(None)
        return self._digest.hexdigest()

    def discard(self) -> None:
        self._handle.close()
        self._wait_for_hasher()
        self.path.unlink(missing_ok=True)

    def _hash_in_thread(self, end: int) -> None:
        self._wait_for_hasher()  # one at a time, in order
        self._hasher = threading.Thread(
            target=self._hash_until, args=(end,), name=f"hash {self.path.name}", daemon=True
        )
        self._hasher.start()

    def _wait_for_hasher(self) -> None:
        if self._hasher is not None:
            self._hasher.join()
            self._hasher = None
        if self._error is not None:
            raise self._error

    def _hash_until(self, end: int | None) -> None:
        """Hash the archive's bytes from where hashing stopped to `end` (None: to its end)."""
        try:
            with self.path.open("rb") as handle:
                handle.seek(self._hashed)
                while end is None or self._hashed < end:
                    size = CHUNK_BYTES if end is None else min(CHUNK_BYTES, end - self._hashed)
                    chunk = handle.read(size)
                    if not chunk:
                        break
                    self._digest.update(chunk)
                    self._hashed += len(chunk)
        except BaseException as error:
            self._error = error


class MemberWriter:
    """One member of an archive, deflated as bytes are written (deflate and CRC release the
    GIL, so a writer thread overlaps the thread making the bytes)."""

    def __init__(
        self, handle: BinaryIO, info: zipfile.ZipInfo, done: Callable[[zipfile.ZipInfo], None]
    ) -> None:
        self._handle, self._info, self._done = handle, info, done
        info.header_offset = handle.tell()
        info.CRC = info.file_size = info.compress_size = 0
        # ZIP64 fields from the start: a part's size is known only once it has been written;
        # the header is written again, as long, when it is.
        handle.write(info.FileHeader(zip64=True))
        self._deflate = isal_zlib.compressobj(COMPRESS_LEVEL, isal_zlib.DEFLATED, RAW_DEFLATE)
        self._pending = bytearray()
        self.closed = False

    @property
    def name(self) -> str:
        return self._info.filename

    def write(self, data: bytes) -> None:
        self._info.CRC = isal_zlib.crc32(data, self._info.CRC)
        self._info.file_size += len(data)
        self._pending += data
        whole = len(self._pending) - len(self._pending) % BLOCK_BYTES
        if whole:
            view = memoryview(self._pending)
            for start in range(0, whole, BLOCK_BYTES):
                self._out(self._deflate.compress(view[start : start + BLOCK_BYTES]))
            view.release()
            del self._pending[:whole]

    def _out(self, deflated: bytes) -> None:
        self._handle.write(deflated)
        self._info.compress_size += len(deflated)

    def close(self) -> None:
        if self._pending:
            self._out(self._deflate.compress(bytes(self._pending)))
        self._out(self._deflate.flush())
        end = self._handle.tell()
        self._handle.seek(self._info.header_offset)
        self._handle.write(self._info.FileHeader(zip64=True))
        self._handle.seek(end)
        self.closed = True
        self._done(self._info)


def write_file(source: Path, member: MemberWriter) -> None:
    """`source` deflated into `member`, which is then closed."""
    with source.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            member.write(chunk)
    member.close()


class FileFollower:
    """Deflates a file into an archive member in its own thread while another thread is still
    writing the file; it reads only the bytes it has been told are there (`advance`)."""

    def __init__(self, source: Path, member: MemberWriter) -> None:
        self.source, self.member = source, member
        self._available = 0
        self._complete = self._cancelled = False
        self._error: BaseException | None = None
        self._changed = threading.Condition()
        self._thread = threading.Thread(
            target=self._run, name=f"deflate {source.name}", daemon=True
        )
        self._thread.start()

    def advance(self, size: int) -> None:
        """The source now holds at least `size` bytes."""
        with self._changed:
            if size > self._available:
                self._available = size
                self._changed.notify()

    def finish(self, size: int) -> None:
        """The source is complete at `size` bytes; deflate the rest."""
        with self._changed:
            self._available, self._complete = size, True
            self._changed.notify()

    def cancel(self) -> None:
        """Stop, leaving the member unfinished (its archive is discarded by its owner)."""
        with self._changed:
            self._cancelled = True
            self._changed.notify()
        self._thread.join()

    def wait(self) -> None:
        """Wait until the whole source is in the member, closed; raises what the thread met."""
        self._thread.join()
        if self._error is not None:
            raise self._error

    def _next_size(self, offset: int) -> int:
        """How many bytes past `offset` may be read now; 0 once there is nothing more to do."""
        with self._changed:
            while not self._cancelled and self._available == offset and not self._complete:
                self._changed.wait()
            return 0 if self._cancelled else self._available - offset

    def _run(self) -> None:
        try:
            with self.source.open("rb", buffering=0) as handle:
                offset = 0
                while size := self._next_size(offset):
                    chunk = handle.read(min(size, CHUNK_BYTES))
                    if not chunk:
                        raise OSError(f"{self.source} ended at {offset} bytes, early")
                    self.member.write(chunk)
                    offset += len(chunk)
            if not self._cancelled:
                self.member.close()
        except BaseException as error:
            self._error = error


def _write_directory(entries: list[zipfile.ZipInfo], target: BinaryIO) -> None:
    """The central directory and end records, field for field as zipfile writes them."""
    start = target.tell()
    for info in entries:
        sizes, offset, extra = (info.file_size, info.compress_size), info.header_offset, []
        if max(sizes) > ZIP64_LIMIT:
            extra.extend(sizes)
            sizes = (0xFFFFFFFF, 0xFFFFFFFF)
        if offset > ZIP64_LIMIT:
            extra.append(offset)
            offset = 0xFFFFFFFF
        extra_data = struct.pack(f"<HH{len(extra)}Q", 1, 8 * len(extra), *extra) if extra else b""
        version = ZIP64_VERSION if extra else 0
        name, flags = info.filename.encode(), info.flag_bits
        if not info.filename.isascii():
            flags |= 0x800  # the name is UTF-8
        year, month, day, hour, minute, second = info.date_time
        target.write(
            CENTRAL_ENTRY.pack(
                b"PK\x01\x02",
                max(version, info.create_version),
                info.create_system,
                max(version, info.extract_version),
                info.reserved,
                flags,
                info.compress_type,
                hour << 11 | minute << 5 | second // 2,
                (year - 1980) << 9 | month << 5 | day,
                info.CRC,
                sizes[1],
                sizes[0],
                len(name),
                len(extra_data),
                0,  # comment
                0,  # disk
                info.internal_attr,
                info.external_attr,
                offset,
            )
        )
        target.write(name + extra_data)
    end = target.tell()
    count, size, offset = len(entries), end - start, start
    if count > COUNT_LIMIT or offset > ZIP64_LIMIT or size > ZIP64_LIMIT:
        target.write(
            END_RECORD_64.pack(b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, size, offset)
        )
        target.write(END_LOCATOR_64.pack(b"PK\x06\x07", 0, end, 1))
        count, size, offset = min(count, 0xFFFF), min(size, 0xFFFFFFFF), min(offset, 0xFFFFFFFF)
    target.write(END_RECORD.pack(b"PK\x05\x06", 0, 0, count, count, size, offset, 0))
