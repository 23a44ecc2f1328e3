"""A cache of compiled seccomp programs, so that `run` does not build the
same libseccomp filter on every start (what compiling Docker's profile
costs: docs/ARCHITECTURE.md, Start-up rules).

Entry: <dir>/<key>.bpf where key = sha256 of (FORMAT, machine, the
libseccomp in use (libseccomp_identity: the linker cache's identity, else
its version),
canonical JSON of linux.seccomp): a changed profile, a libseccomp
upgrade or a change of how runtime/security/seccomp.py resolves a profile (bump
FORMAT) gives a new entry. The file is HEADER + sha256(program) + program,
the raw BPF that seccomp_export_bpf(3) gives and the kernel takes.

An entry is a cache, not an input: anything wrong with it (truncated, bad
checksum, length not a multiple of 8, not ours, writable by others) makes
read() return None and the caller rebuilds and rewrites it.
"""

from __future__ import annotations

import os
import stat

from rs_docker import jsonio
from rs_docker.cpython import sha256
from rs_docker.linux import seccomp_bpf

FORMAT = "rs-docker-seccomp-2"  # bump when generate()/compile_program() semantics change
HEADER = b"RSBPF1\n\0"
_SUM = 32  # sha256 digest size


def key(section: dict, libseccomp_version: str, machine: str | None = None) -> str:
    """The entry name for an OCI linux.seccomp section."""
    canonical = canonical_json(section)
    machine = os.uname().machine if machine is None else machine
    text = "\0".join((FORMAT, machine, libseccomp_version, canonical))
    return sha256(text.encode()).hexdigest()


def canonical_json(value) -> str:
    """json.dumps(value, sort_keys=True, separators=(",", ":")), through
    jsonio (the C encoder's sort_keys): json stays off the run path."""
    return jsonio.dumps(value, sort_keys=True)


def program_for(section: dict, cache_dir: str | None) -> bytes:
    """The raw BPF of an OCI linux.seccomp section, through the cache in
    `cache_dir` when given. A hit needs only libseccomp_identity(), not
    libseccomp itself; building the filter (runtime/security/seccomp.py:
    importing the libseccomp bindings and compiling the profile) is for a
    miss. A cache that cannot be written only costs the next run a compile."""
    if cache_dir is None:
        return _compile(section)
    entry = key(section, libseccomp_identity())
    program = read(cache_dir, entry)
    if program is None:
        program = _compile(section)
        try:
            write(cache_dir, entry, program)
        except OSError:
            pass  # read-only or full store: correct, just slower next time
    return program


def libseccomp_identity(ld_cache: str = "/etc/ld.so.cache") -> str:
    """What tells one libseccomp build from another, for the key, without
    loading it (ctypes' dlopen on every run): the dynamic linker's cache, which
    ldconfig(8) rewrites whenever a library is installed or upgraded
    (package managers run it), as device, inode, size and mtime. A change
    of any library only costs one compile. With LD_LIBRARY_PATH set (the
    cache may not be where libseccomp comes from) or no cache: the loaded
    library's own version."""
    if not os.environ.get("LD_LIBRARY_PATH"):
        try:
            st = os.stat(ld_cache)
        except OSError:
            pass
        else:
            return f"ld.so.cache:{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}"
    from rs_docker.linux import seccomp as scmp

    return scmp.version()


def _compile(section: dict) -> bytes:
    from rs_docker.runtime.security import seccomp

    return seccomp.compile_bpf(section)


def path(cache_dir: str, entry: str) -> str:
    return os.path.join(cache_dir, f"{entry}.bpf")


def read(cache_dir: str, entry: str) -> bytes | None:
    """The cached program, or None when absent or not to be trusted."""
    try:
        fd = os.open(path(cache_dir, entry), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        # Another user's file, or one others may rewrite, is not our cache.
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o022:
            return None
        data = os.read(fd, st.st_size + 1)
    except OSError:
        return None
    finally:
        os.close(fd)
    return decode(data)


def decode(data: bytes) -> bytes | None:
    """HEADER + sha256 + program -> program, or None if anything is off."""
    start = len(HEADER) + _SUM
    program = data[start:]
    if not data.startswith(HEADER) or len(data) < start:
        return None
    try:
        seccomp_bpf.check_program(program)
    except ValueError:
        return None
    if sha256(program).digest() != data[len(HEADER):start]:
        return None
    return program


def encode(program: bytes) -> bytes:
    return HEADER + sha256(program).digest() + program


def write(cache_dir: str, entry: str, program: bytes) -> None:
    """Store atomically (a reader sees the old entry, none, or the whole new
    one: rename(2)). No fsync: a torn entry after a crash fails decode()."""
    os.makedirs(cache_dir, mode=0o700, exist_ok=True)
    final = path(cache_dir, entry)
    # Not the PID alone: a preforked PID 1 (runtime/process/preforked.py) prepares
    # its own filter, and is PID 1 (of its namespace) in every run.
    tmp = f"{final}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, encode(program))
    finally:
        os.close(fd)
    os.replace(tmp, final)
    prune(cache_dir)


KEEP = 32  # entries: a few profiles and capability sets, times a few libseccomp builds


def prune(cache_dir: str, keep: int = KEEP) -> None:
    """Remove all but the `keep` newest entries (and temp files left by a
    killed writer, once older than a minute). Only a miss writes, and so
    prunes: every key change (a library installed, a new profile) adds one
    ~8 KB entry for good otherwise. An entry still in use that goes is
    compiled and written again by the next run that wants it."""
    import time

    try:
        with os.scandir(cache_dir) as it:
            found = [(e.stat(follow_symlinks=False).st_mtime, e.name) for e in it
                     if e.is_file(follow_symlinks=False)]
    except OSError:
        return
    entries = sorted((m, n) for m, n in found if n.endswith(".bpf"))
    stale_tmp = [n for m, n in found if n.endswith(".tmp") and m < time.time() - 60]
    for name in [n for _, n in entries[:-keep] if keep > 0] + stale_tmp:
        try:
            os.unlink(os.path.join(cache_dir, name))
        except OSError:
            pass  # gone meanwhile (a concurrent prune)
