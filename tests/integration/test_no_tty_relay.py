"""Without -t, the container never gets the caller's terminal (issue 10
item 3): `run` and `exec` relay a terminal through pipes, as Docker does, so
a process left behind in the container cannot read the user's later
keystrokes, change the terminal's settings or inject input (TIOCSTI). Every
test runs rs-docker with a real pty as its stdio, as a user's shell would.
"""

from __future__ import annotations

import fcntl
import os
import signal
import stat
import subprocess
import termios
import time

import pytest

from tests.conftest import module_rsd_removing
from tests.fixtures.cli import ok, wait_for

pytestmark = pytest.mark.root


@pytest.fixture(scope="module")
def rs(images, tmp_path_factory):
    yield from module_rsd_removing(tmp_path_factory, "no_tty_relay", images.busybox.ref)


class Terminal:
    """A pty standing for the user's terminal: the test holds both ends,
    types into the master and reads what was written to the slave."""

    def __init__(self):
        self.master, self.slave = os.openpty()
        os.set_blocking(self.master, False)
        self.output = b""

    def close(self) -> None:
        os.close(self.master)
        os.close(self.slave)

    def type(self, data: bytes) -> None:
        os.write(self.master, data)

    def text(self) -> str:
        """What was written to the terminal so far, its newlines unmapped (ONLCR)."""
        return self.output.decode(errors="replace").replace("\r\n", "\n")

    def run(self, rs, *args, stdin=None, stderr=None, typed: bytes = b"",
            timeout: float = 60) -> int:
        """rs-docker ARGS with the slave as stdin, stdout and stderr (unless
        given), in a session of its own; `typed` waits in the terminal's
        input. Returns its exit status once it exited (output in .output)."""
        if typed:
            self.type(typed)
        return self.wait(self.start(rs, *args, stdin=stdin, stderr=stderr), timeout=timeout)

    def start(self, rs, *args, stdin=None, stderr=None) -> subprocess.Popen:
        return subprocess.Popen([str(rs.script), "--root", str(rs.root), *map(str, args)],
                                stdin=self.slave if stdin is None else stdin,
                                stdout=self.slave,
                                stderr=self.slave if stderr is None else stderr,
                                env=rs.base_env, start_new_session=True)

    def wait(self, proc: subprocess.Popen, timeout: float = 60, until: str | None = None):
        """Read the terminal until `proc` exited (its status), or until the
        text `until` appeared (None)."""
        deadline = time.monotonic() + timeout
        while proc.poll() is None:
            self._read()
            if until is not None and until in self.text():
                return None
            if time.monotonic() > deadline:
                proc.kill()
                proc.wait()
                raise AssertionError(f"rs-docker still running: {self.text()!r}")
            time.sleep(0.02)
        self._read()
        return proc.returncode

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except BlockingIOError:
                return
            if not chunk:
                return
            self.output += chunk

    def holders(self) -> set[int]:
        """PIDs, other than ours, with an fd open on this terminal."""
        rdev, found = os.fstat(self.slave).st_rdev, set()
        for pid in filter(str.isdigit, os.listdir("/proc")):
            if int(pid) == os.getpid():
                continue
            try:
                fds = os.listdir(f"/proc/{pid}/fd")
                for fd in fds:
                    st = os.stat(f"/proc/{pid}/fd/{fd}")
                    if stat.S_ISCHR(st.st_mode) and st.st_rdev == rdev:
                        found.add(int(pid))
            except OSError:
                continue  # exited meanwhile, or an fd closed under us
        return found


@pytest.fixture
def term():
    t = Terminal()
    yield t
    t.close()


FD_PROBE = ("for fd in 0 1 2; do readlink /proc/self/fd/$fd; done; "
            "test -t 0; echo t0=$?; test -t 1; echo t1=$?; test -t 2; echo t2=$?")


def probe_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line]


# ---- run ---------------------------------------------------------------------

def test_run_without_t_gives_pipes_not_the_terminal(rs, busybox, term):
    code = term.run(rs, "run", "--rm", busybox, "sh", "-c", FD_PROBE + "; exit 3")
    lines = probe_lines(term.text())
    assert code == 3, term.text()
    assert lines[0] == "/dev/null"  # no -i: Docker's stdin is /dev/null
    assert lines[1].startswith("pipe:[") and lines[2].startswith("pipe:["), lines
    assert lines[1] != lines[2]     # stdout and stderr kept apart
    assert lines[3:] == ["t0=1", "t1=1", "t2=1"]


def test_run_i_without_t_gives_a_stdin_pipe(rs, busybox, term):
    code = term.run(rs, "run", "--rm", "-i", busybox, "sh", "-c", FD_PROBE)
    lines = probe_lines(term.text())
    assert code == 0, term.text()
    assert all(line.startswith("pipe:[") for line in lines[:3]), lines
    assert lines[3:] == ["t0=1", "t1=1", "t2=1"]


def test_stdout_and_stderr_stay_apart(rs, busybox, term):
    err = Terminal()
    try:
        code = term.run(rs, "run", "--rm", busybox, "sh", "-c",
                        "echo to-out; echo to-err >&2; exit 5", stderr=err.slave)
        err._read()
    finally:
        err.close()
    assert code == 5
    assert term.text() == "to-out\n"
    assert err.text() == "to-err\n"


def test_run_i_relays_typed_input_and_eof(rs, busybox, term):
    # The terminal echoes what is typed (cooked mode, ECHO); ^D at the start
    # of a line is EOF, which closes the container's stdin.
    code = term.run(rs, "run", "--rm", "-i", busybox, "sh", "-c",
                    "read x; echo got:$x; cat; echo eof-seen; exit 4",
                    typed=b"hello\nmore\n\x04")
    text = term.text()
    assert code == 4, text
    assert "got:hello\n" in text
    assert text.endswith("more\neof-seen\n"), text


def test_run_i_with_piped_stdin_and_terminal_output(rs, busybox, term):
    r, w = os.pipe()
    os.write(w, b"hi\n")
    os.close(w)
    try:
        code = term.run(rs, "run", "--rm", "-i", busybox, "sh", "-c",
                        "cat; readlink /proc/self/fd/1", stdin=r)
    finally:
        os.close(r)
    lines = probe_lines(term.text())
    assert code == 0, term.text()
    assert lines[0] == "hi"
    assert lines[1].startswith("pipe:["), lines


def test_run_with_output_to_a_file_is_unchanged(rs, busybox, tmp_path):
    # Not a terminal: the file itself is the container's stdout (the fast path).
    with open(tmp_path / "out", "w") as f:
        proc = subprocess.run([str(rs.script), "--root", str(rs.root), "run", "--rm", busybox,
                               "sh", "-c", "echo data; stat -L -c %i /proc/self/fd/1"],
                              stdout=f, stderr=subprocess.PIPE, env=rs.base_env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    data, inode = (tmp_path / "out").read_text().splitlines()
    assert data == "data"
    assert int(inode) == os.stat(tmp_path / "out").st_ino


def test_run_relays_all_output_written_before_the_exit(rs, busybox, term):
    code = term.run(rs, "run", "--rm", busybox, "sh", "-c",
                    "head -c 300000 /dev/zero | tr '\\0' x; echo; exit 2")
    assert code == 2
    assert term.text() == "x" * 300000 + "\n"


def test_signals_still_reach_the_container(rs, busybox, term):
    proc = term.start(rs, "run", "--rm", busybox, "sh", "-c",
                      "trap 'echo got-term; exit 7' TERM; echo ready; "
                      "while true; do sleep 0.05; done")
    assert term.wait(proc, until="ready") is None, term.text()
    proc.send_signal(signal.SIGTERM)
    assert term.wait(proc) == 7
    assert term.text() == "ready\ngot-term\n"


def test_errors_and_exit_codes_are_unchanged(rs, busybox, term):
    assert term.run(rs, "run", "--rm", busybox, "nosuchcmd") == 127
    assert term.text() == ('rs-docker: exec: "nosuchcmd": executable file not found '
                           'in $PATH\n')


def test_a_background_run_i_stops_on_reading_the_terminal(rs, busybox, term):
    # Job control as in an interactive shell: bash -m, the terminal its
    # controlling one. The relay reading the terminal from a background
    # process group stops rs-docker (SIGTTIN) rather than taking the input
    # or ending the container's; brought to the foreground, it reads it.
    script = (f"{rs.script} --root {rs.root} run --rm -i {busybox} sh -c 'cat; echo eof-seen' &"
              " wait $!; echo status=$?; fg >/dev/null")

    def controlling_terminal():
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    term.type(b"abc\n")
    proc = subprocess.Popen(["bash", "-m", "-c", script], stdin=term.slave, stdout=term.slave,
                            stderr=term.slave, env=rs.base_env, start_new_session=True,
                            preexec_fn=controlling_terminal)
    assert term.wait(proc, until="status=149\n") is None, term.text()  # 128 + SIGTTIN
    term.type(b"\x04")
    assert term.wait(proc) == 0, term.text()
    assert term.text().endswith("status=149\nabc\neof-seen\n"), term.text()


def test_run_t_still_gets_a_terminal(rs, busybox, term):
    code = term.run(rs, "run", "--rm", "-it", busybox, "sh", "-c",
                    "tty; test -t 0; echo t0=$?; read x; echo got:$x", typed=b"typed\r")
    text = term.text()
    assert code == 0, text
    assert "/dev/pts/0\n" in text and "t0=0\n" in text and "got:typed\n" in text


# ---- exec: a process left behind outlives the command ------------------------

LEFT_BEHIND = ("(while [ ! -e /tmp/go ]; do sleep 0.05; done; "
               "stty -echo <&1; head -c 7 <&2 > /tmp/stolen; touch /tmp/done) &")


def test_exec_leaves_no_process_holding_the_terminal(rs, busybox, term):
    assert term.run(rs, "run", "-d", busybox, "sleep", "1000") == 0
    cid = term.text().strip()
    try:
        assert term.holders() == set()  # nor does run -d, nor its monitor
        term.output = b""
        assert term.run(rs, "exec", cid, "sh", "-c", LEFT_BEHIND + " echo started") == 0
        assert term.text() == "started\n"
        # the background shell still runs in the container; none of its fds
        # (nor any other process's) is the caller's terminal
        assert term.holders() == set()
    finally:
        rs("rm", "-f", cid)


def test_exec_left_behind_cannot_read_keys_nor_turn_echo_off(rs, busybox, term):
    cid = ok(rs("run", "-d", busybox, "sleep", "1000")).strip()
    try:
        assert term.run(rs, "exec", cid, "sh", "-c", LEFT_BEHIND) == 0
        # The user, back at the shell prompt, types a password.
        term.type(b"secret\n")
        ok(rs("exec", cid, "touch", "/tmp/go"))
        assert wait_for(lambda: rs("exec", cid, "test", "-e", "/tmp/done").returncode == 0)
        assert ok(rs("exec", cid, "cat", "/tmp/stolen")) == ""
        assert termios.tcgetattr(term.slave)[3] & termios.ECHO
        # the keystrokes are still the terminal's, for the shell to read
        assert os.read(term.slave, 100) == b"secret\n"
    finally:
        rs("rm", "-f", cid)


def test_exec_returns_while_a_process_left_behind_still_writes(rs, busybox, term):
    cid = ok(rs("run", "-d", busybox, "sleep", "1000")).strip()
    try:
        assert term.run(rs, "exec", cid, "sh", "-c", "yes & echo started") == 0
        assert term.text().startswith("started\n")
        # its stdout is a pipe nobody reads any more: yes dies of SIGPIPE
        # (a zombie: PID 1, sleep, reaps nothing)
        assert wait_for(lambda: ["Z", "yes"] in living(rs, cid)), living(rs, cid)
    finally:
        rs("rm", "-f", cid)


def living(rs, cid: str) -> list[list[str]]:
    """[state, command] of every process in the container."""
    return [line.split()[:2] for line in ok(rs("exec", cid, "ps", "-o", "stat,comm"))
            .splitlines()[1:]]


def test_exec_i_relays_input_and_exit_code(rs, busybox, term):
    cid = ok(rs("run", "-d", busybox, "sleep", "1000")).strip()
    try:
        code = term.run(rs, "exec", "-i", cid, "sh", "-c",
                        FD_PROBE + "; read x; echo got:$x; exit 6", typed=b"abc\n")
        lines = probe_lines(term.text())  # the terminal's echo of "abc" first
        assert code == 6, term.text()
        assert len([line for line in lines if line.startswith("pipe:[")]) == 3, lines
        assert "t0=1" in lines and "got:abc" in lines
    finally:
        rs("rm", "-f", cid)


def test_exec_t_still_gets_a_terminal(rs, busybox, term):
    cid = ok(rs("run", "-d", busybox, "sleep", "1000")).strip()
    try:
        code = term.run(rs, "exec", "-it", cid, "sh", "-c", "test -t 1; echo t1=$?")
        assert code == 0, term.text()
        assert "t1=0" in term.text()
    finally:
        rs("rm", "-f", cid)
