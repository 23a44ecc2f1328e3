"""Which namespaces a container gets, as data, and the calls that create or
join them (runtime-spec config-linux.md "Namespaces").

An entry without `path` is a new namespace (unshare), one with `path` is
joined (setns). The user namespace comes first: creating or joining it
gives the capabilities the other namespaces need (user_namespaces(7)).
The cgroup namespace is created last, by PID 1 itself, once the parent
has moved it into the container's cgroup, so that cgroup becomes the
namespace's root (cgroup_namespaces(7)).
"""

from __future__ import annotations

import os

from rs_docker.errors import RuntimeFailure
from rs_docker.linux import constants as C
from rs_docker.linux import syscalls
from rs_docker.values import record

# setns order for joining a running container: user first (capabilities
# there), pid last (it only applies to children, so the caller forks after).
JOIN_ORDER = ("user", "mount", "uts", "ipc", "network", "cgroup", "time", "pid")


@record
class NamespacePlan:
    new: frozenset[str]                     # types to create
    joins: tuple[tuple[str, str], ...]      # (type, path) to join, in JOIN_ORDER

    @property
    def types(self) -> frozenset[str]:
        return self.new | {t for t, _ in self.joins}

    @property
    def direct(self) -> bool:
        """Whether the runtime can fork PID 1 itself: no user namespace to
        create or join first, no PID namespace to join (setns of a PID
        namespace only places the caller's later children)."""
        return "user" not in self.types and all(t != "pid" for t, _ in self.joins)

    @property
    def unshare_flags(self) -> int:
        """Flags for the first child's unshare(2): everything new but user
        (done before, alone) and cgroup (done by PID 1)."""
        flags = 0
        for t in self.new - {"user", "cgroup"}:
            flags |= C.NAMESPACE_FLAGS[t]
        return flags


def plan(config: dict) -> NamespacePlan:
    """Validate config.linux.namespaces and return what to create and join."""
    entries = (config.get("linux") or {}).get("namespaces") or []
    new, joins, seen = set(), {}, set()
    for ns in entries:
        kind = ns.get("type") if isinstance(ns, dict) else None
        if kind not in C.NAMESPACE_FLAGS:
            raise RuntimeFailure(f"config: unknown namespace type {kind!r}")
        if kind in seen:
            raise RuntimeFailure(f"config: namespace {kind} listed twice")
        seen.add(kind)
        if ns.get("path"):
            joins[kind] = str(ns["path"])
        else:
            new.add(kind)
    if "mount" not in seen:
        raise RuntimeFailure("config: a mount namespace is required")
    ordered = tuple((t, joins[t]) for t in JOIN_ORDER if t in joins)
    return NamespacePlan(new=frozenset(new), joins=ordered)


def join(paths: list[tuple[str, str]]) -> None:
    """setns(2) into each (type, path), in order. Every file is opened before
    the first setns: after joining a mount namespace, paths resolve there."""
    opened = []
    try:
        for kind, path in paths:
            opened.append((kind, path, os.open(path, os.O_RDONLY | os.O_CLOEXEC)))
        for kind, path, fd in opened:
            syscalls.setns(fd, C.NAMESPACE_FLAGS[kind], path)
    finally:
        for _k, _p, fd in opened:
            os.close(fd)


def paths_of(pid: int, types: frozenset[str] | set[str]) -> list[tuple[str, str]]:
    """The /proc/PID/ns files to join to enter `pid`'s namespaces of `types`,
    in JOIN_ORDER, skipping those we already share (setns into our own user
    namespace fails with EINVAL, setns(2))."""
    out = []
    for kind in JOIN_ORDER:
        if kind not in types:
            continue
        name = C.NAMESPACE_FILES[kind]
        theirs = f"/proc/{pid}/ns/{name}"
        try:
            same = _inode(theirs) == _inode(f"/proc/self/ns/{name}")
        except FileNotFoundError:
            continue  # namespace kind this kernel lacks (time before 5.6)
        if not same:
            out.append((kind, theirs))
    return out


def _inode(path: str) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_dev, st.st_ino
