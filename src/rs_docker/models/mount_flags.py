"""-v / --mount / --tmpfs parsing into OCI mount entries (pure).

`-v NAME:/ctr` and `-v /ctr` (anonymous) and `--mount type=volume` give a
VolumeMount: what to mount is known once the volume exists
(container/volumes.py). A relative host path (`./dir`, `../x`) is a bind
of that path from the current directory (Docker 23+'s CLI,
absolute_binds); any other name without a leading `/` is a volume name.

Sources: moby volume/mounts/linux_parser.go (-v host:ctr[:mode] and the
--mount keys), daemon/oci_linux.go (bind mounts are "rbind" + propagation,
tmpfs defaults noexec,nosuid,nodev), pkg/mount MergeTmpfsOptions (the
options a tmpfs takes), runc libcontainer/rootfs_linux.go checkProcMount
(what may be mounted over /proc).
"""

from __future__ import annotations

import posixpath

from rs_docker.errors import UsageError
from rs_docker.models.security import proc_mount_refusal
from rs_docker.values import record

_PROPAGATION = ("private", "rprivate", "shared", "rshared", "slave", "rslave")
_TMPFS_DEFAULTS = ("noexec", "nosuid", "nodev")
# The options a tmpfs takes: the kernel's own (Documentation/filesystems/
# tmpfs.rst) that Docker passes on, as key=value (moby/sys/mount flags_unix.go
# validFlags), and the generic mount flags of that file's `flags` table but
# "bind", "rbind" and "remount": with those the runtime would bind-mount the
# relative source "tmpfs" (its cwd's ./tmpfs, read-write) instead.
_TMPFS_DATA = frozenset({"size", "mode", "uid", "gid", "nr_inodes", "nr_blocks", "mpol"})
_TMPFS_FLAGS = frozenset({
    "ro", "rw", "suid", "nosuid", "dev", "nodev", "exec", "noexec", "sync",
    "async", "dirsync", "mand", "nomand", "atime", "noatime", "diratime", "nodiratime",
    "relatime", "norelatime", "strictatime", "nostrictatime", *_PROPAGATION,
    "unbindable", "runbindable"})
# Options that cancel each other in a tmpfs option list (later wins).
_OPPOSITE = {"exec": "noexec", "noexec": "exec", "suid": "nosuid", "nosuid": "suid",
             "dev": "nodev", "nodev": "dev", "ro": "rw", "rw": "ro",
             "atime": "noatime", "noatime": "atime"}


@record
class BindMount:
    """A host directory or file seen at `target`. `create_source` is Docker's
    -v behaviour: a missing host path becomes an empty directory; --mount
    refuses a missing source instead."""

    source: str
    target: str
    readonly: bool = False
    propagation: str = "rprivate"
    create_source: bool = True

    def oci(self) -> dict:
        options = ["rbind", self.propagation] + (["ro"] if self.readonly else [])
        return {"destination": self.target, "type": "bind", "source": self.source,
                "options": options}


@record
class VolumeMount:
    """A volume seen at `target`: `name` None for an anonymous one. `mode`
    is what inspect's Mounts shows (the -v mode text, "z" by default;
    "" for --mount). `nocopy`: no copy-up of the image's content."""

    name: str | None
    target: str
    readonly: bool = False
    nocopy: bool = False
    mode: str = ""
    labels: tuple[tuple[str, str], ...] = ()


@record
class TmpfsMount:
    target: str
    options: tuple[str, ...] = ()

    def oci(self) -> dict:
        return {"destination": self.target, "type": "tmpfs", "source": "tmpfs",
                "options": merge_tmpfs_options(_TMPFS_DEFAULTS + self.options)}


def _target(path: str, flag: str, spec: str) -> str:
    if not path.startswith("/"):
        raise UsageError(f"invalid {flag} specification: {spec!r}: "
                         f"mount path must be absolute")
    clean = posixpath.normpath(path)
    clean = "/" + clean.lstrip("/")
    if clean == "/":
        raise UsageError(f"invalid {flag} specification: {spec!r}: destination can't be '/'")
    why = proc_mount_refusal(clean)
    if why:
        raise UsageError(f"invalid {flag} specification: {spec!r}: {why}")
    return clean


def parse_volume(spec: str) -> BindMount | VolumeMount:
    """-v /host:/ctr[:OPTS] (a bind), -v NAME:/ctr[:OPTS] (a named volume),
    -v /ctr (an anonymous volume); OPTS: ro|rw, z|Z, a propagation, nocopy,
    comma-separated (moby volume/mounts/linux_parser.go)."""
    parts = spec.split(":")
    if len(parts) == 1 and parts[0]:
        if not parts[0].startswith("/"):
            raise UsageError(f"invalid volume specification: {spec!r}: "
                             f"invalid mount config: mount path must be absolute")
        return VolumeMount(None, _target(parts[0], "volume", spec))
    if len(parts) not in (2, 3) or not all(parts[:2]):
        raise UsageError(f"invalid volume specification: {spec!r}")
    source, target = parts[0], parts[1]
    readonly, propagation, nocopy = False, "rprivate", False
    for opt in (parts[2].split(",") if len(parts) == 3 else ()):
        if opt in ("ro", "rw"):
            readonly = opt == "ro"
        elif opt in _PROPAGATION:
            propagation = opt
        elif opt == "nocopy":
            nocopy = True
        elif opt not in ("z", "Z", "consistent", "cached", "delegated"):
            raise UsageError(f"invalid volume specification: {spec!r}: invalid mode: {opt}")
    if not source.startswith("/"):
        if source.startswith("."):
            raise UsageError(f"invalid volume specification: {spec!r}: a relative host "
                             f"path is resolved by the command line (absolute_binds)")
        check_volume_name(source)
        return VolumeMount(source, _target(target, "volume", spec), readonly, nocopy,
                           parts[2] if len(parts) == 3 else "z")
    return BindMount(posixpath.normpath(source), _target(target, "volume", spec),
                     readonly, propagation, create_source=True)


_NAME_FIRST = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_NAME_REST = _NAME_FIRST | frozenset("_.-")


def check_volume_name(name: str) -> str:
    """A volume name as the local driver takes it (moby volume/local/local.go
    validateName: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`), else UsageError with moby's
    message (a host path given without its leading / lands here)."""
    if len(name) == 1:
        raise UsageError(f"create {name}: volume name is too short, names should be at "
                         f"least two alphanumeric characters")
    if not name or name[0] not in _NAME_FIRST or any(c not in _NAME_REST for c in name[1:]):
        raise UsageError(f'create {name}: "{name}" includes invalid characters for a local '
                         f'volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you '
                         f"intended to pass a host directory, use absolute path")
    return name


def absolute_binds(volumes: tuple[str, ...], cwd: str) -> tuple[str, ...]:
    """-v values with a relative host path (`.`, `./dir`, `../x`) made
    absolute against `cwd`, as Docker's CLI does before it sends them
    (cli/command/container/opts.go); other values untouched."""
    out = []
    for spec in volumes:
        source, sep, rest = spec.partition(":")
        if sep and source.startswith("."):
            spec = posixpath.normpath(posixpath.join(cwd, source)) + ":" + rest
        out.append(spec)
    return tuple(out)


def _bool(value: str, spec: str) -> bool:
    if value.lower() in ("", "1", "true"):
        return True
    if value.lower() in ("0", "false"):
        return False
    raise UsageError(f"invalid --mount specification: {spec!r}: invalid boolean {value!r}")


def parse_mount(spec: str) -> BindMount | TmpfsMount | VolumeMount:
    """--mount type=volume|bind|tmpfs,source=,target=,readonly,
    bind-propagation=, volume-nocopy, volume-label=K=V, volume-driver=local,
    tmpfs-size=, tmpfs-mode= (also src/dst/destination/ro)."""
    fields: dict[str, str] = {}
    labels: list[tuple[str, str]] = []
    for item in spec.split(","):
        key, sep, value = item.partition("=")
        key = key.strip().lower()
        if key in ("readonly", "ro", "volume-nocopy") and not sep:
            value = "true"
        elif key == "volume-label" and sep:
            label, _, label_value = value.partition("=")
            labels.append((label, label_value))
            continue
        elif not sep:
            raise UsageError(f"invalid --mount specification: {spec!r}: "
                             f"invalid field {item!r} must be a key=value pair")
        fields[{"src": "source", "dst": "target", "destination": "target",
                "ro": "readonly"}.get(key, key)] = value
    kind = fields.pop("type", "volume")
    target_text = fields.pop("target", "")
    if not target_text:
        raise UsageError(f"invalid --mount specification: {spec!r}: target is required")
    target = _target(target_text, "--mount", spec)
    readonly = _bool(fields.pop("readonly", "false"), spec)
    if kind == "bind":
        return _bind_from_fields(fields, target, readonly, spec)
    if kind == "tmpfs":
        return _tmpfs_from_fields(fields, target, readonly, spec)
    if kind == "volume":
        return _volume_from_fields(fields, target, readonly, tuple(labels), spec)
    raise UsageError(f"invalid --mount specification: {spec!r}: mount type {kind!r} "
                     f"is not supported (volume, bind, tmpfs)")


def _volume_from_fields(fields: dict, target: str, readonly: bool, labels: tuple,
                        spec: str) -> VolumeMount:
    source = fields.pop("source", "") or None
    nocopy = _bool(fields.pop("volume-nocopy", "false"), spec)
    driver = fields.pop("volume-driver", "local")
    if driver != "local":
        raise UsageError(f"invalid --mount specification: {spec!r}: "
                         f"volume driver {driver!r} is not supported (local)")
    _no_extra(fields, spec)
    if source is not None:
        check_volume_name(source)
    return VolumeMount(source, target, readonly, nocopy, "", labels)


def _bind_from_fields(fields: dict, target: str, readonly: bool, spec: str) -> BindMount:
    source = fields.pop("source", "")
    propagation = fields.pop("bind-propagation", "rprivate")
    if not source.startswith("/"):
        raise UsageError(f"invalid --mount specification: {spec!r}: "
                         f"bind source must be an absolute path")
    if propagation not in _PROPAGATION:
        raise UsageError(f"invalid --mount specification: {spec!r}: "
                         f"invalid propagation {propagation!r}")
    _no_extra(fields, spec)
    return BindMount(posixpath.normpath(source), target, readonly, propagation,
                     create_source=False)


def _tmpfs_from_fields(fields: dict, target: str, readonly: bool, spec: str) -> TmpfsMount:
    options = ["ro"] if readonly else []
    if "tmpfs-size" in fields:
        options.append(f"size={_size(fields.pop('tmpfs-size'), spec)}")
    if "tmpfs-mode" in fields:
        mode = fields.pop("tmpfs-mode")
        # docker/cli opts/mount.go: strconv.ParseUint(value, 8, 32)
        if not mode or any(c not in "01234567" for c in mode) or int(mode, 8) >= 2**32:
            raise UsageError(f"invalid --mount specification: {spec!r}: "
                             f"invalid value for tmpfs-mode: {mode}")
        options.append(f"mode={int(mode, 8):o}")
    _no_extra(fields, spec)
    return TmpfsMount(target, tuple(options))


def _size(value: str, spec: str) -> int:
    from rs_docker.models.security import parse_memory

    try:
        return parse_memory(value)
    except UsageError:
        raise UsageError(f"invalid --mount specification: {spec!r}: "
                         f"invalid value for tmpfs-size: {value}") from None


def _no_extra(fields: dict, spec: str) -> None:
    if fields:
        raise UsageError(f"invalid --mount specification: {spec!r}: "
                         f"unexpected key {next(iter(fields))!r}")


def parse_tmpfs(spec: str) -> TmpfsMount:
    """--tmpfs /path[:opt,opt]: tmpfs options only (size=64m,mode=1777,noexec,
    ...: _TMPFS_DATA as key=value, _TMPFS_FLAGS bare); anything else, bind
    and remount included, is refused with MergeTmpfsOptions' message. A
    size, nr_inodes or nr_blocks the kernel would wrap is refused too."""
    path, _, opts = spec.partition(":")
    options = tuple(o for o in opts.split(",") if o and o != "defaults") if opts else ()
    for opt in options:
        key, eq, value = opt.partition("=")
        known = key in _TMPFS_DATA if eq else key in _TMPFS_FLAGS
        why = None if known and not any(c in value for c in "\0\n") else \
            f"invalid tmpfs option {_quote(key)}"
        if why is None and key in _TMPFS_COUNTS:
            why = _tmpfs_count_error(key, value)
        if why:
            raise UsageError(f"invalid --tmpfs specification: {spec!r}: {why}")
    return TmpfsMount(_target(path, "--tmpfs", spec), options)


# tmpfs options the kernel reads with memparse() (lib/cmdline.c): a number
# and an optional k/m/g/t/p/e, shifted without an overflow check, so
# size=16384p is 2**64, a size of 0: no limit at all (mm/shmem.c). "%" of RAM
# is for size only.
_TMPFS_COUNTS = ("size", "nr_inodes", "nr_blocks")


def _tmpfs_count_error(key: str, value: str) -> str | None:
    digits, unit = (value[:-1], value[-1:].lower()) if value[-1:].isalpha() else (value, "")
    percent = key == "size" and digits.endswith("%")
    digits = digits[:-1] if percent and not unit else digits
    if not digits or not digits.isascii() or not digits.isdigit() or \
            (unit and unit not in "kmgtpe") or (percent and unit):
        return f"invalid value for {key}: {_quote(value)}"
    shift = 10 * ("kmgtpe".index(unit) + 1) if unit else 0
    if len(digits) > 19 or int(digits) << shift > (10**6 if percent else 2**63 - 1):
        return f"invalid value for {key}: {_quote(value)}: value out of range"
    return None


def _quote(text: str) -> str:
    from rs_docker.models.flags import quote

    return quote(text)


def merge_tmpfs_options(options: tuple[str, ...] | list[str]) -> list[str]:
    """Later options win over their opposites and over same-key values
    (MergeTmpfsOptions): noexec then exec gives exec; size=1m then size=2m
    gives size=2m."""
    out: list[str] = []
    for opt in options:
        key = opt.partition("=")[0]
        opposite = _OPPOSITE.get(opt)
        out = [o for o in out if o != opt and o != opposite
               and ("=" not in opt or o.partition("=")[0] != key)]
        out.append(opt)
    return out
