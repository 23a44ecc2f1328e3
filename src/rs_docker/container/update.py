"""`update`: new limits for a container, running or not (moby
daemon/update.go): the record's HostConfig and the bundle's
linux.resources (what the next start uses) are rewritten, and a running
container's cgroup gets the new values at once (Cgroup.update). Only the
values given change; `--restart` sets HostConfig.RestartPolicy, which the
container's monitor reads (restart.py)."""

from __future__ import annotations

import os

from rs_docker.container import events, lifecycle, state
from rs_docker.context import Context
from rs_docker.errors import UsageError
from rs_docker.store import atomic
from rs_docker.values import record


@record
class Limits:
    """The flags of `update`, None where not given (text as typed)."""

    memory: str | None = None
    memory_swap: str | None = None
    cpus: str | None = None
    cpu_shares: int | None = None
    pids_limit: int | None = None
    restart: str | None = None


def plan(limits: Limits, host: dict, ncpu: int) -> tuple[dict, dict]:
    """(OCI resources to write, HostConfig fields to set) from the flags
    and the current HostConfig; Docker's errors for bad values."""
    from rs_docker.models import security

    res: dict = {}
    fields: dict = {}
    if limits.memory is not None or limits.memory_swap is not None:
        memory = limits.memory if limits.memory is not None else host.get("Memory") or 0
        if limits.memory_swap is not None:
            mem = security.memory_resources(memory, limits.memory_swap)
        else:
            # the container's memory+swap stays as it is (moby's update)
            mem = {k: v for k, v in security.memory_resources(memory).items() if k == "limit"}
        if not mem.get("limit"):
            raise UsageError("Memory limit should be set to update the memoryswap limit") \
                if limits.memory is None else UsageError("Minimum memory limit allowed is 6MB")
        res["memory"] = mem
        fields["Memory"] = mem["limit"]
        if "swap" in mem:
            fields["MemorySwap"] = mem["swap"]
    if limits.cpus is not None:
        cpu = security.cpus_to_quota(limits.cpus, ncpu)
        res.setdefault("cpu", {}).update(cpu or {"quota": -1, "period": 100000})
        fields["NanoCpus"] = security.parse_cpus(str(limits.cpus))
        fields["Cpus"] = limits.cpus
    if limits.cpu_shares is not None:
        res.setdefault("cpu", {})["shares"] = limits.cpu_shares or 1024
        fields["CpuShares"] = limits.cpu_shares
    if limits.pids_limit is not None:
        res["pids"] = {"limit": limits.pids_limit if limits.pids_limit > 0 else -1}
        fields["PidsLimit"] = limits.pids_limit if limits.pids_limit > 0 else None
    return res, fields


def update(ctx: Context, container_id: str, limits: Limits) -> None:
    """Apply `limits` to the container (its cgroup if it runs, its record
    and bundle always)."""
    with state.locked(ctx, container_id):
        rec = state.read(ctx, container_id)
        lifecycle.reconcile(rec)
        host = rec.setdefault("HostConfig", {})
        if limits.restart is not None:
            from rs_docker.container import restart

            policy = restart.parse(limits.restart)
            if host.get("AutoRemove") and policy.get("Name") not in ("", "no"):
                raise UsageError("Restart policy cannot be updated because AutoRemove is "
                                 "enabled for the container")
            host["RestartPolicy"] = policy
        resources, fields = plan(limits, host, len(os.sched_getaffinity(0)))
        if resources:
            if lifecycle.is_running(rec):
                _apply_live(ctx, container_id, resources)
            _apply_bundle(ctx, container_id, resources)
        host.update(fields)
        state.write(ctx, container_id, rec, exists=True)
    events.emit(ctx, "container", "update", container_id, events.container_attributes(rec))


def _apply_live(ctx: Context, container_id: str, resources: dict) -> None:
    from rs_docker.runtime.cgroups import open_cgroup

    config = atomic.read_json(os.path.join(state.container_dir(ctx, container_id),
                                           "config.json"))
    open_cgroup(container_id, (config.get("linux") or {}).get("cgroupsPath")).update(resources)


def _apply_bundle(ctx: Context, container_id: str, resources: dict) -> None:
    from rs_docker import jsonio

    path = os.path.join(state.container_dir(ctx, container_id), "config.json")
    config = atomic.read_json(path)
    current = config.setdefault("linux", {}).setdefault("resources", {})
    for key, values in resources.items():
        current[key] = {**(current.get(key) or {}), **values}
    atomic.replace_file(path, jsonio.dumps(config, compact=False))
