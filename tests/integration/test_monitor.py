"""The monitor of a detached container, after the start: the lean waiting
program (container/waiter.py), the parent of the container's PID 1, with
no other process of ours beside the container; logs, exit code, OOM and
--rm all still recorded from there."""

from __future__ import annotations

import json
import os

import pytest

from tests.fixtures.cli import ok, wait_for
from tests.integration.test_lifecycle import record, rs, run_d  # noqa: F401 - rs: its store

pytestmark = pytest.mark.root


def private(runner, cid) -> dict:
    """The record's RsDocker block (`inspect` leaves it out)."""
    return json.loads((runner.root / "containers" / cid / "container.json").read_text())["RsDocker"]


def ppid_of(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def test_monitor_is_the_waiter_and_the_parent_of_pid_1(rs, busybox):  # noqa: F811
    cid = run_d(rs, busybox, "sleep", "1000")
    doc = record(rs, cid)
    monitor, pid = private(rs, cid)["MonitorPid"], doc["State"]["Pid"]
    with open(f"/proc/{monitor}/cmdline", "rb") as f:
        assert b"rs_docker.container.waiter" in f.read()
    assert ppid_of(pid) == monitor  # no relay process in between
    assert os.readlink(f"/proc/{monitor}/fd/0") == "/dev/null"
    ok(rs("rm", "-f", cid))
    assert not os.path.exists(f"/proc/{pid}")


def test_exit_code_and_logs_are_recorded_by_the_waiter(rs, busybox):  # noqa: F811
    cid = run_d(rs, busybox, "sh", "-c", "echo out; echo '<err>' >&2; exit 3")
    assert ok(rs("wait", cid)) == "3\n"
    logs = rs("logs", cid)
    assert (logs.stdout, logs.stderr) == ("out\n", "<err>\n")
    log = (rs.root / "containers" / cid / f"{cid}-json.log").read_text()
    assert '"log":"\\u003cerr\\u003e\\n","stream":"stderr"' in log
    assert record(rs, cid)["State"]["OOMKilled"] is False
    ok(rs("rm", cid))


def test_oom_kill_is_seen_after_the_exec(rs, busybox):  # noqa: F811
    cid = run_d(rs, "-m", "8m", busybox, "sh", "-c", "x=a; while true; do x=$x$x; done")
    assert ok(rs("wait", cid)) == "137\n"
    state = record(rs, cid)["State"]
    assert (state["OOMKilled"], state["ExitCode"]) == (True, 137)
    paths = private(rs, cid).get("CgroupPaths") or {}
    assert paths and not any(os.path.exists(p) for p in paths.values())
    ok(rs("rm", cid))


def test_auto_remove_from_the_waiter(rs, busybox):  # noqa: F811
    cid = run_d(rs, "--rm", busybox, "true")
    rs("wait", cid)
    assert wait_for(lambda: not (rs.root / "containers" / cid).exists())
