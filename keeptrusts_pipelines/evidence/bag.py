"""A BagIt bag (RFC 8493) packed as a reproducible tar.gz.

Every entry has a fixed order, time, owner and mode, and the gzip header no name or time, so
the same files always give the same archive bytes: nothing run-specific goes inside.
"""

from __future__ import annotations

import gzip
import tarfile
from collections.abc import Iterable
from pathlib import Path

from keeptrusts_pipelines.evidence.code_version import GENERATOR, generator_version
from keeptrusts_pipelines.lake.files import sha256_of

BAGIT_TXT = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
# 2000-01-01T00:00:00Z: a fixed time for every entry (tar cannot hold "no time").
FIXED_MTIME = 946684800


def write_bag_files(bag: Path, description: str, tag_files: Iterable[str]) -> None:
    """Write bagit.txt, bag-info.txt and both manifests for the payload under `bag/data/`.

    `tag_files` are extra files at the bag's root (e.g. manifest.json), covered by the tag
    manifest.
    """
    payload = sorted(p for p in (bag / "data").rglob("*") if p.is_file())
    lines = [f"{sha256_of(p)}  {p.relative_to(bag).as_posix()}\n" for p in payload]
    (bag / "manifest-sha256.txt").write_text("".join(lines), encoding="utf-8")
    (bag / "bagit.txt").write_text(BAGIT_TXT, encoding="utf-8")
    oxum = f"{sum(p.stat().st_size for p in payload)}.{len(payload)}"
    (bag / "bag-info.txt").write_text(
        f"Bag-Software-Agent: {GENERATOR} {generator_version()}\n"
        f"External-Description: {description}\n"
        f"Payload-Oxum: {oxum}\n",
        encoding="utf-8",
    )
    tags = ["bagit.txt", "bag-info.txt", "manifest-sha256.txt", *sorted(tag_files)]
    (bag / "tagmanifest-sha256.txt").write_text(
        "".join(f"{sha256_of(bag / name)}  {name}\n" for name in sorted(tags)), encoding="utf-8"
    )


def pack(bag: Path, target: Path) -> None:
    """`bag` as `target` (tar.gz) under the top folder `bag.name`, reproducibly."""
    with (
        target.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6) as zipped,
        tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as archive,
    ):
        archive.addfile(_info(bag.name, directory=True))
        for path in sorted(bag.rglob("*")):
            name = f"{bag.name}/{path.relative_to(bag).as_posix()}"
            if path.is_dir():
                archive.addfile(_info(name, directory=True))
            else:
                info = _info(name, directory=False, size=path.stat().st_size)
                with path.open("rb") as handle:
                    archive.addfile(info, handle)


def _info(name: str, directory: bool, size: int = 0) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE if directory else tarfile.REGTYPE
    info.mode = 0o755 if directory else 0o644
    info.size = size
    info.mtime = FIXED_MTIME
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info
