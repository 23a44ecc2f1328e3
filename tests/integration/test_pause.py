"""`pause`/`unpause` through the CLI: the container's processes stop
where they are (a counter stops advancing) and go on once unpaused;
inspect and ps say so; Docker's refusals; stop, kill and exec of a paused
container."""

from __future__ import annotations

import json
import time

import pytest

from tests.fixtures.cli import ok, wait_for

pytestmark = pytest.mark.root

COUNTER = "i=0; while true; do i=$((i+1)); echo $i > /tmp/n; sleep 0.02; done"


def _count(rsd, name: str) -> int:
    return int(ok(rsd("exec", name, "cat", "/tmp/n")).strip() or 0)


def _inspect(rsd, name: str) -> dict:
    return json.loads(ok(rsd("inspect", name)))[0]


@pytest.fixture
def counter(rsd, busybox):
    ok(rsd("run", "--network", "none", "-d", "--name", "ctr", busybox, "sh", "-c", COUNTER))
    assert wait_for(lambda: rsd("exec", "ctr", "cat", "/tmp/n").stdout.strip() != "")
    yield "ctr"
    rsd("rm", "-f", "ctr")


def _frozen_count(rsd, name: str) -> str:
    """The counter file read through the container's root from the host:
    exec is refused while it is paused."""
    merged = _inspect(rsd, name)["GraphDriver"]["Data"]["MergedDir"]
    pid = _inspect(rsd, name)["State"]["Pid"]
    with open(f"/proc/{pid}/root/tmp/n") as f:
        return f.read().strip() or merged


def test_pause_stops_the_counter_and_unpause_resumes_it(rsd, counter):
    assert ok(rsd("pause", counter)).strip() == counter
    first = _frozen_count(rsd, counter)
    time.sleep(0.5)  # the loop would count about 25 meanwhile
    assert _frozen_count(rsd, counter) == first
    st = _inspect(rsd, counter)["State"]
    assert (st["Status"], st["Paused"], st["Running"]) == ("paused", True, True)
    assert "(Paused)" in ok(rsd("ps", "--format", "{{.Status}}"))
    assert ok(rsd("ps", "--filter", "status=paused", "--format", "{{.Names}}")).split() == [counter]
    assert ok(rsd("unpause", counter)).strip() == counter
    assert wait_for(lambda: _count(rsd, counter) > int(first))
    st = _inspect(rsd, counter)["State"]
    assert (st["Status"], st["Paused"]) == ("running", False)


def test_refusals_as_dockers(rsd, busybox, counter):
    cid = _inspect(rsd, counter)["Id"]
    proc = rsd("unpause", counter)
    assert proc.returncode == 1
    assert proc.stderr.strip() == f"rs-docker: Container {cid} is not paused"
    ok(rsd("pause", counter))
    proc = rsd("pause", counter)
    assert proc.returncode == 1 and "is already paused" in proc.stderr
    proc = rsd("exec", counter, "true")
    assert proc.returncode == 1
    assert proc.stderr.strip() == (f"rs-docker: Container {cid} is paused, unpause the "
                                   f"container before exec")
    ok(rsd("create", "--name", "idle", busybox, "true")) if "create" in ok(rsd("--help")) \
        else ok(rsd("run", "--network", "none", "--name", "idle", busybox, "true"))
    idle = _inspect(rsd, "idle")["Id"]
    proc = rsd("pause", "idle")
    assert proc.returncode == 1
    assert proc.stderr.strip() == f"rs-docker: Container {idle} is not running"
    proc = rsd("pause", "nosuch")
    assert proc.returncode == 1 and "No such container: nosuch" in proc.stderr


def test_stop_of_a_paused_container_thaws_it_first(rsd, busybox):
    # sh as PID 1 ignores SIGTERM; a trap makes it exit 7 on it: the exit code
    # shows the signal was acted on, not the SIGKILL after the timeout.
    ok(rsd("run", "--network", "none", "-d", "--name", "trap", busybox, "sh", "-c",
           "trap 'exit 7' TERM; while true; do sleep 0.1; done"))
    ok(rsd("pause", "trap"))
    ok(rsd("stop", "-t", "20", "trap"))
    st = _inspect(rsd, "trap")["State"]
    assert (st["Status"], st["ExitCode"], st["Paused"]) == ("exited", 7, False)


def test_kill_of_a_paused_container(rsd, counter):
    ok(rsd("pause", counter))
    ok(rsd("kill", counter))
    st = _inspect(rsd, counter)["State"]
    assert (st["Status"], st["ExitCode"], st["Paused"]) == ("exited", 137, False)


def test_pause_and_unpause_are_events(rsd, counter):
    ok(rsd("pause", counter))
    ok(rsd("unpause", counter))
    out = ok(rsd("events", "--since", "0", "--until", str(time.time() + 1),
                 "--filter", "event=pause", "--filter", "event=unpause",
                 "--format", "{{.Action}}"))
    assert out.split() == ["pause", "unpause"]
