"""Install a raw classic-BPF seccomp program, without libseccomp (not eBPF
and bpf(2): those are ebpf.py's, for the cgroup v2 device filter).

A program is an array of struct sock_filter (8 bytes each: u16 code, u8 jt,
u8 jf, u32 k; linux/filter.h), handed to the kernel in a struct sock_fprog
through prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog). seccomp(2):
"equivalent to seccomp(SECCOMP_SET_MODE_FILTER, 0, args)", which is the call
libseccomp's seccomp_load makes when no filter attribute (TSYNC, LOG,
SPEC_ALLOW) is set — the case of every filter rs-docker builds.

Without no_new_privs the caller needs CAP_SYS_ADMIN (EACCES otherwise).
"""

from __future__ import annotations

import ctypes

from rs_docker.linux.syscalls import call, libc

PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
INSN_SIZE = 8        # sizeof(struct sock_filter)
BPF_MAXINSNS = 4096  # linux/bpf_common.h: the kernel refuses longer programs (EINVAL)


class _SockFprog(ctypes.Structure):
    """struct sock_fprog { unsigned short len; struct sock_filter *filter; }.
    `filter` as c_char_p: set from the program's bytes it points at their
    buffer (kept alive by the structure), no copy; create_string_buffer
    would make a new c_char array type per program size, in the
    container's PID 1 between fork and exec."""
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_char_p)]


def check_program(program: bytes) -> None:
    """Refuse what cannot be a sock_filter array, before the kernel sees it."""
    if not program or len(program) % INSN_SIZE or len(program) // INSN_SIZE > BPF_MAXINSNS:
        raise ValueError(f"seccomp: invalid bpf program of {len(program)} bytes")


def load(program: bytes) -> None:
    """Install `program` as a seccomp filter of the calling thread."""
    check_program(program)
    prog = _SockFprog(len(program) // INSN_SIZE, bytes(program))
    ulong = ctypes.c_ulong  # explicit: without argtypes ctypes would pass a C int
    call(libc.prctl, ctypes.c_int(PR_SET_SECCOMP), ulong(SECCOMP_MODE_FILTER),
         ulong(ctypes.addressof(prog)), ulong(0), ulong(0), name="prctl", path="PR_SET_SECCOMP")
