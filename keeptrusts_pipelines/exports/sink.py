"""Files written by a background thread: hashed as they are written, or deflated as they are.

Serialising the next batch then overlaps writing this one (hashing and deflating release the
GIL), and the file's sha256, or its zip member, is ready when it closes, without reading the
file again.
"""

import hashlib
import queue
import threading
from collections.abc import Callable
from pathlib import Path

from keeptrusts_pipelines.exports.zip_members import MemberWriter

# Chunks waiting to be written: bounds the memory a slow disk can make the export hold.
PENDING_CHUNKS = 4


class ThreadedSink:
    """Binary file-like object: `write` hands bytes to a writer thread, which passes them in
    order to `_consume`; `close` waits for it and raises what it met."""

    def __init__(self, name: str) -> None:
        self.position = 0
        self._chunks: queue.Queue[bytes | None] = queue.Queue(PENDING_CHUNKS)
        self._error: BaseException | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._drain, name=f"write {name}", daemon=True)
        self._thread.start()

    def _consume(self, chunk: bytes) -> None:
        raise NotImplementedError

    def _finish(self) -> None:
        """After the last chunk, in the caller's thread."""

    def _drain(self) -> None:
        while (chunk := self._chunks.get()) is not None:
            if self._error is None:
                try:
                    self._consume(chunk)
                except BaseException as error:
                    self._error = error

    def _raise_pending(self) -> None:
        if self._error is not None:
            raise self._error

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self._raise_pending()
        chunk = bytes(data)
        self._chunks.put(chunk)
        self.position += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self.position

    def writable(self) -> bool:
        return True

    def flush(self) -> None:
        self._raise_pending()

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Wait for every chunk, then close; raises what the writer thread met."""
        if self._closed:
            return
        self._chunks.put(None)
        self._thread.join()
        self._closed = True
        try:
            self._finish()
        finally:
            self._raise_pending()  # the writer thread's error first: it came first


class HashingSink(ThreadedSink):
    """A file and its sha256. `follow` tells a reader how far the file is written, so it can
    read the file while it grows."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.digest = hashlib.sha256()
        # Unbuffered: what the thread has written is in the file for a follower to read.
        self._handle = path.open("wb", buffering=0)
        self._in_file = 0
        self._follower: Callable[[int], None] | None = None
        super().__init__(path.name)

    def _consume(self, chunk: bytes) -> None:
        view = memoryview(chunk)
        while view:
            view = view[self._handle.write(view) :]
        self.digest.update(chunk)  # releases the GIL for large chunks
        self._in_file += len(chunk)
        follower = self._follower
        if follower is not None:
            follower(self._in_file)

    def follow(self, advance: Callable[[int], None]) -> None:
        """Call `advance(size)` from now on with the bytes in the file after each write."""
        self._follower = advance
        advance(self._in_file)

    def _finish(self) -> None:
        self._handle.close()

    def sha256(self) -> str:
        return self.digest.hexdigest()


class DeflatingSink(ThreadedSink):
    """A member of a zip, deflated by the writer thread as bytes arrive."""

    def __init__(self, member: MemberWriter) -> None:
        self._member = member
        super().__init__(member.name)

    def _consume(self, chunk: bytes) -> None:
        self._member.write(chunk)

    def _finish(self) -> None:
        self._member.close()
