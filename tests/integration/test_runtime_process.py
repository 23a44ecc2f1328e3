"""The process model: the caller is the parent of the container's PID 1
(and of an exec'd process), with no relay process between them; the
subreaper flag the start needs is restored; a start that fails or whose
first child dies leaves no child behind and does not hang."""

from __future__ import annotations

import json
import os
import select
import signal
import threading
import time

import pytest

from rs_docker.errors import CommandNotFound, RuntimeFailure
from rs_docker.linux import syscalls
from rs_docker.runtime.process.exec import exec_in
from rs_docker.runtime.process.start import spawn, start
from tests.fixtures.bundle import make_bundle

pytestmark = pytest.mark.root


def ppid_of(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def my_children() -> set[int]:
    me, found = os.getpid(), set()
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                if ppid_of(int(name)) == me:
                    found.add(int(name))
            except (OSError, IndexError):
                continue
    return found


def test_the_containers_pid_1_is_our_child_and_nothing_else_stays(tmp_path):
    before = my_children()
    c = spawn(make_bundle(tmp_path, ["sleep", "1000"]))
    try:
        assert ppid_of(c.pid) == os.getpid()
        assert my_children() - before == {c.pid}  # no relay process between us
    finally:
        c.kill(signal.SIGKILL)
        result = c.wait()
    assert result.exit_code == 137
    assert my_children() == before


def test_exit_status_is_read_from_pid_1_itself(tmp_path):
    c = spawn(make_bundle(tmp_path, ["sh", "-c", "exit 7"]))
    assert c.wait().exit_code == 7


def test_exit_fd_turns_readable_when_pid_1_exits(tmp_path):
    c = spawn(make_bundle(tmp_path, ["sleep", "1000"]))
    assert select.select([c.exit_fd], [], [], 0)[0] == []
    c.kill(signal.SIGKILL)
    assert select.select([c.exit_fd], [], [], 5)[0] == [c.exit_fd]
    assert c.wait().exit_code == 137


def test_subreaper_flag_is_restored_after_a_start(tmp_path):
    assert syscalls.child_subreaper() is False
    c = spawn(make_bundle(tmp_path, ["true"]))
    assert syscalls.child_subreaper() is False
    c.wait()
    syscalls.set_child_subreaper(True)
    try:
        c = spawn(make_bundle(tmp_path / "b", ["true"]))
        assert syscalls.child_subreaper() is True  # the caller's own setting stays
        c.wait()
    finally:
        syscalls.set_child_subreaper(False)


def test_failed_start_leaves_no_child(tmp_path):
    before = my_children()
    with pytest.raises(CommandNotFound):
        spawn(make_bundle(tmp_path, ["nope"]))
    assert my_children() == before


def test_first_child_dying_without_a_word_fails_instead_of_hanging():
    """A forks a process holding the sync socket, then is killed before it
    reports: the start fails at once; the orphan sees EOF and exits."""
    r, w = os.pipe()

    def body(run, chan):
        pid = os.fork()
        if pid == 0:
            try:
                # As install_stdio does in the real A: only the child's end stays open.
                syscalls.close_from(3, keep=(chan.fileno(),))
                chan.expect("go")
            finally:
                os._exit(0)
        os.write(w, str(pid).encode())
        os.kill(os.getpid(), signal.SIGKILL)

    t0 = time.monotonic()
    with pytest.raises(RuntimeFailure, match="exited before starting the command"):
        start(body, ())
    assert time.monotonic() - t0 < 60   # a safety net: the failure is noticed, not waited out
    os.close(w)
    orphan = int(os.read(r, 32))
    os.close(r)
    os.waitpid(orphan, 0)  # it was reparented to us (subreaper) and exited at EOF


def test_exec_process_is_our_child(tmp_path):
    bundle = make_bundle(tmp_path, ["sleep", "1000"])
    config = json.loads((bundle / "config.json").read_text())
    c = spawn(bundle)
    results = []
    try:
        proc = {"args": ["sleep", "999"], "cwd": "/", "env": ["PATH=/bin"]}
        t = threading.Thread(target=lambda: results.append(
            exec_in(c.pid, proc, config, stdin=None, stdout=None, stderr=None,
                    forward_signals=False)))
        t.start()
        deadline = time.monotonic() + 60
        while True:
            ours = [p for p in my_children() - {c.pid} if _cmdline(p) == "sleep 999"]
            if ours or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        assert len(ours) == 1
        os.kill(ours[0], signal.SIGKILL)
        t.join(60)
        assert [r.exit_code for r in results] == [137]
    finally:
        c.kill(signal.SIGKILL)
        c.wait()


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode().strip()
    except OSError:
        return ""


def test_a_run_without_a_user_namespace_leaves_our_own_pid_namespace_for_our_children(tmp_path):
    # PID 1 is forked by us in a new PID namespace (process.start direct):
    # our pid_ns_for_children must be back to our own namespace afterwards.
    ours = os.readlink("/proc/self/ns/pid")
    c = spawn(make_bundle(tmp_path, ["sh", "-c", "echo $$ > /pid1; sleep 1000"]))
    try:
        assert os.readlink(f"/proc/{c.pid}/ns/pid") != ours
        assert os.readlink("/proc/self/ns/pid_for_children") == ours
        pid = os.fork()
        if pid == 0:  # pragma: no cover - child
            os._exit(0 if os.readlink("/proc/self/ns/pid") == ours else 1)
        assert os.waitpid(pid, 0)[1] == 0
    finally:
        c.kill(signal.SIGKILL)
        c.wait()


def test_a_namespace_that_cannot_be_joined_is_reported_as_such_and_leaves_nothing(tmp_path):
    before = my_children()
    namespaces = [{"type": t} for t in ("pid", "mount", "ipc", "uts")]
    namespaces.append({"type": "network", "path": str(tmp_path / "no-such-netns")})
    bundle = make_bundle(tmp_path, ["true"], linux={"namespaces": namespaces})
    with pytest.raises(RuntimeFailure, match="no-such-netns"):
        spawn(bundle)
    assert my_children() == before
    assert os.readlink("/proc/self/ns/pid_for_children") == os.readlink("/proc/self/ns/pid")
