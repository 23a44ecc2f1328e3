"""Container cgroups behind one interface for cgroup v1, v2 and hybrid hosts.

    cg = create_cgroup(container_id, config["linux"].get("resources"),
                       config["linux"].get("cgroupsPath"))
    cg = container_cgroup(container_id, config)  # the same from an OCI config
                                                 # (None: rootless, no cgroup to write)
    cg.add(pid)          # before the container process execs
    ...
    cg.oom_killed(); cg.destroy()

    open_cgroup(container_id, cgroups_path)   # the same cgroup, later, by another
                                              # process: to destroy what is left

Beside it: mount.py (the cgroup filesystem a container sees at
/sys/fs/cgroup), join.py (put a process in the cgroups another one is in:
`exec`), warmup.py (the cgroup-migration latency paid early).

Code that touches kernel files takes the cgroup root, the mountinfo text and
the /proc/self/cgroup text as parameters, so tests run on fake trees.
"""

from __future__ import annotations

import os

from rs_docker.errors import RuntimeFailure
from rs_docker.runtime.cgroups import detect as _detect
from rs_docker.runtime.cgroups import warmup

# Paths are str: pathlib stays off the run path (docs/ARCHITECTURE.md). The v1 and v2
# backends are imported for the layout the host has, the limit writers
# (resources.py) only when there are limits.

DEFAULT_ROOT = "/sys/fs/cgroup"


def default_path(container_id: str) -> str:
    """Relative, as runc's default: below the cgroup rs-docker itself runs
    in on v1, below its parent on v2 (v2_base)."""
    return f"rs-docker/{container_id}"


class Cgroup:
    """A container's cgroup: one backend that holds the limits (v1 or v2),
    plus, on a hybrid host, the unified directory that only tracks processes."""

    def __init__(self, layout: _detect.Layout, primary, extra: list):
        self.layout = layout
        self._primary = primary
        self._all = [primary, *extra]

    @property
    def version(self) -> int:
        return self._primary.version

    @property
    def paths(self) -> dict[str, str]:
        """controller -> directory; "" is the unified (v2) directory."""
        out: dict[str, str] = {}
        for backend in self._all:
            out.update(backend.dirs)
        return out

    def add(self, pid: int) -> None:
        try:
            for backend in self._all:
                backend.add(pid)
        finally:
            warmup.stop()  # joined: the keeper has done its job

    def enter(self, pid: int) -> None:
        """Join a process started later (exec) to the container's cgroup."""
        self.add(pid)

    def oom_killed(self) -> bool:
        return self._primary.oom_killed()

    def update(self, resources: dict) -> None:
        """Write new limits (OCI linux.resources) to a live cgroup (`update`).
        v1 refuses a memory limit above memory+swap and memory+swap below
        the memory limit: when the first order fails, the other is tried."""
        from rs_docker.runtime.cgroups import resources as res

        if self.version == 2:
            self._primary.apply(res.v2_writes(resources))
            return
        writes = res.v1_writes(resources)
        try:
            self._primary.apply(writes)
        except RuntimeFailure:
            memsw = [w for w in writes if w[1] == "memory.memsw.limit_in_bytes"]
            if not memsw:
                raise
            self._primary.apply(memsw + [w for w in writes if w not in memsw])

    def destroy(self) -> None:
        """Remove the directories in every hierarchy; processes still in
        them are killed first and waited for (fs.remove). Every hierarchy is
        tried; the first failure is raised after."""
        warmup.stop()
        first: RuntimeFailure | None = None
        for backend in reversed(self._all):
            try:
                backend.destroy()
            except RuntimeFailure as e:
                first = first or e
        if first is not None:
            raise first


def _read(path: str) -> str:
    with open(path) as f:
        return f.read()


def create_cgroup(container_id: str, resources: dict | None, cgroups_path: str | None,
                  root: str = DEFAULT_ROOT, mountinfo: str | None = None,
                  proc_cgroup: str | None = None) -> Cgroup:
    """Create the container's cgroup directories and write its limits."""
    cg, writes = _plan(container_id, resources, cgroups_path, root, mountinfo, proc_cgroup)
    try:
        for backend in cg._all:
            backend.create()
        cg._primary.apply(writes)
    except BaseException:
        _cleanup(cg)
        raise
    if os.path.normpath(root) == DEFAULT_ROOT:
        # Unless warmup.warm_up() started it long before: after the mkdirs,
        # which its first write would stall (warmup.py).
        warmup.warm_up()
    return cg


def container_cgroup(container_id: str, config: dict) -> Cgroup | None:
    """The container's cgroup from an OCI config's linux section (resources,
    cgroupsPath), created; None for a rootless run without a cgroup it may
    write."""
    linux = config.get("linux") or {}
    try:
        return create_cgroup(container_id, linux.get("resources"), linux.get("cgroupsPath"))
    except RuntimeFailure as e:
        # Rootless without a delegated cgroup (cgroup v1, or v2 without a
        # systemd user slice): run without one, as podman and rootless Docker
        # do, unless a limit was asked for, which would silently not hold.
        if os.geteuid() == 0:
            raise
        if any(v for k, v in (linux.get("resources") or {}).items() if k != "devices"):
            raise RuntimeFailure(f"rootless: resource limits need a writable cgroup: {e}") \
                from None
        return None


def open_cgroup(container_id: str, cgroups_path: str | None, root: str = DEFAULT_ROOT,
                mountinfo: str | None = None, proc_cgroup: str | None = None) -> Cgroup:
    """The cgroup create_cgroup() made for this container and cgroups path,
    reopened (nothing is created or written) to read it or destroy() it once
    the process that made it is gone: runc's and youki's cgroup managers
    likewise reopen a container's cgroup from its id and path. A relative
    cgroups path is resolved below the caller's own cgroup, as at creation;
    rs-docker's containers have an absolute one (/rs-docker/ID)."""
    return _plan(container_id, None, cgroups_path, root, mountinfo, proc_cgroup)[0]


def _plan(container_id: str, resources: dict | None, cgroups_path: str | None, root: str,
          mountinfo: str | None, proc_cgroup: str | None) -> tuple[Cgroup, list]:
    """The container's Cgroup (its directories per hierarchy) and the limit
    writes for `resources`, from the host's layout; nothing touched yet."""
    mountinfo = _read("/proc/self/mountinfo") if mountinfo is None else mountinfo
    proc_cgroup = _read("/proc/self/cgroup") if proc_cgroup is None else proc_cgroup
    root = os.path.normpath(root)
    layout = _detect.detect(mountinfo, root)
    own = _detect.parse_proc_cgroup(proc_cgroup)
    rel = cgroups_path or default_path(container_id)
    extra = []
    writes = []
    if layout.mode == "v2":
        from rs_docker.runtime.cgroups.v2 import V2

        h = layout.unified
        primary = V2(_detect.cgroup_dir(h, v2_base(own.get("", "/"), rel), rel), h.mount_point,
                     (resources or {}).get("devices"))
        if resources:
            from rs_docker.runtime.cgroups.resources import v2_writes

            writes = v2_writes(resources)
    else:
        from rs_docker.runtime.cgroups.v1 import V1

        primary = V1({c: _detect.cgroup_dir(h, own.get(c, "/"), rel)
                      for c, h in layout.v1.items()})
        if resources:
            from rs_docker.runtime.cgroups.resources import v1_writes

            writes = v1_writes(resources)
        if layout.unified is not None:
            from rs_docker.runtime.cgroups.v2 import V2

            h = layout.unified
            extra.append(V2(_detect.cgroup_dir(h, own.get("", "/"), rel), h.mount_point))
    return Cgroup(layout, primary, extra), writes


def v2_base(own: str, cgroups_path: str) -> str:
    """The cgroup a relative cgroups path starts from on a v2 host: the
    parent of our own, as runc's fs2 does (defaultDirPath). Our own cgroup
    holds a process (us), so the no-internal-processes rule
    (Documentation/admin-guide/cgroup-v2.rst) forbids enabling controllers
    for a child of it; its parent holds none unless it is the root, which
    the rule exempts. An absolute path starts at the hierarchy's root."""
    if cgroups_path.startswith("/"):
        return "/"
    return os.path.dirname(own.rstrip("/")) or "/"


def _cleanup(cg: Cgroup) -> None:
    """Undo a half-made cgroup; the error that got us here is the one to report."""
    try:
        cg.destroy()
    except RuntimeFailure:
        pass
