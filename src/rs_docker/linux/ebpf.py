"""bpf(2) through ctypes: load an eBPF program and attach it to a cgroup
(the device filter of cgroup v2, runtime/cgroups/device_filter.py). Not
the seccomp loader (seccomp_bpf.py): that one installs classic BPF through prctl.

bpf(int cmd, union bpf_attr *attr, unsigned int size) has no glibc
wrapper: it goes through syscall(2) by number. The kernel reads `size`
bytes of the union and treats the rest as zero, so each command passes
only the leading fields it sets (include/uapi/linux/bpf.h).
"""

from __future__ import annotations

import ctypes
import errno
import os

from rs_docker.linux.syscalls import call, libc

# asm/unistd_64.h (x86_64) and the generic table (arm64, riscv64);
# powerpc and s390 syscall.tbl
_SYS_BPF = {"x86_64": 321, "aarch64": 280, "riscv64": 280, "ppc64le": 361, "s390x": 351}
BPF_PROG_LOAD = 5
BPF_PROG_ATTACH = 8
BPF_PROG_TYPE_CGROUP_DEVICE = 15
BPF_CGROUP_DEVICE = 6   # enum bpf_attach_type
BPF_F_ALLOW_MULTI = 2   # parent and child programs all run; every one must allow
_INSN_SIZE = 8          # sizeof(struct bpf_insn)
_LOG_SIZE = 1 << 16     # verifier log for the error of a refused program

_u32, _u64 = ctypes.c_uint32, ctypes.c_uint64


class _ProgLoadAttr(ctypes.Structure):
    """union bpf_attr, the BPF_PROG_LOAD struct up to prog_name (64 bytes)."""
    _fields_ = [("prog_type", _u32), ("insn_cnt", _u32), ("insns", _u64), ("license", _u64),
                ("log_level", _u32), ("log_size", _u32), ("log_buf", _u64),
                ("kern_version", _u32), ("prog_flags", _u32), ("prog_name", ctypes.c_char * 16)]


class _ProgAttachAttr(ctypes.Structure):
    """union bpf_attr, the BPF_PROG_ATTACH struct without replace_bpf_fd."""
    _fields_ = [("target_fd", _u32), ("attach_bpf_fd", _u32), ("attach_type", _u32),
                ("attach_flags", _u32)]


def _bpf(cmd: int, attr: ctypes.Structure, name: str, path: str | None) -> int:
    nr = _SYS_BPF.get(os.uname().machine)
    if nr is None:
        where = f"{name} {path}" if path else name
        raise OSError(errno.ENOSYS, f"{where}: unsupported architecture")
    return call(libc.syscall, ctypes.c_long(nr), ctypes.c_int(cmd), ctypes.byref(attr),
                ctypes.c_uint(ctypes.sizeof(attr)), name=name, path=path)


def prog_load(insns: bytes, prog_type: int = BPF_PROG_TYPE_CGROUP_DEVICE,
              license: str = "Apache", name: str = "") -> int:
    """Load a program; returns its fd (close-on-exec: the kernel makes it
    so). When the verifier refuses it, the error ends with the verifier's
    complaint (asked for again with a log: the first try costs no log)."""
    if not insns or len(insns) % _INSN_SIZE:
        raise ValueError(f"bpf: invalid program of {len(insns)} bytes")
    code = ctypes.create_string_buffer(bytes(insns), len(insns))
    lic = ctypes.create_string_buffer(license.encode())
    attr = _ProgLoadAttr(prog_type=prog_type, insn_cnt=len(insns) // _INSN_SIZE,
                         insns=ctypes.addressof(code), license=ctypes.addressof(lic),
                         prog_name=name.encode()[:15])
    try:
        return _bpf(BPF_PROG_LOAD, attr, "bpf BPF_PROG_LOAD", name or None)
    except OSError as e:
        if e.errno not in (errno.EACCES, errno.EINVAL):
            raise  # EPERM: no CAP_SYS_ADMIN/CAP_BPF; the verifier had no say
        first = e
    log = ctypes.create_string_buffer(_LOG_SIZE)
    attr.log_level, attr.log_size, attr.log_buf = 1, _LOG_SIZE, ctypes.addressof(log)
    try:
        fd = _bpf(BPF_PROG_LOAD, attr, "bpf BPF_PROG_LOAD", name or None)
    except OSError:
        # the verifier's complaint is its last line before its statistics
        lines = [line for line in log.value.decode(errors="replace").splitlines()
                 if line.strip() and not line.startswith(("processed ", "verification time"))]
        if lines:
            raise OSError(first.errno, f"{first.strerror}: {lines[-1]}") from None
        raise first from None
    os.close(fd)  # not expected: it loaded with a log but not without one
    raise first


def prog_attach(prog_fd: int, target_fd: int, attach_type: int = BPF_CGROUP_DEVICE,
                flags: int = BPF_F_ALLOW_MULTI, path: str | None = None) -> None:
    """Attach a loaded program to `target_fd` (a cgroup directory)."""
    attr = _ProgAttachAttr(target_fd=target_fd, attach_bpf_fd=prog_fd,
                           attach_type=attach_type, attach_flags=flags)
    _bpf(BPF_PROG_ATTACH, attr, "bpf BPF_PROG_ATTACH", path)


def attach_device_filter(insns: bytes, cgroup_dir: str, name: str = "") -> None:
    """Load `insns` as a BPF_PROG_TYPE_CGROUP_DEVICE program and attach it
    to the cgroup v2 directory `cgroup_dir`. Both fds are closed after: the
    attachment holds the program for as long as the cgroup lives."""
    try:
        dir_fd = os.open(cgroup_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as e:
        raise OSError(e.errno, f"open {cgroup_dir}: {os.strerror(e.errno).lower()}") from None
    try:
        prog_fd = prog_load(insns, BPF_PROG_TYPE_CGROUP_DEVICE, "Apache", name)
        try:
            prog_attach(prog_fd, dir_fd, BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI, cgroup_dir)
        finally:
            os.close(prog_fd)
    finally:
        os.close(dir_fd)
