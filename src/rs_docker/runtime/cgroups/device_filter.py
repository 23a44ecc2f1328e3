"""OCI device rules (linux.resources.devices) -> the eBPF program cgroup v2
asks about every device access, as data (generate, then apply: v2.py loads
and attaches it).

cgroup v2 has no devices.allow/devices.deny: the kernel runs the
BPF_PROG_TYPE_CGROUP_DEVICE programs attached to the task's cgroup on each
mknod and open of a device node (Documentation/admin-guide/cgroup-v2.rst
"Device controller") with a struct bpf_cgroup_dev_ctx {u32 access_type
(access << 16 | type); u32 major; u32 minor;}; return 1 allows, 0 denies
(-EPERM). The program has runc's shape (libcontainer/cgroups/devices/
devicefilter.go): load the four fields into r2..r5, then one block per
rule, the rules in reverse order, each block returning its verdict on a
match and jumping to the next block otherwise, so that the LAST matching
rule decides; nothing matching denies.

Matching: type "a" (or absent) is any type, an absent major or minor any
number. An allow rule matches when every access bit asked for is in the
rule's access (runc's subset check); a deny rule when any of them is: what
the v1 controller does with a deny exception (security/device_cgroup.c
match_exception_partial), so that "allow c 1:3 rwm, deny c 1:3 w" refuses
an O_RDWR open (access r|w) as it does on v1, where runc's subset check
would let it through.
"""

from __future__ import annotations

import struct
import sys

from rs_docker.errors import RuntimeFailure

# include/uapi/linux/bpf.h: enum bpf_devcg_dev_type, bpf_devcg_acc_type
DEV_BLOCK, DEV_CHAR = 1, 2
ACC_MKNOD, ACC_READ, ACC_WRITE = 1, 2, 4
ACC_ALL = ACC_MKNOD | ACC_READ | ACC_WRITE
_TYPES = {"a": 0, "b": DEV_BLOCK, "c": DEV_CHAR}
_ACCESS = {"m": ACC_MKNOD, "r": ACC_READ, "w": ACC_WRITE}
# include/linux/kdev_t.h: a kernel dev_t is a 12-bit major and a 20-bit
# minor; a rule naming a larger number matches no device.
MAX_MAJOR, MAX_MINOR = (1 << 12) - 1, (1 << 20) - 1

# eBPF opcodes (include/uapi/linux/bpf.h, bpf_common.h): class | op | source
_LDX_MEM_W = 0x61    # BPF_LDX | BPF_MEM | BPF_W: dst = *(u32 *)(src + off)
_ALU32_AND_K = 0x54  # BPF_ALU | BPF_AND | BPF_K: w_dst &= imm
_ALU32_RSH_K = 0x74  # BPF_ALU | BPF_RSH | BPF_K
_ALU32_MOV_K = 0xB4  # BPF_ALU | BPF_MOV | BPF_K
_ALU32_MOV_X = 0xBC  # BPF_ALU | BPF_MOV | BPF_X: w_dst = w_src
_JEQ_K = 0x15        # BPF_JMP | BPF_JEQ | BPF_K: if dst == imm: pc += off
_JNE_K = 0x55        # BPF_JMP | BPF_JNE | BPF_K
_JNE_X = 0x5D        # BPF_JMP | BPF_JNE | BPF_X: if dst != src: pc += off
_EXIT = 0x95         # BPF_JMP | BPF_EXIT: return r0
INSN_SIZE = 8        # struct bpf_insn {u8 code; u8 dst_reg:4, src_reg:4; s16 off; s32 imm}

# (allow, type (0: any), major (None: any), minor (None: any), access bits)
Rule = tuple[bool, int, "int | None", "int | None", int]

# r1 = ctx; r2 = type, r3 = access, r4 = major, r5 = minor (runc's prologue)
_PROLOGUE = [(_LDX_MEM_W, 2, 1, 0, 0), (_ALU32_AND_K, 2, 0, 0, 0xFFFF),
             (_LDX_MEM_W, 3, 1, 0, 0), (_ALU32_RSH_K, 3, 0, 0, 16),
             (_LDX_MEM_W, 4, 1, 4, 0), (_LDX_MEM_W, 5, 1, 8, 0)]


def parse(rule: dict) -> Rule:
    """One OCI LinuxDeviceCgroup; an invalid one fails as device_writes does."""
    kind = rule.get("type") or "a"
    if kind not in _TYPES:
        raise RuntimeFailure(f"cgroups: invalid device type {kind!r}")
    access = rule.get("access") or "rwm"
    if set(access) - set(_ACCESS):
        raise RuntimeFailure(f"cgroups: invalid device access {access!r}")
    numbers = []
    for key in ("major", "minor"):
        value = rule.get(key)
        if value is not None and (not isinstance(value, int) or value < 0):
            raise RuntimeFailure(f"cgroups: invalid device {key} {value!r}")
        numbers.append(value)
    bits = 0
    for c in access:
        bits |= _ACCESS[c]
    return bool(rule.get("allow")), _TYPES[kind], numbers[0], numbers[1], bits


def program(rules: list[dict], byteorder: str = sys.byteorder) -> bytes | None:
    """The struct bpf_insn array deciding `rules`, or None when they allow
    every access to every device (--privileged): nothing to attach."""
    parsed = [r for r in map(parse, rules) if _can_match(r)]
    default = False
    for i in range(len(parsed) - 1, -1, -1):
        if _allows_everything(parsed[i]):
            # decides every request that no later rule matches
            default, parsed = True, parsed[i + 1:]
            break
    # The earliest rules that say what the default says change nothing.
    while parsed and parsed[0][0] == default:
        parsed.pop(0)
    if not parsed and default:
        return None
    insns = list(_PROLOGUE)
    for rule in reversed(parsed):
        insns += _block(rule)
    insns += [(_ALU32_MOV_K, 0, 0, 0, int(default)), (_EXIT, 0, 0, 0, 0)]
    return encode(insns, byteorder)


def _can_match(rule: Rule) -> bool:
    _, _, major, minor, _ = rule
    return (major is None or major <= MAX_MAJOR) and (minor is None or minor <= MAX_MINOR)


def _allows_everything(rule: Rule) -> bool:
    allow, kind, major, minor, access = rule
    return allow and kind == 0 and major is None and minor is None and access == ACC_ALL


def _block(rule: Rule) -> list[tuple[int, int, int, int, int]]:
    """Return the verdict when `rule` matches; otherwise fall through to
    the next block. Jump offsets count from the next instruction, so each
    test's is filled in once the block's length is known."""
    allow, kind, major, minor, access = rule
    tests: list[list[int]] = []  # [code, dst, src, off (patched), imm]
    if kind:
        tests.append([_JNE_K, 2, 0, 0, kind])
    if allow and access != ACC_ALL:
        # every bit asked for is in the rule's: (access & rule) == access
        tests += [[_ALU32_MOV_X, 1, 3, 0, 0], [_ALU32_AND_K, 1, 0, 0, access],
                  [_JNE_X, 1, 3, -1, 0]]
    elif not allow:
        # any bit asked for is in the rule's (an exec-only access asks for none)
        tests += [[_ALU32_MOV_X, 1, 3, 0, 0], [_ALU32_AND_K, 1, 0, 0, access],
                  [_JEQ_K, 1, 0, -1, 0]]
    if major is not None:
        tests.append([_JNE_K, 4, 0, 0, major])
    if minor is not None:
        tests.append([_JNE_K, 5, 0, 0, minor])
    out = tests + [[_ALU32_MOV_K, 0, 0, 0, int(allow)], [_EXIT, 0, 0, 0, 0]]
    for i, insn in enumerate(out):
        if insn[0] in (_JNE_K, _JNE_X, _JEQ_K):
            insn[3] = len(out) - i - 1  # to the first instruction after the block
    return [tuple(insn) for insn in out]


def encode(insns: list[tuple[int, int, int, int, int]], byteorder: str = sys.byteorder) -> bytes:
    """(code, dst, src, off, imm) -> struct bpf_insn bytes. The register
    nibbles are C bitfields: dst in the low nibble on a little-endian host,
    in the high one on a big-endian host (bpf.h's __LITTLE_ENDIAN_BITFIELD)."""
    little = byteorder == "little"
    pack = struct.Struct("<BBhi" if little else ">BBhi").pack
    return b"".join(pack(code, (src << 4 | dst) if little else (dst << 4 | src), off, imm)
                    for code, dst, src, off, imm in insns)
