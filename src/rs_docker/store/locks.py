"""File locks that coordinate concurrent rs-docker processes (and threads).

flock(2) locks belong to an open file description, so two threads that each
call file_lock() exclude each other just like two processes do, and the kernel
drops a lock when its holder dies — a killed pull never leaves a stale lock.

Lock files live in <root>/locks/. The store-wide ones (store.lock,
images.lock) stay. A per-item lock (one blob, one layer) is `transient`: its
holder unlinks the file before it unlocks, so locks/ does not keep one file
per blob ever fetched. Unlinking a lock file others may wait on is safe only
with a check on the acquiring side: a waiter woken on the unlinked inode (or
one that opened the path just before the unlink) holds a lock nobody else
will ever ask for, so after flock() it compares the inode it locked with the
one the path names now, and starts over when they differ or the path is gone
(flock(2): the lock belongs to the open file description, i.e. to the inode
opened, not to the name).
"""

from __future__ import annotations

import fcntl
import os

from rs_docker.context import Context
from rs_docker.errors import StoreError

# What a lock file is made with: nothing in it is for anyone but the store's owner.
LOCK_MODE = 0o600
# Prefixes of the transient per-item lock files (ContentStore.lock, LayerStore.lock).
TRANSIENT_PREFIXES = ("blob-", "layer-")


def file_lock(path: str | os.PathLike, shared: bool = False,
              transient: bool = False) -> FileLock:
    """`with file_lock(path, shared) as fd`: hold flock(LOCK_SH or LOCK_EX)
    on `path` (created if missing) for the duration of the block; fd is the
    lock file's descriptor. The file is opened on entry, not by this call.
    `transient` (exclusive locks only): the file is removed when the block
    ends, and an acquirer never holds a lock on a removed file."""
    if transient and shared:
        raise ValueError("a transient lock must be exclusive: a shared holder "
                         "cannot know it is the last one")
    return FileLock(path, shared, transient)


class FileLock:
    """What file_lock returns. A class rather than @contextmanager: contextlib
    stays off the run path (docs/ARCHITECTURE.md, Start-up rules)."""

    def __init__(self, path: str | os.PathLike, shared: bool = False,
                 transient: bool = False):
        self.path = os.fspath(path)
        self.shared = shared
        self.transient = transient

    def __enter__(self) -> int:
        while True:
            fd = self._open()
            try:
                fcntl.flock(fd, fcntl.LOCK_SH if self.shared else fcntl.LOCK_EX)
                if not self.transient or _still_named(self.path, fd):
                    break
            except BaseException:
                os.close(fd)
                raise
            # Its holder removed it while we waited: lock the file now there.
            os.close(fd)
        self.fd = fd
        return fd

    def _open(self) -> int:
        path = self.path
        try:
            try:
                return os.open(path, _LOCK_FLAGS, LOCK_MODE)
            except FileNotFoundError:
                parent = os.path.dirname(path)
                if not parent:
                    raise
                os.makedirs(parent, 0o700, exist_ok=True)
                return os.open(path, _LOCK_FLAGS, LOCK_MODE)
        except OSError as e:
            raise StoreError(f"open lock {path}: {e.strerror.lower()}") from e

    def __exit__(self, *exc_info) -> None:
        try:
            if self.transient:
                # Before the unlock: whoever gets this inode next sees it unnamed.
                _unlink_quietly(self.path)
        finally:
            os.close(self.fd)  # closing the last descriptor releases the lock


_LOCK_FLAGS = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW


def _still_named(path: str, fd: int) -> bool:
    """Whether `path` still names the file open as `fd`."""
    try:
        st = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    locked = os.fstat(fd)
    return (st.st_ino, st.st_dev) == (locked.st_ino, locked.st_dev)


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError as e:
        raise StoreError(f"remove lock {path}: {e.strerror.lower()}") from e


def try_flock(fd: int) -> bool:
    """Take an exclusive flock on `fd` without waiting; False if someone holds it."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def sweep_transient(locks_dir: str | os.PathLike) -> list[str]:
    """Remove the transient lock files nobody holds: those a killed process
    left, and those of a store from before transient locks. Each is removed
    while flock()ed and still named, as a holder removes its own, so a
    concurrent acquirer retries on a fresh file. Returns the names removed."""
    locks_dir = os.fspath(locks_dir)
    try:
        names = os.listdir(locks_dir)
    except FileNotFoundError:
        return []
    return [n for n in names if n.startswith(TRANSIENT_PREFIXES)
            and _remove_if_free(os.path.join(locks_dir, n))]


def _remove_if_free(path: str) -> bool:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    except OSError as e:
        raise StoreError(f"open lock {path}: {e.strerror.lower()}") from e
    try:
        if not try_flock(fd) or not _still_named(path, fd):
            return False
        _unlink_quietly(path)
        return True
    finally:
        os.close(fd)


def store_lock(ctx: Context, shared: bool = True):
    """The store-wide lock: pulls (and anything that adds blobs or layers
    before an image record points at them) hold it shared; gc.collect holds
    it exclusive, so it never removes what a pull is about to reference."""
    return file_lock(os.path.join(ctx.locks_dir, "store.lock"), shared=shared)
