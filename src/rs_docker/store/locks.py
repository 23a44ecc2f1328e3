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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rs_docker.context import Context
from rs_docker.errors import StoreError


@contextmanager
def file_lock(path: str | os.PathLike, shared: bool = False) -> Iterator[int]:
    """Hold flock(LOCK_SH or LOCK_EX) on `path` (created if missing) for the
    duration of the block; yields the lock file's descriptor."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
    except OSError as e:
        raise StoreError(f"open lock {path}: {e.strerror.lower()}") from e
    try:
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield fd
    finally:
        os.close(fd)  # closing the last descriptor releases the lock


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
    return file_lock(Path(ctx.locks_dir) / "store.lock", shared=shared)
