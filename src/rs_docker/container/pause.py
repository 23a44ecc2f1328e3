"""`pause`/`unpause`: a running container's cgroup frozen and thawed
(runtime/cgroups/freezer.py), and the record's State.Paused.

The record keeps Status "running" while paused (the container's processes
and its monitor are alive: every "is it running" rule holds) and
State.Paused true; `inspect` and `ps` show Status "paused"
(status_of). `stop` and `kill` thaw a paused container first (thaw_for_exit),
as Docker does, since a frozen task acts on no signal until thawed; `exec`
into it is refused, as Docker refuses it.
"""

from __future__ import annotations

import os

from rs_docker.container import events, lifecycle, state
from rs_docker.context import Context
from rs_docker.errors import Conflict, RuntimeFailure
from rs_docker.store import atomic

PAUSED = "paused"


class NotRunning(Conflict):
    """pause/unpause of a container that is not running (Docker: exit 1)."""

    exit_code = 1


def is_paused(record: dict) -> bool:
    st = record.get("State") or {}
    return bool(st.get("Paused")) and st.get("Status") == state.RUNNING


def status_of(record: dict) -> str:
    """State.Status as Docker shows it: "paused" for a paused container."""
    return PAUSED if is_paused(record) else (record.get("State") or {}).get("Status", "")


def cgroup_paths(ctx: Context, container_id: str) -> tuple[dict[str, str], int]:
    """The container's cgroup directories (controller -> dir, "" the
    unified one) and the cgroup version, reopened from its bundle's
    cgroupsPath as `rm` does; RuntimeFailure when it has none (rootless
    without a delegated cgroup)."""
    from rs_docker.runtime.cgroups import open_cgroup

    config = atomic.read_json(os.path.join(state.container_dir(ctx, container_id),
                                           "config.json"))
    cg = open_cgroup(container_id, (config.get("linux") or {}).get("cgroupsPath"))
    paths = {k: v for k, v in cg.paths.items() if os.path.isdir(v)}
    if not paths:
        raise RuntimeFailure(f"container {container_id} has no cgroup (rootless without "
                             f"a delegated cgroup)")
    return paths, cg.version


def pause(ctx: Context, container_id: str) -> None:
    """Freeze every process of a running container."""
    from rs_docker.runtime.cgroups import freezer

    with state.locked(ctx, container_id):
        record = state.read(ctx, container_id)
        if lifecycle.reconcile(record):
            state.write(ctx, container_id, record, exists=True)
        if not lifecycle.is_running(record):
            raise NotRunning(f"Container {container_id} is not running")
        if is_paused(record):
            raise NotRunning(f"Container {container_id} is already paused")
        freezer.freeze(cgroup_paths(ctx, container_id)[0])
        record["State"]["Paused"] = True
        state.write(ctx, container_id, record, exists=True)
    events.emit(ctx, "container", "pause", container_id, events.container_attributes(record))


def unpause(ctx: Context, container_id: str) -> None:
    """Thaw a paused container."""
    from rs_docker.runtime.cgroups import freezer

    with state.locked(ctx, container_id):
        record = state.read(ctx, container_id)
        if not is_paused(record):
            raise NotRunning(f"Container {container_id} is not paused")
        freezer.thaw(cgroup_paths(ctx, container_id)[0])
        record["State"]["Paused"] = False
        state.write(ctx, container_id, record, exists=True)
    events.emit(ctx, "container", "unpause", container_id, events.container_attributes(record))


def thaw_for_exit(ctx: Context, container_id: str, record: dict) -> None:
    """Before `stop` or `kill` signals a paused container: thaw it, so the
    signal is acted on (no-op for a container that is not paused)."""
    if not is_paused(record):
        return
    from rs_docker.runtime.cgroups import freezer

    with state.locked(ctx, container_id):
        current = state.read(ctx, container_id)
        if is_paused(current):
            try:
                freezer.thaw(cgroup_paths(ctx, container_id)[0])
            except RuntimeFailure:
                pass  # its cgroup is gone: nothing is frozen
            current["State"]["Paused"] = False
            state.write(ctx, container_id, current, exists=True)
    record["State"]["Paused"] = False
