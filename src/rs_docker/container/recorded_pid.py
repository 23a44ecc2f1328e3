"""Processes named by PID plus start time.

A PID alone can be reused once its process is gone; the start time (field
22 of /proc/PID/stat, clock ticks after boot — proc(5)) tells the process
we recorded apart from a later one with the same number. Signals go through
a pidfd opened *before* the start time is checked, so the check and the
signal refer to the same process (pidfd_open(2)).
"""

from __future__ import annotations

import os
import signal

from rs_docker.linux import procstat


def start_ticks(pid: int) -> int | None:
    """Field 22 of /proc/PID/stat; None if there is no such process."""
    try:
        return procstat.start_ticks(pid)
    except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
        return None


def is_zombie(pid: int) -> bool:
    try:
        return procstat.fields(pid)[0] in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return True


def alive(pid: int | None, ticks: int | None) -> bool:
    """True while the process recorded as (pid, ticks) runs (a zombie does not)."""
    if not pid or pid <= 0:
        return False
    now = start_ticks(pid)
    return now is not None and (ticks is None or now == ticks) and not is_zombie(pid)


def open_pidfd(pid: int | None, ticks: int | None) -> int | None:
    """A pidfd for the recorded process, None when it is gone."""
    if not pid or pid <= 0:
        return None
    try:
        fd = os.pidfd_open(pid)
    except (ProcessLookupError, OSError):
        return None
    if ticks is not None and start_ticks(pid) != ticks:
        os.close(fd)
        return None
    return fd


def send(pid: int | None, ticks: int | None, sig: int) -> bool:
    """Signal the recorded process; False when it is gone."""
    fd = open_pidfd(pid, ticks)
    if fd is None:
        return False
    try:
        signal.pidfd_send_signal(fd, sig)
        return True
    except ProcessLookupError:
        return False
    finally:
        os.close(fd)


def wait_gone(pid: int | None, ticks: int | None, timeout: float | None) -> bool:
    """Block until the recorded process exits (True) or `timeout` passes (False)."""
    import select

    fd = open_pidfd(pid, ticks)
    if fd is None:
        return True
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        return bool(poller.poll(None if timeout is None else max(int(timeout * 1000), 0)))
    finally:
        os.close(fd)
