"""`run -dit`, `attach` and its detach sequence, resize and stdin, under a
real pty (pty.fork), through the container's monitor (container/attach.py)."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import struct
import termios
import time

import pytest

from tests.fixtures.cli import busybox_store, ok, run_d, wait_for

pytestmark = pytest.mark.root


rs = busybox_store("attach")


def running(rs, cid) -> bool:
    return json.loads(ok(rs("inspect", cid)))[0]["State"]["Status"] == "running"


class Terminal:
    """rs-docker ARGS... on a pty of its own: we type, and read the screen."""

    def __init__(self, rs, *args, rows=24, cols=80):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # pragma: no cover - child
            try:
                os.execve(str(rs.script), [str(rs.script), "--root", str(rs.root), *args],
                          rs.base_env)
            finally:
                os._exit(127)
        self.resize(rows, cols)
        self.seen = b""

    def resize(self, rows: int, cols: int) -> None:
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def type(self, data: bytes) -> None:
        os.write(self.fd, data)

    def expect(self, text: bytes, timeout: float = 30) -> bool:
        deadline = time.monotonic() + timeout
        while text not in self.seen:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                return False
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:
                return text in self.seen
            if not chunk:
                break
            self.seen += chunk
        return text in self.seen

    def end(self) -> int:
        self.expect(b"\0never\0", timeout=10)  # read to EOF
        _, status = os.waitpid(self.pid, 0)
        os.close(self.fd)
        return os.waitstatus_to_exitcode(status)


def test_attach_then_ctrl_p_ctrl_q_leaves_it_running_and_resize_is_seen(rs, busybox):
    cid = run_d(rs, "-it", busybox, "sh")
    term = Terminal(rs, "attach", cid, rows=33, cols=101)
    term.type(b"stty size\n")
    assert term.expect(b"33 101"), term.seen
    term.resize(41, 132)  # SIGWINCH for the attach client, forwarded
    term.type(b"stty size\n")
    assert term.expect(b"41 132"), term.seen
    term.type(b"echo $((6*7))\n")
    assert term.expect(b"42")
    term.type(b"\x10\x11")
    assert term.end() == 1
    assert b"read escape sequence" in term.seen
    assert running(rs, cid)
    # what the shell printed is in its log too
    assert "41 132" in ok(rs("logs", cid))
    # attach again, leave with other keys, then end the shell from a third attach
    term = Terminal(rs, "attach", "--detach-keys", "ctrl-a,x", cid)
    term.type(b"\x01x")
    assert term.end() == 1 and running(rs, cid)
    term = Terminal(rs, "attach", cid)
    term.type(b"exit 7\n")
    assert term.end() == 7
    assert wait_for(lambda: not running(rs, cid))
    ok(rs("rm", cid))


def test_run_d_i_takes_stdin_through_attach(rs, busybox):
    cid = run_d(rs, "-i", busybox, "sh", "-c", "read line; echo got:$line; read more")
    term = Terminal(rs, "attach", "--detach-keys", "ctrl-a,x", cid)
    term.type(b"hello\n")
    assert term.expect(b"got:hello"), term.seen
    # without -t the caller's terminal stays in line mode (where ctrl-q is
    # the terminal's XON): the keys reach the client with the end of the line
    term.type(b"\x01x\n")
    assert term.end() == 1
    assert running(rs, cid)
    ok(rs("rm", "-f", cid))


def test_several_clients_watch_and_no_stdin(rs, busybox):
    cid = run_d(rs, "-i", busybox, "sh", "-c", "while read l; do echo seen:$l; done")
    watcher = Terminal(rs, "attach", "--no-stdin", cid)
    owner = Terminal(rs, "attach", cid)
    time.sleep(0.5)  # both connected before the line is typed (not a bound: a setup wait)
    owner.type(b"abc\n")
    assert owner.expect(b"seen:abc") and watcher.expect(b"seen:abc")
    watcher.type(b"ignored\n")  # --no-stdin: not passed on
    owner.type(b"def\n")
    assert owner.expect(b"seen:def")
    assert b"seen:ignored" not in owner.seen
    ok(rs("rm", "-f", cid))
    # the streams end with the container: both clients return
    owner.end()
    watcher.end()


def test_attach_refusals(rs, busybox):
    cid = run_d(rs, busybox, "true")
    ok(rs("wait", cid))
    p = rs("attach", cid)
    assert (p.returncode, p.stderr.strip()) == (
        1, "rs-docker: You cannot attach to a stopped container, start it first")
    cid2 = run_d(rs, "-it", busybox, "sh")
    p = rs("attach", "--detach-keys", "ctrl-1", cid2)
    assert (p.returncode, p.stderr.strip()) == (
        1, "rs-docker: Invalid detach keys (ctrl-1) provided")
    ok(rs("rm", "-f", cid, cid2))


def test_run_a_attaches_only_the_streams_named(rs, busybox):
    script = "echo out; echo err >&2"
    p = rs("run", "--rm", "--network", "none", "-a", "stdout", busybox, "sh", "-c", script)
    assert (p.returncode, p.stdout, p.stderr) == (0, "out\n", "")
    p = rs("run", "--rm", "--network", "none", "-a", "STDERR", busybox, "sh", "-c", script)
    assert (p.returncode, p.stdout, p.stderr) == (0, "", "err\n")
    # stdin only when named (with -i)
    p = rs("run", "--rm", "--network", "none", "-i", "-a", "stdout", busybox, "cat",
           input="typed\n")
    assert (p.returncode, p.stdout) == (0, "")
    p = rs("run", "--rm", "--network", "none", "-i", "-a", "stdin", "-a", "stdout", busybox,
           "cat", input="typed\n")
    assert (p.returncode, p.stdout) == (0, "typed\n")
    p = rs("run", "--rm", "--network", "none", "--sig-proxy=false", busybox, "echo", "ok")
    assert (p.returncode, p.stdout) == (0, "ok\n")


@pytest.mark.parametrize("args, message", [
    (("-a", "foo"), 'invalid argument "foo" for "-a, --attach" flag: valid streams are '
                    "STDIN, STDOUT and STDERR"),
    (("-d", "-a", "stdout"), "conflicting options: cannot specify both --attach and --detach"),
])
def test_run_a_refusals(rs, busybox, args, message):
    p = rs("run", "--network", "none", *args, busybox, "true")
    assert (p.returncode, p.stderr.strip()) == (125, f"rs-docker: {message}")
