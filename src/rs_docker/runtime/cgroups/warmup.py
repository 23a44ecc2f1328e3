"""Pay the cgroup-migration latency while there is other work to do.

Every write to a cgroup.procs file takes cgroup_threadgroup_rwsem for
writing (kernel/cgroup/cgroup.c cgroup_procs_write_start ->
cgroup_attach_lock). The first writer after a quiet period waits for an RCU
grace period (kernel/rcu/sync.c rcu_sync_enter, from GP_IDLE): several
milliseconds (docs/ARCHITECTURE.md, Start-up rules). Once a writer is
done, the semaphore stays in its writer mode for at least one more grace
period (GP_EXIT, re-armed as GP_REPLAY by every later writer), and a write
in that window does not wait at all. The container's PID 1 can only be
joined to its cgroup once it exists, late in a start, so without a keeper
the join pays the grace period while PID 1 waits.

A keeper thread, started as soon as a run is known to come (warm_up, from
the start-up slot: runtime/startup.py) and otherwise once the container's
cgroup directories exist, writes "0" ("the writing process", cgroups(7))
to this process's own cgroup.procs: a move to where it already is, which
changes nothing. Its first write pays the grace period while Python
imports and plans; it writes again every PERIOD, so the kernel never goes
back to GP_IDLE, until the join stops it (the figures: docs/ARCHITECTURE.md,
the tricks table). While a write waits for its grace period it holds
cgroup_mutex, so a mkdir in a cgroup hierarchy waits too: hence
create_cgroup() starts its late keeper only after its mkdirs.

The thread only runs os.write() and a timed lock wait: it holds nothing a
forked child could need (fork(2) copies the calling thread alone), and it
stops by itself after LIFETIME should nobody stop it. Nothing depends on it:
if it cannot find or write the file, the join pays the grace period.
"""

from __future__ import annotations

import os
import time

from rs_docker.cpython import thread as _thread
from rs_docker.errors import RsDockerError
from rs_docker.runtime.cgroups import detect as _detect

PERIOD = 0.004    # s between writes: well inside one grace period
LIFETIME = 2.0    # s: a run that pulls first joins late and pays the grace period itself


class Keeper:
    """The thread writing "0" to `procs` (a cgroup.procs path, or a
    callable returning one) every `period` s until stop() or `lifetime` s."""

    def __init__(self, procs, period: float = PERIOD, lifetime: float = LIFETIME):
        self._procs = procs
        self._period, self._lifetime = period, lifetime
        self._stop = _thread.allocate_lock()
        self._stop.acquire()              # released by stop(): the thread's wake-up
        self._done = _thread.allocate_lock()
        self._done.acquire()              # released by the thread as it ends
        _thread.start_new_thread(self._run, ())

    def _run(self) -> None:
        try:
            path = self._procs() if callable(self._procs) else self._procs
            fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC) if path else None
        except OSError:
            fd = None
        try:
            deadline = time.monotonic() + self._lifetime
            while fd is not None and time.monotonic() < deadline:
                os.write(fd, b"0")
                if self._stop.acquire(timeout=self._period):
                    break
        except OSError:
            pass
        finally:
            if fd is not None:
                os.close(fd)
            self._done.release()

    def stop(self) -> None:
        """Ask the thread to end; it does so at its next wake-up (at most a
        period, or the end of a write waiting for its grace period) without
        this call waiting for it."""
        try:
            self._stop.release()
        except RuntimeError:
            pass  # stopped before

    def wait(self, timeout: float = -1) -> bool:
        """Whether the thread ended (within `timeout` s; -1: no limit)."""
        if self._done.acquire(timeout=timeout):
            self._done.release()
            return True
        return False


_keeper: Keeper | None = None
# The switch interval the owner of a start-up sets while the keeper runs
# (runtime/startup.py), a tenth of CPython's default (0.005 s): the thread
# needs the GIL to start and after each wait, and the main thread,
# importing, would otherwise keep it a whole default interval, long enough
# for the first write to come late (and stall the cgroup mkdirs behind its
# grace period) or for a gap between writes to let the kernel go idle.
# This module never sets it itself: the interval is the whole interpreter's.
SWITCH = 0.0005


def own_procs(mountinfo: str | None = None, proc_cgroup: str | None = None) -> str | None:
    """The cgroup.procs of this process's own cgroup in one hierarchy (any
    will do: the semaphore is global), or None without cgroups."""
    try:
        if mountinfo is None:
            with open("/proc/self/mountinfo") as f:
                mountinfo = f.read()
        if proc_cgroup is None:
            with open("/proc/self/cgroup") as f:
                proc_cgroup = f.read()
        layout = _detect.detect(mountinfo)
        own = _detect.parse_proc_cgroup(proc_cgroup)
        if layout.mode == "v2":
            h, path = layout.unified, own.get("", "/")
        else:
            ctrl, h = next(iter(layout.v1.items()))
            path = own.get(ctrl, "/")
        return os.path.join(_detect.cgroup_dir(h, "/", path), "cgroup.procs")
    except (OSError, RsDockerError):  # no cgroup filesystem: nothing to warm
        return None


def warm_up() -> Keeper | None:
    """Start the keeper unless it runs; only as root (a rootless run joins
    no cgroup of its own on v1, and may not write its own cgroup.procs).
    The keeper started, or None."""
    global _keeper
    if os.geteuid() != 0 or (_keeper is not None and not _keeper.wait(0)):
        return None
    _keeper = Keeper(own_procs)
    return _keeper


def stop() -> None:
    """The join is done: let the keeper end."""
    if _keeper is not None:
        _keeper.stop()
