"""The cgroup limits of `rs-docker run` as a user sees them, through the CLI,
on whatever layout the machine has: v1 hybrid on the development machines,
pure cgroup v2 inside `make test-v2`'s guest (scripts/v2vm), where the
same tests run from the root cgroup and from a non-root cgroup that holds
the test process. A limit is read back inside the container, from its own
cgroup files (cgroup namespace: its cgroup is the root of what it sees), and
a process that goes past it is stopped."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from rs_docker.runtime.cgroups.detect import detect
from rs_docker.runtime.cgroups.resources import shares_to_weight
from tests.conftest import module_rsd_removing
from tests.fixtures.cli import ok

pytestmark = pytest.mark.root

LAYOUT = detect(Path("/proc/self/mountinfo").read_text()).mode
V2 = LAYOUT == "v2"
CGROUP = "/sys/fs/cgroup"

# Where each limit is seen inside the container (its own cgroup is the root
# of its cgroup namespace): v2 files, or the v1 controller mounts.
FILES = {
    "memory": "memory.max" if V2 else "memory/memory.limit_in_bytes",
    "swap": "memory.swap.max" if V2 else "memory/memory.memsw.limit_in_bytes",
    "cpu": "cpu.max" if V2 else "cpu/cpu.cfs_quota_us",
    "shares": "cpu.weight" if V2 else "cpu/cpu.shares",
    "pids": "pids.max" if V2 else "pids/pids.max",
    "procs": "cgroup.procs" if V2 else "pids/cgroup.procs",
}


@pytest.fixture(scope="module")
def rs(tmp_path_factory, busybox):
    yield from module_rsd_removing(tmp_path_factory, "limits", busybox)


@pytest.fixture(scope="module")
def image(busybox):
    return busybox


def _inside(rs, image, flags, script):
    return rs("run", "--rm", *flags, image, "sh", "-c", script)


def _cgroup_dirs(container_id: str) -> list[Path]:
    """Every directory of this container's cgroup in any hierarchy."""
    root = Path(CGROUP)
    return [p for p in [*root.glob(f"rs-docker/{container_id}"),
                        *root.glob(f"*/rs-docker/{container_id}")] if p.is_dir()]


def test_memory_limit_is_the_containers_and_an_oom_kill_exits_137(rs, image):
    out = ok(_inside(rs, image, ["-m", "32m"], f"cat {CGROUP}/{FILES['memory']}"))
    assert int(out) == 32 << 20
    name = "oom-" + os.urandom(4).hex()
    proc = rs("run", "--name", name, "-m", "32m", "--memory-swap", "32m", image,
              "dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1")
    assert proc.returncode == 137, proc.stderr
    state = json.loads(ok(rs("inspect", name)))[0]["State"]
    assert (state["ExitCode"], state["OOMKilled"]) == (137, True)


def test_memory_swap_limit(rs, image):
    has_swap = V2 or Path(CGROUP, "memory", FILES["swap"].split("/", 1)[1]).exists()
    if not has_swap:
        # without swap accounting (v1 with swapaccount=0), Docker warns and runs
        proc = _inside(rs, image, ["-m", "32m", "--memory-swap", "64m"], "true")
        assert proc.returncode == 0, proc.stderr
        return
    out = ok(_inside(rs, image, ["-m", "32m", "--memory-swap", "64m"],
                     f"cat {CGROUP}/{FILES['swap']}"))
    # v2 counts swap alone (64m - 32m), v1 memory plus swap
    assert int(out) == (32 << 20 if V2 else 64 << 20)


def test_cpus_become_a_quota(rs, image):
    out = ok(_inside(rs, image, ["--cpus", "0.5"], f"cat {CGROUP}/{FILES['cpu']}"))
    assert out.split() == (["50000", "100000"] if V2 else ["50000"])


def test_cpu_shares(rs, image):
    out = ok(_inside(rs, image, ["--cpu-shares", "512"], f"cat {CGROUP}/{FILES['shares']}"))
    assert int(out) == (shares_to_weight(512) if V2 else 512)


def test_pids_limit_stops_a_fork_loop(rs, image):
    out = ok(_inside(rs, image, ["--pids-limit", "10"], f"cat {CGROUP}/{FILES['pids']}"))
    assert out.strip() == "10"
    proc = _inside(rs, image, ["--pids-limit", "10"],
                   "for i in $(seq 30); do sleep 1000 & done")
    assert proc.returncode == 2 and "can't fork" in proc.stderr, proc.stderr


def test_a_disk_node_made_inside_cannot_be_opened_but_dev_null_can(rs, image):
    # CAP_MKNOD is one of Docker's default capabilities; the device rules
    # (v1 devices.deny, v2 the BPF program) refuse opening what they do not list.
    proc = _inside(rs, image, [], "mknod /tmp/disk b 8 0 && head -c1 /tmp/disk")
    assert proc.returncode != 0 and "Operation not permitted" in proc.stderr, proc.stderr
    assert ok(_inside(rs, image, [], "echo x >/dev/null && head -c1 /dev/null | wc -c")) \
        .strip() == "0"


def test_exec_lands_in_the_containers_cgroup(rs, image):
    cid = ok(rs("run", "-d", image, "sleep", "1000")).strip()
    try:
        pid1 = ok(rs("exec", cid, "cat", "/proc/1/cgroup"))
        own = ok(rs("exec", cid, "cat", "/proc/self/cgroup"))
        assert own == pid1
        procs = ok(rs("exec", cid, "sh", "-c", f"cat {CGROUP}/{FILES['procs']}")).split()
        assert len(procs) >= 2  # PID 1 and the exec'd shell
    finally:
        rs("rm", "-f", cid)


@pytest.mark.parametrize("end", ["stop", "kill", "rm -f"])
def test_no_cgroup_is_left_behind(rs, image, end):
    cid = ok(rs("run", "-d", "-m", "64m", "--pids-limit", "50", image, "sleep", "1000")).strip()
    assert _cgroup_dirs(cid), "the running container has a cgroup"
    ok(rs(*end.split(), cid))
    if end != "rm -f":
        ok(rs("rm", cid))
    assert _cgroup_dirs(cid) == []
