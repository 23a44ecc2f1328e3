"""Platforms ("linux/arm64/v8"): parsing, normalization, matching, and the
choice of one manifest from an index.

Normalization follows containerd's platforms package (normalize.go):
x86_64 -> amd64, aarch64 -> arm64 (v8 is arm64's default variant), armhf ->
arm/v7, armel -> arm/v6, i386 -> 386; a bare `arm` means arm/v7.
"""

from __future__ import annotations

import platform as _pyplatform

from rs_docker.errors import PlatformNotFound, UsageError
from rs_docker.models.manifest import Descriptor
from rs_docker.values import record

_ARCH_ALIASES = {
    "x86_64": ("amd64", None), "x86-64": ("amd64", None), "amd64": ("amd64", None),
    "aarch64": ("arm64", None), "arm64": ("arm64", None),
    "armhf": ("arm", "v7"), "armel": ("arm", "v6"), "arm": ("arm", None),
    "i386": ("386", None), "i686": ("386", None), "386": ("386", None),
}
# An arm/v7 machine also runs v6 and v5 code (containerd compare.go).
_ARM_COMPAT = {"v8": ("v8", "v7", "v6", "v5"), "v7": ("v7", "v6", "v5"), "v6": ("v6", "v5"),
               "v5": ("v5",)}


@record
class Platform:
    os: str
    architecture: str
    variant: str | None = None

    def __str__(self) -> str:
        parts = [self.os, self.architecture] + ([self.variant] if self.variant else [])
        return "/".join(parts)


def normalize(os_name: str, arch: str, variant: str | None = None) -> Platform:
    """The canonical form of a platform, so that equal platforms compare equal."""
    os_name = os_name.lower()
    arch = arch.lower()
    variant = variant.lower() if variant else None
    if variant and variant[0].isdigit():
        variant = "v" + variant
    arch, default_variant = _ARCH_ALIASES.get(arch, (arch, None))
    variant = variant or default_variant
    if arch == "arm64" and variant in ("v8", "v8.0"):
        variant = None
    elif arch == "arm" and variant is None:
        variant = "v7"
    elif arch == "amd64" and variant == "v1":
        variant = None
    return Platform(os_name, arch, variant)


# containerd platforms (database.go isKnownOS / isKnownArch, platforms.go
# specifierRe / osRe): what a one-word specifier may name, and the characters
# a component may hold.
_KNOWN_OS = frozenset("aix android darwin dragonfly freebsd hurd illumos ios js linux nacl "
                      "netbsd openbsd plan9 solaris windows zos".split())
_KNOWN_ARCH = frozenset("386 amd64 amd64p32 arm armbe arm64 arm64be ppc64 ppc64le loong64 mips "
                        "mipsle mips64 mips64le mips64p32 mips64p32le ppc riscv riscv64 s390 "
                        "s390x sparc sparc64 wasm".split())
_OS_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_CHARS = _OS_CHARS | {"."}
_OS_RE = r"^([A-Za-z0-9_-]+)(?:\(([A-Za-z0-9_.%-]*)((?:\+[A-Za-z0-9_.%-]+)*)\))?$"
_COMPONENT_RE = "^[A-Za-z0-9_.-]+$"


def parse(text: str) -> Platform:
    """Parse `--platform` as containerd's platforms.Parse does, with its
    messages: os[/arch[/variant]], or one word naming a known OS (this
    machine's architecture) or a known architecture (linux). OS versions in
    parentheses (Windows only) are not taken. Raises UsageError."""
    from rs_docker.models.flags import quote

    def invalid(why: str) -> UsageError:
        return UsageError(f"{why}: invalid argument")

    if "*" in text:
        raise invalid(f"{quote(text)}: wildcards not yet supported")
    parts = text.split("/", 3)
    if not parts[0] or not _OS_CHARS.issuperset(parts[0]):
        raise invalid(f"{quote(parts[0])} is an invalid OS component of {quote(text)}: "
                      f"OSAndVersion specifier component must match {quote(_OS_RE)}")
    for part in parts[1:]:
        if not part or not _CHARS.issuperset(part):
            raise invalid(f"{quote(part)} is an invalid component of {quote(text)}: "
                          f"platform specifier component must match {quote(_COMPONENT_RE)}")
    if len(parts) > 3:
        raise invalid(f"{quote(text)}: cannot parse platform specifier")
    if len(parts) > 1:
        return normalize(*parts)
    word = parts[0].lower()
    if word in _KNOWN_OS or word == "macos":
        host = host_platform()
        return normalize("darwin" if word == "macos" else word, host.architecture, host.variant)
    as_arch = normalize("linux", word)
    if as_arch.architecture in _KNOWN_ARCH:
        return as_arch
    raise invalid(f"{quote(text)}: unknown operating system or architecture")


def host_platform(machine: str | None = None) -> Platform:
    """The platform of this machine (Linux only; uname -m mapped to Go names)."""
    machine = machine or _pyplatform.machine()
    if machine.startswith("armv"):  # armv7l, armv6l: 32-bit ARM
        return normalize("linux", "arm", "v" + "".join(c for c in machine[4:] if c.isdigit()))
    return normalize("linux", machine)


def from_descriptor(desc: Descriptor) -> Platform | None:
    """The platform an index entry declares, or None when it declares none."""
    p = desc.platform or {}
    os_name, arch = p.get("os"), p.get("architecture")
    if not isinstance(os_name, str) or not isinstance(arch, str) or not os_name or not arch:
        return None
    variant = p.get("variant") if isinstance(p.get("variant"), str) else None
    return normalize(os_name, arch, variant)


def rank(want: Platform, have: Platform) -> int | None:
    """How well `have` serves `want`: 0 is exact, higher is a lesser match,
    None means it cannot run."""
    if want.os != have.os or want.architecture != have.architecture:
        return None
    if want.variant == have.variant:
        return 0
    if want.architecture == "arm":
        compat = _ARM_COMPAT.get(want.variant or "v7", ())
        if have.variant in compat:
            return compat.index(have.variant)
    return None


def select(manifests: tuple[Descriptor, ...] | list[Descriptor], want: Platform) -> Descriptor:
    """The index entry for `want`: the best-ranked match, first in index order on
    ties. Entries without a platform (attestations, unknown/unknown) never
    match. Raises PlatformNotFound listing what the index offers."""
    best: tuple[int, int, Descriptor] | None = None
    offered = []
    for i, desc in enumerate(manifests):
        have = from_descriptor(desc)
        if have is None or have.os == "unknown":
            continue
        offered.append(str(have))
        r = rank(want, have)
        if r is not None and (best is None or (r, i) < best[:2]):
            best = (r, i, desc)
    if best is None:
        raise PlatformNotFound(
            f"no matching manifest for {want} in the manifest list entries",
            hint=f"available: {', '.join(offered) or 'none'}; choose one with --platform")
    return best[2]
