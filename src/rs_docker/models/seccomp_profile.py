"""Docker seccomp profile (Docker's JSON format) -> OCI linux.seccomp.

Follows moby profiles/seccomp/seccomp_linux.go setupSeccomp: `archMap`
picks the native architecture and its sub-architectures; each syscall group
is kept or skipped by its `includes`/`excludes` (caps: against the bounding
set; arches: moby's goToNative names; minKernel: the running kernel);
`name` is an alias of `names`. The profile is user input: every field is
type-checked and a bad one is a one-line UsageError.
"""

from __future__ import annotations

# os.uname(), not the platform module, which stays off the run path:
# platform.machine() and platform.release() are its fields on Linux.
import os

from rs_docker.errors import UsageError

# uname machine -> (the name includes.arches uses, libseccomp native arch).
# The name is moby's goToNative[GOARCH] (profiles/seccomp/seccomp_linux.go):
# the GOARCH but "x86" for 386 and "loongarch64" for loong64, so that the
# default profile's modify_ldt group (amd64, x32, x86) holds on i686 too.
_ARCHES = {
    "x86_64": ("amd64", "SCMP_ARCH_X86_64"),
    "aarch64": ("arm64", "SCMP_ARCH_AARCH64"),
    "armv7l": ("arm", "SCMP_ARCH_ARM"),
    "i686": ("x86", "SCMP_ARCH_X86"),
    "loongarch64": ("loongarch64", "SCMP_ARCH_LOONGARCH64"),
    "ppc64le": ("ppc64le", "SCMP_ARCH_PPC64LE"),
    "s390x": ("s390x", "SCMP_ARCH_S390X"),
    "riscv64": ("riscv64", "SCMP_ARCH_RISCV64"),
}

ACTIONS = ("SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",
           "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG",
           "SCMP_ACT_NOTIFY")
OPS = ("SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE",
       "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ")


def host_arch(machine: str | None = None) -> tuple[str, str]:
    """(GOARCH name, SCMP_ARCH_*) of this machine."""
    machine = machine or os.uname().machine
    return _ARCHES.get(machine, (machine, ""))


def convert_profile(profile: dict, caps=(), arch: str | None = None,
                    kernel: str | None = None) -> dict:
    """The OCI linux.seccomp section for `profile` in a container whose
    bounding set is `caps`, on `arch` (an includes.arches name, see
    _ARCHES; default: this machine) and kernel release `kernel` (default:
    the running one)."""
    goarch, native = host_arch() if arch is None else (arch, _native_for(arch))
    kernel = kernel or os.uname().release
    action = profile.get("defaultAction")
    if action not in ACTIONS:
        raise UsageError(f"seccomp profile: invalid defaultAction: {action!r}")
    out: dict = {"defaultAction": action, "architectures": _architectures(profile, native)}
    for key in ("defaultErrnoRet", "listenerPath", "listenerMetadata", "flags"):
        if profile.get(key) is not None:
            out[key] = profile[key]
    caps = set(caps)  # once, not per group (~30 groups per `run`)
    out["syscalls"] = [_call(c) for c in _groups(profile) if _applies(c, caps, goarch, kernel)]
    return out


def _native_for(goarch: str) -> str:
    return next((scmp for go, scmp in _ARCHES.values() if go == goarch), "")


def _architectures(profile: dict, native: str) -> list[str]:
    arches = profile.get("architectures") or []
    arch_map = profile.get("archMap") or []
    if arches and arch_map:
        raise UsageError("seccomp profile: both 'architectures' and 'archMap' are "
                         "specified, use either 'architectures' or 'archMap'")
    if not isinstance(arches, list) or not isinstance(arch_map, list):
        raise UsageError("seccomp profile: 'architectures' and 'archMap' must be lists")
    out = [str(a) for a in arches]
    for entry in arch_map:
        if isinstance(entry, dict) and entry.get("architecture") == native:
            out += [native] + list(entry.get("subArchitectures") or [])
    return out


def _groups(profile: dict) -> list[dict]:
    groups = profile.get("syscalls") or []
    if not isinstance(groups, list) or not all(isinstance(g, dict) for g in groups):
        raise UsageError("seccomp profile: 'syscalls' must be a list of objects")
    return groups


def _applies(group: dict, caps: set[str], goarch: str, kernel: str) -> bool:
    """moby setupSeccomp: any matching exclude drops the group; every include
    must match."""
    exc, inc = group.get("excludes") or {}, group.get("includes") or {}
    if goarch in (exc.get("arches") or []):
        return False
    if any(c in caps for c in exc.get("caps") or []):
        return False
    if exc.get("minKernel") and _kernel_at_least(kernel, exc["minKernel"]):
        return False
    if inc.get("arches") and goarch not in inc["arches"]:
        return False
    if not all(c in caps for c in inc.get("caps") or []):
        return False
    return not (inc.get("minKernel") and not _kernel_at_least(kernel, inc["minKernel"]))


def _kernel_at_least(release: str, minimum: str) -> bool:
    def parts(v: str) -> tuple[int, ...]:
        nums = []
        for p in v.split("-")[0].split(".")[:2]:
            digits = "".join(ch for ch in p if ch.isdigit())
            nums.append(int(digits or 0))
        return tuple(nums)
    return parts(release) >= parts(minimum)


def _call(group: dict) -> dict:
    names = group.get("names") or []
    if group.get("name"):
        if names:
            raise UsageError("seccomp profile: 'name' and 'names' were specified, "
                             "use either 'name' or 'names'")
        names = [group["name"]]
    # map(isinstance, ...) rather than a generator: the default profile's
    # first group names ~350 syscalls, checked on every `run`, and map runs
    # the check in C.
    if not isinstance(names, list) or not names or not all(
            map(isinstance, names, [str] * len(names))):
        raise UsageError(f"seccomp profile: syscall names must be a list of strings: {names!r}")
    action = group.get("action")
    if action not in ACTIONS:
        raise UsageError(f"seccomp profile: invalid action for {names[0]}: {action!r}")
    call: dict = {"names": list(names), "action": action}
    if group.get("errnoRet") is not None:
        call["errnoRet"] = _uint(group["errnoRet"], "errnoRet")
    if group.get("args"):
        call["args"] = [_arg(a) for a in group["args"]]
    return call


def _arg(arg) -> dict:
    if not isinstance(arg, dict) or arg.get("op") not in OPS:
        raise UsageError(f"seccomp profile: invalid syscall argument rule: {arg!r}")
    index = _uint(arg.get("index"), "args.index")
    if index > 5:
        raise UsageError(f"seccomp profile: argument index out of range: {index}")
    return {"index": index, "value": _uint(arg.get("value", 0), "args.value"),
            "valueTwo": _uint(arg.get("valueTwo", 0), "args.valueTwo"), "op": arg["op"]}


def _uint(v, what: str) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v < 2**64:
        raise UsageError(f"seccomp profile: {what} must be an unsigned integer: {v!r}")
    return v
