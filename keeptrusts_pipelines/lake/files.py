"""Atomic file writes and content hashes: a reader sees the old file or the new one, never half."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

HASH_CHUNK = 1 << 20


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def atomic_path(final: Path) -> AbstractContextManager[Path]:
    """A temporary path beside `final`, renamed over it once the block succeeds."""
    return _staged(final, os.replace)


def created_once(final: Path) -> AbstractContextManager[Path]:
    """As `atomic_path`, but `final` is never replaced: FileExistsError if it exists by then
    (a link, unlike a rename, fails on an existing name)."""
    return _staged(final, os.link)


@contextmanager
def _staged(final: Path, put: Callable[[Path, Path], None]) -> Iterator[Path]:
    """A temporary file beside `final`, synced and `put` in place once the block succeeds."""
    final.parent.mkdir(parents=True, exist_ok=True)
    descriptor, name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    os.close(descriptor)
    temporary = Path(name)
    try:
        yield temporary
        with temporary.open("rb") as handle:
            os.fsync(handle.fileno())
        put(temporary, final)
    finally:
        temporary.unlink(missing_ok=True)


def write_atomically(final: Path, write: Callable[[Path], None]) -> None:
    with atomic_path(final) as temporary:
        write(temporary)
