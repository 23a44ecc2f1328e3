"""The store's file helpers: atomic writes and the temp entries they are
built from, plain reads and writes, fsync of a directory.

Everything that becomes visible in the store is first built under tmp/ and
then rename(2)d into place (DESIGN.md "Storage"; containerd
plugins/content/local/writer.go::Commit does the same). Each temp entry is
flock()ed by the process building it for as long as it lives, so
`sweep_stale()` can tell an abandoned entry (its builder was killed: the
kernel dropped the lock) from one in progress, without trusting pids.
A container's small files (its record, its name) are replaced through a
temp file beside them instead (replace_file): cheaper, and their directory
holds nothing half-written a reader would take for one.

On every `run`'s path (container.state): files go through os.open and
os.read/os.write (open() in text mode costs three more syscalls and its
buffer objects, on seven files a run).
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat

from rs_docker import jsonio
from rs_docker.errors import StoreError


def store_error(action: str, path: str | os.PathLike, e: OSError) -> StoreError:
    """`<action> <path>: <strerror>`, the one-line message for a failed store call."""
    return StoreError(f"{action} {path}: {(e.strerror or str(e)).lower()}")


def fsync_dir(path: str | os.PathLike) -> None:
    """Make a rename or unlink in `path` durable (rename(2) alone is not: see
    fsync(2), "fsync() on a file descriptor for the directory is also needed")."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_all(fd: int, data: bytes) -> None:
    """Write every byte of `data` to `fd` (write(2) may write less)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def write_file(path: str, data: str | bytes, durable: bool = False, mode: int = 0o600) -> None:
    """Create (or truncate) `path` with `mode` (less the umask; an existing
    file keeps its own), holding `data` (str: UTF-8); `durable` fsyncs it.
    0600 by default: records hold the values of `-e` (store.modes)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, mode)
    try:
        write_all(fd, data.encode() if isinstance(data, str) else data)
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)


def read_file(path: str) -> bytes:
    """The bytes of `path`."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
    finally:
        os.close(fd)
    return b"".join(chunks)


def read_json(path: str):
    """The JSON value in `path` (rs_docker.jsonio: `import json` imports re);
    ValueError when it is not JSON."""
    return jsonio.loads(read_file(path))


def replace_file(path: str, data: str | bytes, durable: bool = True,
                 exists: bool = False) -> None:
    """Replace `path` atomically through a temp file beside it and rename(2):
    a reader sees the old or the new content. `durable` adds the fsync that
    makes it survive a crash of the machine.

    `exists` (the caller has just read `path`): swap the two files with
    renameat2(RENAME_EXCHANGE), then unlink the old one. Readers see the
    same; but ext4 (auto_da_alloc) makes a rename(2) over an existing file
    allocate the new file's blocks and start their writeback at once, where
    the exchange leaves them delayed (the running record of every run)."""
    head, name = os.path.split(path)
    tmp = os.path.join(head, f".{name}.{os.getpid()}.tmp")
    write_file(tmp, data, durable)
    if exists:
        from rs_docker.linux import syscalls

        try:
            syscalls.rename_exchange(tmp, path)
        except OSError:
            pass  # gone meanwhile, or a filesystem without it: rename(2) below
        else:
            os.unlink(tmp)  # now the old record
            return
    os.replace(tmp, path)


def _new_name(tmp_dir: str, prefix: str) -> str:
    # os.urandom is what secrets.token_hex reads; importing secrets (hmac,
    # hashlib's OpenSSL, random) costs a few ms on every `run`.
    return os.path.join(tmp_dir, f"{prefix}-{os.urandom(8).hex()}")


def _locked(path: str, fd: int) -> bool:
    """Lock a just-created temp entry, then check that a concurrent sweep did
    not remove it between creation and lock (the sweeper removes only while
    holding the lock, so after we hold it the entry is ours or gone)."""
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        return os.stat(path, follow_symlinks=False).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False


def _create_locked(tmp_dir: str | os.PathLike, prefix: str, create) -> tuple[str, int]:
    """A new entry under tmp_dir made by create(path) -> fd, flocked, and
    still ours (a concurrent sweep may remove it before we hold the lock:
    then make another)."""
    tmp_dir = os.fspath(tmp_dir)
    while True:
        os.makedirs(tmp_dir, 0o700, exist_ok=True)
        path = _new_name(tmp_dir, prefix)
        try:
            fd = create(path)
        except OSError as e:
            raise store_error("create", path, e) from e
        if _locked(path, fd):
            return path, fd
        os.close(fd)


def _new_file(path: str) -> int:
    # 0600: blobs and records are the store owner's (store.modes).
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)


def _new_dir(path: str) -> int:
    os.mkdir(path, 0o700)
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    os.fchmod(fd, 0o755)  # whatever the umask: it becomes a layer's "/"
    return fd


class _TempEntry:
    """`with` block of one temp entry: created, flocked and yielded as
    (path, fd) on entry; removed (unless renamed away) and closed on exit,
    whatever the block raised. A class rather than @contextmanager: contextlib
    stays off the run path (docs/ARCHITECTURE.md, Start-up rules)."""

    def __init__(self, tmp_dir: str | os.PathLike, prefix: str, create):
        self._args = (tmp_dir, prefix, create)

    def __enter__(self) -> tuple[str, int]:
        self.path, self.fd = _create_locked(*self._args)
        return self.path, self.fd

    def __exit__(self, *exc_info) -> None:
        try:
            _discard(self.path)
        finally:
            os.close(self.fd)


def temp_file(tmp_dir: str | os.PathLike, prefix: str) -> _TempEntry:
    """`with temp_file(tmp_dir, prefix) as (path, fd)`: a new, locked, empty
    file (mode 0600) under tmp_dir, open for writing. The caller renames it away or it is
    removed on exit."""
    return _TempEntry(tmp_dir, prefix, _new_file)


def temp_dir(tmp_dir: str | os.PathLike, prefix: str) -> _TempEntry:
    """`with temp_dir(tmp_dir, prefix) as (path, fd)`: a new, locked, empty
    directory (mode 0755) under tmp_dir, fd its open descriptor; removed on
    exit unless the caller renamed it away."""
    return _TempEntry(tmp_dir, prefix, _new_dir)


def _discard(path: str) -> None:
    try:
        st = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return  # renamed into place
    if stat.S_ISDIR(st.st_mode):
        from rs_docker.store.rmtree import rmtree

        rmtree(path, missing_ok=True)
    else:
        os.unlink(path)


def write_atomic(path: str | os.PathLike, data: bytes, tmp_dir: str | os.PathLike,
                 mode: int = 0o600) -> None:
    """Replace `path` with `data` so that readers see the old or the new
    content, never a part: temp file, fsync, rename, fsync the directory."""
    with temp_file(tmp_dir, "write") as (tmp, fd):
        try:
            os.fchmod(fd, mode)
            write_all(fd, data)
            os.fsync(fd)
            os.rename(tmp, path)
            fsync_dir(os.path.dirname(os.path.abspath(path)))
        except OSError as e:
            raise store_error("write", path, e) from e


def sweep_stale(tmp_dir: str | os.PathLike) -> list[str]:
    """Remove every entry of tmp_dir whose builder is gone (its flock is free).
    Returns the names removed."""
    tmp_dir = os.fspath(tmp_dir)
    removed = []
    try:
        names = os.listdir(tmp_dir)
    except FileNotFoundError:
        return removed
    for name in names:
        if _remove_if_stale(os.path.join(tmp_dir, name)):
            removed.append(name)
    return removed


def _remove_if_stale(path: str) -> bool:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError as e:
        if e.errno == errno.ENOENT:
            return False
        if e.errno != errno.ELOOP:
            raise store_error("open", path, e) from e
        os.unlink(path)  # we never make symlinks in tmp/: not ours, just drop it
        return True
    from rs_docker.store.locks import try_flock

    try:
        if not try_flock(fd):
            return False
        _discard(path)
        return True
    except OSError as e:
        raise store_error("remove", path, e) from e
    finally:
        os.close(fd)
