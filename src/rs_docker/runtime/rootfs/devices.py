"""Device nodes and the standard links of the container's /dev
(runtime-spec config-linux.md "Default Devices", "Devices").

As real root we mknod(2) the nodes; in a user namespace mknod is refused
(EPERM: devices need CAP_MKNOD in the initial namespace), so we bind-mount
the host's node onto an empty file instead, as runc does for rootless.
"""

from __future__ import annotations

import os
import stat

from rs_docker.errors import RuntimeFailure
from rs_docker.linux import syscalls
from rs_docker.linux.constants import MS_BIND
from rs_docker.runtime.rootfs.mounts import secure_join

# path, type, major, minor: the devices every container has.
DEFAULT_DEVICES = (
    ("/dev/null", "c", 1, 3), ("/dev/zero", "c", 1, 5), ("/dev/full", "c", 1, 7),
    ("/dev/random", "c", 1, 8), ("/dev/urandom", "c", 1, 9), ("/dev/tty", "c", 5, 0),
)
LINKS = (
    ("/dev/fd", "/proc/self/fd"), ("/dev/stdin", "/proc/self/fd/0"),
    ("/dev/stdout", "/proc/self/fd/1"), ("/dev/stderr", "/proc/self/fd/2"),
    ("/dev/ptmx", "pts/ptmx"),
)
_TYPES = {"c": stat.S_IFCHR, "u": stat.S_IFCHR, "b": stat.S_IFBLK, "p": stat.S_IFIFO}


def device_list(config: dict) -> list[dict]:
    """The defaults plus config.linux.devices (which win on the same path)."""
    out = {p: {"path": p, "type": t, "major": ma, "minor": mi, "fileMode": 0o666,
               "uid": 0, "gid": 0} for p, t, ma, mi in DEFAULT_DEVICES}
    for d in (config.get("linux") or {}).get("devices") or []:
        if not isinstance(d, dict) or d.get("type") not in _TYPES or \
                not str(d.get("path", "")).startswith("/dev/"):
            raise RuntimeFailure(f"config: invalid device {d!r}")
        out[d["path"]] = d
    return list(out.values())


def populate(rootfs: str, devices: list[dict], bind: bool) -> None:
    """Create every device node and the /dev links inside rootfs/dev."""
    made = set()  # directories made or found here: one makedirs each (3 syscalls), not one per node
    for d in devices:
        target = secure_join(rootfs, d["path"])
        parent = os.path.dirname(target)
        if parent not in made:
            os.makedirs(parent, exist_ok=True)
            made.add(parent)
        if bind:
            _bind_host(d["path"], target)
        else:
            _mknod(target, d)
    for link, dest in LINKS:
        path = secure_join(rootfs, link)
        if not os.path.lexists(path):
            os.symlink(dest, path)
    # /dev/core only when the kernel exposes /proc/kcore (runc does the same).
    if os.path.exists("/proc/kcore") and not os.path.lexists(secure_join(rootfs, "/dev/core")):
        os.symlink("/proc/kcore", secure_join(rootfs, "/dev/core"))


def _mknod(target: str, d: dict) -> None:
    mode = int(d.get("fileMode", 0o666)) & 0o7777
    node = mode | _TYPES[d["type"]], os.makedev(int(d.get("major", 0)), int(d.get("minor", 0)))
    try:
        os.mknod(target, *node)  # /dev is a fresh tmpfs: mostly nothing to replace
    except FileExistsError:
        os.unlink(target)
        os.mknod(target, *node)
    os.chmod(target, mode)  # mknod(2) applies the umask
    os.chown(target, int(d.get("uid", 0)), int(d.get("gid", 0)))


def _bind_host(host_path: str, target: str) -> None:
    if not os.path.lexists(target):
        os.close(os.open(target, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o000))
    syscalls.mount(host_path, target, None, MS_BIND)


def bind_console(rootfs: str, slave_path: str) -> None:
    """Bind the container's pty slave onto /dev/console (runtime-spec
    config.md "process.terminal": the runtime must set up /dev/console)."""
    target = secure_join(rootfs, "/dev/console")
    if not os.path.lexists(target):
        os.close(os.open(target, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o600))
    syscalls.mount(slave_path, target, None, MS_BIND)
