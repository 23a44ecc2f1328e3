"""How a detached container's end is recorded, by its monitor (monitor.py)
or the waiter it became (waiter.py): the cgroup's OOM counter read and the
cgroup removed, fuse-overlayfs unmounted, then the record's exit (ExitCode,
FinishedAt, OOMKilled) and the removal of an AutoRemove container. The exit
is recorded whatever the clean-up met: `rm` removes what is left
(lifecycle._free).

The waiter holds no objects across execve(2): the monitor hands it what it
needs as JSON (describe_cgroup, the fuse flag) and it reopens the cgroup
from that (reopen_cgroup).
"""

from __future__ import annotations

import os

from rs_docker import jsonio

# Kept free in the container's directory until the exit is recorded: the
# store's filesystem may be full by then (the container can fill it), and
# the record is replaced through a temporary file.
RESERVE = ".exit-record-reserve"
RESERVE_BYTES = 256 * 1024


def record_failure(root: str, container_id: str, message: str) -> None:
    """A failure after the start was reported: the record must not stay "running"."""
    from rs_docker.container import state
    from rs_docker.context import Context

    ctx = Context.from_env(root=root)
    try:
        with_reserve(state.container_dir(ctx, container_id), lambda: state.set_state(
            ctx, container_id, Status=state.EXITED, Pid=0, ExitCode=125, Error=message,
            FinishedAt=state.now()))
    except Exception:  # noqa: BLE001 - gone with --rm; `ps` reconciles anything else
        pass


def finish(root: str, container_id: str, code: int, finish_json: str,
           dropped: tuple[int, int] = (0, 0), ran_s: float = 0.0) -> int | None:
    """After the container's PID 1 was reaped with `code`: OOM, cgroup
    removal, fuse unmount, then the record (and AutoRemove). The exit is
    recorded whatever the clean-up met: `rm` removes what is left
    (lifecycle._free). dropped: (entries, bytes) of output the log's
    filesystem refused, kept in the record as RsDocker.LogDropped. ran_s:
    how long the container ran. Returns the back-off in ms when its restart
    policy restarts it (restart.py), else None."""
    from rs_docker.container import state
    from rs_docker.context import Context
    from rs_docker.errors import RsDockerError

    info = jsonio.loads(finish_json)
    ctx = Context.from_env(root=root)
    oom = False
    try:
        oom = _release_cgroup(info.get("cgroup"))
        if info.get("fuse"):
            d = state.container_dir(ctx, container_id)
            release_plan(fuse_plan(d, state.read(ctx, container_id), mount=False))
    except (OSError, RsDockerError):
        pass  # left for `rm`: the exit must be recorded
    backoff = _record_exit(ctx, container_id, code, oom, state, dropped,
                           (ran_s, int(info.get("backoff") or 0)))
    if backoff is None:
        _network_down(ctx, container_id, state)
    return backoff


def _network_down(ctx, container_id: str, state) -> None:
    """Bridge networking torn down once the container is not restarted
    (an AutoRemove container's went with it)."""
    d = state.container_dir(ctx, container_id)
    if not os.path.exists(os.path.join(d, "network.json")):
        return
    from rs_docker.errors import RsDockerError
    from rs_docker.network import attach

    try:
        attach.down(ctx, d, container_id)
    except (OSError, RsDockerError):
        pass  # left for `rm` (lifecycle._free)


def _release_cgroup(info: dict | None) -> bool:
    """Read the container's OOM kill counter, then remove its cgroup; whether
    the OOM killer struck."""
    cgroup = reopen_cgroup(info)
    if cgroup is None:
        return False
    try:
        return bool(cgroup.oom_killed())
    finally:
        cgroup.destroy()


def describe_cgroup(cgroup) -> dict | None:
    """What reopen_cgroup() needs, as JSON: the waiter holds no objects."""
    if cgroup is None:
        return None
    unified = cgroup.layout.unified if cgroup.layout is not None else None
    return {"version": cgroup.version,
            "paths": {k: str(v) for k, v in cgroup.paths.items()},
            "unified_mount": str(unified.mount_point) if unified is not None else None}


def reopen_cgroup(info: dict | None):
    """The container's Cgroup again, from describe_cgroup()'s output, to read
    its OOM counter and remove it (nothing is created or written)."""
    if not info:
        return None
    from rs_docker.runtime.cgroups import Cgroup
    from rs_docker.runtime.cgroups.v1 import V1
    from rs_docker.runtime.cgroups.v2 import V2

    paths = dict(info["paths"])  # str paths, as the cgroups package keeps them
    mount = info.get("unified_mount") or "/sys/fs/cgroup"
    unified = [V2(paths.pop(""), mount)] if "" in paths else []
    if info["version"] == 2:
        return Cgroup(None, unified[0], [])
    return Cgroup(None, V1(paths), unified)


def _record_exit(ctx, container_id: str, code: int, oom: bool, state,
                 dropped: tuple[int, int] = (0, 0),
                 timing: tuple[float, int] = (0.0, 0)) -> int | None:
    fields = {"Status": state.EXITED, "Running": False, "Pid": 0, "ExitCode": code,
              "OOMKilled": oom, "FinishedAt": state.now()}
    backoff: list[int | None] = [None]

    def change(record: dict) -> None:
        record.setdefault("State", {}).update(fields)
        if dropped[0]:
            record.setdefault("RsDocker", {})["LogDropped"] = {"entries": dropped[0],
                                                                "bytes": dropped[1]}
        if ((record.get("HostConfig") or {}).get("RestartPolicy") or {}).get("Name") \
                not in (None, "", "no"):
            from rs_docker.container import restart

            backoff[0] = restart.on_exit(record, code, *timing)

    d = state.container_dir(ctx, container_id)
    record = with_reserve(d, lambda: state.update(ctx, container_id, change))
    _drop_reserve(d)
    from rs_docker.container import events

    if oom:
        events.emit(ctx, "container", "oom", container_id, events.container_attributes(record))
    events.emit(ctx, "container", "die", container_id,
                events.container_attributes(record, exitCode=code))
    if backoff[0] is None and (record.get("HostConfig") or {}).get("AutoRemove"):
        from rs_docker.container import lifecycle

        lifecycle.remove(ctx, container_id, force=True)
    return backoff[0]


def reserve_space(d: str) -> None:
    """Allocate RESERVE in the container's directory (best effort)."""
    try:
        fd = os.open(os.path.join(d, RESERVE), os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError:
        return
    try:
        os.posix_fallocate(fd, 0, RESERVE_BYTES)
    except OSError:
        try:  # no fallocate here (EOPNOTSUPP): blocks written are blocks held
            os.ftruncate(fd, 0)
            os.write(fd, bytes(RESERVE_BYTES))
        except OSError:
            pass  # no room even now: nothing to hold back
    finally:
        os.close(fd)


def with_reserve(d: str, write):
    """write(); when the filesystem is full (ENOSPC, EDQUOT), free the
    reserve and write() again."""
    import errno

    try:
        return write()
    except OSError as e:
        if e.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
    _drop_reserve(d)
    return write()


def _drop_reserve(d: str) -> None:
    try:
        os.unlink(os.path.join(d, RESERVE))
    except OSError:
        pass


def fuse_plan(d, record, mount: bool = True):
    """The rootfs plan when fuse-overlayfs must be mounted before the runtime
    starts (the overlay driver is mounted by the runtime itself)."""
    extra = record.get("RsDocker") or {}
    if extra.get("RootfsDriver") != "fuse-overlayfs":
        return None
    from rs_docker.container import rootfs

    p = rootfs.plan(d, extra.get("Layers") or [], "fuse-overlayfs")
    if mount:
        rootfs.prepare_mount(p)
    return p


def release_plan(plan) -> None:
    if plan is not None:
        from rs_docker.container import rootfs

        rootfs.release(plan)
