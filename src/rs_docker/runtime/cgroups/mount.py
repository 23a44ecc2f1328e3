"""/sys/fs/cgroup inside the container (an OCI mount of type "cgroup"), as
Docker gives it: read-only, rooted at the container's own cgroup because it
is mounted from inside the new cgroup namespace (cgroup_namespaces(7)).

A cgroup v2 host gets one cgroup2 mount. A v1 or hybrid host gets a tmpfs
with one fresh mount per hierarchy the host has, each with the controllers
the host mounted together (a different set would fail with EBUSY), and the
host's links (cpu -> cpu,cpuacct), as runc does (rootfs_linux.go
mountCgroupV1).
"""

from __future__ import annotations

import os

from rs_docker.linux import constants as C
from rs_docker.linux import syscalls
from rs_docker.linux.mountinfo import parse as parse_mountinfo

_NOT_CONTROLLERS = {"rw", "ro", "xattr", "noprefix", "clone_children", "cpuset_v2_mode",
                    "nsdelegate", "memory_recursiveprot", "memory_localevents",
                    "memory_hugetlb_accounting", "favordynmods"}
HOST_ROOT = "/sys/fs/cgroup"


def host_hierarchies(mountinfo: str, root: str = HOST_ROOT) -> list[tuple[str, str, str]]:
    """(fstype, mount data, path relative to root) of the host's cgroup mounts
    under `root`; ("cgroup2", "", "") alone on a pure v2 host."""
    out = []
    for m in parse_mountinfo(mountinfo):
        fstype, point = m.fstype, m.mount_point
        if fstype not in ("cgroup", "cgroup2") or not (point == root or
                                                        point.startswith(root + "/")):
            continue
        data = ",".join(o for o in m.super_options if o not in _NOT_CONTROLLERS)
        if fstype == "cgroup" and data.startswith("name="):
            data = "none," + data
        out.append((fstype, data if fstype == "cgroup" else "", os.path.relpath(point, root)
                    if point != root else ""))
    return out


_known: list[tuple[str, str, str]] | None = None
_known_links: list[tuple[str, str]] | None = None


def learn_host() -> None:
    """Read the host's hierarchies and the links beside them now, in the
    runtime before fork: the container's PID 1 inherits them and does not
    read and parse mountinfo nor list HOST_ROOT (a listdir and an lstat per
    entry) after its cgroup join, between fork and exec.
    Its mount namespace is a copy of ours: what is under HOST_ROOT is the same."""
    global _known, _known_links
    with open("/proc/self/mountinfo") as f:
        _known = host_hierarchies(f.read())
    _known_links = host_links()


def host_links(root: str = HOST_ROOT) -> list[tuple[str, str]]:
    """(name, link target) of each symlink in `root` (cpu -> cpu,cpuacct).
    scandir: the entry types come with the listing (getdents64 d_type),
    not from an lstat per entry."""
    try:
        with os.scandir(root) as entries:
            return [(e.name, os.readlink(e.path)) for e in entries if e.is_symlink()]
    except OSError:
        return []


def known_hierarchies() -> list[tuple[str, str, str]]:
    """host_hierarchies() as learn_host() read them, else read now."""
    if _known is not None:
        return _known
    with open("/proc/self/mountinfo") as f:
        return host_hierarchies(f.read())


def mount_cgroupfs(target: str, flags: int, hier: list[tuple[str, str, str]]) -> None:
    """Mount the container's view of the cgroup hierarchies `hier`
    (host_hierarchies()) at target."""
    flags &= ~(C.MS_BIND | C.MS_REC)
    if len(hier) == 1 and hier[0][2] == "":
        syscalls.mount("cgroup2", target, "cgroup2", flags)
        return
    syscalls.mount("tmpfs", target, "tmpfs", flags & ~C.MS_RDONLY, "mode=755")
    for fstype, data, rel in hier:
        sub = os.path.join(target, rel)
        try:
            os.mkdir(sub, 0o755)  # one call: the tmpfs is new, rel mostly one component
        except FileNotFoundError:
            os.makedirs(sub, exist_ok=True)
        except FileExistsError:
            pass
        syscalls.mount(fstype, sub, fstype, flags, data or None)
    _copy_links(target)
    if flags & C.MS_RDONLY:
        syscalls.mount(None, target, None, C.MS_BIND | C.MS_REMOUNT | C.MS_RDONLY | flags)


def _copy_links(target: str) -> None:
    for name, link in _known_links if _known_links is not None else host_links():
        if not os.path.lexists(os.path.join(target, name)):
            os.symlink(link, os.path.join(target, name))
