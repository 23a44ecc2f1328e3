"""The everyday `run` flags of issue 15 (labels, --shm-size, --sysctl,
--ipc/--pid/--uts/--userns/--cgroupns, --device, the cgroup knobs, ...):
their checks, in Docker's words, and their part of the OCI config. Pure.

Imported only by a run that uses one of them (spec.uses_everyday_flags):
a plain run does not pay for this module (docs/ARCHITECTURE.md, Start-up
rules).

Sources: docker-cli opts/opts.go (ValidateSysctl, ValidateDeviceCgroupRule,
MapOpts), cli/command/container/opts.go (parse: the namespace modes,
validateDevice, --gpus), moby api/types/container/hostconfig.go (IpcMode,
PidMode, UTSMode, UsernsMode, CgroupnsMode), daemon/daemon_unix.go
(verifyPlatformContainerResources: cpuset, cfs period/quota, reservation,
oom score, blkio weight), daemon/oci_linux.go (WithNamespaces, WithDevices,
WithSysctls, the /dev/shm mount).
"""

from __future__ import annotations

import os
import posixpath

from rs_docker.errors import UsageError
from rs_docker.models import security
from rs_docker.models.flags import invalid_argument

TYPE_CHECKING = False  # typing stays off the run path (docs/ARCHITECTURE.md)
if TYPE_CHECKING:
    from rs_docker.models.run_options import RunOptions

DEFAULT_SHM_SIZE = 64 << 20  # moby daemon/config DefaultShmSize

def parse_bool(value: str, flag: str) -> bool:
    """`--rm=VALUE` as pflag reads a boolean flag's value."""
    from rs_docker.models.run_options import BOOLS

    if value not in BOOLS:
        raise invalid_argument(value, flag, f'strconv.ParseBool: parsing {_q(value)}: '
                                            f'invalid syntax')
    return BOOLS[value]


def _q(text: str) -> str:
    from rs_docker.models.flags import quote

    return quote(text)


# -- labels and annotations ---------------------------------------------------


def key_values(entries) -> dict[str, str]:
    """KEY=VALUE entries as a map, a bare KEY with an empty value, the last
    one of a key winning (docker-cli ConvertKVStringsToMap)."""
    out: dict[str, str] = {}
    for entry in entries:
        key, _, value = entry.partition("=")
        out[key] = value
    return out


def label_file_lines(text: str) -> list[str]:
    """The labels of a --label-file: one a line, blank lines and `#`
    comments skipped (docker-cli opts.ParseEnvFile's reader, without the
    environment lookup)."""
    out = []
    for line in text.splitlines():
        line = line.lstrip()
        if line and not line.startswith("#"):
            out.append(line)
    return out


def check_annotations(entries) -> None:
    for entry in entries:
        if not entry.partition("=")[0]:
            raise invalid_argument(entry, "--annotation", "invalid key-value pair: empty key")


# -- /dev/shm and sysctls -----------------------------------------------------


def shm_size(text: str | None) -> int:
    """--shm-size in bytes (Docker's default 64m); 0 keeps the default."""
    if text is None or text == "":
        return DEFAULT_SHM_SIZE
    try:
        size = security.ram_in_bytes(text)
    except (UsageError, ValueError) as e:
        raise invalid_argument(text, "--shm-size", str(e)) from None
    if size < 0:
        raise UsageError("SHM size can not be less than 0")
    return size or DEFAULT_SHM_SIZE


_SYSCTL_NAMES = frozenset({"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
                           "kernel.shmall", "kernel.shmmax", "kernel.shmmni",
                           "kernel.shm_rmid_forced"})
_SYSCTL_PREFIXES = ("net.", "fs.mqueue.")


def sysctls(entries, network_host: bool = False, ipc_host: bool = False) -> dict[str, str]:
    """--sysctl KEY=VALUE as linux.sysctl: only the namespaced keys Docker
    allows (IPC ones, fs.mqueue.*, net.*), and none of a namespace the
    container shares with the host (runc validateSysctl)."""
    out: dict[str, str] = {}
    for entry in entries:
        key, eq, value = entry.partition("=")
        ipc = key in _SYSCTL_NAMES or key.startswith("fs.mqueue.")
        # A `/` separates components too (sysctl(8)): `net.x/../../kernel/...`
        # would leave the namespaced tree.
        parts = key.replace("/", ".").split(".")
        if not eq or not (ipc or key.startswith("net.")) or \
                any(p in ("", "..") for p in parts):
            raise invalid_argument(entry, "--sysctl", f"sysctl '{entry}' is not allowed")
        if ipc and ipc_host:
            raise UsageError(f"sysctl {_q(key)} not allowed with host ipc namespace")
        if key.startswith("net.") and network_host:
            raise UsageError(f"sysctl {_q(key)} not allowed in host network namespace")
        out[key] = value
    return out


# -- namespaces ---------------------------------------------------------------

IPC_MODES = ("", "private", "shareable", "host", "none")


def container_ref(mode: str | None) -> str | None:
    """The NAME of `container:NAME` (the namespace modes), else None."""
    if mode and mode.startswith("container:"):
        return mode[len("container:"):]
    return None


def check_namespace_modes(opts: RunOptions) -> None:
    """Docker's parse of --ipc, --pid, --uts, --userns, --cgroupns."""
    for flag, value, modes, what in (
            ("--ipc", opts.ipc, IPC_MODES, "IPC"),
            ("--pid", opts.pid, ("", "host"), "PID"),
            ("--uts", opts.uts, ("", "host"), "UTS"),
            ("--userns", opts.userns, ("", "host"), "USER"),
            ("--cgroupns", opts.cgroupns, ("", "host", "private"), "CGROUP")):
        if value is None or value in modes:
            continue
        if flag in ("--ipc", "--pid") and container_ref(value):
            continue
        raise UsageError(f"{flag}: invalid {what} mode")
    if opts.uts == "host" and opts.hostname:
        raise UsageError("conflicting options: hostname and the UTS mode")


def namespaces(base: list[dict], opts: RunOptions, joins: dict[str, str]) -> list[dict]:
    """linux.namespaces: the network mode's list with --ipc/--pid/--uts/
    --cgroupns applied; `joins` maps a type to the namespace file of the
    container it shares (container:NAME, resolved by the caller)."""
    drop = set()
    if opts.ipc == "host":
        drop.add("ipc")
    if opts.pid == "host":
        drop.add("pid")
    if opts.uts == "host":
        drop.add("uts")
    if opts.cgroupns == "host":
        drop.add("cgroup")
    out = []
    for ns in base:
        kind = ns["type"]
        if kind in drop:
            continue
        out.append({"type": kind, "path": joins[kind]} if kind in joins else ns)
    return out


def shm_mount(opts: RunOptions, shared_shm: str | None) -> dict | None:
    """/dev/shm when it is not the runtime's default (a private 64m tmpfs):
    --shm-size, the host's with --ipc host, the one of the container whose
    IPC namespace is joined (shared_shm, its path seen from here)."""
    if opts.ipc == "host":
        shared_shm = "/dev/shm"
    if shared_shm:
        return {"destination": "/dev/shm", "type": "bind", "source": shared_shm,
                "options": ["rbind", "rprivate"]}
    if opts.shm_size in (None, ""):
        return None
    return {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
            "options": ["nosuid", "noexec", "nodev", "mode=1777",
                        f"size={shm_size(opts.shm_size)}"]}


# -- devices ------------------------------------------------------------------


def parse_device(text: str) -> tuple[str, str, str]:
    """--device HOST[:CONTAINER][:PERMISSIONS] -> (host, container,
    permissions) (docker-cli validateDevice / parseDevice)."""
    parts = text.split(":")
    if len(parts) == 2 and _is_perms(parts[1]):
        parts = [parts[0], parts[0], parts[1]]
    if len(parts) > 3 or not parts[0]:
        raise invalid_argument(text, "--device", f"bad format for path: {text}")
    host = parts[0]
    container = parts[1] if len(parts) > 1 and parts[1] else host
    perms = parts[2] if len(parts) > 2 else "rwm"
    if not _is_perms(perms):
        raise invalid_argument(text, "--device", f"bad mode specified: {perms}")
    for path in (host, container):
        if not path.startswith("/"):
            raise invalid_argument(text, "--device", f"{path} is not an absolute path")
    if not posixpath.normpath(container).startswith("/dev/"):
        # The runtime makes device nodes in the container's /dev only.
        raise UsageError(f"--device {text}: the container path must be under /dev")
    return host, container, perms


def _is_perms(text: str) -> bool:
    return 0 < len(text) <= 3 and not set(text) - set("rwm") and len(set(text)) == len(text)


def is_cdi_name(text: str) -> bool:
    """vendor.com/class=name: a CDI device (Docker's --device takes them)."""
    kind, eq, name = text.partition("=")
    return bool(eq and name and "/" in kind and not kind.startswith("/"))


def device_cgroup_rule(text: str) -> dict:
    """--device-cgroup-rule 'c 1:3 mr' as an OCI LinuxDeviceCgroup (allow)
    (docker-cli ValidateDeviceCgroupRule)."""
    bad = invalid_argument(text, "--device-cgroup-rule", f"invalid device cgroup format '{text}'")
    fields = text.split(" ")
    if len(fields) != 3 or fields[0] not in ("a", "b", "c"):
        raise bad
    major, colon, minor = fields[1].partition(":")
    access = fields[2]
    if not colon or not _is_number_or_star(major) or not _is_number_or_star(minor) \
            or not 0 < len(access) <= 3 or set(access) - set("rwm"):
        raise bad
    rule: dict = {"allow": True, "type": fields[0], "access": access}
    if major != "*":
        rule["major"] = int(major)
    if minor != "*":
        rule["minor"] = int(minor)
    return rule


def _is_number_or_star(text: str) -> bool:
    return text == "*" or (text.isdigit() and text.isascii())


def parse_gpus(text: str) -> tuple[str, ...]:
    """--gpus all | N | device=ID[,ID...] (plus driver=, capabilities=, count=)
    -> the CDI device names asked for (nvidia.com/gpu=ID or =all), as
    Docker maps --gpus onto CDI."""
    count, ids = None, ()
    for field in _csv(text):
        key, eq, value = field.partition("=")
        if not eq:
            if field == "all":
                count = -1
            elif field.isdigit():
                count = int(field)
            else:
                raise invalid_argument(text, "--gpus", f"unexpected key '{field}' in '{text}'")
        elif key == "count":
            count = -1 if value == "all" else _gpu_count(value, text)
        elif key == "device":
            ids = tuple(v for v in value.split(",") if v)
        elif key not in ("driver", "capabilities", "options"):
            raise invalid_argument(text, "--gpus", f"unexpected key '{key}' in '{text}'")
    if ids and count is not None:
        raise invalid_argument(text, "--gpus", "cannot set both Count and DeviceIDs on device "
                                              "request")
    if ids:
        return tuple(f"nvidia.com/gpu={i}" for i in ids)
    if count is None or count == -1:
        return ("nvidia.com/gpu=all",)
    return tuple(f"nvidia.com/gpu={i}" for i in range(count))


def _gpu_count(value: str, text: str) -> int:
    if not value.isdigit():
        raise invalid_argument(text, "--gpus", f'strconv.Atoi: parsing "{value}": invalid syntax')
    return int(value)


def _csv(text: str) -> list[str]:
    """Fields of a CSV line (Docker reads --gpus with encoding/csv): a
    quoted field may hold commas (`"device=0,1"`)."""
    fields, cur, quoted = [], [], False
    for c in text:
        if c == '"':
            quoted = not quoted
        elif c == "," and not quoted:
            fields.append("".join(cur))
            cur = []
        else:
            cur.append(c)
    fields.append("".join(cur))
    return [f for f in fields if f]


# -- cgroup knobs ---------------------------------------------------------------


def parse_cpuset(text: str, flag: str) -> list[int]:
    """cpuset.cpus / cpuset.mems syntax (0-3,5) -> the ids; Docker's error
    for anything else (pkg/parsers.ParseUintList)."""
    out = []
    for part in text.split(","):
        lo, dash, hi = part.partition("-")
        if not (lo.isdigit() and lo.isascii()) or (dash and not (hi.isdigit() and hi.isascii())):
            raise UsageError(f"Invalid value {text} for {flag}")
        first, last = int(lo), int(hi) if dash else int(lo)
        if last < first:
            raise UsageError(f"Invalid value {text} for {flag}")
        out.extend(range(first, last + 1))
    return out


def check_cpuset(text: str | None, flag: str, available: list[int] | None, what: str) -> None:
    """The set parses and names only CPUs (memory nodes) this host has
    (verifyPlatformContainerResources' isCpusetListAvailable)."""
    if not text:
        return
    wanted = parse_cpuset(text, flag)
    if available is not None and not set(wanted) <= set(available):
        raise UsageError(f"Requested {what} are not available - requested {text}, "
                         f"available: {format_cpuset(available)}")


def format_cpuset(ids: list[int]) -> str:
    out, ids = [], sorted(set(ids))
    i = 0
    while i < len(ids):
        j = i
        while j + 1 < len(ids) and ids[j + 1] == ids[j] + 1:
            j += 1
        out.append(str(ids[i]) if i == j else f"{ids[i]}-{ids[j]}")
        i = j + 1
    return ",".join(out)


def check_resources(opts: RunOptions) -> None:
    """The cgroup knobs' ranges and conflicts, in the daemon's words."""
    if opts.cpus and (opts.cpu_period or opts.cpu_quota):
        what = "Period" if opts.cpu_period else "Quota"
        raise UsageError(f"Conflicting options: Nano CPUs and CPU {what} cannot both be set")
    if opts.cpu_period and not 1000 <= opts.cpu_period <= 1_000_000:
        raise UsageError("CPU cfs period can not be less than 1ms (i.e. 1000) or larger "
                         "than 1s (i.e. 1000000)")
    if opts.cpu_quota and 0 < opts.cpu_quota < 1000:
        raise UsageError("CPU cfs quota can not be less than 1ms (i.e. 1000)")
    reservation = memory_reservation(opts)
    if reservation is not None:
        if reservation < security.MIN_MEMORY:
            raise UsageError("Minimum memory reservation allowed is 6MB")
        limit = security.memory_resources(opts.memory).get("limit")
        if limit and limit > 0 and limit < reservation:
            raise UsageError("Minimum memory limit can not be less than memory reservation "
                             "limit, see usage")
    if opts.oom_score_adj is not None and not -1000 <= opts.oom_score_adj <= 1000:
        raise UsageError(f"Invalid value {opts.oom_score_adj}, range for oom score adj is "
                         f"[-1000, 1000]")
    if opts.blkio_weight and not 10 <= opts.blkio_weight <= 1000:
        raise UsageError("Range of blkio weight is from 10 to 1000")
    if opts.cgroup_parent and ".." in opts.cgroup_parent.split("/"):
        raise UsageError(f"invalid --cgroup-parent {opts.cgroup_parent}: must not contain '..'")


def memory_reservation(opts: RunOptions) -> int | None:
    if not opts.memory_reservation:
        return None
    try:
        return security.ram_in_bytes(opts.memory_reservation)
    except (UsageError, ValueError) as e:
        raise invalid_argument(opts.memory_reservation, "--memory-reservation",
                               str(e)) from None


def resources(opts: RunOptions, out: dict) -> dict:
    """linux.resources with the cgroup knobs added (out: the base map)."""
    cpu = out.get("cpu") or {}
    if opts.cpu_period:
        cpu["period"] = opts.cpu_period
    if opts.cpu_quota:
        cpu["quota"] = opts.cpu_quota
    if opts.cpuset_cpus:
        cpu["cpus"] = opts.cpuset_cpus
    if opts.cpuset_mems:
        cpu["mems"] = opts.cpuset_mems
    if cpu:
        out["cpu"] = cpu
    memory = out.get("memory") or {}
    reservation = memory_reservation(opts)
    if reservation is not None:
        memory["reservation"] = reservation
    if opts.oom_kill_disable:
        memory["disableOOMKiller"] = True
    if memory:
        out["memory"] = memory
    if opts.blkio_weight:
        out["blockIO"] = {"weight": opts.blkio_weight}
    rules = [device_cgroup_rule(r) for r in opts.device_cgroup_rules]
    if rules and not opts.privileged:
        out["devices"] = out["devices"] + rules
    return out


def cgroups_path(parent: str, default: str) -> str:
    """linux.cgroupsPath with --cgroup-parent: /PARENT/ID, ID the last part
    of the default path, from the hierarchy's root as Docker's cgroupfs
    driver joins them (never relative to the caller's own cgroup: `rm` or
    the monitor, in other cgroups, must find the same one)."""
    return "/" + parent.strip("/") + "/" + default.rsplit("/", 1)[-1]


# -- security options and the runtime ----------------------------------------

_LABEL_KEYS = ("user", "role", "type", "level", "filetype")
RUNTIMES = ("rs-docker",)


def check_security_opts(entries) -> None:
    """label=disable|user:|role:|type:|level:|filetype:, apparmor=PROFILE
    (Docker's parseSecurityOpts); the rest is spec._no_new_privileges'."""
    for opt in entries:
        key, sep, value = opt.replace("=", ":", 1).partition(":")
        if key == "label":
            kind, colon, _ = value.partition(":")
            if not (value == "disable" or value == "nested" or (colon and kind in _LABEL_KEYS)):
                raise UsageError(f"invalid --security-opt 2: {_q(opt)}")
        elif key == "apparmor" and not value:
            raise UsageError(f"invalid --security-opt 1: {_q(opt)}")


def apparmor_profile(entries) -> str | None:
    for opt in entries:
        key, _, value = opt.replace("=", ":", 1).partition(":")
        if key == "apparmor":
            return value
    return None


def check_runtime(name: str | None) -> None:
    """--runtime: rs-docker's own runtime is the one there is (an OCI
    runtime binary, runc's command line, is issue 17's)."""
    if name and name not in RUNTIMES:
        raise UsageError(f"unknown or invalid runtime name: {name} "
                         f"(only the built-in runtime, rs-docker, can run containers)")


# -- all of it ----------------------------------------------------------------


def check(opts: RunOptions, ncpu: list[int] | None = None, nmems: list[int] | None = None) -> None:
    """Every everyday flag checked before a pull (spec.check_flags).
    ncpu/nmems: the host's CPUs and memory nodes, if known."""
    check_annotations(opts.annotations)
    if opts.shm_size:
        shm_size(opts.shm_size)
    check_namespace_modes(opts)
    sysctls(opts.sysctls, opts.network == "host", opts.ipc == "host")
    for text in opts.devices:
        if not is_cdi_name(text):
            parse_device(text)
    for text in opts.device_cgroup_rules:
        device_cgroup_rule(text)
    if opts.gpus is not None:
        parse_gpus(opts.gpus)
    if ncpu is None and opts.cpuset_cpus:
        ncpu = sorted(os.sched_getaffinity(0))  # the daemon's cpuset, in Docker
    check_cpuset(opts.cpuset_cpus, "cpuset cpus", ncpu, "CPUs")
    check_cpuset(opts.cpuset_mems, "cpuset mems", nmems, "memory nodes")
    check_resources(opts)
    check_security_opts(opts.security_opt)
    check_runtime(opts.runtime)
    for entry in opts.group_add:
        if not entry:
            raise invalid_argument(entry, "--group-add", "empty group name")


def apply(config: dict, opts: RunOptions, extra) -> None:
    """The everyday flags' part of config.json, in place. extra:
    spec.Inputs.extra, what the caller resolved on the host (devices,
    groups, namespaces joined, /dev/shm shared)."""
    extra = extra or {}
    process, linux = config["process"], config["linux"]
    gids = process["user"]["additionalGids"]
    for gid in extra.get("group_gids", ()):
        if gid not in gids:
            gids.append(gid)
    if opts.oom_score_adj is not None:
        process["oomScoreAdj"] = opts.oom_score_adj
    profile = apparmor_profile(opts.security_opt)
    if profile and extra.get("apparmor"):
        process["apparmorProfile"] = profile
    if opts.domainname:
        config["domainname"] = opts.domainname
    if opts.uts == "host":
        config.pop("hostname", None)
    linux["namespaces"] = namespaces(linux["namespaces"], opts, extra.get("joins") or {})
    values = sysctls(opts.sysctls, opts.network == "host", opts.ipc == "host")
    if values:
        linux["sysctl"] = values
    linux["resources"] = resources(opts, linux["resources"])
    if opts.cgroup_parent and linux.get("cgroupsPath"):
        linux["cgroupsPath"] = cgroups_path(opts.cgroup_parent, linux["cgroupsPath"])
    devices = list(extra.get("devices", ()))
    if devices:
        linux["devices"] = devices
        if not opts.privileged:
            linux["resources"]["devices"] = linux["resources"]["devices"] + [
                {"allow": True, "type": d["type"], "major": d["major"], "minor": d["minor"],
                 "access": d.pop("access", "rwm")} for d in devices]
    for d in devices:
        d.pop("access", None)
    mount = shm_mount(opts, extra.get("shared_shm"))
    if mount is not None:
        config["mounts"] = [m for m in config["mounts"] if m["destination"] != "/dev/shm"]
        config["mounts"].append(mount)
    for m in extra.get("mounts", ()):
        config["mounts"].append(m)
    env = extra.get("env")
    if env:
        process["env"] = process["env"] + list(env)
    annotations = key_values(opts.annotations)
    if annotations:
        config.setdefault("annotations", {}).update(annotations)
