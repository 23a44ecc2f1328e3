"""The bridge that lets a layer unpack while it downloads.

The download thread pushes compressed chunks into a ChunkPipe; the unpack
thread reads them as a file, through the decompressor, through a
HashingReader (the diff_id covers every uncompressed byte) into the tar
extractor. Nothing here knows about registries or stores.
"""

from __future__ import annotations

import io
import queue
import threading

_END = object()


class ChunkPipe(io.RawIOBase):
    """A bounded, one-writer one-reader byte pipe between threads.

    The writer calls feed() for each chunk and finish() exactly once (with
    the exception that stopped it, if any). If the reader stops early it
    calls abandon(), which drains the pipe so the writer never blocks; the
    writer then keeps going (the compressed digest still gets checked)."""

    def __init__(self, depth: int = 32):
        super().__init__()
        self._queue: queue.Queue = queue.Queue(depth)
        self._buf = memoryview(b"")
        self._eof = False
        self._abandoned = threading.Event()

    # -- writer side
    def feed(self, chunk: bytes) -> None:
        if not self._abandoned.is_set():
            self._queue.put(chunk)

    def finish(self, error: BaseException | None = None) -> None:
        self._queue.put(error if error is not None else _END)

    # -- reader side
    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        while not self._buf:
            if self._eof:
                return 0
            item = self._queue.get()
            if item is _END:
                self._eof = True
                return 0
            if isinstance(item, BaseException):
                self._eof = True
                raise OSError(f"download interrupted: {item}")
            self._buf = memoryview(item)
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n

    def abandon(self) -> None:
        """The reader gives up: discard everything until the writer finishes."""
        self._abandoned.set()
        self._buf = memoryview(b"")
        while not self._eof:
            item = self._queue.get()
            if item is _END or isinstance(item, BaseException):
                self._eof = True


class HashingReader(io.RawIOBase):
    """Reads from `inner`, hashing and counting every byte that passes."""

    def __init__(self, inner, hasher):
        super().__init__()
        self._inner = inner
        self.hasher = hasher
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        data = self._inner.read(len(b))
        if not data:
            return 0
        n = len(data)
        b[:n] = data
        self.hasher.update(data)
        self.count += n
        return n

    def drain(self, chunk: int = 1 << 20) -> None:
        """Read to the end: a tar reader stops at the end-of-archive blocks,
        but the digest covers the padding after them too."""
        while self.read(chunk):
            pass
