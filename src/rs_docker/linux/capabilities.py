"""Capability sets and the prctl switches around them.

capget(2)/capset(2) with _LINUX_CAPABILITY_VERSION_3 (two 32-bit words per
set); prctl(2) for the bounding set, the ambient set, KEEPCAPS and
no_new_privs. Masks are Python ints, bit N = capability N.
"""

from __future__ import annotations

import ctypes

from rs_docker.linux.syscalls import call, libc
from rs_docker.values import record

_CAP_VERSION_3 = 0x20080522  # linux/capability.h

PR_SET_KEEPCAPS = 8
PR_CAPBSET_READ = 23
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
PR_GET_NO_NEW_PRIVS = 39
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_RAISE = 2
PR_CAP_AMBIENT_CLEAR_ALL = 4

SYS_capget = 125  # x86_64 syscall numbers (asm/unistd_64.h)
SYS_capset = 126

# Looked up at import, in the runtime before fork: ctypes resolves a libc
# function on its first use (dlsym over every loaded library), work that
# would otherwise fall in the container's PID 1, between fork and exec.
_capget, _capset = libc.capget, libc.capset


class _Header(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _Data(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


# The array type made once at import (before fork): ctypes builds a new
# type on first use, in the container's PID 1 otherwise.
_Data2 = _Data * 2


@record
class CapSets:
    effective: int
    permitted: int
    inheritable: int


def capget(pid: int = 0) -> CapSets:
    """The effective, permitted and inheritable sets of `pid` (0: this thread)."""
    hdr, data = _Header(_CAP_VERSION_3, pid), _Data2()
    call(_capget, ctypes.byref(hdr), data, name="capget")
    return CapSets(*(getattr(data[0], f) | getattr(data[1], f) << 32
                     for f in ("effective", "permitted", "inheritable")))


def capset(sets: CapSets) -> None:
    """Replace this thread's three sets. The kernel refuses (EPERM) a permitted
    set larger than the current one, or an effective set outside permitted."""
    hdr, data = _Header(_CAP_VERSION_3, 0), _Data2()
    for i in (0, 1):
        shift, word = 32 * i, 0xFFFFFFFF
        data[i].effective = (sets.effective >> shift) & word
        data[i].permitted = (sets.permitted >> shift) & word
        data[i].inheritable = (sets.inheritable >> shift) & word
    call(_capset, ctypes.byref(hdr), data, name="capset")


def _prctl(option: int, arg2: int = 0, arg3: int = 0, name: str = "prctl") -> int:
    ul = ctypes.c_ulong
    return call(libc.prctl, ctypes.c_int(option), ul(arg2), ul(arg3), ul(0), ul(0), name=name)


def bounding_has(cap: int) -> bool:
    """PR_CAPBSET_READ: is `cap` in this thread's bounding set?"""
    return _prctl(PR_CAPBSET_READ, cap, name=f"prctl PR_CAPBSET_READ {cap}") == 1


def bounding_set(status: str = "/proc/self/status") -> int:
    """This thread's bounding set as a mask (CapBnd, proc(5)): one read
    instead of a PR_CAPBSET_READ per capability, on every start."""
    with open(status) as f:
        for line in f:
            if line.startswith("CapBnd:"):
                return int(line.split()[1], 16)
    raise OSError(2, f"{status}: no CapBnd line")


def bounding_drop(cap: int) -> None:
    """PR_CAPBSET_DROP: needs CAP_SETPCAP in the effective set."""
    _prctl(PR_CAPBSET_DROP, cap, name=f"prctl PR_CAPBSET_DROP {cap}")


def set_keepcaps(on: bool) -> None:
    """PR_SET_KEEPCAPS: keep the permitted set across setuid() from 0 to non-0
    (capabilities(7) "Effect of user ID changes on capabilities")."""
    _prctl(PR_SET_KEEPCAPS, 1 if on else 0, name="prctl PR_SET_KEEPCAPS")


def ambient_clear() -> None:
    _prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, name="prctl PR_CAP_AMBIENT_CLEAR_ALL")


def ambient_raise(cap: int) -> None:
    """Needs `cap` in both permitted and inheritable (prctl(2))."""
    _prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap,
           name=f"prctl PR_CAP_AMBIENT_RAISE {cap}")


def set_no_new_privs() -> None:
    _prctl(PR_SET_NO_NEW_PRIVS, 1, name="prctl PR_SET_NO_NEW_PRIVS")


def last_cap(proc: str = "/proc/sys/kernel/cap_last_cap") -> int:
    """The highest capability number this kernel knows."""
    with open(proc) as f:
        return int(f.read())
