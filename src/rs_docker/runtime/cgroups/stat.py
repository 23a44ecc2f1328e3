"""What a container's cgroup has used (`stats`), read from the files of
cgroup v1, v2 or a hybrid host, in one shape.

A Usage: CPU time in ns, memory in use (less the inactive page cache, as
docker's CLI computes it: cli/command/container/stats_helpers.go
calculateMemUsageUnixNoCache) and its limit (None: unlimited), block I/O
bytes read and written, the number of tasks and their limit. The paths are
`Cgroup.paths` (controller -> directory, "" the unified one), so tests run
it on a fake tree; a missing file reads as 0 (a controller the host lacks).
"""

from __future__ import annotations

import os

from rs_docker.values import record

# v1 writes "unlimited" as the largest page-aligned signed 64-bit value
# (PAGE_COUNTER_MAX pages); anything this large is no limit.
_UNLIMITED = 1 << 62


@record
class Usage:
    cpu_ns: int = 0
    memory: int = 0
    memory_limit: int | None = None
    block_read: int = 0
    block_write: int = 0
    pids: int = 0
    pids_limit: int | None = None


def _text(path: str | None) -> str:
    if not path:
        return ""
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def _int(text: str) -> int:
    text = text.strip()
    return int(text) if text.isdigit() else 0


def _limit(text: str) -> int | None:
    """A limit file's value; None for "max", empty or v1's unlimited."""
    text = text.strip()
    if not text.isdigit():
        return None
    value = int(text)
    return None if value >= _UNLIMITED else value


def _keyed(text: str) -> dict[str, int]:
    """`key N` lines (memory.stat, cpu.stat)."""
    out = {}
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if value.strip().isdigit():
            out[key] = int(value)
    return out


def _in(paths: dict[str, str], controller: str, name: str) -> str | None:
    d = paths.get(controller)
    return os.path.join(d, name) if d else None


def read(paths: dict[str, str], version: int) -> Usage:
    """The cgroup's usage now (version: the Cgroup's, 1 for v1 and hybrid)."""
    return _read_v2(paths[""]) if version == 2 else _read_v1(paths)


def _read_v1(paths: dict[str, str]) -> Usage:
    cpuacct = paths.get("cpuacct") or paths.get("cpu")
    memory = _keyed(_text(_in(paths, "memory", "memory.stat")))
    used = _int(_text(_in(paths, "memory", "memory.usage_in_bytes")))
    read_bytes = write_bytes = 0
    blkio = _text(_in(paths, "blkio", "blkio.throttle.io_service_bytes_recursive")) or \
        _text(_in(paths, "blkio", "blkio.throttle.io_service_bytes"))
    for line in blkio.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2].isdigit():
            if parts[1] == "Read":
                read_bytes += int(parts[2])
            elif parts[1] == "Write":
                write_bytes += int(parts[2])
    return Usage(
        cpu_ns=_int(_text(os.path.join(cpuacct, "cpuacct.usage") if cpuacct else None)),
        memory=max(used - memory.get("total_inactive_file", 0), 0),
        memory_limit=_limit(_text(_in(paths, "memory", "memory.limit_in_bytes"))),
        block_read=read_bytes, block_write=write_bytes,
        pids=_int(_text(_in(paths, "pids", "pids.current"))),
        pids_limit=_limit(_text(_in(paths, "pids", "pids.max"))))


def _read_v2(d: str) -> Usage:
    memory = _keyed(_text(os.path.join(d, "memory.stat")))
    used = _int(_text(os.path.join(d, "memory.current")))
    read_bytes = write_bytes = 0
    for line in _text(os.path.join(d, "io.stat")).splitlines():
        for field in line.split()[1:]:
            key, _, value = field.partition("=")
            if value.isdigit():
                if key == "rbytes":
                    read_bytes += int(value)
                elif key == "wbytes":
                    write_bytes += int(value)
    return Usage(
        cpu_ns=_keyed(_text(os.path.join(d, "cpu.stat"))).get("usage_usec", 0) * 1000,
        memory=max(used - memory.get("inactive_file", 0), 0),
        memory_limit=_limit(_text(os.path.join(d, "memory.max"))),
        block_read=read_bytes, block_write=write_bytes,
        pids=_int(_text(os.path.join(d, "pids.current"))),
        pids_limit=_limit(_text(os.path.join(d, "pids.max"))))


def tasks(paths: dict[str, str]) -> list[int]:
    """The PIDs (host's) of every process in the cgroup and below it, from
    the first hierarchy that lists them (`top`)."""
    for d in dict.fromkeys(paths.values()):
        if not d or not os.path.exists(os.path.join(d, "cgroup.procs")):
            continue
        out: list[int] = []
        for top, _dirs, _files in os.walk(d):
            out += [int(p) for p in _text(os.path.join(top, "cgroup.procs")).split()
                    if p.isdigit()]
        return sorted(set(out))
    return []
