"""The writing half of Docker's json-file log format (daemon/logger/
jsonfilelog): one JSON object per line, {"log": "text\\n", "stream":
"stdout"|"stderr", "time": RFC 3339 with nanoseconds, UTC}. A line longer
than 16 KiB is cut into entries without the trailing newline, as Docker
does (daemon/logger/copier.go: bufSize 16K).

It runs in the container monitor's waiting program (waiter.py), which must
stay small: only os, time and the C half of json (`_json`), not json
itself (which imports re). logs.py holds the reader and re-exports these.

The log lives on the store's filesystem, which a container can fill (its
writable layer is there too): an entry the filesystem refuses is dropped
whole and counted, never fatal to the monitor, which must go on
supervising the container and record its exit. Docker's json-file logger
likewise drops a message it cannot write and goes on.
"""

from __future__ import annotations

import errno
import os
import time

from rs_docker.cpython import encode_basestring

MAX_LINE = 16 * 1024
# Write errors that mean "no room, or the device failed", not a bug of ours:
# the entry is dropped. EFBIG: past RLIMIT_FSIZE (SIGXFSZ is ignored).
DROPPED = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EFBIG})
# Go's encoding/json escapes these (HTML safety and JavaScript line terminators).
_GO_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028",
               "\u2029": "\\u2029"}


def rfc3339_nano(ns: int) -> str:
    """Go's time.RFC3339Nano in UTC, trailing zeros of the fraction dropped."""
    secs, frac = divmod(ns, 1_000_000_000)
    head = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))
    digits = f"{frac:09d}".rstrip("0")
    return f"{head}.{digits}Z" if digits else f"{head}Z"


def encode(text: str, stream: str, ns: int) -> bytes:
    """One log line; the same bytes as json.dumps({"log", "stream", "time"},
    separators=(",", ":"), ensure_ascii=False) plus Go's extra escapes."""
    entry = (f'{{"log":{encode_basestring(text)},"stream":{encode_basestring(stream)},'
             f'"time":{encode_basestring(rfc3339_nano(ns))}}}')
    for char, esc in _GO_ESCAPES.items():
        if char in entry:
            entry = entry.replace(char, esc)
    return (entry + "\n").encode()


def rotate_files(path: str, keep: int) -> None:
    """PATH.N-1 -> PATH.N ... PATH -> PATH.1, keeping `keep` files in all."""
    if keep <= 1:
        os.unlink(path)
        return
    for n in range(keep - 1, 0, -1):
        older = f"{path}.{n - 1}" if n > 1 else path
        try:
            os.rename(older, f"{path}.{n}")
        except FileNotFoundError:
            pass


class LogWriter:
    """Cuts each stream's bytes into lines and appends entries to the log.
    `dropped_entries` / `dropped_bytes`: what the filesystem refused."""

    def __init__(self, fd: int, clock=time.time_ns, rotate: tuple[str, int, int] | None = None):
        """rotate: (the log's path, max bytes, files kept), as --log-opt
        max-size/max-file: past max bytes the log is renamed PATH.1 (PATH.1
        to PATH.2...; the oldest beyond the count goes) and a new one begun."""
        self.fd = fd
        self.clock = clock
        self.rotate = rotate
        self.size = os.fstat(fd).st_size if rotate else 0
        self.pending: dict[str, bytes] = {"stdout": b"", "stderr": b""}
        self.dropped_entries = 0
        self.dropped_bytes = 0

    def feed(self, stream: str, data: bytes) -> None:
        buf = self.pending[stream] + data
        while True:
            cut = buf.find(b"\n", 0, MAX_LINE)
            if cut < 0 and len(buf) < MAX_LINE:
                break
            end = cut + 1 if cut >= 0 else MAX_LINE
            self._emit(stream, buf[:end])
            buf = buf[end:]
        self.pending[stream] = buf

    def flush(self, stream: str) -> None:
        """End of the stream: a last line without a newline is kept as is."""
        if self.pending[stream]:
            self._emit(stream, self.pending[stream])
            self.pending[stream] = b""

    def _emit(self, stream: str, line: bytes) -> None:
        # Go's json replaces invalid UTF-8 with U+FFFD, as does "replace".
        self._append(encode(line.decode("utf-8", "replace"), stream, self.clock()))

    def _rotate(self) -> None:
        path, _size, keep = self.rotate
        try:
            rotate_files(path, keep)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
        except OSError:
            return  # no room to start a new file: go on appending to this one
        os.dup2(fd, self.fd, inheritable=False)
        os.close(fd)
        self.size = 0

    def _append(self, entry: bytes) -> None:
        """Append `entry` whole, or drop it whole: a short write (the
        filesystem filled up within it) is cut off again, so the log stays
        one complete JSON object per line."""
        done = 0
        try:
            while done < len(entry):
                done += os.write(self.fd, entry[done:])
            if self.rotate is not None:
                self.size += done
                if self.size >= self.rotate[1]:
                    self._rotate()
            return
        except OSError as e:
            if e.errno not in DROPPED:
                raise
        if done:
            try:
                os.ftruncate(self.fd, os.lseek(self.fd, 0, os.SEEK_END) - done)
            except OSError:
                pass  # the reader skips a line it cannot parse
        self.dropped_entries += 1
        self.dropped_bytes += len(entry)
