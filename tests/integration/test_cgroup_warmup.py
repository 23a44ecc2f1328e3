"""The cgroup warm-up helper (runtime/cgroups/warmup.py): it writes "0" to
the cgroup.procs it is given and exits; on the real hierarchy that changes
no one's cgroup, and the runtime reaps it, leaving no process behind."""

from __future__ import annotations

import os

import pytest

from rs_docker.runtime.cgroups import create_cgroup, warmup
from tests.fixtures.procs import children


def test_the_helper_writes_0_and_is_reaped(tmp_path):
    (tmp_path / "cgroup.procs").write_text("")
    pid = warmup.start(tmp_path)
    assert pid is not None
    warmup.reap(pid)
    assert (tmp_path / "cgroup.procs").read_text() == "0\n"
    assert pid not in children()
    warmup.reap(pid)  # a second reap (someone else waited for it) is harmless


def test_a_spawned_helper_writes_only_when_fired(tmp_path):
    procs = tmp_path / "cgroup.procs"
    procs.write_text("")
    fired = warmup.spawn(str(tmp_path))
    unfired = warmup.spawn(str(tmp_path))
    assert fired is not None and unfired is not None
    warmup.reap(unfired)  # never fired: it reads EOF and exits without writing
    assert procs.read_text() == "" and unfired.pid not in children()
    warmup.fire(fired)
    warmup.reap(fired)
    assert procs.read_text() == "0\n" and fired.pid not in children()


def test_no_helper_without_a_cgroup_procs_file(tmp_path):
    assert warmup.start(tmp_path / "nope") is None
    warmup.reap(None)


@pytest.mark.root
def test_create_add_destroy_leave_our_cgroups_and_children_unchanged():
    with open("/proc/self/cgroup") as f:
        ours = f.read()
    before = children()
    cg = create_cgroup(f"warmup-test-{os.getpid()}", None, None)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child: stays until the pipe closes
        os.close(w)
        os.read(r, 1)
        os._exit(0)
    os.close(r)
    try:
        cg.add(pid)
        with open(f"/proc/{pid}/cgroup") as f:
            moved = f.read()
    finally:
        os.close(w)
        os.waitpid(pid, 0)
        cg.destroy()
    assert moved != ours
    with open("/proc/self/cgroup") as f:
        assert f.read() == ours
    assert children() == before
