"""linux.maskedPaths and linux.readonlyPaths, inside the container's mount
namespace after pivot_root (runc libcontainer/rootfs_linux.go maskPath,
readonlyPath).

Masking a file binds /dev/null over it; runc CVE-2025-52565 showed that a
container can swap its /dev/null for a symlink or another file before this
step, so the source is opened first, checked to be the char device 1:3, and
mounted through its /proc/self/fd link. A masked directory gets an empty
read-only tmpfs. A path that does not exist is skipped.
"""

from __future__ import annotations

import errno
import os
import stat

from rs_docker.errors import RuntimeFailure
from rs_docker.linux import constants as C
from rs_docker.linux.syscalls import mount

# statvfs f_flag bits carried over on the read-only remount: the kernel
# refuses (EPERM) to clear a locked nosuid/nodev/noexec on remount.
_KEEP = C.MS_NOSUID | C.MS_NODEV | C.MS_NOEXEC


def _inside(root: str, path: str) -> str:
    return os.path.join(root, path.lstrip("/"))


def open_dev_null(root: str = "/") -> int:
    """An O_PATH fd of the container's /dev/null, refused unless it is the
    real null device (char 1:3)."""
    path = _inside(root, "/dev/null")
    try:
        fd = os.open(path, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as e:
        raise RuntimeFailure(f"masking paths: open {path}: {e.strerror.lower()}") from None
    st = os.fstat(fd)
    if not stat.S_ISCHR(st.st_mode) or st.st_rdev != os.makedev(1, 3):
        os.close(fd)
        raise RuntimeFailure(f"masking paths: {path} is not the null device (char 1:3)")
    return fd


def mask_paths(paths: list[str], root: str = "/") -> None:
    if not paths:
        return
    null_fd = open_dev_null(root)
    try:
        for path in paths:
            _mask(_inside(root, path), f"/proc/self/fd/{null_fd}")
    finally:
        os.close(null_fd)


def _mask(target: str, null_source: str) -> None:
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        return
    try:
        if stat.S_ISDIR(st.st_mode):
            mount("tmpfs", target, "tmpfs", C.MS_RDONLY)
        else:
            mount(null_source, target, None, C.MS_BIND)
    except OSError as e:
        if e.errno != errno.ENOENT:
            raise RuntimeFailure(f"masking {target}: {e.strerror}") from None


def readonly_paths(paths: list[str], root: str = "/") -> None:
    for path in paths or []:
        target = _inside(root, path)
        try:
            mount(target, target, None, C.MS_BIND | C.MS_REC)
        except FileNotFoundError:
            continue
        except OSError as e:
            raise RuntimeFailure(f"making {target} read-only: {e.strerror}") from None
        try:
            keep = os.statvfs(target).f_flag & _KEEP
            mount(target, target, None, keep | C.MS_BIND | C.MS_REMOUNT | C.MS_RDONLY)
        except OSError as e:
            raise RuntimeFailure(f"making {target} read-only: {e.strerror}") from None
