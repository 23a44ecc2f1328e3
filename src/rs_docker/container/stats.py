"""`stats` as a service: what each container uses, from its cgroup
(runtime/cgroups/stat.py) and its network namespace, as the fields of
`docker stats` (docker/cli cli/command/container/formatter_stats.go).

CPU % is Docker's: the container's CPU time over the host's over the same
interval, times the online CPUs (stats_helpers.go calculateCPUPercentUnix);
so it takes two samples (`sample` then `fields`). MEM USAGE leaves out the
inactive page cache, MEM LIMIT is the cgroup's or, without one, the host's
memory. NET I/O sums the container's interfaces but `lo`; BLOCK I/O the
cgroup's bytes read and written. A container that is not running shows
zeros, as Docker does.
"""

from __future__ import annotations

import os

from rs_docker.container import pause, state
from rs_docker.context import Context
from rs_docker.errors import RsDockerError
from rs_docker.values import record

NANOS_PER_TICK = 1_000_000_000 // os.sysconf("SC_CLK_TCK")


@record
class Sample:
    """One reading of a container: its cgroup usage (None when it is not
    running), bytes received and sent, and the host's CPU time (ns)."""

    usage: object = None
    rx: int = 0
    tx: int = 0
    system_ns: int = 0


def host_cpu_ns(text: str | None = None) -> int:
    """The host's total CPU time from /proc/stat's `cpu` line, in ns."""
    if text is None:
        with open("/proc/stat") as f:
            text = f.readline()
    fields = text.split()
    return sum(int(v) for v in fields[1:8]) * NANOS_PER_TICK


def host_memory() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def net_bytes(text: str) -> tuple[int, int]:
    """(received, sent) over every interface but lo, from /proc/PID/net/dev."""
    rx = tx = 0
    for line in text.splitlines()[2:]:
        name, _, counters = line.partition(":")
        fields = counters.split()
        if name.strip() != "lo" and len(fields) >= 9:
            rx += int(fields[0])
            tx += int(fields[8])
    return rx, tx


def sample(ctx: Context, rec: dict) -> Sample:
    """Read the container of record `rec` now."""
    from rs_docker.container import lifecycle
    from rs_docker.runtime.cgroups import stat

    system = host_cpu_ns()
    if not lifecycle.is_running(rec):
        return Sample(system_ns=system)
    try:
        paths, version = pause.cgroup_paths(ctx, rec["Id"])
    except (RsDockerError, OSError):
        return Sample(system_ns=system)
    usage = stat.read(paths, version)
    rx = tx = 0
    try:
        with open(f"/proc/{int(rec['State']['Pid'])}/net/dev") as f:
            rx, tx = net_bytes(f.read())
    except (OSError, ValueError):
        pass
    return Sample(usage, rx, tx, system)


@record
class Figures:
    """One container's line of `docker stats`, as numbers (None: not running)."""

    cpu_percent: float = 0.0
    memory: int = 0
    memory_limit: int = 0
    memory_percent: float = 0.0
    rx: int = 0
    tx: int = 0
    block_read: int = 0
    block_write: int = 0
    pids: int = 0


def figures(before: Sample, after: Sample) -> Figures | None:
    """What the container used between two samples; None when it is not
    running."""
    u, p = after.usage, before.usage
    if u is None:
        return None
    cpu = 0.0
    system_delta = after.system_ns - before.system_ns
    if p is not None and system_delta > 0 and u.cpu_ns > p.cpu_ns:
        cpu = (u.cpu_ns - p.cpu_ns) / system_delta * (os.cpu_count() or 1) * 100.0
    total = host_memory()
    limit = total if u.memory_limit is None else min(u.memory_limit, total)
    return Figures(cpu, u.memory, limit, u.memory / limit * 100.0 if limit else 0.0,
                   after.rx, after.tx, u.block_read, u.block_write, u.pids)


def records(ctx: Context, names: list[str], all_: bool) -> tuple[list[tuple[str, dict]], list]:
    """(name as given or None, record) of the containers to show: those
    named, else the running ones (every one with all_); and the errors of
    names that match none."""
    from rs_docker.container import lifecycle

    out, errors = [], []
    if names:
        for n in names:
            try:
                out.append((n, lifecycle.refresh(ctx, state.resolve(ctx, n))))
            except RsDockerError as e:
                errors.append(e)
        return out, errors
    from rs_docker.container import ps

    return [(None, r) for r in ps.list_containers(ctx, all_)], errors
