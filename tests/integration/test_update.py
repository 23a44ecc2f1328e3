"""`update` through the CLI: a running container sees its new limits in
its own cgroup files, an allocation past a lowered memory limit is
OOM-killed, inspect and stats show the new values, a stopped container
keeps them for its next start."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rs_docker.runtime.cgroups.detect import detect
from tests.fixtures.cli import ok

pytestmark = pytest.mark.root

V2 = detect(Path("/proc/self/mountinfo").read_text()).mode == "v2"
MEMORY = "/sys/fs/cgroup/" + ("memory.max" if V2 else "memory/memory.limit_in_bytes")
PIDS = "/sys/fs/cgroup/" + ("pids.max" if V2 else "pids/pids.max")


def _inspect(rsd, name: str) -> dict:
    return json.loads(ok(rsd("inspect", name)))[0]


@pytest.fixture
def live(rsd, busybox):
    ok(rsd("run", "--network", "none", "-d", "--name", "up", "-m", "256m",
           "--memory-swap", "256m", busybox, "sleep", "300"))
    yield "up"
    rsd("rm", "-f", "up")


def test_memory_update_is_seen_inside_and_enforced(rsd, live):
    assert int(ok(rsd("exec", live, "cat", MEMORY))) == 256 << 20
    assert ok(rsd("update", "-m", "32m", "--memory-swap", "32m", live)).strip() == live
    assert int(ok(rsd("exec", live, "cat", MEMORY))) == 32 << 20
    host = _inspect(rsd, live)["HostConfig"]
    assert (host["Memory"], host["MemorySwap"]) == (32 << 20, 32 << 20)
    assert ok(rsd("stats", "--no-stream", "--format", "{{.MemUsage}}", live)) \
        .strip().endswith(" / 32MiB")
    # 64 MiB in one buffer: past the new limit, the kernel's OOM killer ends it
    proc = rsd("exec", live, "dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1")
    assert proc.returncode == 137, proc.stderr
    # while 16 MiB still fits
    ok(rsd("exec", live, "dd", "if=/dev/zero", "of=/dev/null", "bs=16M", "count=1"))


def test_pids_and_cpus(rsd, live):
    ok(rsd("update", "--pids-limit", "20", "--cpus", "0.5", "--cpu-shares", "512", live))
    assert ok(rsd("exec", live, "cat", PIDS)).strip() == "20"
    host = _inspect(rsd, live)["HostConfig"]
    assert (host["PidsLimit"], host["NanoCpus"], host["CpuShares"]) == (20, 5 * 10**8, 512)
    # 20 tasks at most: a shell starting 30 gets "can't fork" past them
    proc = rsd("exec", live, "sh", "-c", "for i in $(seq 30); do sleep 1 & done; wait")
    assert "fork" in proc.stderr or "temporarily unavailable" in proc.stderr, proc.stderr


def test_a_stopped_container_starts_with_the_new_limit(rsd, busybox):
    ok(rsd("run", "--network", "none", "-d", "--name", "later2", busybox, "sleep", "300"))
    ok(rsd("stop", "-t", "0", "later2"))
    ok(rsd("update", "-m", "48m", "later2"))
    ok(rsd("start", "later2"))
    try:
        assert int(ok(rsd("exec", "later2", "cat", MEMORY))) == 48 << 20
    finally:
        rsd("rm", "-f", "later2")


def test_restart_policy_and_refusals(rsd, busybox, live):
    ok(rsd("update", "--restart", "on-failure:2", live))
    assert _inspect(rsd, live)["HostConfig"]["RestartPolicy"] == \
        {"Name": "on-failure", "MaximumRetryCount": 2}
    proc = rsd("update", live)
    assert proc.returncode == 1
    assert "you must provide one or more flags" in proc.stderr
    proc = rsd("update", "-m", "1k", live)
    assert proc.returncode != 0 and "Minimum memory limit allowed is 6MB" in proc.stderr
    proc = rsd("update", "-m", "64m", "nosuch")
    assert proc.returncode == 1 and "No such container: nosuch" in proc.stderr
