"""cgroup v1: one directory per hierarchy (cpu, memory, pids...), the same
relative path in each (Documentation/admin-guide/cgroup-v1/cgroups.rst)."""

from __future__ import annotations

import os

from rs_docker.errors import RuntimeFailure
from rs_docker.runtime.cgroups import fs


class V1:
    """`dirs`: controller -> cgroup directory (co-mounted controllers share one)."""

    version = 1

    def __init__(self, dirs: dict[str, str]):
        self.dirs = dirs

    def create(self) -> None:
        for ctrl, path in self.dirs.items():
            created = fs.make_dirs(path)
            if ctrl == "cpuset":
                # A new v1 cpuset starts with empty cpus/mems and refuses tasks
                # (ENOSPC) until they are set; copy the parent's, as runc does.
                for d in created:
                    for name in ("cpuset.cpus", "cpuset.mems"):
                        _inherit(d, name)

    def apply(self, writes: list[tuple[str, str, str]]) -> None:
        for ctrl, name, value in writes:
            path = self.dirs.get(ctrl)
            if path is None and ctrl == "devices":
                continue  # no devices controller: the host cannot filter (runc skips it too)
            if path is None:
                raise RuntimeFailure(f"cgroups: cannot set {name}: no {ctrl} controller "
                                     "is mounted")
            if name == "memory.memsw.limit_in_bytes" and \
                    not os.path.exists(os.path.join(path, name)):
                continue  # no swap accounting (CONFIG_MEMCG_SWAP off); Docker warns
            if name == "blkio.weight" and not os.path.exists(os.path.join(path, name)):
                name = "blkio.bfq.weight"  # CFQ is gone; BFQ's file, if BFQ is there
                if not os.path.exists(os.path.join(path, name)):
                    continue  # no proportional I/O scheduler: Docker discards it too
            fs.write(os.path.join(path, name), value)

    def add(self, pid: int) -> None:
        for path in self._unique():
            fs.write(os.path.join(path, "cgroup.procs"), str(pid))

    def oom_killed(self) -> bool:
        path = self.dirs.get("memory")
        return path is not None and fs.counter(os.path.join(path, "memory.oom_control"),
                                                  "oom_kill") > 0

    def destroy(self) -> None:
        """Remove every directory; report the first failure after trying all."""
        first: RuntimeFailure | None = None
        for path in self._unique():
            try:
                fs.remove(path)
            except RuntimeFailure as e:
                first = first or e
        if first is not None:
            raise first

    def _unique(self) -> list[str]:
        return list(dict.fromkeys(self.dirs.values()))


def _inherit(d: str, name: str) -> None:
    mine, parents = os.path.join(d, name), os.path.join(os.path.dirname(d), name)
    if (not os.path.exists(mine) or not fs.read(mine).strip()) and os.path.exists(parents):
        fs.write(mine, fs.read(parents).strip())
