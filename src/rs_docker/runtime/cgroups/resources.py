"""OCI linux.resources -> the cgroup files to write, as data (generate, then
apply). v1 names from Documentation/admin-guide/cgroup-v1/, v2 names from
Documentation/admin-guide/cgroup-v2.rst; conversions as runc does them
(libcontainer/cgroups/fs2, cgroups/utils.go ConvertCPUSharesToCgroupV2Value).
"""

from __future__ import annotations

from rs_docker.errors import RuntimeFailure

Write = tuple[str, str, str]  # (controller, file name, value)


def shares_to_weight(shares: int) -> int:
    """cpu.shares [2, 262144] -> cpu.weight [1, 10000] (runc's linear map)."""
    if shares == 0:
        return 0
    return 1 + ((shares - 2) * 9999) // 262142


def _limit(v: int | None) -> str:
    return "-1" if v is None or v < 0 else str(v)


def v1_writes(res: dict | None) -> list[Write]:
    """memory.memsw.limit_in_bytes is memory+swap, the OCI meaning of
    memory.swap; it is written after the limit (the kernel refuses memsw below
    the memory limit) and only where swap accounting exists (the caller skips
    it when the file is missing)."""
    res = res or {}
    mem, cpu, pids = res.get("memory") or {}, res.get("cpu") or {}, res.get("pids") or {}
    out: list[Write] = []
    if mem.get("limit") is not None:
        out.append(("memory", "memory.limit_in_bytes", _limit(mem["limit"])))
    if mem.get("swap") is not None:
        out.append(("memory", "memory.memsw.limit_in_bytes", _limit(mem["swap"])))
    if mem.get("reservation") is not None:
        out.append(("memory", "memory.soft_limit_in_bytes", _limit(mem["reservation"])))
    if mem.get("swappiness") is not None:
        out.append(("memory", "memory.swappiness", str(mem["swappiness"])))
    if mem.get("disableOOMKiller"):
        out.append(("memory", "memory.oom_control", "1"))
    if cpu.get("shares"):
        out.append(("cpu", "cpu.shares", str(cpu["shares"])))
    if cpu.get("period"):
        out.append(("cpu", "cpu.cfs_period_us", str(cpu["period"])))
    if cpu.get("quota"):
        out.append(("cpu", "cpu.cfs_quota_us", str(cpu["quota"])))
    out += _cpuset(cpu)
    if pids.get("limit") is not None:
        out.append(("pids", "pids.max", _pids(pids["limit"])))
    if (res.get("blockIO") or {}).get("weight"):
        # V1.apply writes blkio.bfq.weight where the CFQ file is gone, and
        # nothing where neither exists (Docker: "Weight discarded").
        out.append(("blkio", "blkio.weight", str(res["blockIO"]["weight"])))
    out += device_writes(res.get("devices") or [])
    return out


def device_writes(rules: list) -> list[Write]:
    """linux.resources.devices -> devices.allow / devices.deny lines, in
    order (Documentation/admin-guide/cgroup-v1/devices.rst: "type
    major:minor access", "a" for all devices, "*" for any number). cgroup
    v2 has no such files: it filters devices with a BPF program, which
    v2.py attaches (device_filter.py)."""
    out: list[Write] = []
    for rule in rules:
        kind = rule.get("type") or "a"
        if kind not in ("a", "c", "b"):
            raise RuntimeFailure(f"cgroups: invalid device type {kind!r}")
        access = rule.get("access") or "rwm"
        if set(access) - set("rwm"):
            raise RuntimeFailure(f"cgroups: invalid device access {access!r}")
        major, minor = rule.get("major"), rule.get("minor")
        line = "a" if kind == "a" else \
            f"{kind} {'*' if major is None else int(major)}:{'*' if minor is None else int(minor)}"
        name = "devices.allow" if rule.get("allow") else "devices.deny"
        out.append(("devices", name, f"{line} {access}"))
    return out


def v2_writes(res: dict | None) -> list[Write]:
    """memory.swap.max counts swap only: OCI memory.swap minus memory.limit."""
    res = res or {}
    mem, cpu, pids = res.get("memory") or {}, res.get("cpu") or {}, res.get("pids") or {}
    out: list[Write] = []
    limit, swap = mem.get("limit"), mem.get("swap")
    if limit is not None:
        out.append(("memory", "memory.max", _max(limit)))
    if swap is not None:
        out.append(("memory", "memory.swap.max", _swap_only(limit, swap)))
    if mem.get("reservation") is not None:
        out.append(("memory", "memory.low", _max(mem["reservation"])))
    if cpu.get("shares"):
        out.append(("cpu", "cpu.weight", str(shares_to_weight(cpu["shares"]))))
    if cpu.get("quota") or cpu.get("period"):
        quota = cpu.get("quota") or 0
        out.append(("cpu", "cpu.max",
                    f"{quota if quota > 0 else 'max'} {cpu.get('period') or 100000}"))
    out += _cpuset(cpu)
    if pids.get("limit") is not None:
        out.append(("pids", "pids.max", _pids(pids["limit"])))
    if (res.get("blockIO") or {}).get("weight"):
        out.append(("io", "io.weight", f"default {blkio_to_io_weight(res['blockIO']['weight'])}"))
    return out


def blkio_to_io_weight(weight: int) -> int:
    """blkio.weight [10, 1000] -> io.weight [1, 10000] (runc's
    ConvertBlkIOToIOWeightValue)."""
    return 1 + (weight - 10) * 9999 // 990


def _max(v: int) -> str:
    return "max" if v < 0 else str(v)


def _swap_only(limit: int | None, swap: int) -> str:
    if swap < 0:
        return "max"
    if limit is None or limit < 0:
        raise RuntimeFailure("cgroups: a memory+swap limit needs a memory limit")
    if swap < limit:
        raise RuntimeFailure(f"cgroups: memory+swap limit {swap} is below the memory "
                             f"limit {limit}")
    return str(swap - limit)


def _pids(limit: int) -> str:
    # runtime-spec: pids.limit; 0 or negative means no limit (runc writes "max")
    return "max" if limit <= 0 else str(limit)


def _cpuset(cpu: dict) -> list[Write]:
    out = []
    if cpu.get("cpus"):
        out.append(("cpuset", "cpuset.cpus", cpu["cpus"]))
    if cpu.get("mems"):
        out.append(("cpuset", "cpuset.mems", cpu["mems"]))
    return out
