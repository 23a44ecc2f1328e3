"""The cgroup v2 device program decides what the rules say: run in a small
eBPF interpreter (the subset a cgroup-device program uses: 32-bit LDX from
the context, ALU32, JMP, EXIT, and the verifier's demands of it: jumps
forward and inside the program, r0 written before exit) over many
(type, major, minor, access) requests, it agrees with a direct reading of
the OCI rules: the last matching rule decides, nothing matching denies."""

from __future__ import annotations

import itertools
import random
import struct

import pytest

from rs_docker.errors import RuntimeFailure
from rs_docker.models.security import device_rules
from rs_docker.runtime.cgroups import device_filter as df

BLOCK, CHAR = df.DEV_BLOCK, df.DEV_CHAR
M, R, W = df.ACC_MKNOD, df.ACC_READ, df.ACC_WRITE
U32 = 0xFFFFFFFF
U64 = (1 << 64) - 1


def decode(program: bytes, byteorder: str = "little") -> list[tuple[int, int, int, int, int]]:
    """struct bpf_insn -> (code, dst, src, off, imm)."""
    out = []
    for i in range(0, len(program), 8):
        if byteorder == "little":
            code, regs, off, imm = struct.unpack_from("<BBhi", program, i)
            out.append((code, regs & 0xF, regs >> 4, off, imm))
        else:
            code, regs, off, imm = struct.unpack_from(">BBhi", program, i)
            out.append((code, regs >> 4, regs & 0xF, off, imm))
    return out


def run_ebpf(insns, ctx: bytes) -> int:
    """Run a cgroup-device program on a struct bpf_cgroup_dev_ctx."""
    regs: list[int | None] = [None] * 11
    regs[1] = "ctx"  # only loaded from
    pc = 0
    while True:
        assert 0 <= pc < len(insns), f"pc {pc} outside the program"
        code, dst, src, off, imm = insns[pc]
        pc += 1
        cls = code & 0x07
        if cls == 0x01:  # BPF_LDX
            assert code == 0x61 and regs[src] == "ctx", f"load {code:#x} from r{src}"
            regs[dst] = struct.unpack_from("<I", ctx, off)[0]
        elif cls == 0x04:  # BPF_ALU (32-bit: the result is zero-extended)
            op = code & 0xF0
            v = regs[src] if code & 0x08 else imm & U32
            if op == 0xB0:
                regs[dst] = v & U32
                continue
            a = regs[dst]
            assert isinstance(a, int) and isinstance(v, int), f"ALU on an unset register {pc - 1}"
            a &= U32
            if op == 0x50:
                regs[dst] = a & v
            elif op == 0x70:
                regs[dst] = a >> v
            else:
                raise AssertionError(f"ALU op {op:#x} not interpreted")
        elif cls == 0x05:  # BPF_JMP (64-bit compare; imm sign-extended)
            op = code & 0xF0
            if op == 0x90:
                assert isinstance(regs[0], int), "exit without r0"
                return regs[0]
            a = regs[dst]
            v = regs[src] if code & 0x08 else imm & U64
            assert isinstance(a, int) and isinstance(v, int), f"jump on an unset register {pc - 1}"
            if op == 0x10:
                hit = a == v
            elif op == 0x50:
                hit = a != v
            else:
                raise AssertionError(f"JMP op {op:#x} not interpreted")
            assert off >= 0, "backward jump (the verifier refuses loops)"
            if hit:
                pc += off
        else:
            raise AssertionError(f"class {cls:#x} not interpreted")


def ctx(kind: int, major: int, minor: int, access: int) -> bytes:
    return struct.pack("<III", access << 16 | kind, major, minor)


def decide(rules: list[dict], kind: int, major: int, minor: int, access: int) -> bool:
    """The rules read directly: in order, the last one that matches decides."""
    verdict = False
    for rule in rules:
        t = rule.get("type") or "a"
        bits = sum({"m": M, "r": R, "w": W}[c] for c in set(rule.get("access") or "rwm"))
        if t != "a" and {"b": BLOCK, "c": CHAR}[t] != kind:
            continue
        if rule.get("major") is not None and rule["major"] != major:
            continue
        if rule.get("minor") is not None and rule["minor"] != minor:
            continue
        if rule.get("allow"):
            matches = access & ~bits == 0    # every bit asked for is allowed
        else:
            matches = access & bits != 0     # any bit asked for is denied
        if matches:
            verdict = bool(rule.get("allow"))
    return verdict


def decides_like_the_rules(rules, requests) -> int:
    insns = decode(df.program(rules))
    allowed = 0
    for kind, major, minor, access in requests:
        got = run_ebpf(insns, ctx(kind, major, minor, access))
        assert got == int(decide(rules, kind, major, minor, access)), \
            (rules, kind, major, minor, access)
        allowed += got
    return allowed


def requests_over(rules, extra=(0, 7, 4095)):
    """Every type and access (0: an exec-only permission check) over the
    numbers the rules name and `extra`, as far as a device can have them."""
    majors = {r["major"] for r in rules if r.get("major") is not None} | set(extra)
    minors = {r["minor"] for r in rules if r.get("minor") is not None} | set(extra)
    return itertools.product((BLOCK, CHAR), sorted(m for m in majors if m <= df.MAX_MAJOR),
                             sorted(m for m in minors if m <= df.MAX_MINOR), range(8))


def test_dockers_rules_open_only_its_devices_and_let_any_node_be_made():
    rules = device_rules()
    insns = decode(df.program(rules))

    def allowed(kind, major, minor, access):
        return run_ebpf(insns, ctx(kind, major, minor, access)) == 1
    assert allowed(CHAR, 1, 3, R | W)            # /dev/null
    assert allowed(CHAR, 1, 9, R)                # /dev/urandom
    assert allowed(CHAR, 136, 42, R | W)         # /dev/pts/42
    assert allowed(CHAR, 10, 200, R | W)         # /dev/net/tun
    assert allowed(CHAR, 10, 259, M) and allowed(BLOCK, 8, 0, M)  # mknod of anything
    assert not allowed(CHAR, 10, 259, R)         # ... but not opening it
    assert not allowed(BLOCK, 8, 0, R | W)       # a disk
    assert not allowed(CHAR, 1, 1, R)            # /dev/mem
    assert not allowed(CHAR, 10, 259, M | R)
    assert decides_like_the_rules(rules, requests_over(rules)) > 0


def test_privileged_rules_need_no_program():
    assert df.program(device_rules(privileged=True)) is None
    assert df.program([{"allow": False, "type": "c", "access": "rwm"},
                       {"allow": True, "access": "rwm"}]) is None
    # an allow-all followed by a deny still needs one
    rules = [{"allow": True, "access": "rwm"},
             {"allow": False, "type": "b", "major": 8, "access": "w"}]
    assert decides_like_the_rules(rules, requests_over(rules)) > 0


def test_the_last_matching_rule_decides():
    rules = [{"allow": False, "access": "rwm"},
             {"allow": True, "type": "c", "major": 1, "access": "rwm"},
             {"allow": False, "type": "c", "major": 1, "minor": 1, "access": "rwm"},
             {"allow": True, "type": "c", "major": 1, "minor": 1, "access": "r"}]
    insns = decode(df.program(rules))
    assert run_ebpf(insns, ctx(CHAR, 1, 5, R | W)) == 1
    assert run_ebpf(insns, ctx(CHAR, 1, 1, R)) == 1
    assert run_ebpf(insns, ctx(CHAR, 1, 1, W)) == 0
    assert decides_like_the_rules(rules, requests_over(rules)) > 0


def test_a_deny_rule_refuses_a_request_with_any_of_its_access_bits():
    """O_RDWR asks for r|w at once: "deny w" must refuse it (v1 does)."""
    rules = [{"allow": True, "access": "rwm"},
             {"allow": False, "type": "c", "major": 1, "minor": 3, "access": "w"}]
    insns = decode(df.program(rules))
    assert run_ebpf(insns, ctx(CHAR, 1, 3, R | W)) == 0
    assert run_ebpf(insns, ctx(CHAR, 1, 3, R)) == 1


def test_no_rules_and_deny_rules_alone_deny_everything():
    for rules in ([], [{"allow": False, "access": "rwm"}],
                  [{"allow": False, "type": "c", "major": 1, "access": "r"}]):
        insns = decode(df.program(rules))
        assert len(insns) == 8  # the loads, then return 0
        assert decides_like_the_rules(rules, requests_over(rules)) == 0


def test_numbers_no_device_has_match_nothing():
    rules = [{"allow": False, "access": "rwm"},
             {"allow": True, "type": "c", "major": 1 << 12, "access": "rwm"},
             {"allow": True, "type": "c", "major": 1, "minor": 1 << 40, "access": "rwm"},
             {"allow": True, "type": "b", "major": 4095, "minor": (1 << 20) - 1,
              "access": "rw"}]
    assert decides_like_the_rules(rules, requests_over(rules, (0, 1, 4095, (1 << 20) - 1))) > 0


def test_random_rule_sets_decide_like_the_rules():
    rng = random.Random(20261128)
    numbers = (0, 1, 5, 136, 4095)
    for _ in range(300):
        rules = []
        for _ in range(rng.randint(0, 7)):
            rule = {"allow": rng.random() < 0.6,
                    "access": "".join(c for c in "rwm" if rng.random() < 0.6)}
            kind = rng.choice(("a", "b", "c", None))
            if kind:
                rule["type"] = kind
            for key in ("major", "minor"):
                if rng.random() < 0.5:
                    rule[key] = rng.choice(numbers)
            rules.append(rule)
        if df.program(rules) is None:
            assert all(decide(rules, k, a, b, acc) for k, a, b, acc in requests_over(rules))
            continue
        decides_like_the_rules(rules, requests_over(rules, numbers + (7,)))


def test_big_endian_encoding_swaps_the_register_nibbles():
    rules = device_rules()
    little, big = df.program(rules, "little"), df.program(rules, "big")
    assert decode(little) == decode(big, "big")
    assert little != big


@pytest.mark.parametrize("rule, message", [
    ({"allow": True, "type": "x", "access": "r"}, "invalid device type 'x'"),
    ({"allow": True, "type": "c", "access": "rx"}, "invalid device access 'rx'"),
    ({"allow": True, "type": "c", "major": -1, "access": "r"}, "invalid device major -1"),
])
def test_invalid_rules_fail_in_one_line(rule, message):
    with pytest.raises(RuntimeFailure, match=message):
        df.program([rule])
