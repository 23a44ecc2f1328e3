"""Docker's security defaults and the pure functions that turn `docker run`
flags into the OCI config.json sections the runtime enforces.

Sources: moby oci/caps/defaults.go (default capabilities), oci/caps/utils.go
(cap-add/cap-drop resolution), oci/oci.go SetCapabilities (sets for a non-root
user), oci/defaults.go (masked and read-only paths), docker/go-units
(ulimit and size parsing), daemon/oci_linux.go (--cpus -> CFS quota).
"""

from __future__ import annotations

from rs_docker.errors import UsageError
from rs_docker.models.seccomp_profile import convert_profile

# Capability names by number, include/uapi/linux/capability.h (Linux 5.9+).
ALL_CAPS: tuple[str, ...] = tuple("CAP_" + n for n in (
    "CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP "
    "LINUX_IMMUTABLE NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER "
    "SYS_MODULE SYS_RAWIO SYS_CHROOT SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE "
    "SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG MKNOD LEASE AUDIT_WRITE AUDIT_CONTROL SETFCAP "
    "MAC_OVERRIDE MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND AUDIT_READ PERFMON BPF "
    "CHECKPOINT_RESTORE").split())
CAP_NUMBERS: dict[str, int] = {name: i for i, name in enumerate(ALL_CAPS)}

# moby oci/caps/defaults.go, in Docker's order. Mask 0xa80425fb.
DEFAULT_CAPS: tuple[str, ...] = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
)

# moby oci/defaults.go DefaultLinuxSpec: hidden from (masked) and read-only in
# every unprivileged container.
MASKED_PATHS: tuple[str, ...] = (
    "/proc/acpi", "/proc/asound", "/proc/interrupts", "/proc/kcore", "/proc/keys",
    "/proc/latency_stats", "/proc/sched_debug", "/proc/scsi", "/proc/timer_list",
    "/proc/timer_stats", "/sys/firmware", "/sys/devices/virtual/powercap",
)
READONLY_PATHS: tuple[str, ...] = (
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
)

RLIM_INFINITY = 2**64 - 1  # OCI rlimits are uint64; RLIM_INFINITY is all ones

# docker/go-units ulimit.go: the names `--ulimit` accepts.
ULIMIT_NAMES = ("core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice",
                "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack")

MIN_MEMORY = 6 * 1024 * 1024  # daemon/daemon_unix.go linuxMinMemory
CFS_PERIOD_US = 100_000       # daemon/oci_linux.go: "The CPU period is set to 100ms"


# ---- capabilities -------------------------------------------------------

def normalize_caps(names: list[str] | tuple[str, ...]) -> list[str]:
    """Upper-case, add the CAP_ prefix, keep "ALL"; unknown names are a UsageError
    (moby NormalizeLegacyCapabilities)."""
    out = []
    for name in names:
        cap = name.strip().upper()
        if cap != "ALL" and not cap.startswith("CAP_"):
            cap = "CAP_" + cap
        if cap != "ALL" and cap not in CAP_NUMBERS:
            raise UsageError(f'unknown capability: "{cap}"')
        out.append(cap)
    return out


def resolve_caps(cap_add=(), cap_drop=(), privileged: bool = False,
                 available: frozenset[str] | None = None) -> list[str]:
    """The container's capability set after --privileged/--cap-add/--cap-drop
    (moby TweakCapabilities). `available` is what this host can grant (the
    caller's own capabilities, moby oci/caps/utils_linux.go initCaps); "ALL"
    and --privileged mean all of those, and an added capability the host lacks
    is skipped, as Docker does."""
    every = [c for c in ALL_CAPS if available is None or c in available]
    if privileged:
        return every
    adds, drops = normalize_caps(list(cap_add)), normalize_caps(list(cap_drop))
    if "ALL" in adds:
        caps = [c for c in every if c not in drops]
    elif "ALL" in drops:
        caps = adds
    else:
        caps = [c for c in DEFAULT_CAPS if c not in drops] + adds
    seen: dict[str, None] = {}
    for cap in caps:
        if cap != "ALL" and (available is None or cap in available):
            seen.setdefault(cap)
    return list(seen)


def capabilities_for(cap_add=(), cap_drop=(), privileged: bool = False, uid: int = 0,
                     available: frozenset[str] | None = None) -> dict[str, list[str]]:
    """OCI process.capabilities as current Docker writes them (moby
    oci/oci.go SetCapabilities): bounding = permitted = effective = the set;
    inheritable empty since 20.10.14 (CVE-2022-24769); for a non-root user
    effective and permitted are emptied "in the way execve does"."""
    caps = resolve_caps(cap_add, cap_drop, privileged, available)
    mine = caps if uid == 0 else []
    return {"bounding": list(caps), "effective": list(mine), "permitted": list(mine),
            "inheritable": []}


def caps_mask(names) -> int:
    """The /proc/<pid>/status Cap* bit mask of a list of capability names."""
    mask = 0
    for name in names:
        mask |= 1 << CAP_NUMBERS[name]
    return mask


# Docker's device cgroup (runc libcontainer/specconv AllowedDevices, which
# moby applies after denying everything): any node may be made (mknod),
# only these may be read or written. Without it, the container's root, who
# holds CAP_MKNOD, could make and open any host device (a disk, say).
DEVICE_RULES: tuple[tuple[str, int | None, int | None, str], ...] = (
    ("c", None, None, "m"), ("b", None, None, "m"),
    ("c", 1, 3, "rwm"),     # /dev/null
    ("c", 1, 8, "rwm"),     # /dev/random
    ("c", 1, 7, "rwm"),     # /dev/full
    ("c", 5, 0, "rwm"),     # /dev/tty
    ("c", 1, 5, "rwm"),     # /dev/zero
    ("c", 1, 9, "rwm"),     # /dev/urandom
    ("c", 136, None, "rwm"),  # /dev/pts/*
    ("c", 5, 2, "rwm"),     # /dev/ptmx
    ("c", 10, 200, "rwm"),  # /dev/net/tun (runc 1.2.4 put it back: users rely on it)
)


def device_rules(privileged: bool = False) -> list[dict]:
    """linux.resources.devices (OCI LinuxDeviceCgroup, in order): deny all,
    then Docker's allowed devices; --privileged allows every device."""
    if privileged:
        return [{"allow": True, "access": "rwm"}]
    rules: list[dict] = [{"allow": False, "access": "rwm"}]
    for kind, major, minor, access in DEVICE_RULES:
        rule = {"allow": True, "type": kind, "access": access}
        if major is not None:
            rule["major"] = major
        if minor is not None:
            rule["minor"] = minor
        rules.append(rule)
    return rules


def masked_paths(privileged: bool = False) -> list[str]:
    return [] if privileged else list(MASKED_PATHS)


def readonly_paths(privileged: bool = False) -> list[str]:
    return [] if privileged else list(READONLY_PATHS)


# ---- seccomp ------------------------------------------------------------

def default_seccomp_profile() -> dict:
    """Docker's default profile, in Docker's own JSON format."""
    from rs_docker.models import seccomp_default

    return seccomp_default.profile()


def seccomp_for(security_opts=(), privileged: bool = False, caps=(),
                arch: str | None = None, kernel: str | None = None) -> dict | None:
    """OCI linux.seccomp for the --security-opt values, or None (unconfined).
    `caps` is the bounding set; cap-conditional rules of the profile follow it
    (moby profiles/seccomp/seccomp_linux.go setupSeccomp)."""
    profile: dict | None = default_seccomp_profile()
    for opt in security_opts:
        key, sep, value = opt.partition("=")
        if not sep:
            key, sep, value = opt.partition(":")  # the old "seccomp:..." spelling
        if key != "seccomp":
            continue
        if not value:
            raise UsageError(f"invalid --security-opt: {opt}")
        profile = None if value == "unconfined" else _load_profile(value)
    if privileged or profile is None:
        return None
    return convert_profile(profile, caps=caps, arch=arch, kernel=kernel)


def _load_profile(path: str) -> dict:
    import json  # only for a user's profile: json imports re (~6 ms, issue 6)

    try:
        with open(path) as f:
            data = json.loads(f.read())
    except OSError as e:
        raise UsageError(f"opening seccomp profile {path}: {e.strerror.lower()}") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise UsageError(f"decoding seccomp profile {path}: {e}") from None
    if not isinstance(data, dict):
        raise UsageError(f"decoding seccomp profile {path}: not a JSON object")
    return data


# ---- rlimits, memory, cpus ------------------------------------------------

def parse_ulimit(text: str) -> dict:
    """`nofile=1024:2048` -> {"type": "RLIMIT_NOFILE", "soft": 1024, "hard": 2048}.
    A missing hard limit equals the soft one; -1 or "unlimited" is RLIM_INFINITY
    (docker/go-units ParseUlimit)."""
    name, sep, values = text.partition("=")
    if not sep or not values:
        raise UsageError(f"invalid ulimit argument: {text}")
    if name not in ULIMIT_NAMES:
        raise UsageError(f"invalid ulimit type: {name}")
    soft_s, _, hard_s = values.partition(":")
    soft = _ulimit_value(soft_s, text)
    hard = _ulimit_value(hard_s, text) if hard_s else soft
    if soft > hard:
        raise UsageError(f"ulimit soft limit must be less than or equal to hard limit: "
                         f"{soft} > {hard}")
    return {"type": "RLIMIT_" + name.upper(), "soft": soft, "hard": hard}


def _ulimit_value(s: str, text: str) -> int:
    if s in ("-1", "unlimited"):
        return RLIM_INFINITY
    if not s.isdigit():
        raise UsageError(f"invalid ulimit argument: {text}")
    return int(s)


_SIZE = r"^(\d+(?:\.\d+)?) ?([kmgtp])?i?b?$"


def parse_memory(text: str) -> int:
    """`32m` -> 33554432: binary units, case-insensitive, optional b/ib
    (docker/go-units RAMInBytes)."""
    import re  # only with a size flag: re (and enum, functools) cost ~5 ms a run

    m = re.match(_SIZE, text.strip(), re.IGNORECASE)
    if not m:
        raise UsageError(f"invalid size: '{text}'")
    unit = (m.group(2) or "").lower()
    return int(float(m.group(1)) * 1024 ** (" kmgtp".index(unit) if unit else 0))


def memory_resources(memory: str | int | None, memory_swap: str | int | None = None) -> dict:
    """OCI linux.resources.memory for --memory / --memory-swap. --memory-swap
    is memory plus swap, -1 unlimited; unset means twice --memory (Docker)."""
    mem = _size(memory)
    swap = _size(memory_swap)
    if mem is None:
        if swap not in (None, -1):
            raise UsageError("you should always set the memory limit when using "
                             "memoryswap limit, see usage")
        return {}
    if mem < MIN_MEMORY:
        raise UsageError("minimum memory limit allowed is 6MB")
    if swap is None:
        swap = 2 * mem
    elif swap != -1 and swap < mem:
        raise UsageError("minimum memoryswap limit should be larger than memory limit, "
                         "see usage")
    return {"limit": mem, "swap": swap}


def _size(value: str | int | None) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, int) or value.strip() == "-1":
        return int(value)
    return parse_memory(value)


def cpus_to_quota(cpus: str | float, ncpu: int | None = None) -> dict:
    """--cpus 1.5 -> {"quota": 150000, "period": 100000} (daemon/oci_linux.go:
    NanoCPUs * period / 1e9)."""
    try:
        value = float(cpus)
    except ValueError:
        raise UsageError(f'invalid argument "{cpus}" for "--cpus" flag: '
                         f"failed to parse {cpus} as a rational number") from None
    nano = round(value * 1e9)
    if nano < 0 or (ncpu is not None and nano > ncpu * 10**9) or 0 < nano < 10**7:
        limit = f"{ncpu}.00" if ncpu else "the number of CPUs"
        raise UsageError(f"range of cpus is from 0.01 to {limit}, as there are only "
                         f"{ncpu} cpus available" if ncpu else
                         f"range of cpus is from 0.01 to {limit}")
    if nano == 0:
        return {}
    return {"quota": nano * CFS_PERIOD_US // 10**9, "period": CFS_PERIOD_US}
