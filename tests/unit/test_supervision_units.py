"""The pieces that keep a container supervised, on their own: the json-file
log writer on a filesystem that refuses writes, a cgroup reopened by id and
path, and a record whose monitor died. The real thing is in
tests/integration/test_supervision.py."""

from __future__ import annotations

import errno
import os
import subprocess

import pytest

from rs_docker.container import jsonlog, lifecycle, recorded_pid
from rs_docker.runtime.cgroups import open_cgroup
from tests.unit.test_cgroups_backends import OWN, Tree, _mountinfo


def test_log_entries_the_filesystem_refuses_are_dropped_and_counted():
    # /dev/full: every write fails with ENOSPC (null(4)).
    fd = os.open("/dev/full", os.O_WRONLY)
    try:
        w = jsonlog.LogWriter(fd, clock=lambda: 0)
        w.feed("stdout", b"one\ntwo\n")
        w.feed("stderr", b"three")
        w.flush("stderr")
        assert w.dropped_entries == 3
        assert w.dropped_bytes == sum(len(jsonlog.encode(t, s, 0)) for t, s in
                                      (("one\n", "stdout"), ("two\n", "stdout"),
                                       ("three", "stderr")))
    finally:
        os.close(fd)


def test_log_entries_are_written_whole_when_there_is_room(tmp_path):
    path = tmp_path / "log"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        w = jsonlog.LogWriter(fd, clock=lambda: 0)
        w.feed("stdout", b"one\n")
    finally:
        os.close(fd)
    assert path.read_bytes() == jsonlog.encode("one\n", "stdout", 0)
    assert (w.dropped_entries, w.dropped_bytes) == (0, 0)


def test_other_write_errors_are_not_swallowed(tmp_path):
    fd = os.open(tmp_path / "log", os.O_RDONLY | os.O_CREAT)
    try:
        w = jsonlog.LogWriter(fd, clock=lambda: 0)
        with pytest.raises(OSError) as e:
            w.feed("stdout", b"x\n")
        assert e.value.errno == errno.EBADF
    finally:
        os.close(fd)


@pytest.fixture(params=["v1", "v2", "hybrid"])
def tree(request, tmp_path):
    return Tree(request.param, tmp_path)


@pytest.mark.parametrize("path", [None, "/rs-docker/c1", "rel/c1"])
def test_open_cgroup_names_the_directories_create_made(tree, path):
    made = tree.create(resources=None, path=path)
    again = open_cgroup("c1", path, root=tree.root, mountinfo=_mountinfo(tree.mode, tree.root),
                        proc_cgroup=OWN)
    assert again.paths == made.paths and again.version == made.version
    assert all(os.path.isdir(p) for p in again.paths.values())


def test_open_cgroup_creates_nothing(tree):
    cg = open_cgroup("c2", None, root=tree.root, mountinfo=_mountinfo(tree.mode, tree.root),
                     proc_cgroup=OWN)
    assert cg.paths and not any(os.path.exists(p) for p in cg.paths.values())
    cg.destroy()  # nothing there: nothing to do


def test_a_dead_monitor_records_137_even_when_pid_1_already_died_with_it():
    gone = subprocess.Popen(["true"])
    gone.wait()
    rec = {"State": {"Status": "running", "Running": True, "Pid": gone.pid, "ExitCode": 0},
           "RsDocker": {"PidStartTime": 1, "MonitorPid": gone.pid, "MonitorStartTime": 1}}
    assert recorded_pid.alive(gone.pid, 1) is False
    assert lifecycle.reconcile(rec) is True
    st = rec["State"]
    assert (st["Status"], st["ExitCode"], st["Error"]) == ("exited", 137, lifecycle.MONITOR_DIED)
