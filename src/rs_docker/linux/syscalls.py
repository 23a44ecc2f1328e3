"""ctypes bindings for the namespace and mount system calls Python lacks,
and the C library they go through, loaded once.

Every module of linux/ calls libc through `call()` so that each failure
names the call and the path, e.g. `pivot_root /x/rootfs: invalid argument`.
(The C library and `call` are here, not in a module of their own: one
import fewer on the run path for 20 lines.)
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import struct

from rs_docker.cpython import socket as _socket
from rs_docker.linux import constants as C

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


_c_char_p = ctypes.c_char_p
_ulong = ctypes.c_ulong

libc.mount.argtypes = [_c_char_p, _c_char_p, _c_char_p, _ulong, _c_char_p]
libc.umount2.argtypes = [_c_char_p, ctypes.c_int]
libc.unshare.argtypes = [ctypes.c_int]
libc.setns.argtypes = [ctypes.c_int, ctypes.c_int]
libc.sethostname.argtypes = [_c_char_p, ctypes.c_size_t]
libc.setdomainname.argtypes = [_c_char_p, ctypes.c_size_t]
libc.prctl.argtypes = [ctypes.c_int, _ulong, _ulong, _ulong, _ulong]
libc.syscall.restype = ctypes.c_long

# pivot_root(2) has no glibc wrapper: call it by number (asm/unistd_64.h and
# the generic table used by arm64/riscv64).
_SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41, "ppc64le": 203,
                   "s390x": 217}
_SYS_CLOSE_RANGE = 436  # the same number on every architecture (since 5.9)
_SYS_RT_SIGACTION = {"x86_64": 13, "aarch64": 134, "riscv64": 134, "ppc64le": 173,
                     "s390x": 174}


def mount(source: str | None, target: str, fstype: str | None = None, flags: int = 0,
          data: str | None = None) -> None:
    """mount(2). The error names the source and the target."""
    where = f"{source or fstype or 'none'} on {target}"
    call(libc.mount, encode(source), encode(target), encode(fstype), flags,
         data.encode() if data else None, name="mount", path=where)


def umount2(target: str, flags: int = 0) -> None:
    call(libc.umount2, encode(target), flags, name="umount2", path=target)


def unshare(flags: int) -> None:
    call(libc.unshare, flags, name="unshare", path=hex(flags))


def setns(fd: int, nstype: int = 0, path: str | None = None) -> None:
    """setns(2) on an open /proc/PID/ns/* (or bind-mounted namespace) file."""
    call(libc.setns, fd, nstype, name="setns", path=path or f"fd {fd}")


def pivot_root(new_root: str, put_old: str) -> None:
    nr = _SYS_PIVOT_ROOT.get(os.uname().machine)
    if nr is None:
        raise OSError(38, f"pivot_root {new_root}: unsupported architecture")
    call(libc.syscall, nr, encode(new_root), encode(put_old), name="pivot_root", path=new_root)


def sethostname(name: str) -> None:
    raw = name.encode()
    call(libc.sethostname, raw, len(raw), name="sethostname", path=name)


def setdomainname(name: str) -> None:
    raw = name.encode()
    call(libc.setdomainname, raw, len(raw), name="setdomainname", path=name)


def set_pdeathsig(sig: int) -> None:
    """prctl(PR_SET_PDEATHSIG): `sig` is sent to us when our parent dies."""
    call(libc.prctl, C.PR_SET_PDEATHSIG, sig, 0, 0, 0, name="prctl", path="PR_SET_PDEATHSIG")


def set_dumpable(on: bool) -> None:
    """prctl(PR_SET_DUMPABLE): a non-dumpable process's /proc/PID/exe, fds
    and memory are closed to processes without CAP_SYS_PTRACE over it
    (proc(5), ptrace(2) "ptrace access mode checking"); execve resets it."""
    call(libc.prctl, C.PR_SET_DUMPABLE, int(on), 0, 0, 0, name="prctl", path="PR_SET_DUMPABLE")


def set_child_subreaper(on: bool) -> None:
    """prctl(PR_SET_CHILD_SUBREAPER): our orphaned descendants are reparented
    to us instead of init, and we wait for them (prctl(2))."""
    call(libc.prctl, C.PR_SET_CHILD_SUBREAPER, int(on), 0, 0, 0, name="prctl",
         path="PR_SET_CHILD_SUBREAPER")


def child_subreaper() -> bool:
    """prctl(PR_GET_CHILD_SUBREAPER)."""
    value = ctypes.c_int(0)
    call(libc.prctl, C.PR_GET_CHILD_SUBREAPER, ctypes.addressof(value), 0, 0, 0, name="prctl",
         path="PR_GET_CHILD_SUBREAPER")
    return bool(value.value)


def cloexec_from(first: int) -> None:
    """Mark every fd >= first close-on-exec: close_range(first, ~0,
    CLOSE_RANGE_CLOEXEC) (Linux 5.11), else walk /proc/self/fd."""
    ret = libc.syscall(_SYS_CLOSE_RANGE, ctypes.c_uint(first), ctypes.c_uint(0xFFFFFFFF),
                       ctypes.c_uint(C.CLOSE_RANGE_CLOEXEC))
    if ret == 0:
        return
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd >= first:
            try:
                os.set_inheritable(fd, False)
            except OSError:
                pass  # the fd listdir itself used, already closed


def close_from(first: int, keep: tuple[int, ...] = ()) -> None:
    """Close every fd >= first except those in `keep`."""
    lo = first
    for fd in sorted(k for k in keep if k >= first) + [None]:
        if fd is None:
            os.closerange(lo, _max_fd())
            break
        os.closerange(lo, fd)
        lo = fd + 1


def _max_fd() -> int:
    try:
        return os.sysconf("SC_OPEN_MAX")
    except (OSError, ValueError):
        return 65536


# struct ifreq: ifr_name[IFNAMSIZ], ifr_flags (short), padding. Compiled at
# import, before fork, not on first use in the container's PID 1.
_IFREQ = struct.Struct("16sH22x")


def interface_up(name: str = "lo") -> None:
    """Set IFF_UP on network interface `name`: a new network namespace
    starts with only `lo`, and down (network_namespaces(7)); Docker's
    --network none brings it up. One ioctl pair, SIOCGIFFLAGS/SIOCSIFFLAGS
    on a socket (netdevice(7)): no `ip` binary, no netlink. Here rather than
    in a module of its own: one import fewer on the run path."""
    s = _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM | _socket.SOCK_CLOEXEC)
    try:
        try:
            req = fcntl.ioctl(s, C.SIOCGIFFLAGS, _IFREQ.pack(name.encode(), 0))
            flags = _IFREQ.unpack(req)[1]
            if not flags & C.IFF_UP:
                fcntl.ioctl(s, C.SIOCSIFFLAGS, _IFREQ.pack(name.encode(), flags | C.IFF_UP))
        except OSError as e:
            raise OSError(e.errno, f"ioctl SIOCSIFFLAGS {name}: {e.strerror.lower()}") from None
    finally:
        s.close()


_AT_FDCWD = -100
_RENAME_EXCHANGE = 2  # linux/fs.h


def rename_exchange(a: str, b: str) -> None:
    """renameat2(2) RENAME_EXCHANGE: swap two existing paths atomically
    (Linux 3.15+). OSError when either is missing, or EINVAL where the
    filesystem cannot; ENOSYS when the C library has no renameat2."""
    fn = getattr(libc, "renameat2", None)
    if fn is None:
        raise OSError(errno.ENOSYS, f"renameat2 {a}: {os.strerror(errno.ENOSYS).lower()}")
    call(fn, _AT_FDCWD, encode(a), _AT_FDCWD, encode(b), _RENAME_EXCHANGE,
         name="renameat2", path=f"{a} <-> {b}")


def default_signal(sig: int) -> None:
    """rt_sigaction(2) straight to the kernel: `sig`'s disposition back to
    SIG_DFL. For the signals glibc keeps for itself (32 and 33, which its
    sigaction(2) wrapper refuses with EINVAL): a caller can still hand
    them down ignored (GNU make does), and execve(2) keeps ignored signals
    ignored. A zeroed struct sigaction is SIG_DFL, no flags, an empty mask
    whatever the architecture's layout."""
    nr = _SYS_RT_SIGACTION.get(os.uname().machine)
    if nr is None:
        raise OSError(38, f"rt_sigaction {sig}: unsupported architecture")
    act = ctypes.create_string_buffer(64)
    call(libc.syscall, nr, sig, act, None, 8, name="rt_sigaction", path=str(sig))
