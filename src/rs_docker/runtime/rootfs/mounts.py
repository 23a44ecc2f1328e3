"""The container's filesystem: rootfs, /proc, /dev, /sys, the spec's mounts,
then pivot_root (runtime-spec config.md "Mounts", config-linux.md).

Pure parts (option parsing, the default mount table, path confinement) are
plain functions; the effects run in the container's PID 1, inside its own
mount namespace, before pivot_root.
"""

from __future__ import annotations

import errno
import os
import stat

from rs_docker.errors import RuntimeFailure
from rs_docker.linux import constants as C
from rs_docker.linux import syscalls
from rs_docker.models.security import proc_mount_refusal
from rs_docker.runtime.cgroups import mount  # before fork: never imported between fork and exec
from rs_docker.values import record

# mount(8) option -> (flags to clear, flags to set); runc libcontainer/specconv.
_FLAGS: dict[str, tuple[int, int]] = {
    "defaults": (0, 0), "ro": (0, C.MS_RDONLY), "rw": (C.MS_RDONLY, 0),
    "nosuid": (0, C.MS_NOSUID), "suid": (C.MS_NOSUID, 0),
    "nodev": (0, C.MS_NODEV), "dev": (C.MS_NODEV, 0),
    "noexec": (0, C.MS_NOEXEC), "exec": (C.MS_NOEXEC, 0),
    "sync": (0, C.MS_SYNCHRONOUS), "async": (C.MS_SYNCHRONOUS, 0),
    "dirsync": (0, C.MS_DIRSYNC), "remount": (0, C.MS_REMOUNT),
    "mand": (0, C.MS_MANDLOCK), "nomand": (C.MS_MANDLOCK, 0),
    "noatime": (0, C.MS_NOATIME), "atime": (C.MS_NOATIME, 0),
    "nodiratime": (0, C.MS_NODIRATIME), "diratime": (C.MS_NODIRATIME, 0),
    "relatime": (0, C.MS_RELATIME), "norelatime": (C.MS_RELATIME, 0),
    "strictatime": (0, C.MS_STRICTATIME), "nostrictatime": (C.MS_STRICTATIME, 0),
    "lazytime": (0, C.MS_LAZYTIME), "nolazytime": (C.MS_LAZYTIME, 0),
    "nosymfollow": (0, C.MS_NOSYMFOLLOW), "symfollow": (C.MS_NOSYMFOLLOW, 0),
    "silent": (0, C.MS_SILENT), "loud": (C.MS_SILENT, 0),
    "bind": (0, C.MS_BIND), "rbind": (0, C.MS_BIND | C.MS_REC),
}
_PROPAGATION = {
    "private": C.MS_PRIVATE, "rprivate": C.MS_PRIVATE | C.MS_REC,
    "shared": C.MS_SHARED, "rshared": C.MS_SHARED | C.MS_REC,
    "slave": C.MS_SLAVE, "rslave": C.MS_SLAVE | C.MS_REC,
    "unbindable": C.MS_UNBINDABLE, "runbindable": C.MS_UNBINDABLE | C.MS_REC,
}
_ATIME = C.MS_NOATIME | C.MS_RELATIME | C.MS_STRICTATIME | C.MS_NODIRATIME
# statvfs f_flag bits -> mount flags a bind remount in a user namespace must
# keep: the kernel locks them (mount_namespaces(7) "restrictions").
_LOCKED = ((os.ST_RDONLY, C.MS_RDONLY), (os.ST_NOSUID, C.MS_NOSUID), (os.ST_NODEV, C.MS_NODEV),
           (os.ST_NOEXEC, C.MS_NOEXEC), (os.ST_NOATIME, C.MS_NOATIME),
           (os.ST_NODIRATIME, C.MS_NODIRATIME), (os.ST_RELATIME, C.MS_RELATIME))
MAX_SYMLINKS = 40  # path_resolution(7): Linux follows at most 40 links per lookup


@record
class Options:
    flags: int        # MS_* for mount(2), MS_BIND/MS_REC included
    propagation: int  # MS_PRIVATE|MS_REC... applied by a second mount(2)
    data: str         # fs-specific options: "size=65536k,mode=755"

    @property
    def bind(self) -> bool:
        return bool(self.flags & C.MS_BIND)


def parse_options(options: list[str] | None) -> Options:
    """Split mount(8)-style options into flags, propagation and data."""
    flags, prop, data = 0, 0, []
    for opt in options or []:
        if opt in _FLAGS:
            clear, set_ = _FLAGS[opt]
            flags = (flags & ~clear) | set_
        elif opt in _PROPAGATION:
            prop = _PROPAGATION[opt]
        else:
            data.append(opt)
    return Options(flags, prop, ",".join(data))


def default_mounts(userns: bool, netns: bool, cgroupns: bool = False) -> list[dict]:
    """What every container gets (runc's `spec` example, Docker's defaults).
    /sys: a fresh sysfs needs a network namespace owned by our user
    namespace; without one, bind the host's read-only (runc rootless).
    /sys/fs/cgroup (read-only, as Docker) only with a new cgroup namespace,
    where it shows the container's own cgroup and nothing above it."""
    sys_mount = {"destination": "/sys", "type": "sysfs", "source": "sysfs",
                 "options": ["nosuid", "noexec", "nodev", "ro"]}
    if userns and not netns:
        sys_mount = {"destination": "/sys", "type": "bind", "source": "/sys",
                     "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]}
    cgroup = [{"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
               "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}] if cgroupns else []
    return [
        {"destination": "/proc", "type": "proc", "source": "proc",
         "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
         "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
         "options": ["nosuid", "noexec", "nodev"]},
        sys_mount,
    ] + cgroup


def plan(config: dict, userns: bool, netns: bool,
         cgroupns: bool = False) -> tuple[dict | None, list[dict]]:
    """(the "/" rootfs mount or None, every other mount in order). A config
    entry replaces the default with the same destination, in its place;
    the rest follow in config order."""
    root, given = None, []
    for m in config.get("mounts") or []:
        if not isinstance(m, dict) or not str(m.get("destination", "")).startswith("/"):
            raise RuntimeFailure(f"config: invalid mount {m!r}: destination must be absolute")
        if os.path.normpath(m["destination"]) == "/":
            root = m
        else:
            given.append(m)
    defaults = default_mounts(userns, netns, cgroupns)
    default_dests = {d["destination"] for d in defaults}
    replaced: dict[str, dict] = {}
    rest = []
    for m in given:
        dest = os.path.normpath(m["destination"])
        if dest in default_dests and dest not in replaced:
            replaced[dest] = m
        else:
            rest.append(m)
    return root, [replaced.get(d["destination"], d) for d in defaults] + rest


def cgroup_last(ms: list[dict]) -> tuple[list[dict], int]:
    """`ms` with every mount that may go before the cgroup filesystem moved
    ahead of it, and the index of the first one that must wait. PID 1 mounts
    the first part while the parent moves it into its cgroup (a join that
    waits for an RCU grace period: cgroups/warmup.py), the rest after: a
    cgroup mount needs the cgroup namespace created once it is there. A
    mount moves only past mounts its destination is not nested with (in
    either direction), so every path ends up covered as in config order."""
    early: list[dict] = []
    late: list[dict] = []
    for m in ms:
        dest = os.path.normpath(m["destination"])
        if m.get("type") == "cgroup" or any(_nested(dest, d) for d in
                                            (os.path.normpath(x["destination"]) for x in late)):
            late.append(m)
        else:
            early.append(m)
    return early + late, len(early)


def _nested(a: str, b: str) -> bool:
    return a == b or a.startswith(b.rstrip("/") + "/") or b.startswith(a.rstrip("/") + "/")


def secure_join(root: str, unsafe: str) -> str:
    """`unsafe` resolved inside `root` as if `root` were `/`: symlinks are
    followed component by component and `..` and absolute link targets stop
    at `root`, so an image's `/mnt -> /etc` cannot send a mount to the host
    (the same rule as Go's filepath-securejoin, used by runc)."""
    root = os.path.abspath(root)
    proc = os.path.join(root, "proc") + "/"
    todo = [c for c in reversed(unsafe.split("/")) if c]
    done: list[str] = []
    links = 0
    while todo:
        part = todo.pop()
        if part == ".":
            continue
        if part == "..":
            if done:
                done.pop()
            continue
        full = os.path.join(root, *done, part)
        try:
            st = os.lstat(full)
        except FileNotFoundError:
            done.append(part)
            continue
        if not stat.S_ISLNK(st.st_mode):
            done.append(part)
            continue
        if full.startswith(proc):
            # procfs's links (self, fd/N, ...) name what the kernel sees from
            # here, not a path in root: /dev/stdin -> /proc/self/fd/0 would
            # lead a mount onto whatever our stdin is.
            raise OSError(errno.EPERM, f"resolve {unsafe} in {root}: it goes through "
                                       f"{full[len(root):]}, a link of /proc")
        links += 1
        if links > MAX_SYMLINKS:
            raise OSError(errno.ELOOP, f"resolve {unsafe} in {root}: too many levels of symbolic links")
        target = os.readlink(full)
        if target.startswith("/"):
            done = []
        todo.extend(c for c in reversed(target.split("/")) if c)
    return os.path.join(root, *done)


def make_private(path: str = "/") -> None:
    """MS_REC|MS_PRIVATE on `path`: nothing we mount propagates to the host,
    and pivot_root(2) requires a non-shared parent mount."""
    syscalls.mount(None, path, None, C.MS_REC | C.MS_PRIVATE)


def mount_rootfs(rootfs: str, root_mount: dict | None) -> None:
    """Mount the rootfs: the "/" entry (this project's overlay convention)
    onto root.path, else bind root.path onto itself so it is a mount point
    (pivot_root(2) needs one)."""
    if root_mount is None:
        syscalls.mount(rootfs, rootfs, None, C.MS_BIND | C.MS_REC)
        return
    do_mount(root_mount, rootfs, userns=False)


def mount_entry(rootfs: str, m: dict, userns: bool, private_tree: bool = False) -> str:
    """Mount one spec entry below rootfs; returns the resolved target.
    private_tree: every mount of this namespace is already private (see
    do_mount)."""
    target = secure_join(rootfs, m["destination"])
    check_proc_mount(rootfs, target, m.get("type"))
    opts = parse_options(m.get("options"))
    _make_target(target, m, opts)
    do_mount(m, target, userns, private_tree, opts)
    return target


def check_proc_mount(rootfs: str, target: str, fstype: str | None) -> None:
    """runc's checkProcMount on the resolved target: a destination that
    only reaches /proc through a symlink (the image's, or /dev/fd ->
    /proc/self/fd made with /dev) is refused as /proc itself would be."""
    root = os.path.abspath(rootfs)
    if target == root + "/proc" or target.startswith(root + "/proc/"):
        why = proc_mount_refusal(target[len(root):], fstype)
        if why:
            raise RuntimeFailure(why)


def do_mount(m: dict, target: str, userns: bool, private_tree: bool = False,
             opts: Options | None = None) -> None:
    """private_tree: "/" was made MS_REC|MS_PRIVATE in this mount namespace,
    so a new mount, or a bind of anything in it, is private already (a
    mount joins a peer group only from a shared parent or a shared source:
    mount_namespaces(7), "Propagation type transitions"); an explicit
    private/rprivate option then needs no second mount(2) call."""
    opts = parse_options(m.get("options")) if opts is None else opts
    kind, source = m.get("type") or None, m.get("source") or None
    if opts.bind or kind == "bind":
        _bind(source, target, opts, userns)
    elif kind == "cgroup":
        mount.mount_cgroupfs(target, opts.flags, mount.known_hierarchies())
    else:
        syscalls.mount(source, target, kind, opts.flags, opts.data or None)
    if opts.propagation and not (private_tree and opts.propagation & ~C.MS_REC == C.MS_PRIVATE):
        syscalls.mount(None, target, None, opts.propagation)


def _bind(source: str | None, target: str, opts: Options, userns: bool) -> None:
    if not source:
        raise OSError(errno.EINVAL, f"mount {target}: a bind mount needs a source")
    syscalls.mount(source, target, None, C.MS_BIND | (opts.flags & C.MS_REC))
    extra = opts.flags & ~(C.MS_BIND | C.MS_REC | C.MS_REMOUNT)
    if extra or (userns and opts.flags & C.MS_RDONLY):
        # A bind mount takes its flags from a second, remounting call (mount(2)).
        remount(target, extra, keep_locked=userns)


def remount(target: str, flags: int, keep_locked: bool) -> None:
    if keep_locked:
        flags |= locked_flags(target, flags)
    syscalls.mount(None, target, None, C.MS_BIND | C.MS_REMOUNT | flags)


def locked_flags(target: str, asked: int) -> int:
    """Flags of the mount at target that a remount must keep (all but the
    atime ones when the caller chose an atime mode itself)."""
    have = os.statvfs(target).f_flag
    out = 0
    for st_bit, ms_bit in _LOCKED:
        if have & st_bit and not (ms_bit & _ATIME and asked & _ATIME):
            out |= ms_bit
    return out


def _make_target(target: str, m: dict, opts: Options) -> None:
    """Create the mount point: a file when a bind source is not a directory."""
    source = m.get("source") or ""
    file_target = (opts.bind or m.get("type") == "bind") and source and \
        os.path.exists(source) and not os.path.isdir(source)
    # isdir first: makedirs of an existing directory costs three syscalls
    # (stat of the parent, mkdir's EEXIST, stat), and most targets exist.
    if file_target:
        if not os.path.isdir(os.path.dirname(target)):
            os.makedirs(os.path.dirname(target), exist_ok=True)
        if not os.path.lexists(target):
            os.close(os.open(target, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o644))
    elif not os.path.isdir(target):
        os.makedirs(target, exist_ok=True)


def pivot(rootfs: str) -> None:
    """pivot_root(".", ".") then detach the old root stacked under the new
    one (runc libcontainer/rootfs_linux.go pivotRoot; pivot_root(2) NOTES):
    no put_old directory is needed and nothing of the host stays reachable."""
    old = os.open("/", os.O_DIRECTORY | os.O_RDONLY | os.O_CLOEXEC)
    new = os.open(rootfs, os.O_DIRECTORY | os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fchdir(new)
        syscalls.pivot_root(".", ".")
        os.fchdir(old)
        # Make the old root a slave first so detaching it cannot propagate
        # an unmount to the host (runc does the same).
        syscalls.mount(None, ".", None, C.MS_SLAVE | C.MS_REC)
        syscalls.umount2(".", C.MNT_DETACH)
        os.chdir("/")
    finally:
        os.close(old)
        os.close(new)


def readonly_root() -> None:
    """root.readonly: remount / read-only, keeping its other flags."""
    remount("/", C.MS_RDONLY, keep_locked=True)
