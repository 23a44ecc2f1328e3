"""Layer unpacking, for real, as root: hostile tarballs cannot touch the host,
normal content comes out exactly, whiteouts work in a real overlay mount."""

from __future__ import annotations

import io
import os
import stat
import subprocess
import tarfile
import tempfile
from pathlib import Path

import pytest

from rs_docker.errors import StoreError, UnsafeLayerEntry, UnsupportedManifest
from rs_docker.image.decompress import DigestingReader
from rs_docker.image.unpack import open_decompressed, unpack
from rs_docker.models.digest import Digest
from tests.fixtures import tarballs as T
from tests.fixtures import userenv

pytestmark = [pytest.mark.root,
              pytest.mark.skipif(os.geteuid() != 0, reason="needs root (owners, devices, xattrs)")]

TAR = "application/vnd.oci.image.layer.v1.tar"


@pytest.fixture
def host(tmp_path) -> Path:
    """A stand-in for the host: files an escape would change, outside the layer."""
    h = tmp_path / "host"
    h.mkdir()
    (h / "passwd").write_text("root:x:0:0::/root:/bin/sh\n")
    os.chmod(h / "passwd", 0o644)
    os.utime(h / "passwd", (1000, 1000))
    os.chmod(h, 0o755)
    return h


@pytest.fixture
def layer(tmp_path) -> Path:
    # Deep enough that "../../.." from inside would land in tmp_path.
    d = tmp_path / "store" / "layers" / "abc"
    d.mkdir(parents=True)
    return d


def run(data: bytes, dest: Path, **kw) -> int:
    return unpack(io.BytesIO(data), dest, **kw)


def snapshot(path: Path) -> dict:
    out = {}
    for p in [path, *sorted(path.rglob("*"))]:
        st = p.lstat()
        out[str(p)] = (st.st_mode, st.st_nlink, st.st_mtime_ns, st.st_uid,
                       p.read_bytes() if p.is_file() and not p.is_symlink() else None)
    return out


def tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


# -- escapes: each leaves the host untouched ----------------------------------

@pytest.mark.parametrize("name", ["../escaped", "a/../../escaped", "/abs/../../escaped",
                                  "../../../host/passwd"])
def test_dotdot_names_are_refused(name, layer, host, tmp_path):
    before = snapshot(tmp_path)
    with pytest.raises(UnsafeLayerEntry, match=r"points outside the layer \('\.\.'\)"):
        run(T.dotdot(name), layer)
    assert snapshot(tmp_path) == before


def test_absolute_name_lands_inside(layer, host):
    run(T.build(T.file(f"{host}/passwd", b"inside\n")), layer)
    assert (layer / str(host).lstrip("/") / "passwd").read_text() == "inside\n"
    assert (host / "passwd").read_text().startswith("root:")


def test_symlink_to_root_then_file_through_it(layer, host, tmp_path):
    before = snapshot(host)
    # link -> /, then link/<host>/passwd: chroot semantics put it in the layer.
    run(T.symlink_then_through("/", f"{str(host).lstrip('/')}/passwd"), layer)
    assert snapshot(host) == before
    assert os.readlink(layer / "link") == "/"
    assert (layer / str(host).lstrip("/") / "passwd").read_text() == "pwned\n"


def test_symlink_to_dotdot_then_file_through_it(layer, host):
    before = snapshot(host)
    run(T.symlink_then_through("../../..", "host/passwd"), layer)
    assert snapshot(host) == before
    assert os.readlink(layer / "link") == "../../.."  # kept verbatim
    assert (layer / "host" / "passwd").read_text() == "pwned\n"


def test_symlink_loop_is_refused(layer):
    data = T.build(T.symlink("a", "b"), T.symlink("b", "a"), T.file("a/x"))
    with pytest.raises(UnsafeLayerEntry, match="too many levels of symbolic links"):
        run(data, layer)


def test_hardlink_to_host_file_is_refused(layer):
    nlink = os.stat("/etc/passwd").st_nlink
    with pytest.raises(UnsafeLayerEntry, match="hard link to '/etc/passwd', which is not in"):
        run(T.hardlink_to("/etc/passwd"), layer)
    assert os.stat("/etc/passwd").st_nlink == nlink
    assert not (layer / "stolen").exists()


def test_hardlink_with_dotdot_is_refused(layer, host):
    with pytest.raises(UnsafeLayerEntry, match=r"\.\."):
        run(T.hardlink_to("../../../host/passwd"), layer)
    assert os.stat(host / "passwd").st_nlink == 1


def test_hardlink_through_symlink_stays_inside(layer, host):
    with pytest.raises(UnsafeLayerEntry, match="not in the layer"):
        run(T.hardlink_through_symlink("/", f"{str(host).lstrip('/')}/passwd"), layer)
    assert os.stat(host / "passwd").st_nlink == 1
    # ... and links to the layer's own file when it exists there.
    inner = f"{str(host).lstrip('/')}/passwd"
    run(T.build(T.file(inner, b"mine\n"), T.symlink("link", "/"),
                T.hardlink("stolen", f"link/{inner}")), layer)
    assert (layer / "stolen").read_text() == "mine\n"
    assert os.stat(layer / "stolen").st_nlink == 2
    assert os.stat(host / "passwd").st_nlink == 1


def test_file_over_symlink_to_host_file_replaces_the_link(layer, host):
    before = snapshot(host)
    run(T.build(T.symlink("f", str(host / "passwd")),
                T.file("f", b"new\n", mode=0o777, mtime=5)), layer)
    assert snapshot(host) == before
    assert not (layer / "f").is_symlink() and (layer / "f").read_text() == "new\n"


def test_symlink_metadata_never_reaches_its_target(layer, host):
    before = snapshot(host)
    run(T.build(T.symlink("s", str(host / "passwd"), mode=0o777, mtime=5, uid=1000)), layer)
    assert snapshot(host) == before
    st = os.lstat(layer / "s")
    assert st.st_mtime == 5 and st.st_uid == 1000  # set on the link itself


def test_directory_replaced_by_symlink_keeps_host_dir_mode(layer, host):
    before = snapshot(host)
    # The directory's mode/mtime are applied at the end; by then "d" is a
    # symlink to the host dir, which must not get mode 0700 and mtime 5.
    run(T.build(T.directory("d", mode=0o700, mtime=5), T.symlink("d", str(host))), layer)
    assert snapshot(host) == before
    assert os.readlink(layer / "d") == str(host)


def test_directory_over_symlink_to_host_dir(layer, host):
    before = snapshot(host)
    run(T.build(T.symlink("d", str(host)), T.directory("d", mode=0o777),
                T.file("d/passwd", b"inside\n")), layer)
    assert snapshot(host) == before
    assert (layer / "d").is_dir() and not (layer / "d").is_symlink()


@pytest.mark.parametrize("name", [".wh...", "a/.wh..", ".wh."])
def test_whiteout_naming_dot_or_dotdot_is_refused(name, layer, tmp_path):
    before = snapshot(tmp_path)
    with pytest.raises(UnsafeLayerEntry, match="invalid whiteout"):
        run(T.build(T.file(name)), layer)
    assert snapshot(tmp_path) == before


def test_device_node_unprivileged_is_skipped(layer):
    data = T.build(T.chardev("dev/null", 1, 3, mode=0o666), T.fifo("run/fifo"), T.file("ok"))
    run(data, layer, privileged=False)
    assert not (layer / "dev" / "null").exists()
    assert stat.S_ISFIFO(os.lstat(layer / "run" / "fifo").st_mode)
    assert (layer / "ok").exists()


def test_device_node_as_nobody_is_skipped():
    """A real unprivileged process (uid nobody): mknod would be refused, so
    the device is skipped and the rest of the layer unpacks."""
    with tempfile.TemporaryDirectory(prefix="rs-unpack-nobody-") as top:
        os.chmod(top, 0o755)  # pytest's tmp_path is 0700: nobody could not reach it
        dest = Path(top) / "layer"
        dest.mkdir()
        os.chown(dest, 65534, 65534)
        data = T.build(T.chardev("dev/null", 1, 3), T.file("etc/ok", b"x"), T.file(".wh.gone"))
        code = ("import sys; from pathlib import Path; from rs_docker.image.unpack import unpack;"
                "print(unpack(sys.stdin.buffer, Path(sys.argv[1])))")
        # the clone may sit where nobody cannot enter: the install nobody can run
        python = userenv.shared_script().parent / "python3"
        out = subprocess.run([str(python), "-c", code, str(dest)], input=data,
                             user=65534, group=65534, capture_output=True, cwd="/")
        assert out.returncode == 0, out.stderr.decode()
        assert not (dest / "dev" / "null").exists()
        assert (dest / "etc" / "ok").read_text() == "x"
        assert (dest / "etc" / "ok").stat().st_uid == 65534
        wh = os.lstat(dest / "gone")  # unprivileged whiteouts work since Linux 5.8
        assert stat.S_ISCHR(wh.st_mode) and wh.st_rdev == 0


def test_device_node_as_root_is_made(layer):
    run(T.build(T.chardev("dev/null", 1, 3, mode=0o666)), layer)
    st = os.lstat(layer / "dev" / "null")
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3)
    assert stat.S_IMODE(st.st_mode) == 0o666


def test_component_longer_than_name_max(layer):
    with pytest.raises(UnsafeLayerEntry, match="file name too long"):
        run(T.build(T.file("d/" + "x" * 300)), layer)


def test_name_longer_than_path_max(layer):
    with pytest.raises(UnsafeLayerEntry, match="name too long"):
        run(T.build(T.file("a/" * 2100 + "x")), layer)
    assert list(layer.iterdir()) == []


def test_huge_pax_header_is_refused_before_reading_it(layer):
    with pytest.raises(UnsafeLayerEntry, match="extended header"):
        run(T.long_header(2 << 20), layer)


def test_truncated_tar(layer):
    data = T.build(T.file("big", b"x" * 100_000))[:20_000]
    with pytest.raises(UnsafeLayerEntry, match="ends inside 'big'|invalid layer tar"):
        run(data, layer)


def test_tar_cut_at_a_member_boundary(layer):
    full = T.build(T.file("a", b"x" * 512), T.file("b", b"y" * 512))
    with pytest.raises(UnsafeLayerEntry, match="no end-of-archive marker"):
        run(full[:2048], layer)  # header+data of "a" and of "b" (PAX adds none here)
    with pytest.raises(UnsafeLayerEntry, match="no end-of-archive marker"):
        run(full[:1024] + b"garbage!" * 64 + full[1536:], layer)


def test_trusted_overlay_xattrs_are_not_taken_from_the_layer(layer):
    run(T.build(T.directory("d", pax={"SCHILY.xattr.trusted.overlay.opaque": "y",
                                      "SCHILY.xattr.user.keep": "v"})), layer)
    assert os.listxattr(layer / "d") == ["user.keep"]


# -- normal content is preserved exactly ---------------------------------------

def test_content_preserved(layer):
    data = T.build(
        T.directory("usr", mode=0o755, mtime=100),
        T.directory("usr/bin", mode=0o755, mtime=200),
        T.file("usr/bin/su", b"\x7fELF", mode=0o4755, uid=0, gid=0, mtime=300),
        T.file("usr/bin/app", b"app", mode=0o2750, uid=1000, gid=1000, mtime=400),
        T.directory("tmp", mode=0o1777, mtime=500),
        T.symlink("bin", "usr/bin", mtime=600, uid=1000, gid=1000),
        T.symlink("abs", "/usr/bin/su"),
        T.hardlink("usr/bin/su2", "usr/bin/su"),
        T.file("cap", b"c", pax={"SCHILY.xattr.user.comment": "hello",
                                 "SCHILY.xattr.trusted.note": "t"}),
        T.directory("ro", mode=0o555, mtime=700),
        T.file("ro/inside", b"i", mode=0o444),
        T.fifo("fifo", mode=0o600),
    )
    assert run(data, layer) == 4 + 3 + 1 + 1
    st = os.lstat(layer / "usr/bin/su")
    assert stat.S_IMODE(st.st_mode) == 0o4755 and st.st_mtime == 300 and st.st_nlink == 2
    st = os.lstat(layer / "usr/bin/app")
    assert stat.S_IMODE(st.st_mode) == 0o2750 and (st.st_uid, st.st_gid) == (1000, 1000)
    assert os.lstat(layer / "usr/bin/su2").st_ino == os.lstat(layer / "usr/bin/su").st_ino
    assert stat.S_IMODE(os.lstat(layer / "tmp").st_mode) == 0o1777
    assert os.readlink(layer / "bin") == "usr/bin"
    assert os.lstat(layer / "bin").st_mtime == 600 and os.lstat(layer / "bin").st_uid == 1000
    assert os.readlink(layer / "abs") == "/usr/bin/su"
    assert os.getxattr(layer / "cap", "user.comment") == b"hello"
    assert os.getxattr(layer / "cap", "trusted.note") == b"t"
    # directory mtimes survive the files written into them afterwards
    assert os.lstat(layer / "usr").st_mtime == 100
    assert os.lstat(layer / "usr/bin").st_mtime == 200
    assert stat.S_IMODE(os.lstat(layer / "ro").st_mode) == 0o555
    assert os.lstat(layer / "ro").st_mtime == 700
    assert stat.S_ISFIFO(os.lstat(layer / "fifo").st_mode)


def test_later_entry_wins_and_dirs_merge(layer):
    run(T.build(
        T.file("x", b"file"), T.directory("x"), T.file("x/in", b"1"),   # dir replaces file
        T.directory("y"), T.file("y/a", b"a"), T.file("y", b"file"),    # file replaces dir
        T.directory("z"), T.file("z/a", b"a"), T.directory("z", mode=0o700),
        T.file("z/b", b"b"),                                            # dir over dir merges
        T.file("w", b"old"), T.file("w", b"new"),
    ), layer)
    assert (layer / "x" / "in").read_text() == "1"
    assert (layer / "y").read_text() == "file"
    assert sorted(os.listdir(layer / "z")) == ["a", "b"]
    assert stat.S_IMODE(os.lstat(layer / "z").st_mode) == 0o700
    assert (layer / "w").read_text() == "new"


def test_overwriting_a_hardlinked_file_leaves_the_other_name(layer):
    run(T.build(T.file("a", b"orig"), T.hardlink("b", "a"), T.file("b", b"new")), layer)
    assert (layer / "a").read_text() == "orig" and (layer / "b").read_text() == "new"


# -- whiteouts ----------------------------------------------------------------

def test_whiteouts_become_overlay_form(layer):
    run(T.build(T.directory("etc"), T.file("etc/.wh.gone"), T.file("d/.wh..wh..opq"),
                T.file(".wh..wh.plnk/123.456"), T.file("d/kept")), layer)
    st = os.lstat(layer / "etc" / "gone")
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0
    assert os.getxattr(layer / "d", "trusted.overlay.opaque") == b"y"
    assert tree(layer) == {"etc", "etc/gone", "d", "d/kept"}


def test_overlay_mount_shows_deletion_and_opaque_dir(tmp_path):
    lower = tmp_path / "l1"
    upper = tmp_path / "l2"
    lower.mkdir(), upper.mkdir()
    run(T.build(T.file("a/keep", b"k"), T.file("a/gone", b"g"), T.file("d/old", b"o")), lower)
    run(T.build(T.file("a/.wh.gone"), T.directory("d"), T.file("d/.wh..wh..opq"),
                T.file("d/new", b"n")), upper)
    merged = tmp_path / "merged"
    merged.mkdir()
    script = (f"mount -t overlay overlay -o lowerdir={upper}:{lower} {merged} && "
              f"cd {merged} && find . | sort")
    out = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                         capture_output=True, text=True)
    if out.returncode != 0 and "unknown filesystem type" in out.stderr:
        pytest.skip("overlayfs not available")
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [".", "./a", "./a/keep", "./d", "./d/new"]


# -- streams ------------------------------------------------------------------

@pytest.mark.parametrize("media_type,compress", [
    ("application/vnd.oci.image.layer.v1.tar+gzip", T.gz),
    ("application/vnd.docker.image.rootfs.diff.tar.gzip", T.gz),
    ("application/vnd.oci.image.layer.v1.tar+zstd", T.zst),
    (TAR, lambda b: b),
    ("application/octet-stream", T.gz),   # generic: sniffed
])
def test_compressed_layers_unpack_and_diff_id_is_checked(media_type, compress, layer):
    tar = T.build(T.file("hello", b"hi\n"))
    with open_decompressed(io.BytesIO(compress(tar)), media_type) as stream:
        reader = DigestingReader(stream)
        unpack(reader, layer)
    assert (layer / "hello").read_text() == "hi\n"
    # unpack read the tar to its end, so the DiffID covers every byte
    assert reader.digest() == Digest.sha256_of(tar)


def test_unknown_media_type_is_refused():
    with pytest.raises(UnsupportedManifest, match="unsupported layer media type"):
        open_decompressed(io.BytesIO(b""), "application/vnd.example.layer+rar")


def test_not_a_tar(layer):
    with pytest.raises(UnsafeLayerEntry, match="invalid layer tar"):
        run(b"this is not a tar at all" * 100, layer)


def test_gnu_format_long_names(layer):
    name = "d/" + "n" * 200 + "/file"
    run(T.build(T.file(name, b"x"), T.symlink("l", "t" * 300), format=tarfile.GNU_FORMAT),
        layer)
    assert (layer / name).read_text() == "x"
    assert os.readlink(layer / "l") == "t" * 300


@pytest.mark.parametrize("fmt", ["gnu", "posix"])
def test_sparse_files_from_gnu_tar(fmt, tmp_path, layer):
    src = tmp_path / "src"
    src.mkdir()
    with open(src / "sparse", "wb") as f:
        f.truncate(4 << 20)
        f.seek(2 << 20)
        f.write(b"middle")
    data = subprocess.run(["tar", "--sparse", f"--format={fmt}", "-cf", "-", "-C", str(src),
                           "sparse"], check=True, capture_output=True).stdout
    assert run(data, layer) == 4 << 20
    assert (layer / "sparse").read_bytes() == (src / "sparse").read_bytes()


def test_missing_destination_is_a_store_error(tmp_path):
    with pytest.raises(StoreError, match="unpack into .*/nope: no such file or directory"):
        run(T.build(T.file("x")), tmp_path / "nope")


class Dropped(ConnectionResetError):
    """What a registry stream raises when the connection goes (an OSError)."""


class DropsAfter(io.RawIOBase):
    def __init__(self, data: bytes, limit: int):
        self._data, self._left = io.BytesIO(data), limit

    def readable(self):
        return True

    def readinto(self, b):
        if self._left <= 0:
            raise Dropped("connection reset by peer")
        n = self._data.readinto(memoryview(b)[: min(len(b), self._left)])
        self._left -= n
        return n


def test_stream_errors_are_not_blamed_on_the_layer(layer):
    data = T.build(T.file("big", os.urandom(300_000)))
    with pytest.raises(Dropped, match="connection reset"):
        unpack(DropsAfter(data, 100_000), layer)
