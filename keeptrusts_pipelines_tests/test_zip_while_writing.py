"""Large exports are zipped while they are written: the parts are deflated as they stream, and
the archive joined from them is laid out byte for byte as zipfile lays out its archives."""

import hashlib
import io
import os
import random
import threading
import zipfile
from pathlib import Path
from typing import BinaryIO

import polars as pl
import pytest

from keeptrusts_pipelines.exports import parts, zip_members
from keeptrusts_pipelines.exports.parts import PartFiles, publish
from keeptrusts_pipelines.exports.sink import DeflatingSink, HashingSink
from keeptrusts_pipelines.exports.zip_members import FileFollower, MemberWriter, entry, join


def text(rows: int, seed: int = 1) -> bytes:
    """CSV-like lines: compressible, and not trivially."""
    chooser = random.Random(seed)
    words = [f"{chooser.getrandbits(32):08x}" for _ in range(2_000)]
    lines = (",".join(chooser.choice(words) for _ in range(8)) for _ in range(rows))
    return ("\r\n".join(lines) + "\r\n").encode()


def zipfile_archive(named: list[tuple[str, bytes]]) -> bytes:
    """What zipfile itself writes for these contents, with the entries joined archives use."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, content in named:
            with archive.open(entry(name), "w") as member:
                for start in range(0, len(content), 1 << 20):
                    member.write(content[start : start + (1 << 20)])
    return buffer.getvalue()


def member(path: Path, content: bytes, piece: int) -> Path:
    writer = MemberWriter(path)
    for start in range(0, len(content), piece):
        writer.write(content[start : start + piece])
    writer.close()
    return path


def zlib_member(path: Path, content: bytes) -> Path:
    """A one-member zip deflated by zipfile (zlib), whose deflated bytes zipfile would write."""
    with (
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive,
        archive.open(entry("member"), "w", force_zip64=True) as stream,
    ):
        stream.write(content)
    return path


def test_joined_members_are_the_bytes_zipfile_writes(tmp_path: Path) -> None:
    contents = [text(20_000, seed) for seed in range(3)] + [b""]
    names = [f"Q1-Évidence.part-{n:04d}.csv" for n in range(1, 5)]
    members = [
        (name, zlib_member(tmp_path / f"{n}.zip", content))
        for n, (name, content) in enumerate(zip(names, contents, strict=True))
    ]
    joined = io.BytesIO()
    join(members, joined)
    assert joined.getvalue() == zipfile_archive(list(zip(names, contents, strict=True)))


def test_a_member_deflates_to_the_same_bytes_however_its_content_arrives(
    tmp_path: Path,
) -> None:
    content = text(60_000)
    written = [
        member(tmp_path / f"{piece}.zip", content, piece).read_bytes()
        for piece in (7, 4096, 1 << 20, 3_000_001, len(content))
    ]
    assert len(set(written)) == 1
    with zipfile.ZipFile(tmp_path / "7.zip") as archive:
        (info,) = archive.infolist()
        assert archive.read(info) == content and info.compress_size < len(content) / 2
    empty = member(tmp_path / "empty.zip", b"", 1)
    with zipfile.ZipFile(empty) as archive:
        assert archive.read("member") == b""


def test_offsets_past_the_zip64_limit_get_zip64_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(zip_members, "ZIP64_LIMIT", 1_000)
    monkeypatch.setattr(zip_members, "COUNT_LIMIT", 3)
    contents = [text(2_000, seed) for seed in range(5)]
    members = [
        (f"part-{n}.csv", member(tmp_path / f"{n}.zip", content, 1 << 16))
        for n, content in enumerate(contents)
    ]
    target = tmp_path / "joined.zip"
    with target.open("wb") as handle:
        join(members, handle)
    raw = target.read_bytes()
    assert b"PK\x06\x06" in raw and b"PK\x06\x07" in raw  # the ZIP64 end records
    with zipfile.ZipFile(target) as archive:
        assert archive.testzip() is None
        assert [archive.read(name) for name, _ in members] == contents
        assert archive.infolist()[-1].header_offset > 1_000


def test_a_follower_deflates_a_file_while_it_grows(tmp_path: Path) -> None:
    content = text(30_000)
    source = tmp_path / "part-0001"
    sink = HashingSink(source)
    follower = FileFollower(source, tmp_path / "part-0001.zip")
    sink.write(content[:100_000])  # written before it is followed: read from the file
    sink.follow(follower.advance)
    for start in range(100_000, len(content), 65_536):
        sink.write(content[start : start + 65_536])
    sink.close()
    follower.finish(sink.tell())
    follower.wait()
    with zipfile.ZipFile(follower.target) as archive:
        assert archive.read(archive.infolist()[0]) == content


def test_a_cancelled_follower_stops_without_waiting_for_more(tmp_path: Path) -> None:
    source = tmp_path / "part-0001"
    source.write_bytes(text(1_000))
    follower = FileFollower(source, tmp_path / "part-0001.zip")
    follower.advance(source.stat().st_size)
    stopped = threading.Thread(target=follower.cancel)
    stopped.start()
    stopped.join(timeout=30)
    assert not stopped.is_alive()


def test_a_deflating_sink_reports_its_writer_threads_error(tmp_path: Path) -> None:
    sink = DeflatingSink(tmp_path / "part-0002.zip")
    os.close(sink._member._handle.fileno())  # the disk goes away under the writer thread
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


def test_a_large_export_is_zipped_as_it_streams_and_joins_to_zipfiles_bytes(
    tmp_path: Path,
) -> None:
    frame = lines(40_000)
    output = PartFiles(tmp_path, LinesWriter, part_bytes=600_000)
    for batch in frame.iter_slices(5_000):
        output.write(batch)
    written = output.close()
    # Every part comes deflated; none but the first was ever written plain.
    assert [p.name for p in written][:2] == ["part-0001.zip", "part-0002.zip"]
    assert all(p.suffix == ".zip" for p in written) and len(written) > 2
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix != ".zip") == ["part-0001"]
    plain = []
    for path in written:
        with zipfile.ZipFile(path) as archive:
            plain.append(archive.read(archive.infolist()[0]))
    assert b"".join(plain) == "".join(frame["line"]).encode()
    assert all(len(content) <= 600_000 for content in plain)

    folder = tmp_path / "artifact"
    folder.mkdir()
    artifact, sha256 = publish(written, folder, "kt_export", "csv", "")
    assert [p.name for p in folder.iterdir()] == ["kt_export.zip"]
    assert sha256 == hashlib.sha256(artifact.read_bytes()).hexdigest()  # hashed as joined
    with zipfile.ZipFile(artifact) as archive:
        assert archive.testzip() is None
        assert archive.namelist() == [f"kt_export.part-{n:04d}.csv" for n in range(1, 6)]
        assert [archive.read(name) for name in archive.namelist()] == plain

    # Again in other batches: the same bytes.
    again = tmp_path / "again"
    again.mkdir()
    output = PartFiles(again, LinesWriter, part_bytes=600_000)
    for batch in frame.iter_slices(1_234):
        output.write(batch)
    republished, _ = publish(output.close(), again, "kt_export", "csv", "")
    assert republished.read_bytes() == artifact.read_bytes()


def test_one_part_past_half_full_stays_one_plain_file(tmp_path: Path) -> None:
    frame = lines(10_000)
    content = "".join(frame["line"]).encode()
    output = PartFiles(tmp_path, LinesWriter, part_bytes=int(len(content) / 0.7))
    for batch in frame.iter_slices(1_000):
        output.write(batch)
    assert output.follower is not None  # it was more than half full, so deflating began
    written = output.close()
    assert written == [tmp_path / "part-0001"] and written[0].read_bytes() == content
    folder = tmp_path / "artifact"
    folder.mkdir()
    artifact, sha256 = publish(written, folder, "kt_export", "csv", output.hashes[0])
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
    artifact, _ = publish(plain, folder, "transcripts", "pdf", "")
    with zipfile.ZipFile(artifact) as archive:
        assert archive.namelist() == ["transcripts.part-0001.pdf", "transcripts.part-0002.pdf"]
        assert [archive.read(name) for name in archive.namelist()] == contents


def test_deflating_starts_once_the_first_part_is_half_full(tmp_path: Path) -> None:
    frame = lines(10_000)
    size = len("".join(frame["line"]).encode())
    output = PartFiles(tmp_path, LinesWriter, part_bytes=int(size / parts.FOLLOW_FROM * 1.3))
    for batch in frame.iter_slices(500):
        output.write(batch)
    assert output.follower is None
    assert output.close() == [tmp_path / "part-0001"]
