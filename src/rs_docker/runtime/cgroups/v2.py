"""cgroup v2: one directory in the unified hierarchy; controllers must be
enabled in every ancestor's cgroup.subtree_control first
(Documentation/admin-guide/cgroup-v2.rst "Enabling and Disabling")."""

from __future__ import annotations

import os

from rs_docker.runtime.cgroups import fs


class V2:
    version = 2

    def __init__(self, path: str, mount_point: str):
        self.path = path
        self.mount_point = mount_point
        self.dirs = {"": path}

    def create(self) -> None:
        fs.make_dirs(self.path)

    def enable(self, controllers: set[str]) -> None:
        """+ctrl in subtree_control from the mount point down to our parent.
        EBUSY here is the "no internal processes" rule: an ancestor holds
        processes itself."""
        if not controllers:
            return
        available = set(fs.read(os.path.join(self.mount_point, "cgroup.controllers")).split())
        missing = controllers - available
        if missing:
            fs.write(os.path.join(self.mount_point, "cgroup.subtree_control"),
                     " ".join(f"+{c}" for c in sorted(missing)))  # raises, names them
        rel = os.path.relpath(self.path, self.mount_point)
        parent = os.fspath(self.mount_point)
        for part in rel.split("/") if rel != "." else []:
            control = os.path.join(parent, "cgroup.subtree_control")
            enabled = set(_read_or_empty(control).split())
            todo = controllers - enabled
            if todo:
                fs.write(control, " ".join(f"+{c}" for c in sorted(todo)))
            parent = os.path.join(parent, part)

    def apply(self, writes: list[tuple[str, str, str]]) -> None:
        self.enable({ctrl for ctrl, _, _ in writes})
        for _, name, value in writes:
            fs.write(os.path.join(self.path, name), value)

    def add(self, pid: int) -> None:
        fs.write(os.path.join(self.path, "cgroup.procs"), str(pid))

    def oom_killed(self) -> bool:
        return fs.counter(os.path.join(self.path, "memory.events"), "oom_kill") > 0

    def destroy(self) -> None:
        fs.remove(self.path)


def _read_or_empty(path: str) -> str:
    # always present on a real cgroup2 fs; absent in a test's fake tree
    return fs.read(path) if os.path.exists(path) else ""
