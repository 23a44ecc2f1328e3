"""`top` through the CLI: the container's processes (and only those) in
the host's `ps` columns, ps options passed through; Docker's refusal."""

from __future__ import annotations

import json

import pytest

from tests.fixtures.cli import ok

pytestmark = pytest.mark.root


def test_top_lists_the_containers_processes(rsd, busybox):
    ok(rsd("run", "--network", "none", "-d", "--name", "tp", busybox, "sh", "-c",
           "sleep 311 & sleep 312 & wait"))
    try:
        pid = json.loads(ok(rsd("inspect", "tp")))[0]["State"]["Pid"]
        out = ok(rsd("top", "tp")).splitlines()
        assert out[0].split() == ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
        rows = [line.split() for line in out[1:]]
        commands = sorted(" ".join(r[7:]) for r in rows)
        assert commands == ["sh -c sleep 311 & sleep 312 & wait", "sleep 311", "sleep 312"]
        assert str(pid) in [r[1] for r in rows]    # host PIDs, as Docker prints them
        custom = ok(rsd("top", "tp", "-o", "pid,comm")).split()
        assert custom[:2] == ["PID", "COMMAND"] and sorted(custom[2:][1::2]) == \
            ["sh", "sleep", "sleep"]
    finally:
        rsd("rm", "-f", "tp")


def test_top_of_a_stopped_container(rsd, busybox):
    ok(rsd("run", "--network", "none", "--name", "gone", busybox, "true"))
    cid = json.loads(ok(rsd("inspect", "gone")))[0]["Id"]
    proc = rsd("top", "gone")
    assert proc.returncode == 1
    assert proc.stderr.strip() == f"rs-docker: Container {cid} is not running"
