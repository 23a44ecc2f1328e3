"""cgroup v2: one directory in the unified hierarchy; controllers must be
enabled in every ancestor's cgroup.subtree_control first
(Documentation/admin-guide/cgroup-v2.rst "Enabling and Disabling")."""

from __future__ import annotations

import os

from rs_docker.errors import RuntimeFailure
from rs_docker.runtime.cgroups import fs


class V2:
    """`devices`: linux.resources.devices, enforced by the BPF program
    create() attaches. None for a directory that only tracks processes
    (the unified one of a hybrid host, where v1's devices controller
    filters) or that is reopened to be removed."""

    version = 2

    def __init__(self, path: str, mount_point: str, devices: list | None = None):
        self.path = path
        self.mount_point = mount_point
        self.dirs = {"": path}
        self.devices = devices

    def create(self) -> None:
        fs.make_dirs(self.path)
        if self.devices:
            # before any process joins: nothing in the cgroup opens a device
            # the rules refuse, not even between the join and the exec
            self._filter_devices()

    def _filter_devices(self) -> None:
        """Attach the device rules' program (device_filter.py). Where the
        kernel refuses, root fails and a run in a user namespace or without
        root goes on without it, as runc does (fs2 setDevices,
        canSkipEBPFError): bpf(2) needs CAP_SYS_ADMIN (or CAP_BPF) in the
        initial user namespace, and such a run cannot mknod nor reach the
        host's devices anyway. Imported here, so that only a v2 host's runs
        pay for its imports."""
        from rs_docker.runtime.cgroups import device_filter

        program = device_filter.program(self.devices)
        if program is None:
            return  # every device allowed (--privileged)
        from rs_docker.linux import ebpf

        try:
            ebpf.attach_device_filter(program, self.path, "rs_docker_dev")
        except OSError as e:
            if _privileged():
                raise RuntimeFailure(f"cgroups: device filter: {e.strerror}") from None

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


def _privileged() -> bool:
    """Root in the initial user namespace, whose uid_map is the identity
    over every uid (user_namespaces(7)); runc's userns.RunningInUserNS."""
    if os.geteuid() != 0:
        return False
    try:
        with open("/proc/self/uid_map") as f:
            return f.read().split() == ["0", "0", "4294967295"]
    except OSError:
        return False


def _read_or_empty(path: str) -> str:
    # always present on a real cgroup2 fs; absent in a test's fake tree
    return fs.read(path) if os.path.exists(path) else ""
