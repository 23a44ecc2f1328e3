"""Directories inside a layer root, opened as if the root were "/".

Every directory an unpack writes into is reached from the root's descriptor
one component at a time with openat(O_NOFOLLOW | O_DIRECTORY), so no path is
ever handed whole to the kernel and nothing can lead outside the root. A
symlink met on the way (one the same layer made, e.g. `link -> /` and then
`link/etc/passwd`) is followed the way chroot(2) would: an absolute target
restarts at the layer root and ".." never climbs above it — the semantics of
containerd's fs.RootPath and of Docker's chrootarchive, built on descriptors.

Descriptors are cached per path (most unpacked entries share their parent
with the previous one), so a typical entry costs no lookup syscalls at all.
The cache is only valid while the directories it names stay put: anything
that removes a directory or a symlink must call invalidate().
"""

from __future__ import annotations

import errno
import os
import stat
from collections import OrderedDict

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# Symlinks followed while resolving one path before giving up with ELOOP:
# Linux's own limit (path_resolution(7)).
MAX_SYMLINKS = 40
# Open directory descriptors kept; well below the usual RLIMIT_NOFILE of 1024.
MAX_CACHED = 64
IMPLIED_DIR_MODE = 0o755  # parents a tar does not list, as Docker creates them


class ConfinedTree:
    """A layer root; dir(path) gives a descriptor of a directory inside it."""

    def __init__(self, root_fd: int):
        self.root_fd = root_fd
        self._fds: OrderedDict[str, int] = OrderedDict()

    def dir(self, path: str, create: bool = True) -> int:
        """Descriptor of the directory at `path` ("a/b", "" for the root),
        creating missing directories when `create`. Owned by the tree: valid
        until the next dir(), invalidate() or close() call (dup() to keep).
        OSError (ENOENT, ENOTDIR, ELOOP, ...) when there is no such directory."""
        if not path:
            return self.root_fd
        fd = self._fds.get(path)
        if fd is not None:
            self._fds.move_to_end(path)
            return fd
        parent, _, name = path.rpartition("/")
        fd = self._open_child(self.dir(parent, create), name, create)
        if fd is None:
            fd = self._resolve(path, create)
        self._remember(path, fd)
        return fd

    def invalidate(self) -> None:
        """Forget every cached descriptor (a directory or symlink was removed)."""
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()

    close = invalidate

    def _remember(self, path: str, fd: int) -> None:
        self._fds[path] = fd
        # Evict the least recently used; the newest entries (this path and the
        # parent a caller may still hold) always stay.
        while len(self._fds) > MAX_CACHED:
            os.close(self._fds.popitem(last=False)[1])

    @staticmethod
    def _open_child(pfd: int, name: str, create: bool) -> int | None:
        """Open a real directory `name` in pfd; None if it is a symlink or not
        a directory (the slow path decides which)."""
        try:
            return os.open(name, _DIR_FLAGS, dir_fd=pfd)
        except FileNotFoundError:
            if not create:
                raise
            os.mkdir(name, IMPLIED_DIR_MODE, dir_fd=pfd)
            return os.open(name, _DIR_FLAGS, dir_fd=pfd)
        except OSError as e:
            if e.errno in (errno.ELOOP, errno.ENOTDIR):
                return None
            raise

    def _resolve(self, path: str, create: bool) -> int:
        """The slow path, for paths through symlinks: walk component by
        component, expanding each symlink in place with chroot semantics."""
        todo = path.split("/")[::-1]
        real: list[str] = []  # components verified to be real directories
        links = 0
        while todo:
            c = todo.pop()
            if c in ("", "."):
                continue
            if c == "..":
                if real:
                    real.pop()
                continue
            pfd = self.dir("/".join(real), create)
            try:
                mode = os.stat(c, dir_fd=pfd, follow_symlinks=False).st_mode
            except FileNotFoundError:
                if not create:
                    raise
                os.mkdir(c, IMPLIED_DIR_MODE, dir_fd=pfd)
                real.append(c)
                continue
            if stat.S_ISLNK(mode):
                links += 1
                if links > MAX_SYMLINKS:
                    raise OSError(errno.ELOOP, "too many levels of symbolic links")
                target = os.readlink(c, dir_fd=pfd)
                if target.startswith("/"):
                    real = []
                todo.extend(target.split("/")[::-1])
            elif stat.S_ISDIR(mode):
                real.append(c)
            else:
                raise OSError(errno.ENOTDIR, "not a directory")
        # The caller caches the result under `path`; the canonical path keeps
        # its own descriptor, so hand over a duplicate.
        return os.dup(self.dir("/".join(real), create))
