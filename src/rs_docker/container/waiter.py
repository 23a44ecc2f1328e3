"""The container monitor's second life: a lean program that waits.

Once the monitor (monitor.py) has started the container, it execs a fresh
`python -S` running this module, handing over only file descriptors: the
pidfd of the container's PID 1 (its child, which exec keeps), the stdout
and stderr pipes, the json-file log, the pty master if any. This program
imports os, select, time and the C half of json; the runtime, the record
code, dataclasses, pathlib and json are loaded only once the container has
exited, to record the exit (exits.finish). The start-up machinery's
memory is not carried through the container's whole life: RSS ~8 MiB
instead of ~18 MiB (the floor of an idle `python -S` is ~7.7 MiB).

Ignored signals stay ignored across execve(2), so the monitor's SIG_IGN
for SIGHUP, SIGINT... still holds here.

argv: ROOT CONTAINER_ID EXIT_FD OUT_FD ERR_FD LOG_FD CONSOLE_FD|-1 FINISH_JSON
"""

from __future__ import annotations

import os
import select
import sys
import time

from rs_docker.container import boot
from rs_docker.container.jsonlog import LogWriter
from rs_docker.runtime.process.reap import exit_code

MONITOR_READ = 65536


def exec_waiter(args: list[str], fds: list[int]) -> None:
    """Replace this process with the waiting program; returns only if execv
    failed (the caller then waits in-process)."""
    for fd in fds:
        os.set_inheritable(fd, True)
    try:
        os.execv(sys.executable, boot.python_argv("rs_docker.container.waiter", args))
    except OSError:
        for fd in fds:
            os.set_inheritable(fd, False)


def main(argv: list[str]) -> None:
    """Entry point of the exec'd program: any failure is recorded."""
    try:
        wait_and_finish(argv)
    except BaseException as e:  # noqa: B036 - the record must not stay "running"
        from rs_docker.container import exits

        exits.record_failure(argv[0], argv[1], str(e) or type(e).__name__)
        raise SystemExit(125) from None


def wait_and_finish(argv: list[str]) -> None:
    root, container_id = argv[0], argv[1]
    exit_fd, out_r, err_r, log_fd, console = (int(a) for a in argv[2:7])
    started = time.monotonic()
    writer = LogWriter(log_fd, rotate=_rotation(argv[7]))
    checks = _health_timer(root, container_id, argv[7])
    streams = {out_r: "stdout", err_r: "stderr"}
    if console >= 0:
        os.set_blocking(console, False)
        streams[console] = "stdout"
    clients = None
    if len(argv) > 9 and int(argv[9]) >= 0:
        from rs_docker.container.attach import Server

        clients = Server(int(argv[9]), int(argv[8]), console, exit_fd)
    try:
        pump(exit_fd, streams, writer, checks, clients)
        code = exit_code(exit_fd)
    finally:
        os.close(log_fd)
        if checks is not None:
            checks.cancel()
        if clients is not None:
            clients.close()
    for fd in (exit_fd, int(argv[8]) if clients is not None and clients.stdin_fd >= 0 else -1):
        if fd >= 0:
            os.close(fd)
    from rs_docker.container import exits

    backoff = exits.finish(root, container_id, code, argv[7],
                           (writer.dropped_entries, writer.dropped_bytes),
                           time.monotonic() - started)
    if backoff is not None:  # its restart policy: start it again after the back-off
        from rs_docker.container import restart

        if restart.wait_backoff(root, container_id, backoff):
            restart.relaunch(root, container_id, backoff)
        restart.give_up(root, container_id)


def _rotation(finish_json: str) -> tuple[str, int, int] | None:
    """--log-opt max-size/max-file, when given (LogWriter's rotate)."""
    if '"log":' not in finish_json:
        return None
    from rs_docker import jsonio

    path, size, keep = jsonio.loads(finish_json)["log"]
    return path, size, keep


def _health_timer(root: str, container_id: str, finish_json: str):
    """The healthcheck's timer when the container has one (health.py)."""
    if '"health":' not in finish_json:  # the common case: no JSON parsed, nothing imported
        return None
    from rs_docker import jsonio

    sched = jsonio.loads(finish_json).get("health")
    return HealthTimer(root, container_id, sched) if sched else None


class HealthTimer:
    """Starts the container's healthchecks on time, one at a time, each a
    child process running health.main() (which records the result); learns
    the status from its exit code, to pick the next interval."""

    def __init__(self, root: str, container_id: str, sched: dict):
        from rs_docker.container import health

        self.health = health
        self.argv = boot.python_argv("rs_docker.container.health", [root, container_id])
        self.sched, self.status = sched, health.STARTING
        self.started = time.monotonic()
        self.due = self.started + health.next_delay(sched, self.status, 0.0)
        self.pid, self.pidfd = 0, -1

    def timeout_ms(self) -> int | None:
        """How long the poll may sleep (None: a check runs; its end wakes it)."""
        if self.pidfd >= 0:
            return None
        return max(0, int((self.due - time.monotonic()) * 1000) + 1)

    def tick(self, poller) -> None:
        if self.pidfd < 0 and time.monotonic() >= self.due:
            self._start(poller)

    def _start(self, poller) -> None:
        pid = os.fork()
        if pid == 0:  # pragma: no cover - child
            try:
                os.closerange(3, 1 << 16)
                os.execv(self.argv[0], self.argv)
            finally:
                os._exit(127)
        self.pid, self.pidfd = pid, os.pidfd_open(pid)
        poller.register(self.pidfd, select.POLLIN)

    def owns(self, fd: int) -> bool:
        return fd == self.pidfd >= 0

    def done(self, poller) -> None:
        poller.unregister(self.pidfd)
        code = self._reap()
        self.status = self.health.STATUS_CODES.get(code, self.status)
        now = time.monotonic()
        self.due = now + self.health.next_delay(self.sched, self.status, now - self.started)

    def _reap(self) -> int:
        os.close(self.pidfd)
        self.pidfd = -1
        _, status = os.waitpid(self.pid, 0)
        return os.waitstatus_to_exitcode(status)

    def cancel(self) -> None:
        """The container exited: a check still running is of no use."""
        if self.pidfd >= 0:
            os.kill(self.pid, 9)
            self._reap()


def pump(exit_fd: int, streams: dict[int, str], writer, checks=None, clients=None) -> None:
    """Copy the pipes into the log until they close; once the container has
    exited, stop after 2 s of silence (a pipe some escaped process still
    holds). `checks`: the HealthTimer, if any, run in the same loop;
    `clients`: the attach socket's (attach.Server), who see the output too."""
    poller = select.poll()
    for fd in (exit_fd, *streams, *(clients.fds() if clients is not None else ())):
        poller.register(fd, select.POLLIN)
    exited = False
    while streams:
        wait = None if checks is None or exited else checks.timeout_ms()
        events = poller.poll(2000 if exited else wait)
        if not events and exited:
            break
        if checks is not None and not exited:
            checks.tick(poller)
        for fd, _ev in events:
            if checks is not None and checks.owns(fd):
                checks.done(poller)
                continue
            if clients is not None and clients.owns(fd):
                clients.ready(fd, poller)
                continue
            if fd == exit_fd:
                exited = True
                poller.unregister(fd)
                continue
            if fd not in streams:
                continue  # an attach client let go earlier in this round
            try:
                data = os.read(fd, MONITOR_READ)
            except BlockingIOError:
                continue
            except OSError:  # EIO: a pty whose other side is closed
                data = b""
            if data:
                writer.feed(streams[fd], data)
                if clients is not None and clients.clients:
                    clients.broadcast(6 if streams[fd] == "stderr" else 5, data, poller)
                continue
            writer.flush(streams.pop(fd))
            poller.unregister(fd)
            os.close(fd)
    for fd, name in streams.items():
        writer.flush(name)
        os.close(fd)
