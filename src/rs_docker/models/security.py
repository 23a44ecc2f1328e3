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

# runc libcontainer/rootfs_linux.go checkProcMount: nothing may be mounted
# on /proc but a procfs, nor anywhere below it but these files (what lxcfs
# emulates). A mount over /proc leaves the container without procfs, or
# with a fake one whose /proc/self/attr and masked paths are the attacker's
# (CVE-2019-16884, CVE-2019-19921).
PROC_MOUNTABLE = frozenset({
    "/proc/cpuinfo", "/proc/diskstats", "/proc/meminfo", "/proc/stat", "/proc/swaps",
    "/proc/uptime", "/proc/loadavg", "/proc/slabinfo", "/proc/sys/kernel/ns_last_pid",
    "/proc/sys/crypto/fips_enabled"})

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


def proc_mount_refusal(destination: str, fstype: str | None = None) -> str | None:
    """Why runc refuses a mount of type fstype at destination (clean,
    absolute, symlinks resolved), in runc's words; None when it may go."""
    if destination == "/proc":
        return None if fstype == "proc" else \
            '"/proc" cannot be mounted because it is not of type proc'
    if destination.startswith("/proc/") and destination not in PROC_MOUNTABLE:
        from rs_docker.models.flags import quote

        return f"{quote(destination)} cannot be mounted because it is inside /proc"
    return None


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


# A profile is tens of KiB (Docker's own, every architecture in it, ~25 KiB);
# the bound keeps `seccomp=/dev/zero` from reading without end.
SECCOMP_PROFILE_MAX = 4 << 20


def _load_profile(path: str) -> dict:
    from rs_docker import jsonio
    from rs_docker.models.flags import read_regular_file

    raw = read_regular_file(path, SECCOMP_PROFILE_MAX, "seccomp profile",
                            opening="opening seccomp profile")
    try:
        # json's own decoder (here only: json imports re, kept off the run
        # path) for what json.loads reads: a BOM, UTF-16.
        data = jsonio.loads_any(raw, max_depth=jsonio.MAX_DEPTH)
    except ValueError as e:  # UnicodeDecodeError and TooDeep included
        raise UsageError(f"decoding seccomp profile {path}: {e}") from None
    if not isinstance(data, dict):
        raise UsageError(f"decoding seccomp profile {path}: not a JSON object")
    return data


# ---- rlimits, memory, cpus ------------------------------------------------
#
# Every number here ends in a kernel file or a syscall (memory.limit_in_bytes,
# cpu.cfs_quota_us, setrlimit): a value the kernel would wrap (its memparse
# reads an unsigned 64-bit number, so 2**64 + 64 MiB is a 64 MiB limit) or
# Python would take but Go would not (float("nan"), int("\u0663")) is refused
# here, with the message docker/cli (pflag) or the daemon gives for it.

INT64_MAX = 2**63 - 1
_DIGITS = frozenset("0123456789")


def parse_ulimit(text: str) -> dict:
    """`nofile=1024:2048` -> {"type": "RLIMIT_NOFILE", "soft": 1024, "hard": 2048}.
    A missing hard limit equals the soft one; -1 or "unlimited" is RLIM_INFINITY
    (docker/go-units ParseUlimit: each limit a strconv.ParseInt int64). Errors
    as pflag reports them for --ulimit."""
    from rs_docker.models.flags import invalid_argument

    name, sep, values = text.partition("=")
    if not sep or not values:
        raise invalid_argument(text, "--ulimit", f"invalid ulimit argument: {text}")
    if name not in ULIMIT_NAMES:
        raise invalid_argument(text, "--ulimit", f"invalid ulimit type: {name}")
    soft_s, colon, hard_s = values.partition(":")
    try:
        soft = _ulimit_value(soft_s, text)
        hard = _ulimit_value(hard_s, text) if colon else soft
    except ValueError as e:
        raise invalid_argument(text, "--ulimit", str(e)) from None
    if soft > hard:
        shown = "soft: -1 (unlimited), hard: " if soft == RLIM_INFINITY else f"{soft} > "
        raise invalid_argument(text, "--ulimit", f"ulimit soft limit must be less than or "
                                                 f"equal to hard limit: {shown}{hard}")
    return {"type": "RLIMIT_" + name.upper(), "soft": soft, "hard": hard}


def _ulimit_value(s: str, text: str) -> int:
    if s == "unlimited":
        return RLIM_INFINITY
    value = go_int(s)
    if value == -1:
        return RLIM_INFINITY
    if value < 0:  # go-units would hand it on, and uint64() makes it huge
        raise ValueError(f"invalid ulimit argument: {text}")
    return value


def go_int(s: str) -> int:
    """strconv.ParseInt(s, 10, 64): ASCII digits only (Python's int() also
    takes "\u0663", " 1" and "1_0"); ValueError with strconv's message."""
    digits = s[1:] if s[:1] in ("+", "-") else s
    if not digits or not _DIGITS.issuperset(digits):
        raise ValueError(f"strconv.ParseInt: parsing {_quote(s)}: invalid syntax")
    if len(digits) > 19 or not -INT64_MAX - 1 <= int(s) <= INT64_MAX:
        raise ValueError(f"strconv.ParseInt: parsing {_quote(s)}: value out of range")
    return int(s)


def _quote(text: str) -> str:
    from rs_docker.models.flags import quote

    return quote(text)


def _is_decimal(s: str) -> bool:
    """s is [+-]digits[.digits][e[+-]digits] (either side of the point may be
    empty, not both): the decimal syntax Go's strconv.ParseFloat and
    big.Rat.SetString share. No nan, inf, hex or underscores."""
    mantissa, e, exponent = s.lower().partition("e")
    if mantissa[:1] in ("+", "-"):
        mantissa = mantissa[1:]
    whole, _, frac = mantissa.partition(".")
    if not (whole or frac) or not _DIGITS.issuperset(whole + frac):
        return False
    if e:
        exponent = exponent[1:] if exponent[:1] in ("+", "-") else exponent
        return bool(exponent) and _DIGITS.issuperset(exponent)
    return True


def go_float(s: str) -> float:
    """strconv.ParseFloat(s, 64) of decimal text; ValueError with strconv's
    message (a finite float only: 1e400 is out of range)."""
    if not _is_decimal(s):
        raise ValueError(f"strconv.ParseFloat: parsing {_quote(s)}: invalid syntax")
    value = float(s)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"strconv.ParseFloat: parsing {_quote(s)}: value out of range")
    return value


def ram_in_bytes(text: str) -> int:
    """`32m` -> 33554432 (docker/go-units RAMInBytes): a decimal number, an
    optional space, an optional binary unit b, k, m, g, t, p (any case, with
    an optional b or ib). ValueError with go-units' reason; a size of 2**63
    bytes or more is "value out of range" (Go's int64() of it is undefined,
    and the kernel would wrap it)."""
    num, space, suffix = text.partition(" ")
    if not space:
        end = max(text.rfind(c) for c in "0123456789.")
        if end < 0:
            raise ValueError(f"invalid size: '{text}'")
        num, suffix = text[:end + 1], text[end + 1:]
    size = go_float(num)
    if size < 0:
        raise ValueError(f"invalid size: '{text}'")
    if suffix:
        size *= _unit(suffix)
    if size > INT64_MAX:
        raise ValueError("value out of range")
    return int(size)


def _unit(suffix: str) -> int:
    sfx = suffix.lower()  # "\u212a" (KELVIN SIGN) lowers to "k": ASCII only
    if len(sfx) > 3 or not suffix.isascii():
        raise ValueError(f"invalid suffix: '{suffix}'")
    if sfx[0] == "b" and len(sfx) == 1:
        return 1
    power = "kmgtp".find(sfx[0]) + 1
    if power == 0 or sfx[1:] not in ("", "b", "ib"):
        raise ValueError(f"invalid suffix: '{sfx}'")
    return 1024 ** power


def parse_memory(text: str) -> int:
    """ram_in_bytes, its reason as a UsageError."""
    try:
        return ram_in_bytes(text)
    except ValueError as e:
        raise UsageError(str(e)) from None


def memory_resources(memory: str | int | None, memory_swap: str | int | None = None) -> dict:
    """OCI linux.resources.memory for --memory / --memory-swap, checked as
    moby's verifyPlatformContainerResources does (daemon/daemon_unix.go, its
    messages): 0 is no limit; --memory-swap is memory plus swap, -1
    unlimited, unset twice --memory (adaptContainerSettings)."""
    mem = _size(memory, "-m, --memory") or 0
    swap = _size(memory_swap, "--memory-swap", allow_unlimited=True) or 0
    if mem != 0 and mem < MIN_MEMORY:
        raise UsageError("Minimum memory limit allowed is 6MB")
    if mem > 0 and swap > 0 and swap < mem:
        raise UsageError("Minimum memoryswap limit should be larger than memory limit, "
                         "see usage")
    if mem == 0 and swap > 0:
        raise UsageError("You should always set the Memory limit when using Memoryswap "
                         "limit, see usage")
    if mem == 0:
        return {}
    return {"limit": mem, "swap": swap or 2 * mem}


def _size(value: str | int | None, flag: str, allow_unlimited: bool = False) -> int | None:
    """A size flag's bytes; docker/cli's MemSwapBytes alone takes "-1"."""
    if value is None or value == "":
        return None
    if isinstance(value, int):
        return value
    if allow_unlimited and value == "-1":
        return -1
    try:
        return ram_in_bytes(value)
    except ValueError as e:
        from rs_docker.models.flags import invalid_argument

        raise invalid_argument(value, flag, str(e)) from None


def parse_cpus(text: str) -> int:
    """--cpus as nano-CPUs, exactly (docker/cli opts.ParseCPUs: a big.Rat,
    `1.5`, `15e-1` or `3/2`, times 1e9, which must be a whole number: "value
    is too precise" past nine decimal places). nan, inf and 1e309 are not
    what Go reads as rationals, or are out of every range."""
    from rs_docker.models.flags import invalid_argument

    try:
        nano = _fraction_nano(text) if "/" in text else _decimal_nano(text)
    except ValueError:  # bad syntax, or digits past int()'s limit
        nano = None
    if nano is None:
        raise invalid_argument(text, "--cpus", f"failed to parse {text} as a rational number")
    if nano is False:
        raise invalid_argument(text, "--cpus", "value is too precise")
    return nano


def _fraction_nano(text: str) -> int | bool | None:
    num, _, den = text.partition("/")
    digits = num[1:] if num[:1] in ("+", "-") else num
    if not digits or not den or not _DIGITS.issuperset(digits + den) or int(den) == 0:
        return None
    whole, rest = divmod(int(num) * 10**9, int(den))
    return False if rest else whole


# Past this many digits a CPU count is beyond any machine's: stop before 10**n.
_HUGE_DIGITS = 30


def _decimal_nano(text: str) -> int | bool | None:
    if not _is_decimal(text):
        return None
    mantissa, _, exponent = text.lower().partition("e")
    negative = mantissa[:1] == "-"
    whole, _, frac = mantissa.lstrip("+-").partition(".")
    digits = (whole + frac).lstrip("0")
    if not digits:
        return 0
    exp_digits = exponent.lstrip("+-")
    exp = int(exp_digits or "0") if len(exp_digits) < 7 else 10**7
    scale = 9 - len(frac) + (-exp if exponent[:1] == "-" else exp)
    stripped = digits.rstrip("0")
    scale += len(digits) - len(stripped)
    if scale < 0:
        return False
    if len(stripped) + scale > _HUGE_DIGITS:
        return -(10**_HUGE_DIGITS) if negative else 10**_HUGE_DIGITS
    nano = int(stripped) * 10**scale
    return -nano if negative else nano


def cpus_to_quota(cpus: str | float, ncpu: int | None = None) -> dict:
    """--cpus 1.5 -> {"quota": 150000, "period": 100000} (daemon/oci_linux.go:
    NanoCPUs * period / 1e9); 0 is no limit. The range is moby's (0.01 to
    the CPUs this process may run on, runtime.NumCPU(), when ncpu is given);
    below 0.01 the quota would be under the kernel's 1 ms minimum."""
    nano = parse_cpus(str(cpus))
    if nano < 0 or (ncpu is not None and nano > ncpu * 10**9) or 0 < nano < 10**7:
        if ncpu is None:
            raise UsageError("range of CPUs is from 0.01 to the number of CPUs available")
        raise UsageError(f"range of CPUs is from 0.01 to {ncpu}.00, as there are only "
                         f"{ncpu} CPUs available")
    if nano == 0:
        return {}
    return {"quota": nano * CFS_PERIOD_US // 10**9, "period": CFS_PERIOD_US}
