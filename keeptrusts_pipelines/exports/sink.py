"""A file written and hashed by a background thread.

Serialising the next batch then overlaps writing and hashing this one, and the artifact's
sha256 is known when it closes, without reading the file again.
"""

import hashlib
import queue
import threading
from pathlib import Path

# Chunks waiting to be written: bounds the memory a slow disk can make the export hold.
PENDING_CHUNKS = 4


class HashingSink:
    """Binary file-like object: `write` hands bytes to the writer thread; `close` joins it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.digest = hashlib.sha256()
        self.position = 0
        self._chunks: queue.Queue[bytes | None] = queue.Queue(PENDING_CHUNKS)
        self._error: BaseException | None = None
        self._handle = path.open("wb")
        self._thread = threading.Thread(target=self._drain, name=f"write {path.name}", daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        while (chunk := self._chunks.get()) is not None:
            if self._error is None:
                try:
                    self._handle.write(chunk)
                    self.digest.update(chunk)  # releases the GIL for large chunks
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
        return self._handle.closed

    def close(self) -> None:
        """Wait for every chunk, then close; raises what the writer thread met."""
        if self._handle.closed:
            return
        self._chunks.put(None)
        self._thread.join()
        self._handle.close()
        self._raise_pending()

    def sha256(self) -> str:
        return self.digest.hexdigest()
