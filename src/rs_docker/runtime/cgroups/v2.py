"""cgroup v2: one directory in the unified hierarchy; controllers must be
enabled in every ancestor's cgroup.subtree_control first
(Documentation/admin-guide/cgroup-v2.rst "Enabling and Disabling")."""

from __future__ import annotations

from pathlib import Path

from rs_docker.runtime.cgroups import fs
from rs_docker.runtime.cgroups.resources import Write


class V2:
    version = 2

    def __init__(self, path: Path, mount_point: Path):
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
        available = set(fs.read(self.mount_point / "cgroup.controllers").split())
        missing = controllers - available
        if missing:
            fs.write(self.mount_point / "cgroup.subtree_control",
                     " ".join(f"+{c}" for c in sorted(missing)))  # raises, names them
        rel = self.path.relative_to(self.mount_point)
        parent = self.mount_point
        for part in rel.parts:
            enabled = set(_read_or_empty(parent / "cgroup.subtree_control").split())
            todo = controllers - enabled
            if todo:
                fs.write(parent / "cgroup.subtree_control",
                         " ".join(f"+{c}" for c in sorted(todo)))
            parent = parent / part

    def apply(self, writes: list[Write]) -> None:
        self.enable({ctrl for ctrl, _, _ in writes})
        for _, name, value in writes:
            fs.write(self.path / name, value)

    def add(self, pid: int) -> None:
        fs.write(self.path / "cgroup.procs", str(pid))

    def oom_killed(self) -> bool:
        return fs.counter(self.path / "memory.events", "oom_kill") > 0

    def destroy(self) -> None:
        fs.remove(self.path)


def _read_or_empty(path: Path) -> str:
    # always present on a real cgroup2 fs; absent in a test's fake tree
    return fs.read(path) if path.exists() else ""
