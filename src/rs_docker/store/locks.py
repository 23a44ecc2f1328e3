"""File locks that coordinate concurrent rs-docker processes (and threads).

flock(2) locks belong to an open file description, so two threads that each
call file_lock() exclude each other just like two processes do, and the kernel
drops a lock when its holder dies — a killed pull never leaves a stale lock.
Lock files live in <root>/locks/ and are never deleted: unlinking a lock file
while someone waits on it would let a third process lock a fresh inode.
"""

from __future__ import annotations

import fcntl
import os

from rs_docker.context import Context
from rs_docker.errors import StoreError


def file_lock(path: str | os.PathLike, shared: bool = False) -> FileLock:
    """`with file_lock(path, shared) as fd`: hold flock(LOCK_SH or LOCK_EX)
    on `path` (created if missing) for the duration of the block; fd is the
    lock file's descriptor. The file is opened on entry, not by this call."""
    return FileLock(path, shared)


class FileLock:
    """What file_lock returns. A class rather than @contextmanager: `import
    contextlib` costs ~1 ms of every `run` (issue 6)."""

    def __init__(self, path: str | os.PathLike, shared: bool = False):
        self.path = os.fspath(path)
        self.shared = shared

    def __enter__(self) -> int:
        path = self.path
        try:
            parent = os.path.dirname(path)
            if parent:
                os.makedirs(parent, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
        except OSError as e:
            raise StoreError(f"open lock {path}: {e.strerror.lower()}") from e
        try:
            fcntl.flock(fd, fcntl.LOCK_SH if self.shared else fcntl.LOCK_EX)
        except BaseException:
            os.close(fd)
            raise
        self.fd = fd
        return fd

    def __exit__(self, *exc_info) -> None:
        os.close(self.fd)  # closing the last descriptor releases the lock


def try_flock(fd: int) -> bool:
    """Take an exclusive flock on `fd` without waiting; False if someone holds it."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def store_lock(ctx: Context, shared: bool = True):
    """The store-wide lock: pulls (and anything that adds blobs or layers
    before an image record points at them) hold it shared; gc.collect holds
    it exclusive, so it never removes what a pull is about to reference."""
    return file_lock(os.path.join(ctx.locks_dir, "store.lock"), shared=shared)
