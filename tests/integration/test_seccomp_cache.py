"""A seccomp filter loaded from the compiled-program cache confines exactly
as a freshly compiled one: the same probes, run for real, give the same
answers; a changed profile gets its own entry; a corrupt entry is rebuilt."""

from __future__ import annotations

import ctypes
import errno
import json
import os

import pytest

from rs_docker.runtime.security import seccomp_cache, steps
from tests.fixtures.procs import in_child
from tests.integration.security_probe import docker_config, run_probe

pytestmark = pytest.mark.root

SYS_CLONE3 = 435  # x86_64 and every architecture that has clone3


def cached_config(cache_dir, **kw) -> dict:
    config = docker_config(**kw)
    config["annotations"] = {steps.CACHE_DIR_ANNOTATION: str(cache_dir)}
    return config


def entries(cache_dir) -> list[str]:
    return sorted(os.listdir(cache_dir)) if os.path.isdir(cache_dir) else []


def syscall_errnos(config: dict) -> dict[str, int]:
    """In a forked child: load the filter as container init does (root,
    no_new_privs off, so CAP_SYS_ADMIN is needed and held), then try clone3
    and mount through raw syscalls; the errno of each."""
    def try_calls():
        libc = ctypes.CDLL(None, use_errno=True)
        steps.load_seccomp(steps.prepare(config))
        out = {}
        for name, call in (("clone3", lambda: libc.syscall(SYS_CLONE3, None, 0)),
                           ("mount", lambda: libc.mount(b"x", b"/nonexistent", b"tmpfs",
                                                        0, None))):
            ctypes.set_errno(0)
            out[name] = ctypes.get_errno() if call() == -1 else 0
        return out

    return in_child(try_calls)


def test_a_cached_filter_confines_like_a_fresh_one(tmp_path):
    cache_dir = tmp_path / "cache"
    config = cached_config(cache_dir)
    steps.prepare(config)  # first use compiles and stores the entry
    (name,) = entries(cache_dir)
    before = os.stat(cache_dir / name)

    p = run_probe(config, "grep Seccomp: /proc/self/status; unshare -m true; "
                          "mount -t tmpfs x /mnt; echo done")
    assert (p.status, p.out) == (0, "Seccomp:\t2\n"
                                    "unshare: unshare(0x20000): Operation not permitted\n"
                                    "mount: permission denied (are you root?)\ndone\n")
    assert syscall_errnos(config) == {"clone3": errno.ENOSYS, "mount": errno.EPERM}
    assert syscall_errnos(docker_config()) == {"clone3": errno.ENOSYS, "mount": errno.EPERM}
    after = os.stat(cache_dir / name)  # read, never rewritten
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_a_changed_profile_gets_its_own_entry(tmp_path):
    cache_dir = tmp_path / "cache"
    deny_mkdir = tmp_path / "deny-mkdir.json"
    deny_mkdir.write_text(json.dumps({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}))
    target = tmp_path / "d"
    custom = cached_config(cache_dir, security_opts=[f"seccomp={deny_mkdir}"])
    p = run_probe(custom, f"mkdir {target}")
    assert (p.status, p.out) == (1, f"mkdir: can't create directory '{target}': "
                                    "Permission denied\n")
    assert len(entries(cache_dir)) == 1

    p = run_probe(cached_config(cache_dir), f"mkdir {target} && echo made")
    assert "made" in p.out and len(entries(cache_dir)) == 2, p.out


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage"])
def test_a_corrupt_entry_is_rebuilt_not_trusted(tmp_path, damage):
    cache_dir = tmp_path / "cache"
    config = cached_config(cache_dir)
    steps.prepare(config)
    (name,) = entries(cache_dir)
    path = cache_dir / name
    good = path.read_bytes()
    bad = {"truncate": good[:-5], "garbage": os.urandom(len(good)),
           "flip": good[:-1] + bytes([good[-1] ^ 0xFF])}[damage]
    path.write_bytes(bad)

    assert syscall_errnos(config) == {"clone3": errno.ENOSYS, "mount": errno.EPERM}
    assert seccomp_cache.decode(path.read_bytes()) is not None  # rewritten whole
    assert path.read_bytes() == good


def test_run_caches_under_the_store_root_and_survives_a_corrupt_entry(rsd, images):
    """End to end: `run` fills <root>/cache/seccomp-bpf, another profile
    (--cap-add SYS_ADMIN changes Docker's) adds an entry, and a corrupted
    entry is replaced while the container still gets its filter."""
    rsd("pull", images.busybox.ref, check=True)
    probe = ["sh", "-c", "grep Seccomp: /proc/self/status; unshare -m true || echo refused"]
    out = rsd("run", "--rm", images.busybox.ref, *probe, check=True).stdout
    assert "Seccomp:\t2" in out and "refused" in out, out
    cache_dir = rsd.root / "cache" / "seccomp-bpf"
    (name,) = entries(cache_dir)

    out = rsd("run", "--rm", "--cap-add", "SYS_ADMIN", images.busybox.ref, *probe,
              check=True).stdout
    assert "Seccomp:\t2" in out and "refused" not in out, out
    assert len(entries(cache_dir)) == 2

    (cache_dir / name).write_bytes(b"not a filter")
    out = rsd("run", "--rm", images.busybox.ref, *probe, check=True).stdout
    assert "Seccomp:\t2" in out and "refused" in out, out
    assert seccomp_cache.decode((cache_dir / name).read_bytes()) is not None
