"""Large exports are zipped while they are written: the parts are deflated into one archive as
they stream, laid out byte for byte as zipfile lays out its archives."""

import hashlib
import io
import os
import random
import threading
import zipfile
import zlib
from pathlib import Path
from typing import BinaryIO

import polars as pl
import pytest

from keeptrusts_pipelines.exports import parts, zip_members
from keeptrusts_pipelines.exports.parts import PartFiles, member_name, publish
from keeptrusts_pipelines.exports.sink import DeflatingSink, HashingSink
from keeptrusts_pipelines.exports.zip_members import Archive, FileFollower, entry


def text(rows: int, seed: int = 1) -> bytes:
    """CSV-like lines: compressible, and not trivially."""
    chooser = random.Random(seed)
    words = [f"{chooser.getrandbits(32):08x}" for _ in range(2_000)]
    lines = (",".join(chooser.choice(words) for _ in range(8)) for _ in range(rows))
    return ("\r\n".join(lines) + "\r\n").encode()


def zipfile_archive(named: list[tuple[str, bytes]]) -> bytes:
    """What zipfile itself writes for these contents, with the entries archives here use."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in named:
            with archive.open(entry(name), "w", force_zip64=True) as member:
                for start in range(0, len(content), 1 << 20):
                    member.write(content[start : start + (1 << 20)])
    return buffer.getvalue()


def archive_of(path: Path, named: list[tuple[str, bytes]], piece: int) -> str:
    """An Archive at `path` holding these contents, each written `piece` bytes at a time."""
    archive = Archive(path)
    for name, content in named:
        member = archive.member(name)
        for start in range(0, len(content), piece):
            member.write(content[start : start + piece])
        member.close()
    return archive.close()


def test_an_archive_is_the_bytes_zipfile_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With zlib's deflate, which zipfile uses, the bytes must be zipfile's to the last one.
    monkeypatch.setattr(zip_members, "isal_zlib", zlib)
    # zipfile deflates a member opened by its ZipInfo at zlib's default level.
    monkeypatch.setattr(zip_members, "COMPRESS_LEVEL", zlib.Z_DEFAULT_COMPRESSION)
    contents = [text(20_000, seed) for seed in range(3)] + [b""]
    named = list(zip([f"Q1-Évidence.part-{n:04d}.csv" for n in range(1, 5)], contents, strict=True))
    sha256 = archive_of(tmp_path / "a.zip", named, 65_536)
    assert (tmp_path / "a.zip").read_bytes() == zipfile_archive(named)
    assert sha256 == hashlib.sha256(zipfile_archive(named)).hexdigest()


def test_a_member_deflates_to_the_same_bytes_however_its_content_arrives(
    tmp_path: Path,
) -> None:
    content = text(60_000)
    for piece in (7, 4096, 1 << 20, 3_000_001, len(content)):
        archive_of(tmp_path / f"{piece}.zip", [("member", content)], piece)
    written = {(tmp_path / f"{piece}.zip").read_bytes() for piece in (7, 4096, 1 << 20)}
    written |= {(tmp_path / f"{piece}.zip").read_bytes() for piece in (3_000_001, len(content))}
    assert len(written) == 1
    with zipfile.ZipFile(tmp_path / "7.zip") as archive:
        (info,) = archive.infolist()
        assert archive.read(info) == content and info.compress_size < len(content) / 2
    archive_of(tmp_path / "empty.zip", [("member", b"")], 1)
    with zipfile.ZipFile(tmp_path / "empty.zip") as archive:
        assert archive.read("member") == b""


def test_a_member_at_a_time(tmp_path: Path) -> None:
    archive = Archive(tmp_path / "a.zip")
    archive.member("one")
    with pytest.raises(RuntimeError, match="still being written"):
        archive.member("two")
    archive.discard()
    assert not (tmp_path / "a.zip").exists()


def test_offsets_past_the_zip64_limit_get_zip64_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(zip_members, "ZIP64_LIMIT", 1_000)
    monkeypatch.setattr(zip_members, "COUNT_LIMIT", 3)
    named = [(f"part-{n}.csv", text(2_000, n)) for n in range(5)]
    target = tmp_path / "joined.zip"
    archive_of(target, named, 1 << 16)
    raw = target.read_bytes()
    assert b"PK\x06\x06" in raw and b"PK\x06\x07" in raw  # the ZIP64 end records
    with zipfile.ZipFile(target) as archive:
        assert archive.testzip() is None
        assert [archive.read(name) for name, _ in named] == [content for _, content in named]
        assert archive.infolist()[-1].header_offset > 1_000


def test_a_follower_deflates_a_file_while_it_grows(tmp_path: Path) -> None:
    content = text(30_000)
    source = tmp_path / "part-0001"
    sink = HashingSink(source)
    archive = Archive(tmp_path / "parts.zip")
    follower = FileFollower(source, archive.member("part-0001.csv"))
    sink.write(content[:100_000])  # written before it is followed: read from the file
    sink.follow(follower.advance)
    for start in range(100_000, len(content), 65_536):
        sink.write(content[start : start + 65_536])
    sink.close()
    follower.finish(sink.tell())
    follower.wait()
    archive.close()
    with zipfile.ZipFile(archive.path) as opened:
        assert opened.read("part-0001.csv") == content


def test_a_cancelled_follower_stops_without_waiting_for_more(tmp_path: Path) -> None:
    source = tmp_path / "part-0001"
    source.write_bytes(text(1_000))
    archive = Archive(tmp_path / "parts.zip")
    follower = FileFollower(source, archive.member("part-0001.csv"))
    follower.advance(source.stat().st_size)
    stopped = threading.Thread(target=follower.cancel)
    stopped.start()
    stopped.join(timeout=30)
    assert not stopped.is_alive()
    archive.discard()


def test_a_deflating_sink_reports_its_writer_threads_error(tmp_path: Path) -> None:
    archive = Archive(tmp_path / "parts.zip")
    sink = DeflatingSink(archive.member("part-0002.csv"))
    os.close(archive._handle.fileno())  # the disk goes away under the writer thread
    with pytest.raises(OSError):
        for _ in range(64):
            sink.write(text(2_000))
        sink.close()


class LinesWriter:
    """The bytes of a one-column frame, as they are: the parts' content is known exactly."""

    def begin(self, handle: BinaryIO) -> None:
        self.handle = handle

    def write(self, frame: pl.DataFrame) -> None:
        if frame.height:
            self.handle.write("".join(frame["line"]).encode())

    def end(self) -> None:
        pass


def lines(rows: int) -> pl.DataFrame:
    return pl.DataFrame({"line": text(rows).decode().splitlines(keepends=True)})


def named_parts(number: int) -> str:
    return member_name("kt_export", "csv", number)


def test_a_large_export_is_zipped_as_it_streams_into_one_archive(tmp_path: Path) -> None:
    frame = lines(40_000)
    output = PartFiles(tmp_path, LinesWriter, 600_000, named_parts)
    for batch in frame.iter_slices(5_000):
        output.write(batch)
    written = output.close()
    # The parts went into one zip as they were written; the plain first part is gone.
    assert written.path == tmp_path / parts.ARCHIVE
    assert [p.name for p in tmp_path.iterdir()] == [parts.ARCHIVE]
    assert written.sha256 == hashlib.sha256(written.path.read_bytes()).hexdigest()
    with zipfile.ZipFile(written.path) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
        plain = [archive.read(name) for name in names]
    assert names == [named_parts(n) for n in range(1, len(names) + 1)] and len(names) > 2
    assert written.zipped_parts == len(names)
    assert b"".join(plain) == "".join(frame["line"]).encode()
    assert all(len(content) <= 600_000 for content in plain)

    folder = tmp_path / "artifact"
    folder.mkdir()
    archive_bytes = written.path.read_bytes()
    artifact, sha256 = publish([written.path], folder, "kt_export", "csv", [written.sha256], True)
    assert [p.name for p in folder.iterdir()] == ["kt_export.zip"]
    assert artifact.read_bytes() == archive_bytes and sha256 == written.sha256

    # Again in other batches: the same bytes.
    again = tmp_path / "again"
    again.mkdir()
    output = PartFiles(again, LinesWriter, 600_000, named_parts)
    for batch in frame.iter_slices(1_234):
        output.write(batch)
    assert output.close().path.read_bytes() == archive_bytes


def test_one_part_past_half_full_stays_one_plain_file(tmp_path: Path) -> None:
    frame = lines(10_000)
    content = "".join(frame["line"]).encode()
    output = PartFiles(tmp_path, LinesWriter, int(len(content) / 0.7), named_parts)
    for batch in frame.iter_slices(1_000):
        output.write(batch)
    assert output.follower is not None  # it was more than half full, so deflating began
    written = output.close()
    assert not written.zipped_parts and written.path == tmp_path / "part-0001"
    assert written.path.read_bytes() == content
    assert [p.name for p in tmp_path.iterdir()] == ["part-0001"]  # the zip begun is gone
    folder = tmp_path / "artifact"
    folder.mkdir()
    artifact, sha256 = publish([written.path], folder, "kt_export", "csv", [written.sha256], False)
    assert artifact.name == "kt_export.csv" and artifact.read_bytes() == content
    assert sha256 == hashlib.sha256(content).hexdigest()


def test_plain_parts_from_reports_are_deflated_when_published(tmp_path: Path) -> None:
    contents = [text(3_000, seed) for seed in range(2)]
    plain = []
    for number, content in enumerate(contents, 1):
        plain.append(tmp_path / f"part-{number:04d}")
        plain[-1].write_bytes(content)
    folder = tmp_path / "artifact"
    folder.mkdir()
    artifact, sha256 = publish(plain, folder, "transcripts", "pdf", ["", ""], False)
    assert sha256 == hashlib.sha256(artifact.read_bytes()).hexdigest()
    with zipfile.ZipFile(artifact) as archive:
        assert archive.namelist() == ["transcripts.part-0001.pdf", "transcripts.part-0002.pdf"]
        assert [archive.read(name) for name in archive.namelist()] == contents


def test_deflating_starts_once_the_first_part_is_half_full(tmp_path: Path) -> None:
    frame = lines(10_000)
    size = len("".join(frame["line"]).encode())
    output = PartFiles(tmp_path, LinesWriter, int(size / parts.FOLLOW_FROM * 1.3), named_parts)
    for batch in frame.iter_slices(500):
        output.write(batch)
    assert output.follower is None
    assert output.close().path == tmp_path / "part-0001"
