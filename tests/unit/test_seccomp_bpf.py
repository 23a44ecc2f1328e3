"""The compiled seccomp program decides what libseccomp's rules say: the
binary-tree layout (SCMP_FLTATR_CTL_OPTIMIZE 2, which the kernel loads
~4x faster) returns, for every syscall number of every architecture of
Docker's profile and the argument values its rules test, the same action
as libseccomp's default linear layout. Checked by running both programs in
a small classic-BPF interpreter (the subset seccomp filters use)."""

from __future__ import annotations

import struct

import pytest

from rs_docker.models.security import DEFAULT_CAPS, seccomp_for
from rs_docker.runtime.security import seccomp

AUDIT_ARCH_X86_64 = 0xC000003E
AUDIT_ARCH_I386 = 0x40000003
X32_BIT = 0x40000000
NS_FLAGS = 0x7E020000
# what the profile's argument rules test: clone's namespace flags, personality,
# socket's families around AF_ALG (38) and AF_VSOCK (40)
ARG_VALUES = (0, 0xFFFFFFFF, NS_FLAGS, 0x0008, 0x1_0000_0000, 37, 38, 39, 40, 41)


def decode(program: bytes) -> list[tuple[int, int, int, int]]:
    return [struct.unpack_from("<HBBI", program, i) for i in range(0, len(program), 8)]


def run_bpf(insns: list[tuple[int, int, int, int]], data: bytes) -> int:
    """Run a classic BPF program (linux/filter.h) on struct seccomp_data."""
    a = x = pc = 0
    mem = [0] * 16
    while True:
        code, jt, jf, k = insns[pc]
        pc += 1
        cls, src = code & 0x07, code & 0x08
        if cls == 0x00:  # BPF_LD
            mode = code & 0xE0
            a = struct.unpack_from("<I", data, k)[0] if mode == 0x20 else \
                mem[k] if mode == 0x60 else k
        elif cls == 0x01:  # BPF_LDX
            x = mem[k] if code & 0xE0 == 0x60 else k
        elif cls == 0x02:  # BPF_ST
            mem[k] = a
        elif cls == 0x03:  # BPF_STX
            mem[k] = x
        elif cls == 0x04:  # BPF_ALU
            op, v = code & 0xF0, x if src else k
            if op == 0x50:
                a &= v
            elif op == 0x40:
                a |= v
            elif op == 0x00:
                a = (a + v) & 0xFFFFFFFF
            elif op == 0x10:
                a = (a - v) & 0xFFFFFFFF
            else:
                raise AssertionError(f"ALU op {op:#x} not interpreted")
        elif cls == 0x05:  # BPF_JMP
            op, v = code & 0xF0, x if src else k
            if op == 0x00:
                pc += k
                continue
            if op == 0x10:
                hit = a == v
            elif op == 0x20:
                hit = a > v
            elif op == 0x30:
                hit = a >= v
            else:
                hit = bool(a & v)
            pc += jt if hit else jf
        elif cls == 0x06:  # BPF_RET
            return a if code & 0x18 == 0x10 else k
        elif cls == 0x07:  # BPF_MISC: TAX / TXA
            if code & 0xF8 == 0x00:
                x = a
            else:
                a = x


def seccomp_data(nr: int, arch: int, args: tuple[int, ...]) -> bytes:
    return struct.pack("<iIQ6Q", nr, arch, 0, *args)


@pytest.fixture(scope="module")
def programs():
    section = seccomp_for((), False, DEFAULT_CAPS, arch="amd64", kernel="6.1.0")
    out = {}
    for optimize in (0, 2):
        flt = seccomp.compile_program(seccomp.generate(section), optimize=optimize)
        try:
            out[optimize] = decode(flt.export_bpf())
        finally:
            flt.release()
    return out


def test_binary_tree_filter_decides_like_the_linear_one(programs):
    linear, tree = programs[0], programs[2]
    assert linear != tree
    cases = [(nr, AUDIT_ARCH_X86_64) for nr in range(0, 500)] + \
        [(nr | X32_BIT, AUDIT_ARCH_X86_64) for nr in range(0, 560)] + \
        [(nr, AUDIT_ARCH_I386) for nr in range(0, 460)] + [(5, 0xDEADBEEF)]
    actions = set()
    for nr, arch in cases:
        for value in ARG_VALUES:
            data = seccomp_data(nr, arch, (value,) * 6)
            expected = run_bpf(linear, data)
            assert run_bpf(tree, data) == expected, (nr, hex(arch), hex(value))
            actions.add(expected)
    # the cases reach allow, errno(EPERM) and errno(ENOSYS) (clone3) and kill (bad arch)
    assert {0x7FFF0000, 0x00050001, 0x00050026} <= actions and len(actions) >= 4
