"""Put a process into the cgroups another process is in (for `exec`):
read /proc/TARGET/cgroup, find each hierarchy's mount point in
/proc/self/mountinfo, write the PID to cgroup.procs (cgroups(7)). Works on
v1, v2 and hybrid hosts.

Not cgroups.Cgroup.enter: it resolves a relative cgroupsPath below the
caller's own cgroup, and `exec` may run in another cgroup than `run` did;
/proc/TARGET/cgroup says where the container is.
"""

from __future__ import annotations

import os

from rs_docker.errors import RuntimeFailure
from rs_docker.linux import mountinfo


def hierarchies() -> list[tuple[str, set[str], str]]:
    """(fstype, super options, mount point) of each cgroup mount we see."""
    return [(m.fstype, set(m.super_options), m.mount_point) for m in mountinfo.read()
            if m.fstype in ("cgroup", "cgroup2") and m.root == "/"]


def cgroup_procs_files(target: int, mounts=None) -> list[str]:
    """The cgroup.procs file of every hierarchy `target` belongs to."""
    mounts = hierarchies() if mounts is None else mounts
    files = []
    with open(f"/proc/{target}/cgroup") as f:
        for line in f:
            hid, ctrls, path = line.rstrip("\n").split(":", 2)
            mp = _mount_for(hid, ctrls, mounts)
            if mp is not None:
                files.append(os.path.join(mp, path.lstrip("/"), "cgroup.procs"))
    return files


def _mount_for(hid: str, ctrls: str, mounts) -> str | None:
    for fstype, opts, mp in mounts:
        if hid == "0" and fstype == "cgroup2":
            return mp
        if hid != "0" and fstype == "cgroup" and set(ctrls.split(",")) <= opts:
            return mp
    return None


def join(target: int, pid: int) -> None:
    """Move `pid` into every cgroup of `target`."""
    try:
        files = cgroup_procs_files(target)
    except OSError as e:
        raise RuntimeFailure(f"read /proc/{target}/cgroup: {e.strerror.lower()}") from None
    for path in files:
        try:
            with open(path, "w") as f:
                f.write(str(pid))
        except OSError as e:
            raise RuntimeFailure(f"join cgroup {path}: {(e.strerror or str(e)).lower()}") from None

