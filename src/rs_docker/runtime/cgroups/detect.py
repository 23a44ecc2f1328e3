"""Which cgroup layout this machine has, read from /proc/self/mountinfo rather
than guessed from what /sys/fs/cgroup looks like.

- v2 (unified): a cgroup2 filesystem mounted at the root.
- v1: one cgroup filesystem per controller (or group of controllers), each
  mounted at <root>/<name>.
- hybrid: v1 controllers plus a cgroup2 mount below the root (systemd's
  <root>/unified), which may hold few or no controllers. Limits go to v1;
  crun 1.8 refuses such a machine, we must not.
"""

from __future__ import annotations

import os
from types import MappingProxyType

from rs_docker.errors import RuntimeFailure
from rs_docker.linux.mountinfo import parse as parse_mountinfo
from rs_docker.values import record

# cgroup v1 controllers (Documentation/admin-guide/cgroup-v1/); super options
# that are not controllers (rw, relatime, name=..., xattr...) are ignored.
V1_CONTROLLERS = frozenset({
    "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "net_cls", "blkio",
    "perf_event", "net_prio", "hugetlb", "pids", "rdma", "misc"})


@record
class Hierarchy:
    mount_point: str
    root: str
    controllers: frozenset[str]


@record
class Layout:
    mode: str                                   # "v1", "v2" or "hybrid"
    # controller -> hierarchy; the shared default is read-only, so no caller
    # can fill it for every other Layout.
    v1: dict[str, Hierarchy] = MappingProxyType({})  # type: ignore[assignment]
    unified: Hierarchy | None = None


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def detect(mountinfo: str, root: str = "/sys/fs/cgroup") -> Layout:
    """The cgroup layout below `root` described by mountinfo text."""
    root = os.path.normpath(root)
    mounts = [m for m in parse_mountinfo(mountinfo) if _under(m.mount_point, root)]
    unified = [m for m in mounts if m.fstype == "cgroup2"]
    if any(m.mount_point == root for m in unified):
        m = next(m for m in unified if m.mount_point == root)
        return Layout("v2", unified=Hierarchy(m.mount_point, m.root, frozenset()))
    v1: dict[str, Hierarchy] = {}
    for m in mounts:
        if m.fstype != "cgroup":
            continue
        ctrls = frozenset(o for o in m.super_options if o in V1_CONTROLLERS)
        for c in ctrls:
            v1.setdefault(c, Hierarchy(m.mount_point, m.root, ctrls))
    if not v1:
        raise RuntimeFailure(f"cgroups: no cgroup filesystem mounted at {root}")
    if unified:
        m = unified[0]
        return Layout("hybrid", v1, Hierarchy(m.mount_point, m.root, frozenset()))
    return Layout("v1", v1)


def parse_proc_cgroup(text: str) -> dict[str, str]:
    """/proc/self/cgroup (cgroups(7)): `id:controllers:path` -> controller ->
    path; the v2 line (id 0, no controllers) under the key ""."""
    own = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        for ctrl in parts[1].split(",") if parts[1] else [""]:
            own[ctrl] = parts[2]
    return own


def cgroup_dir(h: Hierarchy, own: str, cgroups_path: str) -> str:
    """Where `cgroups_path` lives in hierarchy `h`. An absolute path starts at
    the hierarchy root; a relative one below our own cgroup `own`, as runc
    does (libcontainer/cgroups/fs/paths.go subsysPath)."""
    full = cgroups_path if cgroups_path.startswith("/") else f"{own.rstrip('/')}/{cgroups_path}"
    rel = full
    mroot = h.root.rstrip("/")
    if mroot and (full == mroot or full.startswith(mroot + "/")):
        rel = full[len(mroot):]  # the mount shows only this part of the hierarchy
    parts = [p for p in rel.split("/") if p]
    if any(p in (".", "..") for p in parts):
        raise RuntimeFailure(f"cgroups: invalid cgroups path {cgroups_path!r}")
    return os.path.join(h.mount_point, *parts)
