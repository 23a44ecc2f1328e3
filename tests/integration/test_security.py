"""Security defaults, probed from inside a real process after the real hooks
ran. Every check is also shown to fail open on an unconfined process
(privileged / seccomp=unconfined), so it cannot pass by accident.

The first part drives rs_docker.runtime.security.steps directly (forked child,
fresh mount+UTS namespaces); the second runs whole containers through the
runtime (tests/fixtures/bundle.py + rs_docker.runtime.process.start.run) when it exists.
"""

from __future__ import annotations

import json
import os
import resource

import pytest

from rs_docker.errors import RuntimeFailure
from rs_docker.linux import capabilities
from rs_docker.models.security import MASKED_PATHS
from rs_docker.runtime.rootfs.masks import open_dev_null
from rs_docker.runtime.security import steps
from tests.fixtures.procs import in_child
from tests.integration.security_probe import docker_config, host_has_cap, run_probe

pytestmark = pytest.mark.root

STATUS = "grep -E '^(Cap|NoNewPrivs|Seccomp)' /proc/self/status; "
DOCKER_CAPS = "00000000a80425fb"
CAP_SYS_RESOURCE = 24


def test_default_container_has_dockers_caps_and_a_seccomp_filter():
    p = run_probe(docker_config(), STATUS)
    assert p.status == 0, p.out
    assert p.field("CapEff") == p.field("CapPrm") == p.field("CapBnd") == DOCKER_CAPS
    assert p.field("CapInh") == p.field("CapAmb") == "0000000000000000"
    assert p.field("NoNewPrivs") == "0"
    assert p.field("Seccomp") == "2"


def test_privileged_keeps_everything_the_host_has():
    p = run_probe(docker_config(privileged=True), STATUS)
    assert p.field("CapEff") != DOCKER_CAPS and p.field("Seccomp") == "0"


def test_non_root_user_gets_no_effective_caps_but_the_same_bounding_set():
    p = run_probe(docker_config(uid=1000), STATUS + "id -u")
    assert p.status == 0, p.out
    assert p.field("CapEff") == p.field("CapPrm") == "0000000000000000"
    assert p.field("CapBnd") == DOCKER_CAPS
    assert p.out.strip().endswith("1000")


def test_no_new_privileges():
    p = run_probe(docker_config(no_new_privs=True), STATUS)
    assert p.field("NoNewPrivs") == "1" and p.field("Seccomp") == "2"


def test_cap_add_and_drop_show_in_the_mask():
    p = run_probe(docker_config(cap_add=["NET_ADMIN"], cap_drop=["CHOWN"]), STATUS)
    eff = int(p.field("CapEff"), 16)
    assert eff == (0xA80425FB | 1 << 12) & ~1


@pytest.mark.parametrize("script,refusal", [
    ("unshare -m true", "unshare: unshare(0x20000): Operation not permitted\n"),
    ("mount -t tmpfs x /mnt", "mount: permission denied (are you root?)\n"),
])
def test_namespaces_and_mounts_are_refused(script, refusal):
    # busybox's own words for EPERM: a failing hook would print "hook failed: ..." and exit 125
    p = run_probe(docker_config(), script)
    assert (p.status, p.out) == (1, refusal)
    assert run_probe(docker_config(privileged=True), script).status == 0


def test_seccomp_alone_refuses_unshare_even_with_cap_sys_admin_in_a_filter_without_it():
    # CAP_SYS_ADMIN added -> the profile allows unshare; then unconfined + no caps
    assert run_probe(docker_config(cap_add=["SYS_ADMIN"]), "unshare -m true").status == 0
    # seccomp still on, caps all but SYS_ADMIN: the clone/unshare rules stay in
    p = run_probe(docker_config(cap_add=["ALL"], cap_drop=["SYS_ADMIN"]), "unshare -U true")
    assert (p.status, p.out) == (1, "unshare: unshare(0x10000000): Operation not permitted\n")
    q = run_probe(docker_config(cap_add=["ALL"], cap_drop=["SYS_ADMIN"],
                                security_opts=["seccomp=unconfined"]), "unshare -U true")
    assert q.status == 0, q.out


def test_custom_seccomp_profile(tmp_path):
    profile = tmp_path / "deny-mkdir.json"
    profile.write_text(json.dumps({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}))
    target = tmp_path / "d"
    p = run_probe(docker_config(security_opts=[f"seccomp={profile}"]), f"mkdir {target}")
    assert (p.status, p.out) == (1, f"mkdir: can't create directory '{target}': "
                                    "Permission denied\n")
    assert not target.exists()


def test_masked_and_readonly_proc_paths():
    # whichever of Docker's masked paths this kernel has (this VM: no kcore)
    files = [p for p in MASKED_PATHS if os.path.isfile(p)]
    dirs = [p for p in MASKED_PATHS if os.path.isdir(p) and os.listdir(p)]
    assert files and dirs
    script = "".join(f"test -c {f} && echo masked {f}; " for f in files)
    script += "".join(f"test -z \"$(ls {d})\" && echo emptied {d}; " for d in dirs)
    script += "echo x > /proc/sys/kernel/domainname && echo sys-writable"
    p = run_probe(docker_config(), script)
    for f in files:
        assert f"masked {f}" in p.out, p.out
    for d in dirs:
        assert f"emptied {d}" in p.out, p.out
    assert "sys-writable" not in p.out, p.out
    assert "sh: can't create /proc/sys/kernel/domainname: Read-only file system" in \
        p.out.splitlines(), p.out
    q = run_probe(docker_config(privileged=True), script)
    assert "masked" not in q.out and "emptied" not in q.out and "sys-writable" in q.out, q.out


def test_a_fake_dev_null_is_refused(tmp_path):
    (tmp_path / "dev").mkdir()
    (tmp_path / "dev/null").symlink_to("/etc/passwd")
    with pytest.raises(RuntimeFailure, match="is not the null device"):
        open_dev_null(str(tmp_path))
    (tmp_path / "dev/null").unlink()
    (tmp_path / "dev/null").write_text("")
    with pytest.raises(RuntimeFailure, match="is not the null device"):
        open_dev_null(str(tmp_path))


def test_ulimits_apply():
    p = run_probe(docker_config(rlimits=["nofile=1024:2048"]), "ulimit -n; ulimit -Hn")
    assert p.out.split() == ["1024", "2048"], p.out


def test_a_hard_limit_above_the_host_is_a_clear_error():
    """Run by a root without CAP_SYS_RESOURCE (dropped in a child where this
    host's root has it): the hard limit cannot be raised, and says so."""
    _, host_hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = host_hard + 10000

    def without_sys_resource() -> list:
        sets, keep = capabilities.capget(), ~(1 << CAP_SYS_RESOURCE)
        capabilities.capset(capabilities.CapSets(sets.effective & keep, sets.permitted & keep,
                                                 sets.inheritable & keep))
        p = run_probe(docker_config(rlimits=[f"nofile={want}:{want}"]), "true")
        return [p.status, p.out, host_has_cap(CAP_SYS_RESOURCE)]

    status, out, had_cap = in_child(without_sys_resource)
    assert not had_cap
    assert (status, out) == (125, f"hook failed: ulimit nofile={want}:{want}: hard limit is "
                                  f"above this host's {host_hard} and raising it needs "
                                  "CAP_SYS_RESOURCE\n")


def test_hooks_ignore_absent_sections():
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            cfg: dict = {}
            prepared = steps.prepare(cfg)
            for hook in (steps.apply_masks, steps.apply_rlimits,
                         steps.drop_bounding, steps.apply_caps,
                         steps.set_no_new_privs):
                hook(cfg)
            steps.load_seccomp(prepared)
            os._exit(0 if open("/proc/self/status").read().count("Seccomp:\t0") else 3)
        except BaseException:  # noqa: B036
            os._exit(4)
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0


# ---- through the runtime -------------------------------------------------

def _runtime():
    from rs_docker.runtime.process.start import run
    from tests.fixtures.bundle import make_bundle

    return run, make_bundle


def _run_container(tmp_path, script, **security_kw):
    run, make_bundle = _runtime()
    bundle = make_bundle(tmp_path, ["/bin/sh", "-c", script])
    path = bundle / "config.json"
    config = json.loads(path.read_text())
    sec = docker_config(**security_kw)
    config["process"].update({k: v for k, v in sec["process"].items() if k != "user"})
    config["process"]["user"] = {**config["process"].get("user", {}), **sec["process"]["user"]}
    config["linux"].pop("seccomp", None)
    config["linux"].update(sec["linux"])
    path.write_text(json.dumps(config))
    out, err = tmp_path / "out", tmp_path / "err"
    with open(out, "w") as o, open(err, "w") as e:
        result = run(bundle, stdout=o, stderr=e)
    return result, out.read_text() + err.read_text()


def test_container_status_through_the_runtime(tmp_path):
    result, out = _run_container(tmp_path, STATUS + "unshare -m true; echo unshare=$?")
    assert result.exit_code == 0, out
    assert f"CapEff:\t{DOCKER_CAPS}" in out and f"CapBnd:\t{DOCKER_CAPS}" in out
    assert "Seccomp:\t2" in out and "unshare=1" in out


def test_container_masks_through_the_runtime(tmp_path):
    result, out = _run_container(
        tmp_path, "test -c /proc/keys && echo keys-masked; echo 1 > /proc/sys/vm/overcommit_memory")
    assert out.splitlines() == ["keys-masked", "/bin/sh: can't create /proc/sys/vm/overcommit_memory: "
                                "Read-only file system"], out


def test_a_caller_without_a_capability_passes_its_bounding_set_on(tmp_path):
    """The parent reads its bounding set before fork for PID 1 (steps.
    prepare): a caller whose bounding set already lacks NET_RAW runs a
    default container fine, and the container cannot regain NET_RAW."""
    from rs_docker.linux import capabilities as lc

    cap_net_raw = 13

    def run_without_net_raw():
        lc.bounding_drop(cap_net_raw)
        result, out = _run_container(tmp_path, STATUS)
        return [result.exit_code, out]

    exit_code, out = in_child(run_without_net_raw)
    assert exit_code == 0, out
    assert f"CapBnd:\t{int(DOCKER_CAPS, 16) & ~(1 << cap_net_raw):016x}" in out, out


def test_prepare_leaves_the_bounding_set_to_a_child_entering_a_user_namespace():
    """A new or joined user namespace resets the bounding set to the full
    set (user_namespaces(7)): the parent's must not be used there."""
    config = docker_config()
    assert steps.prepare(config).bounding is not None
    config["linux"]["namespaces"] = [{"type": "mount"}, {"type": "user"}]
    prepared = steps.prepare(config)
    assert prepared.bounding is None and prepared.last_cap is not None
