"""The cgroup warm-up keeper (runtime/cgroups/warmup.py): a thread writing
"0" to this process's own cgroup.procs until the join stops it. On the real
hierarchy that changes no one's cgroup; it leaves no thread or process
behind."""

from __future__ import annotations

import os
import time

import pytest

from rs_docker.runtime.cgroups import create_cgroup, warmup
from tests.fixtures.procs import children
from tests.unit.test_cgroups_detect import HYBRID, V2


def _threads() -> int:
    return len(os.listdir("/proc/self/task"))


def test_the_keeper_writes_until_stopped_then_ends(tmp_path):
    procs = tmp_path / "cgroup.procs"
    procs.write_text("")
    before = _threads()
    keeper = warmup.Keeper(str(procs), period=0.002)
    deadline = time.monotonic() + 5
    while procs.stat().st_size < 3 and time.monotonic() < deadline:
        time.sleep(0.005)
    keeper.stop()
    assert keeper.wait(5)
    written = procs.read_text()
    assert len(written) >= 3 and set(written) == {"0"}  # "0" again and again
    time.sleep(0.02)
    assert procs.read_text() == written  # nothing after stop()
    assert _threads() == before
    keeper.stop()  # a second stop is harmless


def test_the_keeper_ends_by_itself_after_its_lifetime(tmp_path):
    procs = tmp_path / "cgroup.procs"
    procs.write_text("")
    keeper = warmup.Keeper(str(procs), period=0.001, lifetime=0.05)
    assert keeper.wait(5)
    assert set(procs.read_text()) == {"0"}


def test_without_a_file_the_keeper_ends_at_once(tmp_path):
    assert warmup.Keeper(str(tmp_path / "nope")).wait(5)
    assert warmup.Keeper(lambda: None).wait(5)


def test_own_procs_is_our_cgroup_in_one_hierarchy():
    got = warmup.own_procs(HYBRID, "4:memory:/a/b\n8:pids:/c\n0::/d\n")
    assert got in ("/sys/fs/cgroup/memory/a/b/cgroup.procs", "/sys/fs/cgroup/pids/c/cgroup.procs",
                   "/sys/fs/cgroup/cpu/cgroup.procs", "/sys/fs/cgroup/cpuacct/cgroup.procs")
    assert warmup.own_procs(V2, "0::/user.slice/x\n") == \
        "/sys/fs/cgroup/user.slice/x/cgroup.procs"
    assert warmup.own_procs("25 1 8:1 / / rw - ext4 /dev/sda1 rw\n", "0::/\n") is None


@pytest.mark.root
def test_warm_up_and_a_create_add_destroy_leave_our_cgroups_and_children_unchanged():
    with open("/proc/self/cgroup") as f:
        ours = f.read()
    before = children()
    warmup.warm_up()
    cg = create_cgroup(f"warmup-test-{os.getpid()}", None, None)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child: stays until the pipe closes
        os.close(w)
        os.read(r, 1)
        os._exit(0)
    os.close(r)
    try:
        cg.add(pid)  # stops the keeper
        with open(f"/proc/{pid}/cgroup") as f:
            moved = f.read()
    finally:
        os.close(w)
        os.waitpid(pid, 0)
        cg.destroy()
    assert moved != ours
    assert warmup._keeper is not None and warmup._keeper.wait(5)
    with open("/proc/self/cgroup") as f:
        assert f.read() == ours
    assert children() == before


@pytest.mark.root
def test_warm_up_leaves_the_interpreters_switch_interval_alone():
    """A library call changes no interpreter-wide state: the switch interval
    is the start-up slot's owner's to set (runtime/startup.py)."""
    import sys

    warmup.stop()  # one another test started ends first: warm_up starts a new one
    assert warmup._keeper is None or warmup._keeper.wait(5)
    before = sys.getswitchinterval()
    warmup.warm_up()
    try:
        assert sys.getswitchinterval() == before
    finally:
        warmup.stop()
    assert warmup._keeper is not None and warmup._keeper.wait(5)  # it did start one
    assert sys.getswitchinterval() == before
