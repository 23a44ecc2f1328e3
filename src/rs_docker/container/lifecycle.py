"""Container lifecycle without a daemon: start (through a monitor), stop,
kill, rm, wait, restart, prune — and keeping records honest.

Every change takes the container's lock (state.locked). Nothing here holds
a lock while waiting for a container to exit: the monitor needs that lock
to record the exit. A record that says "running" is checked against the
processes it names (PID plus start time, recorded_pid.py): when the monitor is
gone, no one can collect the container's output or exit status any more;
its PID 1 has died with it (PR_SET_PDEATHSIG), or is killed here, and the
container is recorded as exited (ExitCode 137). Removal destroys the
container's cgroup in every hierarchy, whether or not the process that
made it lived to do so.
"""

from __future__ import annotations

import os
import signal
import time

from rs_docker.container import boot, events, recorded_pid, state
from rs_docker.context import Context
from rs_docker.errors import (
    CommandNotExecutable,
    CommandNotFound,
    Conflict,
    ContainerNotFound,
    RuntimeFailure,
)
from rs_docker.store import atomic

DEFAULT_STOP_TIMEOUT = 10   # seconds, Docker's default for `stop`
MONITOR_GRACE = 15          # seconds for a monitor to record an exit it has seen
MONITOR_DIED = "container monitor died"
MNT_DETACH = 2              # umount(2): detach now, unmount once not busy
RESTARTING = "restarting"   # State.Status while a restart policy's back-off runs


def extra(record: dict) -> dict:
    """rs-docker's own bookkeeping in the record (not part of Docker's shape)."""
    return record.setdefault("RsDocker", {})


def is_running(record: dict) -> bool:
    return (record.get("State") or {}).get("Status") == state.RUNNING


def is_restarting(record: dict) -> bool:
    """Its monitor waits to start it again (container/restart.py)."""
    return (record.get("State") or {}).get("Status") == RESTARTING


def reconcile(record: dict) -> bool:
    """Fix a "running" (or "restarting") record whose processes are gone;
    True if changed."""
    st = record.get("State") or {}
    if st.get("Status") not in (state.RUNNING, RESTARTING):
        return False
    x = extra(record)
    monitor = x.get("MonitorPid")
    if monitor and recorded_pid.alive(monitor, x.get("MonitorStartTime")):
        return False
    if not monitor and recorded_pid.alive(st.get("Pid"), x.get("PidStartTime")):
        return False
    if monitor:
        # The monitor died without recording an exit: its PID 1 died with it
        # (PR_SET_PDEATHSIG SIGKILL, runtime/process/init.py), or is an orphan that
        # nothing reads or reaps: killed here. Either way SIGKILL ended it.
        recorded_pid.send(st.get("Pid"), x.get("PidStartTime"), signal.SIGKILL)
        code, error = 137, MONITOR_DIED
    else:
        code, error = st.get("ExitCode") or 255, st.get("Error", "")
    st.update(Status=state.EXITED, Running=False, Restarting=False, Pid=0,
              FinishedAt=state.now(), ExitCode=code, Error=error)
    return True


def refresh(ctx: Context, container_id: str) -> dict:
    """The record, reconciled with the processes (under the lock)."""
    with state.locked(ctx, container_id):
        record = state.read(ctx, container_id)
        if reconcile(record):
            state.write(ctx, container_id, record)
            _network_down(ctx, container_id, record)
        return record


def _network_down(ctx: Context, container_id: str, record: dict) -> None:
    """The container's bridge networking torn down (its monitor, which
    does that, is gone), when it has any."""
    d = state.container_dir(ctx, container_id)
    if os.path.exists(os.path.join(d, "network.json")):
        from rs_docker.network import attach

        attach.down(ctx, d, container_id, str(record.get("Name", "")).lstrip("/"))


# -- start ----------------------------------------------------------------------

def start(ctx: Context, container_id: str) -> dict:
    """Start a created or exited container detached, on its own rootfs and
    config; a running one is left alone. Returns the record."""
    with state.locked(ctx, container_id):
        record = state.read(ctx, container_id)
        reconcile(record)
        if is_running(record) or is_restarting(record):
            return record
        # The user starts it: its restart policy applies again, counted afresh.
        extra(record).pop("ManuallyStopped", None)
        record["RestartCount"] = 0
        d = state.container_dir(ctx, container_id)
        net = None
        if os.path.exists(os.path.join(d, "network.json")):
            from rs_docker.network import attach  # set up before PID 1 exists

            net = attach
            attach.up(ctx, d, container_id, record)
        report = boot.launch_monitor(str(ctx.root), container_id)
        if "error" in report and net is not None:
            net.down(ctx, d, container_id, str(record.get("Name", "")).lstrip("/"))
        if "error" not in report:
            set_running(record, report)
            state.write(ctx, container_id, record)
            events.emit(ctx, "container", "start", container_id,
                        events.container_attributes(record))
            return record
        record["State"].update(ExitCode=report.get("code", 125), Error=report["error"])
        state.write(ctx, container_id, record)
    if (record.get("HostConfig") or {}).get("AutoRemove"):
        remove(ctx, container_id, force=True)
    raise _start_error(report)


def set_running(record: dict, report: dict) -> None:
    """The record of a started container, from its monitor's start report."""
    record["State"].update(Status=state.RUNNING, Running=True, Pid=report["pid"],
                           StartedAt=state.now(), ExitCode=0, Error="", OOMKilled=False,
                           Dead=False, Restarting=False)
    check = (record.get("Config") or {}).get("Healthcheck")
    if check:
        from rs_docker.container import health

        if health.enabled(check):
            record["State"]["Health"] = health.starting()
    extra(record).update(PidStartTime=report.get("ticks"), MonitorPid=report["monitor_pid"],
                         MonitorStartTime=report.get("monitor_ticks"),
                         CgroupPaths=report.get("cgroups") or {})


def _start_error(report: dict) -> RuntimeFailure:
    kind = {127: CommandNotFound, 126: CommandNotExecutable}.get(report.get("code"),
                                                                 RuntimeFailure)
    return kind(report["error"])


# -- signals and stopping -------------------------------------------------------

def _stopped_by_user(ctx: Context, container_id: str) -> dict:
    """Mark a running or restarting container as stopped by the user, so
    that its monitor does not restart it (dockerd's HasBeenManuallyStopped,
    set by stop and kill); a restarting one is given up on: its monitor is
    waited for. The record, reconciled."""
    with state.locked(ctx, container_id):
        record = state.read(ctx, container_id)
        changed = reconcile(record)
        if is_running(record) or is_restarting(record):
            extra(record)["ManuallyStopped"] = True
            changed = True
        if changed:
            state.write(ctx, container_id, record, exists=True)
    if is_restarting(record):
        x = extra(record)
        recorded_pid.wait_gone(x.get("MonitorPid"), x.get("MonitorStartTime"), MONITOR_GRACE)
        record = refresh(ctx, container_id)
    return record


def kill(ctx: Context, container_id: str, sig: int = signal.SIGKILL) -> None:
    """Send `sig` to the container's PID 1 (Docker: only if it is running)."""
    record = _stopped_by_user(ctx, container_id)
    _thaw_paused(ctx, container_id, record)
    st = record["State"]
    if not is_running(record) or not recorded_pid.send(st["Pid"], extra(record).get("PidStartTime"),
                                                sig):
        raise Conflict(f"cannot kill container: {container_id}: container "
                       f"{container_id} is not running")
    events.emit(ctx, "container", "kill", container_id,
                events.container_attributes(record, signal=int(sig)))
    if sig == signal.SIGKILL:
        _wait_exit(ctx, container_id, record, None)


def stop(ctx: Context, container_id: str, timeout: int | None = None,
         sig: int | None = None) -> None:
    """StopSignal (--stop-signal, the image's, else SIGTERM), then SIGKILL
    after `timeout` seconds (StopTimeout, else 10; negative: wait forever).
    Stopping a stopped container is not an error (Docker)."""
    record = _stopped_by_user(ctx, container_id)
    if not is_running(record):
        return
    _thaw_paused(ctx, container_id, record)
    config = record.get("Config") or {}
    if sig is None:
        from rs_docker.models.signal_names import parse_signal

        sig = parse_signal(config.get("StopSignal") or "SIGTERM")
    if timeout is None:
        timeout = config.get("StopTimeout") or DEFAULT_STOP_TIMEOUT
    pid, ticks = record["State"]["Pid"], extra(record).get("PidStartTime")
    attrs = events.container_attributes(record)
    recorded_pid.send(pid, ticks, sig)
    events.emit(ctx, "container", "kill", container_id, {**attrs, "signal": str(int(sig))})
    if not _wait_exit(ctx, container_id, record, None if timeout < 0 else timeout):
        recorded_pid.send(pid, ticks, signal.SIGKILL)
        events.emit(ctx, "container", "kill", container_id,
                    {**attrs, "signal": str(int(signal.SIGKILL))})
        _wait_exit(ctx, container_id, record, None)
    events.emit(ctx, "container", "stop", container_id, attrs)


def _thaw_paused(ctx: Context, container_id: str, record: dict) -> None:
    """A paused container is thawed before it is signalled: a frozen task
    acts on no signal (container/pause.py)."""
    if (record.get("State") or {}).get("Paused"):
        from rs_docker.container.pause import thaw_for_exit

        thaw_for_exit(ctx, container_id, record)


def _wait_exit(ctx: Context, container_id: str, record: dict, timeout: float | None) -> bool:
    """Wait for PID 1 to exit (False on timeout), then for the monitor to
    record it."""
    if not recorded_pid.wait_gone(record["State"]["Pid"], extra(record).get("PidStartTime"), timeout):
        return False
    x = extra(record)
    recorded_pid.wait_gone(x.get("MonitorPid"), x.get("MonitorStartTime"), MONITOR_GRACE)
    try:
        refresh(ctx, container_id)
    except ContainerNotFound:
        pass  # --rm: the monitor removed it
    return True


def wait(ctx: Context, container_id: str) -> int:
    """Block until the container is not running; its exit code."""
    record = refresh(ctx, container_id)
    while is_running(record):
        x = extra(record)
        recorded_pid.wait_gone(record["State"]["Pid"], x.get("PidStartTime"), 1.0)
        record = _poll_record(ctx, container_id, record)
    return int(record["State"].get("ExitCode") or 0)


def _poll_record(ctx: Context, container_id: str, last: dict) -> dict:
    """Re-read the record often while its container is exiting, so that the
    exit code of an --rm container is seen before the monitor removes it."""
    for _ in range(100):
        try:
            record = refresh(ctx, container_id)
        except ContainerNotFound:
            if is_running(last):
                raise
            return last
        if not is_running(record):
            return record
        if recorded_pid.alive(record["State"]["Pid"], extra(record).get("PidStartTime")):
            return record
        time.sleep(0.01)
    return record


def restart(ctx: Context, container_id: str, timeout: int | None = None) -> dict:
    stop(ctx, container_id, timeout)
    record = start(ctx, container_id)
    events.emit(ctx, "container", "restart", container_id, events.container_attributes(record))
    return record


# -- removal --------------------------------------------------------------------

def remove(ctx: Context, container_id: str, force: bool = False,
           volumes: bool = False) -> None:
    """Remove the container: its rootfs (unmounted first), cgroup, log,
    record and name. A running container needs force (then it is killed).
    `volumes` (`rm -v`; implied by AutoRemove, as Docker's --rm): its
    anonymous volumes too, those no other container uses."""
    record = refresh(ctx, container_id)
    if is_restarting(record) and force:
        record = _stopped_by_user(ctx, container_id)
    if is_running(record) or is_restarting(record):
        if not force:
            raise Conflict(f'cannot remove container "{record.get("Name", container_id)}": '
                           f"container is running: stop the container before removing or "
                           f"force remove")
        try:
            kill(ctx, container_id, signal.SIGKILL)
        except Conflict:
            pass  # it exited meanwhile
    with state.locked(ctx, container_id):
        try:
            record = state.read(ctx, container_id)
        except ContainerNotFound:
            return  # removed meanwhile (--rm)
        if reconcile(record) or is_running(record):
            state.write(ctx, container_id, record)
        if is_running(record) or is_restarting(record):
            raise Conflict(f"cannot remove container {container_id}: it is still running")
        _free(ctx, container_id, record)
    state.release_name(ctx, str(record.get("Name", "")).removeprefix("/"), container_id)
    events.emit(ctx, "container", "destroy", container_id, events.container_attributes(record))
    anonymous = extra(record).get("AnonymousVolumes")
    if anonymous and (volumes or (record.get("HostConfig") or {}).get("AutoRemove")):
        from rs_docker.container import volumes as volumes_mod

        volumes_mod.discard(ctx, anonymous)


def _free(ctx: Context, container_id: str, record: dict) -> None:
    from rs_docker.container.create import remove_dir

    d = state.container_dir(ctx, container_id)
    if os.path.exists(os.path.join(d, "network.json")):
        from rs_docker.network import attach  # torn down and the leases freed

        attach.release(ctx, d, container_id, str(record.get("Name", "")).lstrip("/"))
    root = os.path.join(d, "rootfs")
    if os.path.ismount(root):  # fuse-overlayfs left by a monitor that died
        from rs_docker.linux import syscalls

        syscalls.umount2(str(root), MNT_DETACH)
    _remove_cgroups(container_id, d, extra(record).get("CgroupPaths") or {})
    # Rename first: a concurrent reader sees the container gone, not half-removed.
    doomed = os.path.join(os.path.dirname(d), f".removing-{container_id}")
    os.rename(d, doomed)
    remove_dir(doomed)


def _remove_cgroups(container_id: str, d: str, paths: dict) -> None:
    """Remove the container's cgroup in every hierarchy, whoever made it:
    the runtime reopens it from the container id and the bundle's
    cgroupsPath (a foreground `run` killed before its cleanup records no
    paths), plus any directory the record names (the monitor reports them).
    Processes left in it are killed first (cgroups.fs.remove)."""
    from rs_docker.errors import RsDockerError
    from rs_docker.runtime.cgroups import fs, open_cgroup

    dirs = set(paths.values())
    try:
        config = atomic.read_json(os.path.join(d, "config.json"))
        linux = config.get("linux") or {}
        dirs.update(open_cgroup(container_id, linux.get("cgroupsPath")).paths.values())
    except (OSError, ValueError, RsDockerError):
        pass  # no bundle (or no cgroup filesystem): the recorded paths alone
    root = "/sys/fs/cgroup/"
    for path in sorted(dirs, key=lambda p: -p.count("/")):
        if path.startswith(root) and os.path.basename(path) == container_id:
            fs.remove(path)


def prune(ctx: Context) -> list[str]:
    """Remove every container that is not running; the ids removed."""
    removed = []
    for cid in state.list_ids(ctx):
        try:
            if not is_running(refresh(ctx, cid)):
                remove(ctx, cid)
                removed.append(cid)
        except (ContainerNotFound, Conflict):
            continue
    return removed
