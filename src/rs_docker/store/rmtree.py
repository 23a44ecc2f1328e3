"""The one tree remover: a directory tree removed through directory fds,
never following a symlink.

The same walk as shutil.rmtree's fd-based implementation (_rmtree_safe_fd,
the one its docs call "not vulnerable to symlink attacks"): every entry is
opened or unlinked relative to its parent's fd with O_NOFOLLOW, so a symlink
planted in a container's upper dir is removed, not followed. It is our own
because shutil (which loads bz2, lzma and fnmatch) stays off the path of
`run --rm` (docs/ARCHITECTURE.md, Start-up rules).

Directories we own but may not list or change (overlayfs leaves work/work
mode 000, a rootless unpack keeps a layer's 0555 dirs) are made 0700 on the
way; root never needs it (CAP_DAC_OVERRIDE). Files of ids we are not
(a rootless container's subuids) still raise PermissionError: the caller
retries inside a user namespace (container.create.remove_dir, through
runtime.rootless.run_in_userns).
"""

from __future__ import annotations

import errno
import os

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_PATH needs no permission on the directory itself (open(2)).
_PATH_FLAGS = os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def rmtree(path: str | os.PathLike, *, dir_fd: int | None = None,
           missing_ok: bool = False) -> None:
    """Remove `path` (relative to `dir_fd` if given) and everything under it.
    `path` itself must be a real directory (a symlink there raises OSError,
    ELOOP/ENOTDIR); a missing `path` raises FileNotFoundError unless
    `missing_ok`; an entry that vanishes meanwhile is not an error; any other
    failure raises OSError."""
    try:
        fd = _open_dir(path, dir_fd)
    except FileNotFoundError:
        if missing_ok:
            return
        raise
    _empty_and_remove(fd, path, dir_fd)


def _open_dir(name: str | os.PathLike, dir_fd: int | None) -> int:
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
    except PermissionError:
        _make_listable(name, dir_fd)
        return os.open(name, _DIR_FLAGS, dir_fd=dir_fd)


def _make_listable(name: str | os.PathLike, dir_fd: int | None) -> None:
    # chmod through /proc/self/fd of an O_PATH|O_NOFOLLOW fd: the very
    # directory opened, never where a symlink swapped in would lead (what
    # glibc's fchmodat(AT_SYMLINK_NOFOLLOW) does; fchmod(2) refuses O_PATH fds).
    fd = os.open(name, _PATH_FLAGS, dir_fd=dir_fd)
    try:
        os.chmod(f"/proc/self/fd/{fd}", 0o700)
    finally:
        os.close(fd)


def _clear(dir_fd: int) -> None:
    # List first, then remove: removing while the directory stream is open
    # may make readdir(3) skip entries.
    with os.scandir(dir_fd) as it:
        entries = [(e.name, e.is_dir(follow_symlinks=False)) for e in it]
    writable = False
    for name, is_dir in entries:
        try:
            _remove_at(dir_fd, name, is_dir)
        except FileNotFoundError:
            continue
        except PermissionError:
            if writable:
                raise
            # A directory without write or search permission for us (0555):
            # its entries cannot be unlinked until it has them.
            os.fchmod(dir_fd, 0o700)
            writable = True
            _remove_at(dir_fd, name, is_dir)


def _remove_at(parent_fd: int, name: str, is_dir: bool) -> None:
    if not is_dir:
        os.unlink(name, dir_fd=parent_fd)
        return
    try:
        fd = _open_dir(name, parent_fd)
    except OSError as e:
        if e.errno not in (errno.ENOTDIR, errno.ELOOP):
            raise
        # Replaced by a file or a symlink since it was listed (open(2):
        # O_NOFOLLOW gives ELOOP, O_DIRECTORY ENOTDIR): unlink the name.
        os.unlink(name, dir_fd=parent_fd)
        return
    _empty_and_remove(fd, name, parent_fd)


def _empty_and_remove(fd: int, name: str | os.PathLike, parent_fd: int | None) -> None:
    """Empty the directory open as `fd`, close it, then remove it (`name`
    relative to `parent_fd`)."""
    try:
        _clear(fd)
    finally:
        os.close(fd)
    os.rmdir(name, dir_fd=parent_fd)
