"""The OCI runtime config.json of a container, built from the image config,
the run flags and the resolved user (pure: no file is read or written here).

Sources: OCI runtime-spec config.md and config-linux.md; moby
oci/defaults.go DefaultLinuxSpec (default mounts), daemon/commit.go merge
and daemon/start.go (Entrypoint/Cmd rules), daemon/oci_linux.go (user,
resources, privileged, security options).
"""

from __future__ import annotations

import posixpath

from rs_docker.errors import UnsupportedManifest, UsageError
from rs_docker.models import security
from rs_docker.models.env import container_env
from rs_docker.values import record

TYPE_CHECKING = False  # not typing's: typing stays off the run path (docs/ARCHITECTURE.md)
if TYPE_CHECKING:
    from rs_docker.models.run_options import RunOptions
    from rs_docker.models.users import ExecUser

OCI_VERSION = "1.0.2"
# Where Docker bind-mounts its init (tini) for --init (daemon/oci_linux.go).
INIT_PATH = "/sbin/docker-init"


@record
class ImageDefaults:
    """The runtime defaults an image config carries (its "config" object),
    checked: image content is hostile, so every field has the right type."""

    env: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    workdir: str = ""
    user: str = ""


def _strings(config: dict, key: str) -> tuple[str, ...]:
    value = config.get(key)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and "\0" not in v
                                              for v in value):
        raise UnsupportedManifest(f"invalid image config: {key} is not a list of strings")
    return tuple(value)


def _string(config: dict, key: str) -> str:
    value = config.get(key) or ""
    if not isinstance(value, str) or "\0" in value:
        raise UnsupportedManifest(f"invalid image config: {key} is not a string")
    return value


def image_defaults(config: dict | None) -> ImageDefaults:
    """Check and extract Env, Entrypoint, Cmd, WorkingDir and User."""
    config = config or {}
    if not isinstance(config, dict):
        raise UnsupportedManifest("invalid image config: config is not an object")
    env = tuple(e for e in _strings(config, "Env") if "=" in e and not e.startswith("="))
    return ImageDefaults(env, _strings(config, "Entrypoint"), _strings(config, "Cmd"),
                         _string(config, "WorkingDir"), _string(config, "User"))


def process_args(image: ImageDefaults, opts: RunOptions) -> list[str]:
    """Entrypoint + Cmd the Docker way: a command replaces only the image's
    Cmd; --entrypoint replaces the entrypoint and drops the image's Cmd;
    --entrypoint "" leaves no entrypoint. --init puts docker-init first."""
    if opts.entrypoint is not None:
        args = ([opts.entrypoint] if opts.entrypoint else []) + list(opts.command)
    else:
        args = list(image.entrypoint) + list(opts.command or image.cmd)
    if not args:
        raise UsageError("no command specified")
    if opts.init:
        args = [INIT_PATH, "--"] + args
    return args


def working_dir(image: ImageDefaults, opts: RunOptions) -> str:
    """-w, else the image's WorkingDir, else /; always absolute and clean."""
    cwd = opts.workdir or image.workdir or "/"
    if not cwd.startswith("/"):
        raise UsageError(f"the working directory '{cwd}' is invalid, "
                         f"it needs to be an absolute path")
    return "/" + posixpath.normpath(cwd).lstrip("/")


def user_spec(image: ImageDefaults, opts: RunOptions) -> str:
    return opts.user if opts.user is not None else image.user


@record
class Inputs:
    """What the spec needs besides the image and the flags, all resolved by
    the caller: the user, the hostname, the rootfs path and its mount (the
    overlay onto "/" by this project's convention, or none), the per-container
    files to bind (destination -> host path), the init binary, the namespaces."""

    user: ExecUser
    hostname: str
    rootfs: str
    root_mounts: tuple[dict, ...] = ()
    etc_files: tuple[tuple[str, str], ...] = ()
    init_binary: str | None = None
    namespaces: tuple[dict, ...] = ()
    cgroups_path: str | None = None
    # What the everyday flags need from the host (models.run_flags.apply):
    # devices, groups, joined namespaces... resolved by container.flag_inputs.
    extra: dict | None = None
    # Volumes (named, anonymous, the image's, --volumes-from) as OCI mounts,
    # resolved by container/volumes.py.
    volume_mounts: tuple[dict, ...] = ()


def default_mounts(privileged: bool) -> list[dict]:
    """Mounts that differ from the runtime's own defaults (/proc, /dev,
    /dev/pts, /dev/shm, /dev/mqueue, /sys read-only — moby oci/defaults.go
    DefaultLinuxSpec): --privileged gets a writable /sys
    (daemon/oci_linux.go WithMounts)."""
    if not privileged:
        return []
    return [{"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev"]}]


def user_mounts(opts: RunOptions) -> list[dict]:
    """-v, --mount and --tmpfs as OCI mounts (host paths not checked here),
    but volumes: they are checked here, and mounted once they exist
    (Inputs.volume_mounts)."""
    if not (opts.volumes or opts.mounts or opts.tmpfs):
        return []  # the parser (two more record classes) only when needed
    from rs_docker.models import mount_flags

    parsed = [mount_flags.parse_volume(v) for v in opts.volumes]
    parsed += [mount_flags.parse_mount(m) for m in opts.mounts]
    parsed += [mount_flags.parse_tmpfs(t) for t in opts.tmpfs]
    seen: set[str] = set()
    for m in parsed:
        if m.target in seen:
            raise UsageError(f"duplicate mount point: {m.target}")
        seen.add(m.target)
    return [m.oci() for m in parsed if not isinstance(m, mount_flags.VolumeMount)]


def all_mounts(opts: RunOptions, inputs: Inputs) -> list[dict]:
    """Root mount first, then what differs from the runtime's defaults, the
    /etc files and the user's mounts; a user mount replaces a default or an
    /etc file at the same destination (the runtime also lets a config mount
    replace its default /dev/shm...), and user mounts go parents-first
    (Docker sorts them by path depth)."""
    users = sorted(user_mounts(opts) + list(inputs.volume_mounts),
                   key=lambda m: m["destination"].count("/"))
    taken = {m["destination"] for m in users}
    etc_options = ["rbind", "rprivate"] + (["ro"] if opts.read_only else [])
    etc = [{"destination": dest, "type": "bind", "source": src, "options": etc_options}
           for dest, src in inputs.etc_files]
    if inputs.init_binary:
        etc.append({"destination": INIT_PATH, "type": "bind", "source": inputs.init_binary,
                    "options": ["rbind", "rprivate", "ro"]})
    base = [m for m in default_mounts(opts.privileged) + etc if m["destination"] not in taken]
    return list(inputs.root_mounts) + base + users


def _no_new_privileges(opts: RunOptions) -> bool:
    """--security-opt no-new-privileges[:true|false] (or =true|false)."""
    value = False
    for opt in opts.security_opt:
        key, sep, arg = opt.replace("=", ":", 1).partition(":")
        if key == "no-new-privileges":
            if arg not in ("", "true", "false"):
                raise UsageError(f"invalid --security-opt: {opt}")
            value = arg != "false"
        elif key not in ("seccomp", "apparmor", "label"):
            raise UsageError(f"invalid --security-opt: {opt}")
    return value


def check_flags(opts: RunOptions, ncpu: int | None = None) -> None:
    """Every value typed for `run` checked before an image is pulled or a
    container created, as Docker's CLI parses its flags and its daemon
    verifies the host config before it looks the image up (moby
    daemon/create.go verifyContainerSettings). ncpu: the CPUs this process
    may run on (Go's runtime.NumCPU()), the most --cpus may ask. Raises
    UsageError."""
    if opts.cpus:
        security.cpus_to_quota(opts.cpus, ncpu)
    resources(opts)
    for text in opts.ulimits:
        security.parse_ulimit(text)
    user_mounts(opts)
    _no_new_privileges(opts)
    if opts.platform:
        from rs_docker.models import platform

        platform.parse(opts.platform)
    if uses_everyday_flags(opts):
        from rs_docker.models import run_flags

        run_flags.check(opts)
    if opts.publish or opts.expose or opts.publish_all:
        _check_ports(opts)


def _check_ports(opts: RunOptions) -> None:
    """-p/--expose parsed (models.ports); publishing refused with a joined
    network namespace, in docker-cli's words."""
    from rs_docker.models import ports

    ports.plan(opts.publish, opts.expose)
    if (opts.publish or opts.publish_all) and (opts.network or "").startswith("container:"):
        raise UsageError("conflicting options: port publishing and the container type "
                         "network mode")


# The fields of the flags models.run_flags checks and applies: a run that
# uses none of them does not import it (docs/ARCHITECTURE.md, Start-up rules).
EVERYDAY_FIELDS = (
    "labels", "annotations", "domainname", "shm_size", "sysctls", "group_add", "ipc", "pid",
    "uts", "userns", "cgroupns", "devices", "device_cgroup_rules", "gpus", "cpuset_cpus",
    "cpuset_mems", "cpu_period", "cpu_quota", "memory_reservation", "oom_kill_disable",
    "oom_score_adj", "blkio_weight", "cgroup_parent", "runtime", "security_opt", "cidfile")


def uses_everyday_flags(opts: RunOptions) -> bool:
    """Whether any flag of models.run_flags was given."""
    return any(getattr(opts, name) not in (None, (), False) for name in EVERYDAY_FIELDS)


def labels(image_config: dict | None, given) -> dict[str, str]:
    """Config.Labels: the image's labels, then -l/--label-file's (Docker
    merges them, the container's winning); an image's non-string label is
    dropped (image content is hostile)."""
    out = {k: v for k, v in ((image_config or {}).get("Labels") or {}).items()
           if isinstance(k, str) and isinstance(v, str)} \
        if isinstance((image_config or {}).get("Labels"), dict) else {}
    for entry in given:
        key, _, value = entry.partition("=")
        out[key] = value
    return out


def everyday_host_config(opts: RunOptions) -> dict:
    """The HostConfig fields of the everyday flags, in `docker inspect`'s
    names and with its defaults when not given."""
    shm = 64 << 20
    if opts.shm_size:
        from rs_docker.models import run_flags

        shm = run_flags.shm_size(opts.shm_size)
    return {
        "ShmSize": shm, "Sysctls": dict(e.partition("=")[::2] for e in opts.sysctls) or None,
        "GroupAdd": list(opts.group_add) or None, "IpcMode": opts.ipc or "private",
        "PidMode": opts.pid or "", "UTSMode": opts.uts or "", "UsernsMode": opts.userns or "",
        "CgroupnsMode": opts.cgroupns or "private",
        "Devices": [_device_record(d) for d in opts.devices],
        "DeviceCgroupRules": list(opts.device_cgroup_rules) or None,
        "DeviceRequests": [{"Driver": "cdi", "Options": {"gpus": opts.gpus}}] if opts.gpus
        else None,
        "CpusetCpus": opts.cpuset_cpus or "", "CpusetMems": opts.cpuset_mems or "",
        "CpuPeriod": opts.cpu_period or 0, "CpuQuota": opts.cpu_quota or 0,
        "MemoryReservation": opts.memory_reservation or 0,
        "OomKillDisable": opts.oom_kill_disable, "OomScoreAdj": opts.oom_score_adj or 0,
        "BlkioWeight": opts.blkio_weight or 0, "CgroupParent": opts.cgroup_parent or "",
        "Annotations": dict(e.partition("=")[::2] for e in opts.annotations) or None,
        "Runtime": opts.runtime or "rs-docker", "ContainerIDFile": opts.cidfile or "",
    }


def _device_record(text: str) -> dict:
    parts = text.split(":")
    if len(parts) == 2 and parts[1] and not set(parts[1]) - set("rwm"):
        parts = [parts[0], parts[0], parts[1]]
    return {"PathOnHost": parts[0], "PathInContainer": parts[1] if len(parts) > 1 and parts[1]
            else parts[0], "CgroupPermissions": parts[2] if len(parts) > 2 else "rwm"}


def resources(opts: RunOptions) -> dict:
    """linux.resources for --memory/--memory-swap/--cpus/--cpu-shares/--pids-limit,
    and Docker's device rules (--privileged: every device)."""
    out: dict = {"devices": security.device_rules(opts.privileged)}
    memory = security.memory_resources(opts.memory, opts.memory_swap)
    if memory:
        out["memory"] = memory
    cpu = security.cpus_to_quota(opts.cpus) if opts.cpus else {}
    if opts.cpu_shares:
        cpu["shares"] = opts.cpu_shares
    if cpu:
        out["cpu"] = cpu
    if opts.pids_limit is not None:
        # Docker: 0 or -1 means unlimited.
        out["pids"] = {"limit": opts.pids_limit if opts.pids_limit > 0 else -1}
    return out


def additional_gids(user: ExecUser) -> list[int]:
    """The primary gid, then the supplementary ones: containerd's
    WithAdditionalGIDs keeps the primary group in the list, so `id` in a
    Docker container shows groups=1000(app),29(audio)..."""
    return list(dict.fromkeys((user.gid, *user.additional_gids)))


def build_spec(image: ImageDefaults, opts: RunOptions, inputs: Inputs) -> dict:
    """The whole config.json as a dict."""
    user = inputs.user
    caps = security.capabilities_for(opts.cap_add, opts.cap_drop, opts.privileged, user.uid)
    process = {
        "terminal": opts.tty,
        "user": {"uid": user.uid, "gid": user.gid, "additionalGids": additional_gids(user)},
        "args": process_args(image, opts),
        "env": container_env(image.env, opts.env, inputs.hostname, opts.tty, user.home),
        "cwd": working_dir(image, opts),
        "capabilities": caps,
        "rlimits": [security.parse_ulimit(u) for u in opts.ulimits],
        "noNewPrivileges": _no_new_privileges(opts),
    }
    linux = {
        "namespaces": list(inputs.namespaces),
        "maskedPaths": security.masked_paths(opts.privileged),
        "readonlyPaths": security.readonly_paths(opts.privileged),
        "resources": resources(opts),
    }
    seccomp = security.seccomp_for(opts.security_opt, opts.privileged, caps["bounding"])
    if seccomp is not None:
        linux["seccomp"] = seccomp
    if inputs.cgroups_path:
        linux["cgroupsPath"] = inputs.cgroups_path
    config = {
        "ociVersion": OCI_VERSION,
        "process": process,
        "root": {"path": inputs.rootfs, "readonly": opts.read_only},
        "hostname": inputs.hostname,
        "mounts": all_mounts(opts, inputs),
        "linux": linux,
    }
    if uses_everyday_flags(opts):
        from rs_docker.models import run_flags

        run_flags.apply(config, opts, inputs.extra)
    return config
