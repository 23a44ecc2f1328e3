"""process.terminal: the container gets a pty from its own devpts, the
caller's terminal is relayed in raw mode, the window size follows."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import signal
import struct
import termios
import time

import pytest

from tests.fixtures.bundle import make_bundle

pytestmark = pytest.mark.root


def run_in_pty(bundle, rows=30, cols=100, send: bytes = b"", timeout=60,
               target=None) -> tuple[int, str]:
    """Run start.run(bundle) (or target()) in a child whose stdio is a pty
    we hold the master of, as a user's terminal would be; returns (exit
    code, output)."""
    pid, master = pty.fork()
    if pid == 0:
        code = 125
        try:
            from rs_docker.runtime.process.start import run

            code = (target or (lambda: run(bundle)))().exit_code
        finally:
            os._exit(code)
    fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    if send:
        time.sleep(0.3)
        os.write(master, send)
    out, status = b"", None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not select.select([master], [], [], 0.2)[0]:
            done, st = os.waitpid(pid, os.WNOHANG)
            if done:
                status = st
                break
            continue
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: every holder of the slave has exited
            break
        if not chunk:
            break
        out += chunk
    if status is None:
        _, status = os.waitpid(pid, 0)
    os.close(master)
    return os.waitstatus_to_exitcode(status), out.decode(errors="replace")


def test_tty_is_the_containers_first_pty(tmp_path):
    bundle = make_bundle(tmp_path, ["sh", "-c", "tty; stty size; ls -l /dev/console | cut -c1"],
                         process={"terminal": True})
    code, out = run_in_pty(bundle)
    lines = out.replace("\r", "").splitlines()
    assert code == 0, out
    assert lines[:3] == ["/dev/pts/0", "30 100", "c"]


def test_terminal_input_reaches_the_container(tmp_path):
    bundle = make_bundle(tmp_path, ["sh", "-c", "read x; echo got:$x; exit 4"],
                         process={"terminal": True})
    code, out = run_in_pty(bundle, send=b"hello\r")
    assert code == 4, out
    assert "got:hello" in out


def test_exec_with_a_terminal(tmp_path):
    from rs_docker.runtime.process.exec import exec_in
    from rs_docker.runtime.process.start import spawn

    bundle = make_bundle(tmp_path, ["sleep", "1000"], process={"terminal": True})
    config = json.loads((bundle / "config.json").read_text())
    c = spawn(bundle)
    try:
        proc = {"args": ["sh", "-c", "tty; stty size"], "cwd": "/", "terminal": True,
                "env": ["PATH=/bin"]}
        code, out = run_in_pty(None, rows=20, cols=70,
                               target=lambda: exec_in(c.pid, proc, config))
    finally:
        c.kill(signal.SIGKILL)
        c.wait()
    assert code == 0, out
    # the container's PID 1 holds pts/0 (its console): exec gets the next one
    assert out.replace("\r", "").splitlines()[:2] == ["/dev/pts/1", "20 70"]
