"""cgroups on this machine's real tree (hybrid here: v1 controllers plus a
cgroup2 mount at /sys/fs/cgroup/unified), with real processes: a memory
hog is OOM-killed and reported, a fork loop hits pids.max, and every
directory is gone after destroy(). Then the same through the runtime when
it has landed."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest

from rs_docker.models.security import cpus_to_quota, memory_resources
from rs_docker.runtime.cgroups import create_cgroup
from rs_docker.runtime.cgroups.detect import detect

pytestmark = pytest.mark.root

HOG = "dd if=/dev/zero of=/dev/null bs=64M count=1"  # a 64 MiB buffer, filled
FORKS = "for i in $(seq 40); do sleep 1 & done; wait"


def _id() -> str:
    return "t-" + uuid.uuid4().hex[:12]


def _in_cgroup(cg, script: str) -> subprocess.CompletedProcess:
    """Run `sh -c script` as a process added to `cg` before it execs."""
    return subprocess.run(["/bin/busybox", "sh", "-c", script], capture_output=True, text=True,
                          timeout=30, preexec_fn=lambda: cg.add(os.getpid()))


@pytest.fixture
def cgroup():
    made = []

    def make(resources):
        cg = create_cgroup(_id(), resources, None)
        made.append(cg)
        return cg
    yield make
    for cg in made:
        cg.destroy()


def test_this_machine_layout_is_detected_from_mountinfo():
    layout = detect(Path("/proc/self/mountinfo").read_text())
    assert layout.mode in ("v1", "v2", "hybrid")
    if layout.mode != "v2":
        assert "memory" in layout.v1 and "pids" in layout.v1


def test_memory_limit_oom_kills_and_is_reported(cgroup):
    cg = cgroup({"memory": memory_resources("32m")})
    proc = _in_cgroup(cg, HOG)
    assert proc.returncode == -9, proc  # sh -c execs dd; the OOM killer's SIGKILL
    assert cg.oom_killed() is True
    free = cgroup({})
    assert _in_cgroup(free, HOG).returncode == 0 and free.oom_killed() is False


def test_pids_limit_stops_a_fork_loop(cgroup):
    cg = cgroup({"pids": {"limit": 20}})
    # sleeps that outlast the loop however slow the machine (destroy kills
    # them), holding none of our pipes open
    proc = _in_cgroup(cg, "for i in $(seq 40); do sleep 1000 >/dev/null 2>&1 & done")
    assert (proc.returncode, proc.stderr) == \
        (2, "sh: can't fork: Resource temporarily unavailable\n")
    free = cgroup({})
    proc = _in_cgroup(free, FORKS)
    assert proc.returncode == 0 and proc.stderr == ""


def test_cpu_quota_is_written(cgroup):
    cg = cgroup({"cpu": {**cpus_to_quota("0.5"), "shares": 512}})
    if cg.version == 2:
        assert (Path(cg.paths[""]) / "cpu.max").read_text().split() == ["50000", "100000"]
    else:
        assert (Path(cg.paths["cpu"]) / "cpu.cfs_quota_us").read_text().strip() == "50000"
        assert (Path(cg.paths["cpu"]) / "cpu.shares").read_text().strip() == "512"


def test_destroy_removes_every_directory_after_the_processes_exit():
    cg = create_cgroup(_id(), {"pids": {"limit": 10}}, None)
    assert _in_cgroup(cg, "sleep 0.1").returncode == 0
    paths = list(map(Path, cg.paths.values()))
    assert all(p.is_dir() for p in paths)
    cg.destroy()
    assert not any(p.exists() for p in paths)


# ---- through the runtime -------------------------------------------------

def _runtime():
    from rs_docker.runtime.process.start import run
    from tests.fixtures.bundle import make_bundle

    return run, make_bundle


def _run_container(tmp_path, script, resources):
    run, make_bundle = _runtime()
    bundle = make_bundle(tmp_path, ["/bin/sh", "-c", script])
    path = bundle / "config.json"
    config = json.loads(path.read_text())
    config["linux"]["resources"] = resources
    path.write_text(json.dumps(config))
    with open(tmp_path / "out", "w") as o, open(tmp_path / "err", "w") as e:
        result = run(bundle, stdout=o, stderr=e)
    return result, (tmp_path / "out").read_text() + (tmp_path / "err").read_text()


def _leftovers(before: set[Path]) -> set[Path]:
    # below a v1 controller or the hybrid unified mount, or at the v2 root
    root = Path("/sys/fs/cgroup")
    return {*root.glob("*/rs-docker/*"), *root.glob("rs-docker/*")} - before


def test_container_oom_exit_137(tmp_path):
    before = _leftovers(set())
    result, out = _run_container(tmp_path, HOG, {"memory": memory_resources("32m")})
    assert result.exit_code == 137 and result.oom_killed is True, out
    assert _leftovers(before) == set()


def test_container_pids_limit(tmp_path):
    # the sleeps outlast the loop however slow the machine, and die with PID 1
    result, out = _run_container(tmp_path, "for i in $(seq 40); do sleep 1000 & done",
                                 {"pids": {"limit": 20}})
    assert (result.exit_code, out) == (2, "/bin/sh: can't fork: Resource temporarily unavailable\n")
