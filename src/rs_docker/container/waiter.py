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
    writer = LogWriter(log_fd)
    try:
        pump(exit_fd, {out_r: "stdout", err_r: "stderr"}, writer)
        code = exit_code(exit_fd)
    finally:
        os.close(log_fd)
    for fd in (exit_fd, console):
        if fd >= 0:
            os.close(fd)
    from rs_docker.container import exits

    exits.finish(root, container_id, code, argv[7],
                   (writer.dropped_entries, writer.dropped_bytes))


def pump(exit_fd: int, streams: dict[int, str], writer) -> None:
    """Copy the pipes into the log until they close; once the container has
    exited, stop after 2 s of silence (a pipe some escaped process still holds)."""
    poller = select.poll()
    for fd in (exit_fd, *streams):
        poller.register(fd, select.POLLIN)
    exited = False
    while streams:
        events = poller.poll(2000 if exited else None)
        if not events:
            break
        for fd, _ev in events:
            if fd == exit_fd:
                exited = True
                poller.unregister(fd)
                continue
            data = os.read(fd, MONITOR_READ)
            if data:
                writer.feed(streams[fd], data)
                continue
            writer.flush(streams.pop(fd))
            poller.unregister(fd)
            os.close(fd)
    for fd, name in streams.items():
        writer.flush(name)
        os.close(fd)
