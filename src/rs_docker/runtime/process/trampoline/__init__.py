"""The exec trampoline: the container command is exec'd by a tiny static
program held in a sealed memfd, never by the host's Python interpreter.

Why (CVE-2019-5736, the runc /proc/self/exe overwrite): the container's
PID 1, and every process `exec` starts, is a fork of rs-docker's Python
until its final execve. Were that execve done by Python, a container file
whose interpreter line is `#!/proc/self/exe` would make the kernel run the
*host* interpreter inside the container, as the container's code (its
loader, its libraries, `-e LD_PRELOAD`), with /proc/self/exe naming the
host binary: a handle kept on it can be reopened for writing once no
process runs it, and the next `python3` the host runs is the attacker's.
Here Python execs the trampoline (execveat on the memfd), which execs the
command. /proc/self/exe of every process a container can see is then
either the container's own file or the memfd, sealed against writes
(F_SEAL_WRITE, F_SEAL_SEAL) and no file of the host; and should the
command's interpreter be /proc/self/exe, the kernel re-enters the
trampoline, which finds its report fd closed and exits 126, running
nothing (x86_64.S says how).

`exec` adds a second path: its process must exist in the container's PID
namespace, where container processes may look at it, and a fork of Python
there would be the host interpreter until it execs. So the process that
joins the namespaces stays in the host's PID namespace, where the container
sees nothing, does every step up to seccomp, and execs the trampoline in
mode "s": the trampoline clone()s the container's process with
CLONE_PARENT (the runtime's child, as if the runtime had forked it) inside
the joined PID namespace, reports its PID, and exits.

The choice, against runc's: runc re-execs itself from a sealed memfd copy
of its binary (1.0), later from a read-only overlayfs over it (1.2), and
for a while through runc-dmz, a small static binary doing the final
execve, as here. Re-executing Python (~6 MB, plus its start-up and
imports) would cost every run several milliseconds; the trampoline is a
few hundred bytes written to a memfd (a few microseconds) and one more
execve of a static program with no loader, no libc and nothing it reads.

The machine code is assembled from x86_64.S and aarch64.S beside this
file (scripts/trampoline.sh prints it; tests/unit/test_trampoline.py
checks it is the source's); it is wrapped here in a minimal ELF. Another
architecture has no trampoline (supported() is False): there Python does
the trampoline's steps itself, without its protection.
"""

from __future__ import annotations

import errno
import fcntl
import os
import struct
import sys

# Machine code of _start, by os.uname().machine (see the module doc).
CODE = {
    "x86_64": bytes.fromhex(
        "488b1c244883fb020f8c030100004c8d6424084c8d6cdc10b848000000bf03000000be02000000ba01000000"
        "0f054885c00f85da000000498b0424440fb6384183ff787465b838000000bf0080000031f631d24531d24531"
        "c00f054885c0785e742648c1e020480d5049440050b801000000bf030000004889e6ba080000000f0531ffe9"
        "8e000000b8700000000f054183ff747515b81000000031ffbe0e54000031d20f054885c07514b83b00000049"
        "8b7c2408498d7424104c89ea0f0548f7d84889c348c1e020480d4552520050498b74240831c9803c0e007405"
        "48ffc1ebf551566a08488d44241850b814000000bf030000004889e6ba020000000f05bf7e0000004883fb02"
        "750cbf7f000000eb05bf7e000000b8e70000000f05"),
    "aarch64": bytes.fromhex(
        "f30340f97f0a00f1cb090054f4230091950e138bb5220091600080d2410080d2220080d2280380d2010000d4"
        "a00800b5890240f936014039dfe2017120040054000090d2010080d2020080d2030080d2040080d2881b80d2"
        "010000d41f0000f1ab030054a0010054007c60d3092a89d28908a0f2000009aae00f1ff8600080d2e1030091"
        "020180d2080880d2010000d4000080d22c000014a81380d2010000d4dfd20171e1000054000080d2c1818ad2"
        "020080d2a80380d2010000d4c00000b5800640f981420091e20315aaa81b80d2010000d4f30300cb607e60d3"
        "a9488ad2490aa0f2000009aa8a0640f90b0080d24c696b386c0000346b050091fdffff17ffc300d1e01300f9"
        "e98300910c0180d2e93300a9ea2f01a9600080d2e1030091420080d2480880d2010000d4c00f80d27f0a00f1"
        "81000054e00f80d202000014c00f80d2c80b80d2010000d4"),
}
_ELF_MACHINE = {"x86_64": 62, "aarch64": 183}
_BASE = 0x400000            # load address of the one PT_LOAD segment
_HEADERS = 64 + 2 * 56      # ELF header and two program headers
_MFD_EXEC = 0x10            # memfd_create(2): executable even where vm.memfd_noexec says not
_SEALS = fcntl.F_SEAL_SEAL | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE
REPORT_FD = 3               # where the trampoline finds the sync socket

MODE_EXEC, MODE_SPAWN, MODE_SPAWN_TTY = "x", "s", "t"


def supported() -> bool:
    return os.uname().machine in CODE


def image(machine: str) -> bytes:
    """A static ELF64 executable: the code of `machine` at its entry point,
    one read+execute PT_LOAD segment, a PT_GNU_STACK without execute."""
    code = CODE[machine]
    size = _HEADERS + len(code)
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)    # 64-bit, little endian, SysV
    header = ident + struct.pack("<HHIQQQIHHHHHH", 2, _ELF_MACHINE[machine], 1,
                                 _BASE + _HEADERS, 64, 0, 0, 64, 56, 2, 0, 0, 0)
    load = struct.pack("<IIQQQQQQ", 1, 5, 0, _BASE, _BASE, size, size, 0x1000)
    stack = struct.pack("<IIQQQQQQ", 0x6474E551, 6, 0, 0, 0, 0, 0, 16)
    return header + load + stack + code


def load() -> int:
    """A sealed memfd holding the trampoline (close-on-exec: the trampoline
    runs from it and no command inherits it); -1 where none is built."""
    if not supported():
        return -1
    name = "rs-docker-trampoline"
    flags = os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING
    try:
        fd = os.memfd_create(name, flags | _MFD_EXEC)
    except OSError as e:
        if e.errno != errno.EINVAL:  # a kernel before 6.3 knows no MFD_EXEC
            raise
        fd = os.memfd_create(name, flags)
    try:
        data = image(os.uname().machine)
        if os.write(fd, data) != len(data):
            raise OSError(errno.EIO, "memfd write: short write")
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, _SEALS)
    except BaseException:
        os.close(fd)
        raise
    return fd


def execute(memfd: int, mode: str, path: str, args: list[str], env: dict[str, str],
            report_fd: int) -> None:
    """Exec the trampoline to run `path` with `args` and `env`; returns
    only by an exception. report_fd (the sync socket) goes to fd 3, open
    across this execve only: the trampoline closes it on the next."""
    if memfd < 0:
        _without_trampoline(mode, path, args, env, report_fd)
    if memfd == REPORT_FD:
        memfd = fcntl.fcntl(memfd, fcntl.F_DUPFD_CLOEXEC, REPORT_FD + 1)
    if report_fd == REPORT_FD:
        os.set_inheritable(REPORT_FD, True)
    else:
        os.dup2(report_fd, REPORT_FD)  # inheritable
    argv = [mode, path, *args]
    try:
        os.execve(memfd, argv, env)  # fexecve(3): execveat(fd, "", AT_EMPTY_PATH)
    except OSError as e:
        if e.errno not in (errno.EPERM, errno.ENOSYS):
            raise
    # A seccomp profile that allows execve but not execveat.
    os.execve(f"/proc/self/fd/{memfd}", argv, env)


def _without_trampoline(mode: str, path: str, args: list[str], env: dict[str, str],
                        report_fd: int) -> None:
    """The trampoline's steps in Python, for an architecture it is not built
    for: the same behaviour, without its protection (the module doc)."""
    import termios  # this fallback alone needs it

    if mode != MODE_EXEC:
        pid = os.fork()
        if pid:
            os.write(report_fd, b"PID\0" + pid.to_bytes(4, sys.byteorder, signed=True))
            os._exit(0)
        os.setsid()
        if mode == MODE_SPAWN_TTY:
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    os.execve(path, args, env)
