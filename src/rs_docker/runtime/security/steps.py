"""The security steps of container init, called by the runtime in this order:

    prepared = prepare(config)   # generate the seccomp filter as data
    apply_masks(config)          # after pivot_root, with /proc and /dev mounted
    apply_rlimits(config)
    drop_bounding(config, prepared)  # still root: needs CAP_SETPCAP
    keep_caps()                  # then the runtime's setgroups/setgid/setuid
    apply_caps(config, prepared) # prepared is optional
    set_no_new_privs(config)
    load_seccomp(prepared)       # last, right before execve

Each takes the whole OCI config and does nothing when its section is absent.

Seccomp without no_new_privs (Docker's default) needs CAP_SYS_ADMIN at load
time (seccomp(2)), which the container lacks after apply_caps. So,
like runc (libcontainer/standard_init_linux.go: "Without NoNewPrivileges
seccomp is a privileged operation"), apply_caps loads the filter itself just
before the final capset in that case, and load_seccomp does only the
no_new_privs case, as late as possible.
"""

from __future__ import annotations

import os

from rs_docker.errors import RuntimeFailure
from rs_docker.linux import capabilities as lc
from rs_docker.runtime.rootfs import masks
from rs_docker.runtime.security import caps
from rs_docker.values import record

# Imported where needed, not here (docs/ARCHITECTURE.md, Start-up rules):
# rlimits (the resource module) only for process.rlimits; seccomp_cache for
# a seccomp section; the libseccomp bindings only on a cache miss
# (seccomp_cache.program_for).

# config.json annotation naming a directory where compiled seccomp programs
# are cached (runtime/security/seccomp_cache.py); the container layer points it into
# the store root. Absent: compile on every start.
CACHE_DIR_ANNOTATION = "io.rs-docker.cache-dir"

# pid of the process that has loaded its container's filter. Per-process
# state, not configuration: apply_caps may load the filter from a Prepared
# the runtime never sees, and load_seccomp must then not load it twice.
_loaded_in: int | None = None


@record
class Prepared:
    """The compiled filter as raw BPF (None: unconfined) and when to load it.
    Plain bytes: nothing of libseccomp is needed in the child to load it.

    last_cap (cap_last_cap) and bounding (this process's bounding set, None
    when the child will enter a user namespace, which resets it to the full
    set) are read by the parent: a forked child's first open() of a /proc
    file is many times slower than the parent's."""

    filter: bytes | None
    no_new_privs: bool
    last_cap: int | None = None
    bounding: int | None = None


def _process(config: dict) -> dict:
    return config.get("process") or {}


def _linux(config: dict) -> dict:
    return config.get("linux") or {}


def prepare(config: dict) -> Prepared:
    """Compile linux.seccomp into a BPF program, before the hot moment
    (from the cache named by the CACHE_DIR_ANNOTATION annotation, if any).
    Called before fork: also imports what the child's steps will need."""
    if _process(config).get("rlimits"):
        from rs_docker.runtime.security import rlimits  # noqa: F401 - before fork, not in the child
    nnp = bool(_process(config).get("noNewPrivileges"))
    last = bounding = None
    if _process(config).get("capabilities") is not None:
        last = lc.last_cap()
        # A child that creates or joins a user namespace gets the full
        # bounding set there (user_namespaces(7)): it reads its own.
        if not any(isinstance(ns, dict) and ns.get("type") == "user"
                   for ns in _linux(config).get("namespaces") or []):
            bounding = lc.bounding_set()
    section = _linux(config).get("seccomp")
    cache_dir = (config.get("annotations") or {}).get(CACHE_DIR_ANNOTATION)
    if not section:
        return Prepared(None, nnp, last, bounding)
    from rs_docker.runtime.security import seccomp_cache

    program = seccomp_cache.program_for(section, cache_dir)
    return Prepared(program, nnp, last, bounding)


def apply_masks(config: dict, root: str = "/") -> None:
    """linux.maskedPaths and linux.readonlyPaths, relative to `root`."""
    linux = _linux(config)
    masks.mask_paths(linux.get("maskedPaths") or [], root)
    masks.readonly_paths(linux.get("readonlyPaths") or [], root)


def apply_rlimits(config: dict) -> None:
    wanted = _process(config).get("rlimits")
    if wanted:
        from rs_docker.runtime.security import rlimits

        rlimits.apply_rlimits(wanted)


def drop_bounding(config: dict, prepared: Prepared | None = None) -> None:
    """PR_CAPBSET_DROP every capability not in capabilities.bounding."""
    section = _process(config).get("capabilities")
    if section is not None:
        if prepared is None:
            caps.drop_bounding(section.get("bounding") or [])
        else:
            caps.drop_bounding(section.get("bounding") or [], prepared.bounding,
                               prepared.last_cap)


def keep_caps() -> None:
    """PR_SET_KEEPCAPS, so the permitted set survives the setuid that follows."""
    lc.set_keepcaps(True)


def apply_caps(config: dict, prepared: Prepared | None = None) -> None:
    """Final capability sets; clears KEEPCAPS. Loads the seccomp filter first
    when no_new_privs is off (see the module docstring)."""
    section = _process(config).get("capabilities")
    if section is None and not _linux(config).get("seccomp"):
        return
    caps.raise_effective()
    if not _process(config).get("noNewPrivileges") and _linux(config).get("seccomp"):
        _load(prepared if prepared is not None else prepare(config))
    if section is not None:
        caps.apply(section, prepared.last_cap if prepared is not None else None)
    else:
        lc.set_keepcaps(False)


def set_no_new_privs(config: dict) -> None:
    if _process(config).get("noNewPrivileges"):
        lc.set_no_new_privs()


def load_seccomp(prepared: Prepared | None) -> None:
    """Install the prepared filter, unless apply_caps already did."""
    if prepared is not None:
        _load(prepared)


def _load(prepared: Prepared) -> None:
    global _loaded_in
    if prepared.filter is None or _loaded_in == os.getpid():
        return
    from rs_docker.linux import seccomp_bpf

    try:
        seccomp_bpf.load(prepared.filter)
    except (OSError, ValueError) as e:
        raise RuntimeFailure(f"seccomp: {getattr(e, 'strerror', None) or e}") from None
    _loaded_in = os.getpid()
