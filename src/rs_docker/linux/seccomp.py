"""libseccomp (libseccomp.so.2) through ctypes.

libseccomp returns a negative errno instead of setting errno, so failures
are turned into OSError here, naming the call (seccomp_rule_add(3)).
Constants from seccomp.h of libseccomp 2.5.
"""

from __future__ import annotations

import ctypes
import errno as _errno
import os
import sys

_lib = ctypes.CDLL("libseccomp.so.2", use_errno=True)
_bound = False  # argtypes/restype set: on first use, not at import (see _bind)


def _bind() -> None:
    """Declare the prototypes the filter builder calls. A `run` whose
    compiled filter is cached only asks version(), so it makes none of
    these ctypes declarations (runtime/security/seccomp_cache.py)."""
    global _bound, ArgCmp
    if _bound:
        return

    class ArgCmp(ctypes.Structure):
        """struct scmp_arg_cmp."""
        _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int),
                    ("datum_a", ctypes.c_uint64), ("datum_b", ctypes.c_uint64)]

    _lib.seccomp_init.restype = ctypes.c_void_p
    _lib.seccomp_init.argtypes = [ctypes.c_uint32]
    _lib.seccomp_release.argtypes = [ctypes.c_void_p]
    _lib.seccomp_arch_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
    _lib.seccomp_arch_resolve_name.restype = ctypes.c_uint32
    _lib.seccomp_arch_resolve_name.argtypes = [ctypes.c_char_p]
    _lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    _lib.seccomp_attr_set.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_uint32]
    _lib.seccomp_export_bpf.argtypes = [ctypes.c_void_p, ctypes.c_int]
    _lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int,
                                            ctypes.c_uint, ctypes.POINTER(ArgCmp)]
    _bound = True


ACT_KILL_PROCESS = 0x80000000
ACT_KILL_THREAD = 0x00000000
ACT_TRAP = 0x00030000
ACT_ERRNO = 0x00050000       # | errno
ACT_TRACE = 0x7FF00000       # | message
ACT_LOG = 0x7FFC0000
ACT_ALLOW = 0x7FFF0000
ACT_NOTIFY = 0x7FC00000

# enum scmp_compare
CMP = {"SCMP_CMP_NE": 1, "SCMP_CMP_LT": 2, "SCMP_CMP_LE": 3, "SCMP_CMP_EQ": 4,
       "SCMP_CMP_GE": 5, "SCMP_CMP_GT": 6, "SCMP_CMP_MASKED_EQ": 7}

FLTATR_CTL_NNP = 3  # enum scmp_filter_attr: set no_new_privs on load (default on)
FLTATR_CTL_OPTIMIZE = 8  # enum scmp_filter_attr (libseccomp 2.5): 1 priority, 2 binary tree

NR_SCMP_ERROR = -1  # __NR_SCMP_ERROR: unknown syscall name


def _check(ret: int, name: str) -> int:
    if ret < 0:
        raise OSError(-ret, f"{name}: {os.strerror(-ret).lower()}")
    return ret


def syscall_number(name: str) -> int:
    """The native syscall number of `name`; a negative pseudo number for calls
    that exist only on another architecture of the filter (libseccomp maps
    them); NR_SCMP_ERROR when libseccomp has never heard of it."""
    _bind()
    return _lib.seccomp_syscall_resolve_name(name.encode())


def version() -> str:
    """The loaded libseccomp's version, "2.5.4" (seccomp_version(3))."""
    get = _lib.seccomp_version
    get.restype = ctypes.c_void_p  # const struct scmp_version *: three unsigned ints
    raw = ctypes.string_at(get(), 3 * ctypes.sizeof(ctypes.c_uint))
    n = ctypes.sizeof(ctypes.c_uint)
    major, minor, micro = (int.from_bytes(raw[i:i + n], sys.byteorder) for i in (0, n, 2 * n))
    return f"{major}.{minor}.{micro}"


def arch_token(name: str) -> int:
    """SCMP_ARCH_X86_64 -> its AUDIT_ARCH token; 0 if unknown to libseccomp."""
    _bind()
    short = name.removeprefix("SCMP_ARCH_").lower()
    return _lib.seccomp_arch_resolve_name(short.encode())


class Filter:
    """A libseccomp filter context; load() installs it in this thread."""

    def __init__(self, default_action: int):
        _bind()
        self._ctx = _lib.seccomp_init(default_action)
        if not self._ctx:
            raise OSError(_errno.EINVAL, "seccomp_init: invalid default action")

    def add_arch(self, token: int) -> None:
        ret = _lib.seccomp_arch_add(self._ctx, token)
        if ret != -_errno.EEXIST:  # the native arch is always present
            _check(ret, f"seccomp_arch_add {token:#x}")

    def set_nnp(self, on: bool) -> None:
        _check(_lib.seccomp_attr_set(self._ctx, FLTATR_CTL_NNP, int(on)),
               "seccomp_attr_set SCMP_FLTATR_CTL_NNP")

    def set_optimize(self, level: int) -> None:
        """SCMP_FLTATR_CTL_OPTIMIZE; EINVAL from a libseccomp before 2.5."""
        _check(_lib.seccomp_attr_set(self._ctx, FLTATR_CTL_OPTIMIZE, level),
               "seccomp_attr_set SCMP_FLTATR_CTL_OPTIMIZE")

    def add_rule(self, action: int, nr: int, args: list[tuple[int, int, int, int]],
                 name: str = "") -> None:
        """args: (index, op, datum_a, datum_b), ANDed together."""
        arr = (ArgCmp * max(len(args), 1))(*(ArgCmp(*a) for a in args))
        ret = _lib.seccomp_rule_add_array(self._ctx, action, nr, len(args), arr)
        if ret != -_errno.EEXIST:
            _check(ret, f"seccomp_rule_add {name or nr}")

    def export_bpf(self) -> bytes:
        """The raw BPF program seccomp_load would install, as an array of
        struct sock_filter (seccomp_export_bpf(3)); libseccomp writes it to an
        fd, here an anonymous memfd so its size is not bounded by a pipe."""
        fd = os.memfd_create("seccomp-bpf", os.MFD_CLOEXEC)
        try:
            _check(_lib.seccomp_export_bpf(self._ctx, fd), "seccomp_export_bpf")
            size = os.fstat(fd).st_size
            return os.pread(fd, size, 0)
        finally:
            os.close(fd)

    def release(self) -> None:
        if self._ctx:
            _lib.seccomp_release(self._ctx)
            self._ctx = None
