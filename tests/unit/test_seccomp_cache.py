"""The compiled-seccomp cache: keys follow their inputs, and an entry that is
anything but what we wrote is refused (and so rebuilt by the caller)."""

import os

from rs_docker.runtime.security import seccomp_cache as cache

PROFILE = {"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
           "syscalls": [{"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"}]}
PROGRAM = bytes(range(8)) * 5  # five 8-byte instructions


def test_key_ignores_key_order_but_follows_every_input():
    reordered = dict(reversed(list(PROFILE.items())))
    base = cache.key(PROFILE, "2.5.4", "x86_64")
    assert cache.key(reordered, "2.5.4", "x86_64") == base
    changed = {**PROFILE, "defaultAction": "SCMP_ACT_KILL"}
    assert len({base, cache.key(changed, "2.5.4", "x86_64"),
                cache.key(PROFILE, "2.5.5", "x86_64"),
                cache.key(PROFILE, "2.5.4", "aarch64")}) == 4


def test_round_trip(tmp_path):
    cache.write(str(tmp_path / "c"), "k", PROGRAM)
    assert cache.read(str(tmp_path / "c"), "k") == PROGRAM
    assert oct(os.stat(tmp_path / "c").st_mode & 0o777) == "0o700"
    assert not [n for n in os.listdir(tmp_path / "c") if n.endswith(".tmp")]


def test_absent_entry_is_none(tmp_path):
    assert cache.read(str(tmp_path), "nope") is None


def test_corrupt_entries_are_refused():
    good = cache.encode(PROGRAM)
    assert cache.decode(good) == PROGRAM
    flipped = bytearray(good)
    flipped[-1] ^= 1
    for bad in (b"", good[:10], good[:-3], bytes(flipped), b"X" + good[1:],
                cache.HEADER + good[len(cache.HEADER):-8],  # checksum of the long program
                cache.encode(b"")):
        assert cache.decode(bad) is None, bad


def test_an_entry_others_can_write_is_not_trusted(tmp_path):
    cache.write(str(tmp_path), "k", PROGRAM)
    os.chmod(cache.path(str(tmp_path), "k"), 0o666)
    assert cache.read(str(tmp_path), "k") is None


def test_a_symlinked_entry_is_not_followed(tmp_path):
    (tmp_path / "real").write_bytes(cache.encode(PROGRAM))
    os.symlink(tmp_path / "real", cache.path(str(tmp_path), "k"))
    assert cache.read(str(tmp_path), "k") is None


def test_libseccomp_identity_follows_the_linker_cache(tmp_path, monkeypatch):
    # the caller's environment may set it (it did on an Ubuntu CI host):
    # with it set the identity is the library's version, tested below
    monkeypatch.delenv("LD_LIBRARY_PATH", raising=False)
    ld = tmp_path / "ld.so.cache"
    ld.write_bytes(b"before")
    first = cache.libseccomp_identity(str(ld))
    assert first.startswith("ld.so.cache:") and cache.libseccomp_identity(str(ld)) == first
    ld.unlink()
    ld.write_bytes(b"after ldconfig ran")  # a library was installed or upgraded
    assert cache.libseccomp_identity(str(ld)) != first


def test_libseccomp_identity_falls_back_to_the_loaded_version(tmp_path, monkeypatch):
    from rs_docker.linux import seccomp as scmp

    version = scmp.version()
    assert cache.libseccomp_identity(str(tmp_path / "missing")) == version
    ld = tmp_path / "ld.so.cache"
    ld.write_bytes(b"x")
    monkeypatch.setenv("LD_LIBRARY_PATH", str(tmp_path))
    assert cache.libseccomp_identity(str(ld)) == version


def test_canonical_json_is_jsons_sorted_compact_form():
    import json

    value = {"b": [1, {"z": None, "a": True}], "a": "é\"", "c": (2.5, "x")}
    assert cache.canonical_json(value) == json.dumps(value, sort_keys=True,
                                                     separators=(",", ":"))


def test_a_write_keeps_only_the_newest_entries_and_drops_stale_temp_files(tmp_path):
    program = bytes(8)  # one BPF instruction's worth
    for i in range(5):
        cache.write(str(tmp_path), f"k{i}", program)
        os.utime(tmp_path / f"k{i}.bpf", (1000 + i, 1000 + i))
    (tmp_path / "k9.bpf.1.ab.tmp").write_bytes(b"torn")
    os.utime(tmp_path / "k9.bpf.1.ab.tmp", (1, 1))
    (tmp_path / "k8.bpf.2.cd.tmp").write_bytes(b"being written")
    cache.prune(str(tmp_path), keep=3)
    assert sorted(os.listdir(tmp_path)) == ["k2.bpf", "k3.bpf", "k4.bpf", "k8.bpf.2.cd.tmp"]
    cache.write(str(tmp_path), "new", program)  # a miss prunes with KEEP
    assert "new.bpf" in os.listdir(tmp_path)
