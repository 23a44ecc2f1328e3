"""The parent side: fork the init processes, answer their requests over the
sync socket (id maps, cgroup, "go", the pty), then wait and report.

See init.py for the children's side and sync.py for the protocol.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from rs_docker.errors import CommandNotExecutable, CommandNotFound, RuntimeFailure
from rs_docker.runtime import bundle as bundle_mod
from rs_docker.runtime import command, idmap, init, tty
from rs_docker.runtime.signals import SignalForwarder
from rs_docker.runtime.sync import Channel, ChildError, ChildGone, check


@dataclass(frozen=True)
class RunResult:
    exit_code: int     # Docker's encoding: exit N -> N, killed by signal S -> 128+S
    oom_killed: bool
    pid: int           # host PID the container's PID 1 had


class Container:
    """A started container: `pid` is the host PID of its PID 1."""

    def __init__(self, pid: int, pidfd: int, first: int, console: int | None, cgroup=None,
                 exit_fd: int | None = None, start_time: int | None = None):
        self.pid = pid
        self.console = console           # pty master (process.terminal), else None
        self._first = first              # the waiting first child (process A)
        self._pidfd = pidfd              # signals reach this process, never a reused PID
        # Readable once the container has exited. Opened while A still waits for
        # "go", so it cannot be gone (nor its PID reused) yet.
        self.exit_fd = os.pidfd_open(first) if exit_fd is None else exit_fd
        self.start_time = start_time     # field 22 of /proc/PID/stat: tells a reused PID apart
        self._cgroup = cgroup
        self.result: RunResult | None = None

    def kill(self, sig: int = signal.SIGTERM) -> None:
        """Send `sig` to the container's PID 1 (no error if it has exited)."""
        if self.result is not None:
            return
        try:
            signal.pidfd_send_signal(self._pidfd, sig)
        except ProcessLookupError:
            pass

    def wait(self) -> RunResult:
        """Block until the container's PID 1 exits; release its resources."""
        if self.result is None:
            code = init.relay_status(self._first)
            oom = False
            if self._cgroup is not None:
                try:
                    oom = bool(self._cgroup.oom_killed())
                finally:
                    self._cgroup.destroy()
            for fd in (self._pidfd, self.exit_fd, self.console):
                if fd is not None:
                    os.close(fd)
            self.result = RunResult(code, oom, self.pid)
        return self.result


def start(body, args: tuple, *, idmaps: idmap.IdMapPlan | None = None, on_pid=None,
          terminal: bool = False, winsize_from: int | None = None, cgroup=None) -> Container:
    """Fork process A running init.child_main(body, chan, *args) and take
    it through the handshake until the container command has exec'd."""
    parent, child = Channel.pair()
    first = os.fork()
    if first == 0:
        init.child_main(body, child, *args)
    child.close()
    try:
        return _handshake(parent, first, idmaps, on_pid, terminal, winsize_from, cgroup)
    except BaseException:
        _reap(first)
        raise
    finally:
        parent.close()


def _handshake(chan: Channel, first: int, idmaps, on_pid, terminal, winsize_from, cgroup):
    try:
        msg, _fd = chan.recv()
        if msg is not None and msg.get("type") == "userns":
            idmap.apply(idmaps, first)
            chan.send("mapped")
            msg, _fd = chan.recv()
        pid = int(check(msg, "pid")["pid"])
        # Open it while it waits for "go": it cannot have exited, its PID cannot be reused.
        pidfd = os.pidfd_open(pid)
        exit_fd = os.pidfd_open(first)
        start_time = start_ticks(pid)
        if on_pid is not None:
            on_pid(pid)
        chan.send("go")
        console = None
        if terminal:
            msg, console = chan.recv()
            check(msg, "pty")
            if winsize_from is not None:
                tty.copy_winsize(winsize_from, console)
            chan.send("console")
        msg, _fd = chan.recv()
        if msg is not None:  # EOF means execve succeeded (the socket is O_CLOEXEC)
            check(msg, "exec")
        return Container(pid, pidfd, first, console, cgroup, exit_fd, start_time)
    except ChildError as e:
        raise translate(e) from None
    except ChildGone:
        raise RuntimeFailure("container init exited before starting the command") from None
    except OSError as e:
        raise RuntimeFailure(f"container init: {e}") from None


def translate(e: ChildError) -> RuntimeFailure:
    """A child's error report -> the RsDockerError a user sees (Docker's
    codes: 127 command not found, 126 not executable, 125 anything else)."""
    if e.step == "exec":
        kind = CommandNotFound if e.errno == errno.ENOENT else CommandNotExecutable
        return kind(e.message)
    return RuntimeFailure(e.message)


def _reap(first: int) -> None:
    """Kill and reap process A; its child gets SIGKILL through PDEATHSIG."""
    try:
        os.kill(first, signal.SIGKILL)
    except ProcessLookupError:
        pass
    os.waitpid(first, 0)


def spawn(bundle: Path, *, stdin=0, stdout=1, stderr=2, on_start=None,
          state_dir: Path | None = None, container_id: str | None = None) -> Container:
    """Start the container of `bundle` and return once its command runs.
    stdin/stdout/stderr: fds given to the container (None: /dev/null);
    ignored with process.terminal, where the Container's `console` is the
    pty master to relay."""
    config = bundle_mod.load(bundle)
    launch = bundle_mod.plan(bundle, config)
    prepared = command.security.prepare(config) if command.security is not None else None
    stdio = (None, None, None) if launch.terminal else (stdin, stdout, stderr)
    cgroup = _create_cgroup(container_id or f"{launch.bundle.name}-{os.urandom(4).hex()}", config)
    try:
        c = start(init.first_child, (launch, stdio, prepared), idmaps=launch.idmap,
                  on_pid=cgroup.add if cgroup is not None else None, terminal=launch.terminal,
                  winsize_from=stdin if launch.terminal else None, cgroup=cgroup)
    except BaseException:
        if cgroup is not None:
            cgroup.destroy()
        raise
    try:
        if state_dir is not None:
            write_state(Path(state_dir), c.pid, c.start_time)
        if on_start is not None:
            on_start(c.pid)
    except BaseException:
        c.kill(signal.SIGKILL)
        c.wait()
        raise
    return c


def _create_cgroup(container_id: str, config: dict):
    try:
        from rs_docker.runtime.cgroups import create_cgroup
    except ImportError:  # pragma: no cover - only while the cgroups module was unmerged
        return None
    linux = config.get("linux") or {}
    try:
        return create_cgroup(container_id, linux.get("resources"), linux.get("cgroupsPath"))
    except RuntimeFailure as e:
        # Rootless without a delegated cgroup (cgroup v1, or v2 without a
        # systemd user slice): run without one, as podman and rootless Docker
        # do, unless a limit was asked for, which would silently not hold.
        if os.geteuid() == 0:
            raise
        if any(linux.get("resources") or {}):
            raise RuntimeFailure(f"rootless: resource limits need a writable cgroup: {e}") \
                from None
        return None


def run(bundle: Path, *, stdin=0, stdout=1, stderr=2, on_start=None, forward_signals=True,
        state_dir: Path | None = None, container_id: str | None = None) -> RunResult:
    """Run the container of `bundle` in the foreground; see runtime/__init__."""
    def launch():
        return spawn(bundle, stdin=stdin, stdout=stdout, stderr=stderr, on_start=on_start,
                     state_dir=state_dir, container_id=container_id)

    return foreground(launch, forward_signals, stdin, stdout)


def foreground(launch, forward_signals: bool, stdin, stdout) -> RunResult:
    """Start with launch() -> Container, forward signals, relay the console
    (if any) and wait for the exit."""
    with SignalForwarder(forward_signals) as forwarder:
        c = launch()
        try:
            forwarder.attach(c)
            if c.console is not None:
                attach_console(c, forwarder, stdin, stdout)
        finally:
            result = c.wait()
        return result


def attach_console(c: Container, forwarder: SignalForwarder, stdin, stdout) -> None:
    """Relay the pty until the container exits, the caller's terminal raw."""
    if stdin is not None:
        forwarder.on_winch = lambda: tty.copy_winsize(stdin, c.console)
    with tty.RawMode(stdin if stdin is not None else -1):
        tty.relay(c.console, stdin, stdout, c.exit_fd)


def start_ticks(pid: int) -> int:
    """Field 22 of /proc/PID/stat: start time in clock ticks after boot."""
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[19])


def write_state(state_dir: Path, pid: int, start_time: int | None) -> None:
    """state_dir/runtime.json: {"pid", "start_time"} — start_time is field 22
    of /proc/PID/stat (clock ticks after boot), which tells a reused PID apart.
    It was read while the process could not have exited yet."""
    state_dir.mkdir(parents=True, exist_ok=True)
    tmp = state_dir / f".runtime.json.{os.getpid()}"
    tmp.write_text(json.dumps({"pid": pid, "start_time": start_time,
                               "started_at": time.time()}))
    os.replace(tmp, state_dir / "runtime.json")
