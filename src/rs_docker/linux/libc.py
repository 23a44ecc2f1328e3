"""The C library, loaded once, and the one way a failed call becomes OSError.

Every module of linux/ calls libc through `call()` so that each failure
names the call and the path, e.g. `pivot_root /x/rootfs: invalid argument`.
"""

from __future__ import annotations

import ctypes
import os

libc = ctypes.CDLL(None, use_errno=True)


def call(fn, *args, name: str, path: str | None = None) -> int:
    """Call a libc function; raise OSError(errno, "name path: strerror") on -1."""
    ret = fn(*args)
    if ret == -1:
        err = ctypes.get_errno()
        where = f"{name} {path}" if path else name
        raise OSError(err, f"{where}: {os.strerror(err).lower()}")
    return ret


def encode(path: str | os.PathLike | None) -> bytes | None:
    return None if path is None else os.fsencode(path)
