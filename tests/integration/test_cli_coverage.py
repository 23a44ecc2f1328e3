"""Commands and flags through the console script, as a user types them:
`restart`, `run -it` and `exec -it` on a real pty, `--network host`, the
resource flags (`--cpus`, `--pids-limit`, `-m`/`--memory-swap`, `--ulimit`),
the security flags (`--cap-drop`, `--security-opt`), `--stop-timeout`,
`logs --since`/`--until` and Docker's `container ...` spelling of the
lifecycle commands. Each test asserts what the user sees: output, exit
codes, and what the process inside can or cannot do.
"""

from __future__ import annotations

import fcntl
import json
import os
import struct
import subprocess
import termios
import time
from pathlib import Path

import pytest

from tests.conftest import module_rsd_removing
from tests.fixtures.cli import ok, wait_for

pytestmark = pytest.mark.root


@pytest.fixture(scope="module")
def rs(images, tmp_path_factory):
    yield from module_rsd_removing(tmp_path_factory, "cli_coverage", images.busybox.ref)


def run_d(rs, *args) -> str:
    cid = ok(rs("run", "-d", *args)).strip()
    assert len(cid) == 64, cid
    return cid


def inspect(rs, cid: str) -> dict:
    return json.loads(ok(rs("inspect", cid)))[0]


# A container that keeps running until stopped, and exits 0 on SIGTERM.
SERVE = "trap 'exit 0' TERM; while true; do sleep 0.1; done"


# ---- restart --------------------------------------------------------------------

def test_restart_runs_the_same_container_again(rs, busybox):
    cid = run_d(rs, "--name", "again", busybox, "sh", "-c",
                "echo started >> /starts; " + SERVE)
    assert wait_for(lambda: rs("exec", cid, "cat", "/starts").stdout == "started\n")
    first = inspect(rs, cid)["State"]
    assert ok(rs("restart", "-t", "5", "again")) == "again\n"
    second = inspect(rs, cid)["State"]
    assert second["Running"] and second["Status"] == "running"
    assert second["Pid"] != first["Pid"] and second["StartedAt"] != first["StartedAt"]
    # the same container: its filesystem kept what the first run wrote
    assert wait_for(lambda: rs("exec", cid, "cat", "/starts").stdout == "started\n" * 2)
    ok(rs("rm", "-f", cid))


def test_restart_starts_an_exited_container(rs, busybox):
    cid = run_d(rs, busybox, "sh", "-c", "echo ran >> /runs; cat /runs | wc -l")
    assert ok(rs("wait", cid)) == "0\n"
    assert ok(rs("restart", cid[:12])) == cid[:12] + "\n"
    assert ok(rs("wait", cid)) == "0\n"
    assert ok(rs("logs", cid)) == "1\n2\n"
    ok(rs("rm", cid))


def test_restart_of_an_unknown_container_is_one_line(rs):
    proc = rs("restart", "nothing-here")
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr.splitlines() == ["rs-docker: No such container: nothing-here"]


# ---- run -it and exec -it on a real pty ------------------------------------------

class Pty:
    """rs-docker run on a new pty as its controlling terminal, as in a
    user's shell: the test types into the master and reads what the
    terminal shows."""

    def __init__(self, rs, *args, rows: int = 33, cols: int = 101):
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.proc = subprocess.Popen(
            [str(rs.script), "--root", str(rs.root), *map(str, args)],
            stdin=slave, stdout=slave, stderr=slave, env=rs.base_env,
            start_new_session=True, preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
        os.close(slave)
        self.output = b""

    def text(self) -> str:
        return self.output.decode(errors="replace").replace("\r\n", "\n")

    def type(self, data: bytes) -> None:
        os.write(self.master, data)

    def expect(self, text: str, timeout: float = 60) -> None:
        """Read until the terminal has shown `text` (anywhere in its output)."""
        deadline = time.monotonic() + timeout
        while text not in self.text():
            if time.monotonic() > deadline or not self._read(deadline):
                self.close()
                raise AssertionError(f"{text!r} never shown: {self.text()!r}")

    def _read(self, deadline: float) -> bool:
        import select

        ready, _, _ = select.select([self.master], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            return True
        try:
            chunk = os.read(self.master, 65536)
        except OSError:   # EIO: every slave fd closed
            return False
        self.output += chunk
        return bool(chunk)

    def wait(self, timeout: float = 60) -> int:
        """The exit status of rs-docker, once it exited; output read to the end."""
        deadline = time.monotonic() + timeout
        while self._read(deadline) and time.monotonic() < deadline:
            pass
        try:
            return self.proc.wait(max(1.0, deadline - time.monotonic()))
        finally:
            self.close()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.master >= 0:
            os.close(self.master)
            self.master = -1


def foreground_job(cmdline: str) -> bool:
    """Whether a process runs `cmdline` as the foreground job of its
    terminal (proc(5): its pgrp is its terminal's tpgid): a ^C typed now is
    the job's, not the line editor's."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if Path(f"/proc/{pid}/cmdline").read_text() != cmdline:
                continue
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if fields[2] == fields[5]:   # pgrp == tpgid
            return True
    return False


def test_run_it_is_an_interactive_shell_on_a_terminal(rs, busybox):
    term = Pty(rs, "run", "--rm", "-it", busybox, "sh")
    term.expect("/ # ")   # the shell's prompt: it reads the terminal now
    term.type(b"tty; stty size; echo $((6*7))\r")
    term.expect("42\n")
    assert "/dev/pts/0\n33 101\n" in term.text(), term.text()
    # ^C reaches the container's foreground job through its own terminal
    seconds = 100000 + os.getpid()   # a command line no other process has
    term.type(f"sleep {seconds}\r".encode())
    assert wait_for(lambda: foreground_job(f"sleep\0{seconds}\0")), term.text()
    term.type(b"\x03")
    term.type(b"echo status=$?\r")
    term.expect("status=130\n")
    term.type(b"exit 3\r")
    assert term.wait() == 3, term.text()


def test_exec_it_is_an_interactive_shell_on_a_terminal(rs, busybox):
    cid = run_d(rs, busybox, "sleep", "1000")
    try:
        term = Pty(rs, "exec", "-it", cid, "sh", rows=20, cols=70)
        term.expect("/ # ")
        term.type(b"test -t 0 && test -t 1 && echo both-ttys; stty size; echo $((6*7))\r")
        term.expect("42\n")
        assert "both-ttys\n20 70\n" in term.text(), term.text()
        # the exec'd shell sees the container's processes, PID 1 first
        term.type(b"cat /proc/1/cmdline | tr '\\0' ' '; echo\r")
        term.expect("sleep 1000 \n")
        term.type(b"exit 4\r")
        assert term.wait() == 4, term.text()
    finally:
        rs("rm", "-f", cid)


# ---- --network host ----------------------------------------------------------------

def _interfaces(proc_net_dev: str) -> list[str]:
    return sorted(line.split(":")[0].strip() for line in proc_net_dev.splitlines()[2:])


def test_network_host_shares_the_hosts_interfaces(rs, busybox):
    before = _interfaces(Path("/proc/net/dev").read_text())
    assert len(before) > 1   # lo and at least one more, or the check proves nothing
    inside = _interfaces(ok(rs("run", "--rm", "--network", "host", busybox,
                               "cat", "/proc/net/dev")))
    # (read twice: another session may add or remove one meanwhile)
    assert inside in (before, _interfaces(Path("/proc/net/dev").read_text()))
    # Docker: a host-network container gets the host's name
    assert ok(rs("run", "--rm", "--network", "host", busybox, "hostname")) == \
        os.uname().nodename + "\n"
    # the default (Docker's bridge) gives eth0; none only lo
    assert _interfaces(ok(rs("run", "--rm", busybox, "cat", "/proc/net/dev"))) == ["eth0", "lo"]
    assert _interfaces(ok(rs("run", "--rm", "--network", "none", busybox,
                             "cat", "/proc/net/dev"))) == ["lo"]


def test_network_host_reaches_a_loopback_listener(rs, busybox):
    import socket

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        server.settimeout(60)
        port = server.getsockname()[1]
        proc = subprocess.Popen([str(rs.script), "--root", str(rs.root), "run", "--rm",
                                 "--network", "host", busybox, "sh", "-c",
                                 f"echo hello-from-inside | nc 127.0.0.1 {port}"],
                                env=rs.base_env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            conn, _ = server.accept()
            with conn:
                conn.settimeout(60)
                assert conn.recv(100) == b"hello-from-inside\n"
        finally:
            out, err = proc.communicate(timeout=60)
    assert (proc.returncode, out) == (0, ""), err


# ---- resource limits: the cgroup files as the container sees them, and their effect ---

CGROUP = "/sys/fs/cgroup"


def _cgroup_file(rs, busybox, flags: list[str], v1: str, v2: str) -> str:
    """The cgroup file `v1` (cgroup v1 or hybrid) or `v2` (unified), read
    from inside a container run with `flags`."""
    script = f"cat {CGROUP}/{v1} 2>/dev/null || cat {CGROUP}/{v2}"
    return ok(rs("run", "--rm", *flags, busybox, "sh", "-c", script)).strip()


def test_cpus_writes_the_cfs_quota(rs, busybox):
    quota = _cgroup_file(rs, busybox, ["--cpus", "0.5"], "cpu/cpu.cfs_quota_us", "cpu.max")
    assert quota in ("50000", "50000 100000")
    period = _cgroup_file(rs, busybox, ["--cpus", "0.5"], "cpu/cpu.cfs_period_us", "cpu.max")
    assert period in ("100000", "50000 100000")
    assert _cgroup_file(rs, busybox, [], "cpu/cpu.cfs_quota_us", "cpu.max") in ("-1",
                                                                              "max 100000")


def test_pids_limit_makes_the_next_fork_fail(rs, busybox):
    """PID 1 (sh) and four children make five: the fifth child is refused."""
    proc = rs("run", "--rm", "--pids-limit", "5", busybox, "sh", "-c",
              f"cat {CGROUP}/pids/pids.max 2>/dev/null || cat {CGROUP}/pids.max; "
              "i=0; while [ $i -lt 8 ]; do sleep 1000 & i=$((i+1)); echo forked $i; done")
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == "5\nforked 1\nforked 2\nforked 3\nforked 4\n"
    assert proc.stderr == "sh: can't fork: Resource temporarily unavailable\n"
    unlimited = rs("run", "--rm", busybox, "sh", "-c",
                   "i=0; while [ $i -lt 8 ]; do sleep 1000 & i=$((i+1)); done; echo forked $i")
    assert (unlimited.returncode, unlimited.stdout) == (0, "forked 8\n"), unlimited.stderr


def test_memory_swap_sets_memory_plus_swap(rs, busybox):
    flags = ["-m", "32m", "--memory-swap", "64m"]
    assert _cgroup_file(rs, busybox, flags, "memory/memory.limit_in_bytes",
                        "memory.max") == str(32 << 20)
    swap = _cgroup_file(rs, busybox, flags, "memory/memory.memsw.limit_in_bytes",
                        "memory.swap.max")
    # v1 counts memory+swap; v2's memory.swap.max counts swap alone
    assert swap in (str(64 << 20), str(32 << 20))


def test_memory_without_swap_oom_kills_a_hog(rs, busybox):
    cid = run_d(rs, "-m", "32m", "--memory-swap", "32m", busybox,
                "dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1")
    assert ok(rs("wait", cid)) == "137\n"
    state = inspect(rs, cid)["State"]
    assert (state["OOMKilled"], state["ExitCode"]) == (True, 137)
    ok(rs("rm", cid))


def test_ulimit_shows_in_the_shell(rs, busybox):
    out = ok(rs("run", "--rm", "--ulimit", "nofile=100:200", busybox, "sh", "-c",
                "ulimit -n; ulimit -Hn"))
    assert out == "100\n200\n"
    # the limit bites: a descriptor numbered 100 or above cannot be made
    # (busybox names the descriptor it tried to move: the one open(2) gave)
    script = "exec 99</dev/null && echo fd99; exec 100</dev/null && echo fd100"
    proc = rs("run", "--rm", "--ulimit", "nofile=100:200", busybox, "sh", "-c", script)
    assert (proc.returncode, proc.stdout, proc.stderr) == \
        (1, "fd99\n", "sh: 3: Bad file descriptor\n")
    assert ok(rs("run", "--rm", busybox, "sh", "-c", script)) == "fd99\nfd100\n"


# ---- security flags ---------------------------------------------------------------

def test_cap_drop_chown_makes_chown_fail(rs, busybox):
    script = "touch /f && chown 1:1 /f && stat -c %u:%g /f"
    proc = rs("run", "--rm", "--cap-drop", "CHOWN", busybox, "sh", "-c", script)
    assert (proc.returncode, proc.stdout) == (1, ""), proc.stderr
    assert proc.stderr == "chown: /f: Operation not permitted\n"
    assert ok(rs("run", "--rm", busybox, "sh", "-c", script)) == "1:1\n"


def test_cap_drop_all_leaves_no_capability(rs, busybox):
    out = ok(rs("run", "--rm", "--cap-drop", "ALL", busybox,
                "grep", "-E", "^Cap(Eff|Prm|Bnd)", "/proc/self/status"))
    assert [line.split()[1] for line in out.splitlines()] == ["0000000000000000"] * 3


def test_security_opt_no_new_privileges(rs, busybox):
    status = "grep -E '^(NoNewPrivs|Seccomp):' /proc/self/status"
    flags = ["--security-opt", "no-new-privileges"]
    assert ok(rs("run", "--rm", *flags, busybox, "sh", "-c", status)).split() == \
        ["NoNewPrivs:", "1", "Seccomp:", "2"]
    assert ok(rs("run", "--rm", busybox, "sh", "-c", status)).split() == \
        ["NoNewPrivs:", "0", "Seccomp:", "2"]


def test_security_opt_seccomp_profile_and_unconfined(rs, busybox, tmp_path):
    profile = tmp_path / "deny-mkdir.json"
    profile.write_text(json.dumps({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}))
    proc = rs("run", "--rm", "--security-opt", f"seccomp={profile}", busybox,
              "sh", "-c", "mkdir /made && echo made")
    assert (proc.returncode, proc.stdout) == (1, ""), proc.stderr
    assert proc.stderr == "mkdir: can't create directory '/made': Operation not permitted\n"
    out = ok(rs("run", "--rm", "--security-opt", "seccomp=unconfined", busybox,
                "sh", "-c", "grep ^Seccomp: /proc/self/status; mkdir /made && echo made"))
    assert out.split() == ["Seccomp:", "0", "made"]


# ---- --stop-timeout ---------------------------------------------------------------

def test_stop_timeout_is_the_containers_default_for_stop(rs, busybox):
    """A container ignoring SIGTERM is killed after its --stop-timeout
    when `stop` gives no -t."""
    cid = run_d(rs, "--stop-timeout", "1", busybox, "sh", "-c",
                "trap 'echo got TERM' TERM; echo ready; while true; do sleep 0.1; done")
    assert ok(rs("inspect", "-f", "{{.Config.StopTimeout}}", cid)) == "1\n"
    assert wait_for(lambda: rs("logs", cid).stdout == "ready\n")
    start = time.monotonic()
    assert ok(rs("stop", cid)) == cid + "\n"
    # Not a speed bound: Docker's default of 10 s would have been waited out.
    assert time.monotonic() - start < 10
    assert inspect(rs, cid)["State"]["ExitCode"] == 137
    assert ok(rs("logs", cid)) == "ready\ngot TERM\n"
    ok(rs("rm", cid))


# ---- logs --since / --until ---------------------------------------------------------

def test_logs_since_and_until(rs, busybox):
    cid = run_d(rs, busybox, "sh", "-c",
                "echo early; while [ ! -e /go ]; do sleep 0.05; done; echo late; sleep 1000")
    try:
        assert wait_for(lambda: rs("logs", cid).stdout == "early\n")
        between = f"{time.time():.9f}"
        ok(rs("exec", cid, "touch", "/go"))
        assert wait_for(lambda: rs("logs", cid).stdout == "early\nlate\n")
        assert ok(rs("logs", "--since", between, cid)) == "late\n"
        assert ok(rs("logs", "--until", between, cid)) == "early\n"
        assert ok(rs("logs", "--since", "1h", cid)) == "early\nlate\n"
        assert ok(rs("logs", "--since", "2000-01-01T00:00:00Z", cid)) == "early\nlate\n"
        proc = rs("logs", "--since", "yesterday-ish", cid)
        assert (proc.returncode, proc.stdout) == (1, ""), proc.stderr
        assert proc.stderr.splitlines() == [
            'rs-docker: invalid value for "since": yesterday-ish: not a timestamp or duration']
    finally:
        rs("rm", "-f", cid)


# ---- Docker's `container ...` spelling --------------------------------------------

def test_container_aliases(rs, busybox):
    cid = run_d(rs, "--name", "aliased", busybox, "sh", "-c", "echo hello; " + SERVE)
    short = cid[:12]
    assert short in ok(rs("container", "ps"))
    assert short in ok(rs("container", "ls"))
    assert wait_for(lambda: rs("container", "logs", "aliased").stdout == "hello\n")
    assert ok(rs("container", "exec", "aliased", "cat", "/proc/1/cmdline")).startswith("sh\0")
    assert ok(rs("container", "stop", "aliased")) == "aliased\n"
    assert ok(rs("container", "inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}",
                 "aliased")) == "exited 0\n"
    assert ok(rs("container", "ps", "-q")).split().count(short) == 0
    assert ok(rs("container", "start", "aliased")) == "aliased\n"
    assert ok(rs("container", "restart", "-t", "5", "aliased")) == "aliased\n"
    assert ok(rs("container", "kill", "aliased")) == "aliased\n"
    assert ok(rs("container", "wait", "aliased")) == "137\n"
    assert ok(rs("container", "logs", "aliased")) == "hello\n" * 3
    assert ok(rs("container", "rm", "aliased")) == "aliased\n"
    assert ok(rs("container", "ls", "-aq")).split().count(short) == 0
    stopped = run_d(rs, busybox, "true")
    assert ok(rs("container", "wait", stopped)) == "0\n"
    pruned = ok(rs("container", "prune", "-f")).splitlines()
    assert pruned[0] == "Deleted Containers:" and stopped in pruned[1:-2]
    assert pruned[-2:] == ["", "Total reclaimed space: 0B"]
    assert ok(rs("container", "ls", "-aq")).split().count(stopped[:12]) == 0
