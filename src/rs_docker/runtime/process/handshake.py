"""The parent's side of one container start over the sync socket, shared by
every way a PID 1 comes to be (process.start: forked through A or
directly; preforked.start: forked early) and by `exec` (exec.py): the
handshake up to the command's execve, the Container it returns, and the
subreaper flag that makes an orphaned PID 1 (or exec'd process) ours.

See sync.py for the protocol and init.py for the children's side.
"""

from __future__ import annotations

import errno
import os
import select

from rs_docker.cpython import signal as _signal
from rs_docker.cpython import thread as _thread
from rs_docker.errors import CommandNotExecutable, CommandNotFound, RuntimeFailure
from rs_docker.linux import syscalls
from rs_docker.linux.procstat import start_ticks
from rs_docker.runtime.process import sync
from rs_docker.runtime.process.reap import exit_code
from rs_docker.runtime.process.sync import Channel, ChildError, ChildGone, check
from rs_docker.values import record


@record
class RunResult:
    """How a container ended."""

    exit_code: int     # Docker's encoding: exit N -> N, killed by signal S -> 128+S
    oom_killed: bool
    pid: int           # host PID the container's PID 1 had


class Container:
    """A started container: `pid` is the host PID of its PID 1, our child."""

    def __init__(self, pid: int, pidfd: int, console: int | None, cgroup=None,
                 start_time: int | None = None):
        self.pid = pid
        self.console = console           # pty master (process.terminal), else None
        self._pidfd = pidfd              # signals reach this process, never a reused PID
        # Readable once the container's PID 1 has exited (pidfd_open(2): a
        # pidfd polls readable when its process terminates).
        self.exit_fd = pidfd
        self.start_time = start_time     # field 22 of /proc/PID/stat: tells a reused PID apart
        self._cgroup = cgroup
        self.result: RunResult | None = None

    def kill(self, sig: int = _signal.SIGTERM) -> None:
        """Send `sig` to the container's PID 1 (no error if it has exited)."""
        if self.result is not None:
            return
        try:
            _signal.pidfd_send_signal(self._pidfd, sig)
        except ProcessLookupError:
            pass

    def wait(self) -> RunResult:
        """Block until the container's PID 1 exits; release its resources."""
        if self.result is None:
            code = exit_code(self._pidfd)
            oom = False
            if self._cgroup is not None:
                try:
                    oom = bool(self._cgroup.oom_killed())
                finally:
                    self._cgroup.destroy()
            for fd in (self._pidfd, self.console):
                if fd is not None:
                    os.close(fd)
            self.result = RunResult(code, oom, self.pid)
        return self.result


class Subreaper:
    """PR_SET_CHILD_SUBREAPER while a start is under way, restored after.

    Process A exits as soon as it has forked B (the container's PID 1), so
    that no process stays behind only to relay B's exit (~13 MiB of Python
    per container). An orphan goes to its nearest subreaper ancestor
    (prctl(2)), so B becomes our child and we wait for it directly, as
    containerd-shim does with runc's forks. The flag is restored once A is
    reaped (B stays our child), so a program using this library does not
    inherit every orphan of its other children; a count keeps it set while
    several threads start containers."""

    def __init__(self):
        self._lock = _thread.allocate_lock()
        self._users = 0
        self._was = False

    def __enter__(self):
        with self._lock:
            if self._users == 0:
                self._was = syscalls.child_subreaper()
                if not self._was:
                    syscalls.set_child_subreaper(True)
            self._users += 1

    def __exit__(self, *exc):
        with self._lock:
            self._users -= 1
            if self._users == 0 and not self._was:
                syscalls.set_child_subreaper(False)


SUBREAPER = Subreaper()


class Handshake:
    """The parent's side of one start over the sync socket: process A
    (`first`), then B; or B alone (direct, preforked.py)."""

    def __init__(self, chan: Channel, first: int | None):
        self.chan = chan
        self.first: int | None = first        # None once reaped (or never: direct)
        self.first_fd: int | None = os.pidfd_open(first) if first is not None else None
        self.pidfd: int | None = None         # B's, once it reported (direct: at once)

    def handshake(self, idmaps, on_pid, terminal, winsize_from, cgroup,
                  pid: int | None = None) -> Container:
        try:
            try:
                return self._handshake(idmaps, on_pid, terminal, winsize_from, cgroup, pid)
            except (OSError, RuntimeFailure):
                if pid is not None:
                    # Forked directly, PID 1 may have failed in a step A did
                    # (unshare...) while we joined it: its report says why.
                    self._raise_report()
                raise
        except ChildError as e:
            raise translate(e) from None
        except ChildGone:
            raise RuntimeFailure("container init exited before starting the command") from None
        except OSError as e:
            raise RuntimeFailure(f"container init: {e}") from None

    def _raise_report(self) -> None:
        """Raise the ChildError the child sent, if one is waiting."""
        poller = select.poll()
        poller.register(self.chan.fileno(), select.POLLIN)
        if poller.poll(0):
            msg, _fd = self.chan.recv()
            if msg is not None and msg.get("type") == sync.ERROR:
                check(msg, sync.ERROR)

    def _handshake(self, idmaps, on_pid, terminal, winsize_from, cgroup,
                   pid: int | None) -> Container:
        chan = self.chan
        if pid is None:  # through A, which reports B's PID
            msg = self._recv_from_first()
            if msg is not None and msg.get("type") == sync.USERNS:
                from rs_docker.runtime import idmap  # user namespaces only

                idmap.apply(idmaps, self.first)
                chan.send(sync.MAPPED)
                msg = self._recv_from_first()
            pid = int(check(msg, sync.PID)["pid"])
            # Open it while it waits for "go": it cannot have exited, its PID cannot be reused.
            self.pidfd = os.pidfd_open(pid)
        start_time = start_ticks(pid)
        if on_pid is not None:
            joined = on_pid(pid)  # a cgroup it made (spawn), or None (the one given)
            cgroup = cgroup if joined is None else joined
        # A exits right after reporting B; B is ours from here on, and by
        # "go" its parent is us: it arms its parent-death signal then.
        self._reap_first()
        chan.send(sync.GO)
        console = receive_console(chan, winsize_from) if terminal else None
        wait_for_exec(chan)
        return Container(pid, self.pidfd, console, cgroup, start_time)

    def _recv_from_first(self) -> dict | None:
        """A message from A; ChildGone if A died without a word (a B it forked
        would otherwise hold the socket open while both sides wait)."""
        ready = {fd for fd, _ in _poll(self.chan.fileno(), self.first_fd)}
        if self.chan.fileno() not in ready:
            raise ChildGone("first child")
        msg, _fd = self.chan.recv()
        return msg

    def _reap_first(self) -> None:
        if self.first is not None:
            os.waitpid(self.first, 0)
            self.first = None

    def abort(self, pid: int | None = None) -> None:
        """Kill and reap A and B, whichever exist (B is ours once A is
        reaped; `pid`: B forked directly, before its pidfd was open)."""
        if self.pidfd is None and pid is not None:
            try:
                os.kill(pid, _signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
            return
        if self.pidfd is not None:
            try:
                _signal.pidfd_send_signal(self.pidfd, _signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.first is not None:
            try:
                os.kill(self.first, _signal.SIGKILL)
            except ProcessLookupError:
                pass
            self._reap_first()
        if self.pidfd is not None:
            try:
                os.waitid(os.P_PIDFD, self.pidfd, os.WEXITED)
            except ChildProcessError:
                pass  # reparented elsewhere: not ours to reap
            os.close(self.pidfd)


def receive_console(chan: Channel, winsize_from: int | None) -> int:
    """The pty master the child sends; its window size set from
    `winsize_from` (when a terminal) before the child may run the command."""
    msg, console = chan.recv()
    check(msg, sync.PTY)
    if winsize_from is not None:
        from rs_docker.runtime import tty

        tty.copy_winsize(winsize_from, console)
    chan.send(sync.CONSOLE)
    return console


def wait_for_exec(chan: Channel) -> None:
    """Return once the command is exec'd: EOF, the last copy of the child's
    O_CLOEXEC end closed by the command's execve; raise what it reported."""
    msg, _fd = chan.recv()
    if msg is not None:
        check(msg, sync.EXEC)


def _poll(*fds: int) -> list:
    poller = select.poll()
    for fd in fds:
        poller.register(fd, select.POLLIN)
    return poller.poll()


def translate(e: ChildError) -> RuntimeFailure:
    """A child's error report -> the RsDockerError a user sees (Docker's
    codes: 127 command not found, 126 not executable, 125 anything else)."""
    if e.step == "exec":
        kind = CommandNotFound if e.errno == errno.ENOENT else CommandNotExecutable
        return kind(e.message)
    return RuntimeFailure(e.message)
