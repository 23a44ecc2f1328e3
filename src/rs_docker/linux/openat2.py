"""openat2(2) (Linux 5.6+): open a path as if a directory were "/".

With RESOLVE_IN_ROOT the kernel resolves every component, symlinks and
".." included, as if the process had chroot(2)ed into `dirfd`: an absolute
symlink restarts at `dirfd`, ".." never climbs above it. The check is made
inside the lookup itself, so a symlink swapped in by someone else between
two calls cannot lead outside (the CVE-2018-15664 race that a check-then-use
resolver in user space loses). RESOLVE_NO_MAGICLINKS refuses /proc's
magic links (/proc/self/root, /proc/PID/fd/N), which would jump anywhere.
"""

from __future__ import annotations

import ctypes
import os

from rs_docker.linux.syscalls import call, libc

# <linux/openat2.h>
RESOLVE_NO_XDEV = 0x01
RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_NO_SYMLINKS = 0x04
RESOLVE_BENEATH = 0x08
RESOLVE_IN_ROOT = 0x10
O_PATH = 0o10000000

# The same number on every architecture (the unified table since 5.1).
_SYS_OPENAT2 = 437


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64),
                ("resolve", ctypes.c_uint64)]


def openat2(dirfd: int, path: str, flags: int, mode: int = 0,
            resolve: int = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) -> int:
    """A new descriptor of `path` looked up from `dirfd` under `resolve`
    (default: inside it as a root, no magic links). OSError naming the call
    and the path on failure; ENOSYS on a kernel older than 5.6."""
    how = _OpenHow(flags | os.O_CLOEXEC, mode, resolve)
    return call(libc.syscall, ctypes.c_long(_SYS_OPENAT2), ctypes.c_int(dirfd),
                ctypes.c_char_p(os.fsencode(path)), ctypes.byref(how),
                ctypes.c_size_t(ctypes.sizeof(how)), name="openat2", path=path)

