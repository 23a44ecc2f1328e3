"""What the everyday `run` flags (models.run_flags) need from the host and
the store, resolved at create: --device nodes (stat), --gpus and CDI
devices (container/cdi.py), --group-add names (the image's /etc/group),
--ipc/--pid container:NAME (the other container's namespace files and
/dev/shm), the shareable /dev/shm of --ipc shareable, AppArmor's presence.

The result is spec.Inputs.extra, a dict models.run_flags.apply reads.
Imported only by a run that uses one of these flags.

Sources: moby daemon/oci_linux.go (WithDevices, WithNamespaces:
"container:" modes join the other container's /proc/PID/ns files),
daemon/container_operations_unix.go (getIPCContainer, getPIDContainer,
setupIPCDirs: a shareable container's /dev/shm is a tmpfs the daemon
mounts on the host, and joiners bind it).
"""

from __future__ import annotations

import os
import stat

from rs_docker.errors import Conflict, UsageError
from rs_docker.models import run_flags

TYPE_CHECKING = False  # typing stays off the run path (docs/ARCHITECTURE.md)
if TYPE_CHECKING:
    from rs_docker.context import Context
    from rs_docker.models.run_options import RunOptions

SHM_DIR = "shm"  # a shareable container's /dev/shm, in its container dir


def resolve(ctx: Context, opts: RunOptions, d: str, etc_group: str | None) -> dict:
    """spec.Inputs.extra for this run; d: the new container's dir."""
    extra: dict = {}
    if opts.cidfile:
        check_cidfile(opts.cidfile)
    if opts.group_add:
        extra["group_gids"] = group_gids(opts.group_add, etc_group)
    devices = [host_device(t) for t in opts.devices if not run_flags.is_cdi_name(t)]
    cdi_names = [t for t in opts.devices if run_flags.is_cdi_name(t)]
    if opts.gpus is not None:
        cdi_names += run_flags.parse_gpus(opts.gpus)
    if cdi_names:
        from rs_docker.container import cdi

        edits = cdi.resolve(cdi_names, opts.gpus is not None)
        devices += edits.devices
        extra["env"] = edits.env
        extra["mounts"] = edits.mounts
    if devices:
        extra["devices"] = devices
    joins = {}
    for kind, mode in (("ipc", opts.ipc), ("pid", opts.pid)):
        other = run_flags.container_ref(mode)
        if other is not None:
            pid, record = running_pid(ctx, other, kind.upper())
            joins[kind] = f"/proc/{pid}/ns/{kind}"
            if kind == "ipc":
                extra["shared_shm"] = donor_shm(ctx, other, record)
    if joins:
        extra["joins"] = joins
    if opts.ipc == "shareable":
        extra["shared_shm"] = shareable_shm(d, run_flags.shm_size(opts.shm_size))
    extra["apparmor"] = os.path.exists("/sys/kernel/security/apparmor/profiles")
    return extra


def group_gids(entries, etc_group: str | None) -> list[int]:
    """--group-add: a number as is, a name looked up in the image's
    /etc/group (Docker: "Unable to find group NAME")."""
    from rs_docker.models.users import parse_group

    groups = None
    out = []
    for entry in entries:
        if entry.isdigit() and entry.isascii():
            gid = int(entry)
            if gid > 0xFFFFFFFE:
                raise UsageError(f"invalid group id {entry}")
            out.append(gid)
            continue
        if groups is None:
            groups = {g.name: g.gid for g in parse_group(etc_group or "")}
        if entry not in groups:
            raise UsageError(f"Unable to find group {entry}: no matching entries in group file")
        out.append(groups[entry])
    return out


def host_device(text: str) -> dict:
    """--device HOST[:CONTAINER[:PERMS]] -> an OCI linux.devices entry (with
    "access", the cgroup permissions, which run_flags.apply moves into the
    rule it adds)."""
    host, container, perms = run_flags.parse_device(text)
    try:
        st = os.stat(host)
    except OSError as e:
        raise UsageError(f"error gathering device information while adding custom device "
                         f"{host!r}: {(e.strerror or str(e)).lower()}") from None
    if stat.S_ISCHR(st.st_mode):
        kind = "c"
    elif stat.S_ISBLK(st.st_mode):
        kind = "b"
    else:
        raise UsageError(f"error gathering device information while adding custom device "
                         f"{host!r}: not a device node")
    return {"path": container, "type": kind, "major": os.major(st.st_rdev),
            "minor": os.minor(st.st_rdev), "fileMode": stat.S_IMODE(st.st_mode),
            "uid": st.st_uid, "gid": st.st_gid, "access": perms}


def running_pid(ctx: Context, name: str, what: str) -> tuple[int, dict]:
    """The PID 1 of the running container `name` whose namespace is joined."""
    from rs_docker.container import lifecycle, recorded_pid, state

    record = state.read(ctx, state.resolve(ctx, name))
    pid = (record.get("State") or {}).get("Pid")
    if not lifecycle.is_running(record) or \
            not recorded_pid.alive(pid, lifecycle.extra(record).get("PidStartTime")):
        raise Conflict(f"cannot join {what} of a non running container: {name}")
    return pid, record


def donor_shm(ctx: Context, name: str, record: dict) -> str:
    """The host-side /dev/shm of a shareable (or host-IPC) container."""
    mode = (record.get("HostConfig") or {}).get("IpcMode")
    if mode == "host":
        return "/dev/shm"
    path = os.path.join(ctx.containers_dir, record["Id"], SHM_DIR)
    if mode != "shareable" or not os.path.ismount(path):
        raise UsageError(f"container {name}: non-shareable IPC (hint: use IpcMode:shareable "
                         f"for the donor container)")
    return path


def shareable_shm(d: str, size: int) -> str:
    """Mount the tmpfs a shareable container has as /dev/shm at d/shm, on
    the host, so that containers joining its IPC namespace bind the same
    one (container.create.remove_dir unmounts it)."""
    from rs_docker.linux import constants as C
    from rs_docker.linux import syscalls

    path = os.path.join(d, SHM_DIR)
    os.mkdir(path, 0o700)
    syscalls.mount("shm", path, "tmpfs", C.MS_NOSUID | C.MS_NODEV | C.MS_NOEXEC,
                   f"mode=1777,size={size}")
    return path


def unmount_shm(d: str) -> None:
    """Undo shareable_shm (nothing to do for other containers)."""
    path = os.path.join(d, SHM_DIR)
    if os.path.ismount(path):
        from rs_docker.linux import constants as C
        from rs_docker.linux import syscalls

        syscalls.umount2(path, C.MNT_DETACH)


def _cidfile_found(path: str) -> UsageError:
    return UsageError(f"container ID file found, make sure the other container isn't running "
                      f"or delete {path}")


def check_cidfile(path: str) -> None:
    """--cidfile must not exist yet (docker-cli newCIDFile)."""
    if os.path.lexists(path):
        raise _cidfile_found(path)


def write_cidfile(path: str, cid: str) -> None:
    """Write the id to a new --cidfile (O_EXCL: another run that took the
    same path since the check loses)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
    except FileExistsError:
        raise _cidfile_found(path) from None
    except OSError as e:
        raise UsageError(f"failed to create the container ID file: "
                         f"{(e.strerror or str(e)).lower()}: {path}") from None
    try:
        os.write(fd, cid.encode())
    finally:
        os.close(fd)
