import errno
import json

import pytest

from rs_docker.errors import UsageError
from rs_docker.linux import seccomp as scmp
from rs_docker.models.seccomp_profile import convert_profile
from rs_docker.models.security import (
    DEFAULT_CAPS,
    default_seccomp_profile,
    resolve_caps,
    seccomp_for,
)
from rs_docker.runtime.security.seccomp import generate

NS_FLAGS = 0x7E020000  # CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET


def names_of(section, **match):
    return {n for c in section["syscalls"] if all(c.get(k) == v for k, v in match.items())
            for n in c["names"]}


@pytest.fixture
def default():
    return seccomp_for((), False, DEFAULT_CAPS, arch="amd64", kernel="6.1.0")


def test_default_profile_denies_with_eperm_on_x86_64_and_its_sub_arches(default):
    assert default["defaultAction"] == "SCMP_ACT_ERRNO"
    assert default["defaultErrnoRet"] == errno.EPERM
    assert default["architectures"] == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]


def test_default_profile_allows_the_everyday_calls_but_not_the_admin_ones(default):
    allowed = names_of(default, action="SCMP_ACT_ALLOW")
    assert {"read", "execve", "openat", "arch_prctl", "ptrace", "chroot"} <= allowed
    assert not {"mount", "unshare", "setns", "keyctl", "add_key", "reboot",
                "init_module", "bpf", "open_by_handle_at", "swapon"} & allowed


def test_clone_with_namespace_flags_is_refused_and_clone3_gets_enosys(default):
    clone = [c for c in default["syscalls"] if c["names"] == ["clone"]]
    assert clone == [{"names": ["clone"], "action": "SCMP_ACT_ALLOW", "args": [
        {"index": 0, "value": NS_FLAGS, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]}]
    clone3 = [c for c in default["syscalls"] if c["names"] == ["clone3"]]
    assert clone3 == [{"names": ["clone3"], "action": "SCMP_ACT_ERRNO",
                       "errnoRet": errno.ENOSYS}]


def test_cap_sys_admin_unlocks_mount_and_unconditional_clone():
    caps = resolve_caps(cap_add=["SYS_ADMIN"])
    section = seccomp_for((), False, caps, arch="amd64", kernel="6.1.0")
    allowed = names_of(section, action="SCMP_ACT_ALLOW")
    assert {"mount", "unshare", "setns", "clone", "clone3"} <= allowed
    assert not [c for c in section["syscalls"] if c.get("args") and c["names"] == ["clone"]]
    assert "clone3" not in names_of(section, action="SCMP_ACT_ERRNO")


def test_arch_and_kernel_conditions():
    arm = seccomp_for((), False, DEFAULT_CAPS, arch="arm64", kernel="6.1.0")
    assert arm["architectures"] == ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]
    assert "arch_prctl" not in names_of(arm) and "set_tls" in names_of(arm)
    old = seccomp_for((), False, DEFAULT_CAPS, arch="amd64", kernel="4.4.0-generic")
    assert "ptrace" not in names_of(old)


def test_unconfined_and_privileged_mean_no_filter():
    assert seccomp_for(["seccomp=unconfined"], False, DEFAULT_CAPS) is None
    assert seccomp_for([], True, DEFAULT_CAPS) is None


def test_custom_profile_file(tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"name": "mkdir", "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}))
    section = seccomp_for([f"seccomp={path}"], False, DEFAULT_CAPS)
    assert section["defaultAction"] == "SCMP_ACT_ALLOW"
    assert section["syscalls"] == [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO",
                                    "errnoRet": 13}]


@pytest.mark.parametrize("content, message", [
    ("{nope", "decoding seccomp profile"),
    ("[]", "not a JSON object"),
    ('{"defaultAction": "SCMP_ACT_EXPLODE"}', "invalid defaultAction"),
    ('{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"name": "a", "names": ["b"],'
     ' "action": "SCMP_ACT_ALLOW"}]}', "use either 'name' or 'names'"),
    ('{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["a"],'
     ' "action": "SCMP_ACT_ALLOW", "args": [{"index": 9, "value": 1, "op": "SCMP_CMP_EQ"}]}]}',
     "argument index out of range"),
    ('{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86"],'
     ' "archMap": [{"architecture": "SCMP_ARCH_X86_64"}]}', "use either 'architectures'"),
])
def test_bad_profile_is_a_one_line_usage_error(tmp_path, content, message):
    path = tmp_path / "p.json"
    path.write_text(content)
    with pytest.raises(UsageError, match=message) as e:
        seccomp_for([f"seccomp={path}"], False, DEFAULT_CAPS)
    assert "\n" not in str(e.value)


def test_missing_profile_file(tmp_path):
    with pytest.raises(UsageError, match="opening seccomp profile .*no such file"):
        seccomp_for([f"seccomp={tmp_path}/none.json"], False, DEFAULT_CAPS)


def test_generated_program_resolves_names_and_conditions(default):
    program = generate(default)
    assert program.default_action == scmp.ACT_ERRNO | errno.EPERM
    by_name = {}
    for rule in program.rules:
        by_name.setdefault(rule.name, []).append(rule)
    (clone,) = by_name["clone"]
    assert clone.action == scmp.ACT_ALLOW
    assert clone.args == [(0, scmp.CMP["SCMP_CMP_MASKED_EQ"], NS_FLAGS, 0)]
    assert by_name["clone3"][0].action == scmp.ACT_ERRNO | errno.ENOSYS
    assert len(by_name["personality"]) == 5
    assert by_name["socketcall"][0].nr < 0  # x86-only call: libseccomp pseudo number


def test_unknown_names_and_rules_equal_to_the_default_are_skipped():
    program = generate({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["not_a_syscall", "getpid"], "action": "SCMP_ACT_ERRNO"},
        {"names": ["read"], "action": "SCMP_ACT_ALLOW"}]})
    assert program.skipped == ["not_a_syscall"]
    assert [r.name for r in program.rules] == ["getpid"]


def test_conditions_on_one_argument_become_separate_rules():
    program = generate({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [
            {"index": 0, "value": 0, "op": "SCMP_CMP_EQ"},
            {"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]}]})
    assert [r.args for r in program.rules] == [[(0, 4, 0, 0)], [(0, 4, 8, 0)]]


def test_shipped_profile_matches_docker_shape():
    profile = default_seccomp_profile()
    assert profile["defaultAction"] == "SCMP_ACT_ERRNO" and profile["defaultErrnoRet"] == 1
    assert convert_profile(profile, caps=(), arch="amd64", kernel="6.1")["syscalls"]
