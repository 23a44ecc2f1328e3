"""The compiled-seccomp cache: keys follow their inputs, and an entry that is
anything but what we wrote is refused (and so rebuilt by the caller)."""

import os

from rs_docker.runtime import seccomp_cache as cache

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


def _ld_cache(tmp_path, entries, hwcap=0):
    """A glibc-ld.so.cache1.1 file naming (soname, path) entries."""
    import struct

    strings, offsets = b"", []
    table_end = 48 + 24 * len(entries)
    for name, path in entries:
        k = table_end + len(strings)
        strings += name + b"\0"
        v = table_end + len(strings)
        strings += path + b"\0"
        offsets.append((k, v))
    header = b"glibc-ld.so.cache1.1" + struct.pack("=II", len(entries), len(strings))
    header += bytes(48 - len(header))
    table = b"".join(struct.pack("=iIIIQ", 0x303, k, v, 0, hwcap) for k, v in offsets)
    out = tmp_path / "ld.so.cache"
    out.write_bytes(header + table + strings)
    return str(out)


def test_libseccomp_identity_follows_the_file_the_linker_cache_names(tmp_path):
    lib = tmp_path / "libseccomp.so.2.5.4"
    lib.write_bytes(b"old")
    ld = _ld_cache(tmp_path, [(b"libc.so.6", b"/lib/libc.so.6"),
                              (b"libseccomp.so.2", str(lib).encode())])
    first = cache.libseccomp_identity(ld)
    assert first.startswith(f"file:{lib}:")
    lib.unlink()
    lib.write_bytes(b"new version")  # an upgrade replaces the file
    assert cache.libseccomp_identity(ld) != first


def test_libseccomp_identity_falls_back_to_the_loaded_version(tmp_path, monkeypatch):
    from rs_docker.linux import seccomp as scmp

    lib = tmp_path / "libseccomp.so.2"
    lib.write_bytes(b"x")
    version = scmp.version()
    for ld in (_ld_cache(tmp_path, [(b"libseccomp.so.2", str(lib).encode())] * 2),  # several
               _ld_cache(tmp_path, [(b"libseccomp.so.2", str(lib).encode())], hwcap=1),
               _ld_cache(tmp_path, [(b"libseccomp.so.2", b"/nonexistent/lib.so")]),
               _ld_cache(tmp_path, [(b"libother.so.1", str(lib).encode())]),
               str(tmp_path / "missing"), "/etc/hostname"):
        assert cache.libseccomp_identity(ld) == version, ld
    ld = _ld_cache(tmp_path, [(b"libseccomp.so.2", str(lib).encode())])
    monkeypatch.setenv("LD_LIBRARY_PATH", str(tmp_path))
    assert cache.libseccomp_identity(ld) == version


def test_canonical_json_is_jsons_sorted_compact_form():
    import json

    value = {"b": [1, {"z": None, "a": True}], "a": "é\"", "c": (2.5, "x")}
    assert cache.canonical_json(value) == json.dumps(value, sort_keys=True,
                                                     separators=(",", ":"))
