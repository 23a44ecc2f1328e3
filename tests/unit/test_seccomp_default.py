"""The default profile is Docker's current one (moby/profiles seccomp
v0.2.3): the differences from the profile of Docker 24 that this tree
shipped before, pinned on the converted section and, where a filter
decides, on the compiled BPF program run in test_seccomp_bpf's
interpreter."""

from __future__ import annotations

import errno
import functools

import pytest

from rs_docker.linux import seccomp as scmp
from rs_docker.models import seccomp_default
from rs_docker.models.seccomp_profile import convert_profile, host_arch
from rs_docker.models.security import DEFAULT_CAPS, resolve_caps, seccomp_for
from rs_docker.runtime.security import seccomp, seccomp_cache
from tests.unit.test_seccomp_bpf import AUDIT_ARCH_X86_64, decode, run_bpf, seccomp_data

IO_URING = {"io_uring_setup", "io_uring_enter", "io_uring_register"}
ALL_CAPS = resolve_caps(cap_add=["ALL"])
ALLOW, EPERM = 0x7FFF0000, 0x00050000 | errno.EPERM
AF_ALG, AF_VSOCK = 38, 40


def names_of(section, **match) -> set[str]:
    return {n for c in section["syscalls"] if all(c.get(k) == v for k, v in match.items())
            for n in c["names"]}


def section(caps=DEFAULT_CAPS, arch="amd64"):
    return seccomp_for((), False, caps, arch=arch, kernel="6.18.0")


@functools.cache
def program(caps: tuple[str, ...]) -> list[tuple[int, int, int, int]]:
    flt = seccomp.compile_program(seccomp.generate(section(caps)))
    try:
        return decode(flt.export_bpf())
    finally:
        flt.release()


def decide(caps, name: str, *args: int) -> int:
    """The action the compiled filter takes for `name`(args) on x86_64."""
    padded = (args + (0,) * 6)[:6]
    return run_bpf(program(tuple(caps)),
                   seccomp_data(scmp.syscall_number(name), AUDIT_ARCH_X86_64, padded))


@pytest.mark.parametrize("caps", [DEFAULT_CAPS, ALL_CAPS], ids=["default", "all-caps"])
@pytest.mark.parametrize("arch", ["amd64", "arm64", "s390x"])
def test_io_uring_is_in_no_group_whatever_the_capabilities(caps, arch):
    """moby PR 46762 (Docker 25): only --privileged or seccomp=unconfined
    give io_uring back."""
    assert not IO_URING & names_of(section(caps, arch))
    assert not IO_URING & set(seccomp_default.ALLOWED.split())


@pytest.mark.parametrize("caps", [DEFAULT_CAPS, ALL_CAPS], ids=["default", "all-caps"])
def test_the_filter_answers_io_uring_with_eperm(caps):
    for name in sorted(IO_URING):
        assert decide(caps, name, 1, 0) == EPERM, name


def test_socket_refuses_exactly_af_alg_and_af_vsock():
    socket = [c for c in section()["syscalls"] if c["names"] == ["socket"]]
    assert [c["args"] for c in socket] == [
        [{"index": 0, "value": AF_ALG, "valueTwo": 0, "op": "SCMP_CMP_LT"}],
        [{"index": 0, "value": AF_ALG + 1, "valueTwo": 0, "op": "SCMP_CMP_EQ"}],
        [{"index": 0, "value": AF_VSOCK, "valueTwo": 0, "op": "SCMP_CMP_GT"}]]
    refused = [family for family in range(64) if decide(DEFAULT_CAPS, "socket", family) != ALLOW]
    assert refused == [AF_ALG, AF_VSOCK]


def test_calls_of_newer_kernels_are_allowed_and_lsm_ones_need_cap_sys_admin():
    newer = {"cachestat", "fchmodat2", "futex_requeue", "futex_wait", "futex_wake",
             "getxattrat", "listmount", "listxattrat", "map_shadow_stack", "mseal",
             "removexattrat", "riscv_hwprobe", "setxattrat", "statmount", "uretprobe"}
    lsm = {"lsm_get_self_attr", "lsm_list_modules", "lsm_set_self_attr"}
    default = names_of(section(), action="SCMP_ACT_ALLOW")
    assert newer <= default and not lsm & default
    assert lsm <= names_of(section(resolve_caps(cap_add=["SYS_ADMIN"])), action="SCMP_ACT_ALLOW")


def test_denials_keep_dockers_errnos():
    s = section()
    assert (s["defaultAction"], s["defaultErrnoRet"]) == ("SCMP_ACT_ERRNO", errno.EPERM)
    assert [c.get("errnoRet") for c in s["syscalls"] if c["action"] != "SCMP_ACT_ALLOW"] \
        == [errno.ENOSYS]  # clone3 only: libcs fall back to clone on ENOSYS


def test_arch_names_follow_mobys_go_to_native():
    """includes.arches uses "x86" for 386 (modify_ldt on i686), and the
    archMap knows loongarch64."""
    assert host_arch("i686") == ("x86", "SCMP_ARCH_X86")
    i686 = section(arch="x86")
    assert "modify_ldt" in names_of(i686) and "arch_prctl" not in names_of(i686)
    assert i686["architectures"] == []  # no archMap entry: the runtime's native arch only
    loong = convert_profile(seccomp_default.profile(), DEFAULT_CAPS, arch="loongarch64",
                            kernel="6.18.0")
    assert loong["architectures"] == ["SCMP_ARCH_LOONGARCH64"]


def test_the_compiled_program_cache_key_changes_with_the_profile():
    """A store's cache entries of the previous profile (io_uring allowed)
    are never loaded for the new one: the key covers the whole section."""
    new = section()
    old = {**new, "syscalls": [{**new["syscalls"][0],
                                "names": new["syscalls"][0]["names"] + sorted(IO_URING)},
                               *new["syscalls"][1:]]}
    assert seccomp_cache.key(new, "libseccomp") != seccomp_cache.key(old, "libseccomp")
