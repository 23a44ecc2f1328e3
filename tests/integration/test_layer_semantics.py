"""Layer semantics a hostile or unusual image relies on (issue 10 item 11),
through the real CLI, the real registry and every rootfs driver:

- an opaque whiteout at a layer's root (`.wh..wh..opq` at the top of its
  tar) hides every lower layer: overlayfs ignores the opaque mark on a
  lowerdir's root, so the layers below must not be in the stack at all,
  for the container and for what rs-docker itself reads (`-u`);
- overlayfs's own xattrs (trusted.overlay.*, user.overlay.*) and
  fuse-overlayfs's (user.fuseoverlayfs.*) carried by layer entries are
  dropped at unpack: on a lowerdir they would redirect a file or a
  directory to a lower path, make it metadata-only, or opaque.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

import pytest

from rs_docker.image.unpack import unpack
from tests.fixtures import oci
from tests.fixtures.busybox import build_rootfs
from tests.fixtures.cli import ok
from tests.fixtures.images import ImageSpec, Layer, push_image

pytestmark = pytest.mark.root

DRIVERS = ["overlay", "fuse-overlayfs", "copy"]
# Every xattr name overlayfs or fuse-overlayfs would read on a lowerdir.
OVERLAY_PREFIXES = ("trusted.overlay.", "user.overlay.", "user.fuseoverlayfs.")


def rootfs_entries(edit=None, extra: list[oci.Entry] = ()) -> list[oci.Entry]:
    """The busybox root filesystem as layer entries, after `edit(root)`."""
    with tempfile.TemporaryDirectory(prefix="rs-layer-sem-") as tmp:
        root = build_rootfs(Path(tmp))
        if edit:
            edit(root)
        return oci.entries_from_dir(root) + list(extra)


def _lower(root: Path) -> None:
    (root / "etc" / "secret-lower").write_text("lower secret\n")
    with open(root / "etc" / "passwd", "a") as f:
        f.write("lowuser:x:4242:4242::/:/bin/sh\n")
    (root / "lowonly").mkdir()
    (root / "lowonly" / "file").write_text("lower\n")


def _top(root: Path) -> None:
    (root / "etc" / "passwd").unlink()  # only the lower layer's /etc/passwd has lowuser
    (root / "etc" / "top.txt").write_text("top\n")


def opaque_root_spec() -> ImageSpec:
    """[busybox + /etc/secret-lower, lowuser in /etc/passwd, /lowonly]
    + [.wh..wh..opq at the root, busybox again without /etc/passwd, /etc/top.txt]
    + [/etc/above.txt]."""
    lower = Layer.from_entries(rootfs_entries(_lower))
    top = Layer.from_entries([oci.file(".wh..wh..opq")] + rootfs_entries(_top))
    above = Layer.from_entries([oci.directory("etc"), oci.file("etc/above.txt", "above\n")])
    return ImageSpec([lower, top, above])


def xattr(**names: str) -> dict[str, str]:
    return {f"SCHILY.xattr.{k.replace('__', '.')}": v for k, v in names.items()}


# trusted.overlay.* and user.overlay.* on the directory and file of an upper
# layer: redirects to lower paths, metacopy, opaque, origin.
HOSTILE_ENTRIES = [
    oci.Entry("data", "dir", mode=0o755, pax=xattr(
        trusted__overlay__opaque="y", user__overlay__opaque="y",
        user__fuseoverlayfs__opaque="y", trusted__overlay__origin="x",
        user__keep="kept")),
    oci.Entry("data/own.txt", "file", b"own\n", mode=0o644, pax=xattr(
        trusted__overlay__redirect="/data/lower.txt", trusted__overlay__metacopy="y",
        user__overlay__redirect="/data/lower.txt", user__overlay__metacopy="y")),
    oci.Entry("data/dir", "dir", mode=0o755, pax=xattr(
        trusted__overlay__redirect="/etc", user__overlay__redirect="/etc")),
    oci.Entry("data/dir/mine", "file", b"mine\n", mode=0o644),
]


def overlay_xattrs_spec() -> ImageSpec:
    """[busybox + /data/lower.txt, /data/dir/lower] + HOSTILE_ENTRIES."""
    def lower(root: Path) -> None:
        (root / "data" / "dir").mkdir(parents=True)
        (root / "data" / "lower.txt").write_text("lower\n")
        (root / "data" / "dir" / "lower").write_text("lower\n")

    return ImageSpec([Layer.from_entries(rootfs_entries(lower)),
                      Layer.from_entries(HOSTILE_ENTRIES)])


@pytest.fixture(scope="module")
def hostile(pusher):
    """name -> reference of the hostile images, pushed once."""
    return {name: push_image(pusher, f"layer-semantics/{name}", "latest", spec()).ref
            for name, spec in (("opaque-root", opaque_root_spec),
                               ("overlay-xattrs", overlay_xattrs_spec))}


@pytest.fixture(params=DRIVERS)
def driver_rsd(request, rsd, store_root):
    (store_root / "rootfs-driver").write_text(request.param + "\n")
    return rsd


# -- (a) an opaque layer root hides every lower layer -------------------------

def test_opaque_layer_root_hides_the_lower_layers(driver_rsd, hostile):
    script = ("cat /etc/top.txt /etc/above.txt; ls /etc; "
              "for p in /etc/secret-lower /lowonly /etc/passwd; do "
              "test -e $p && echo visible $p; done; true")
    out = ok(driver_rsd("run", "--rm", hostile["opaque-root"], "sh", "-c", script))
    assert out.splitlines()[:2] == ["top", "above"]
    assert "secret-lower" not in out and "visible" not in out, out


def test_user_is_not_resolved_from_a_hidden_layer(driver_rsd, hostile):
    proc = driver_rsd("run", "--rm", "-u", "lowuser", hostile["opaque-root"], "id", "-u")
    assert proc.returncode == 125, proc.stdout
    assert "4242" not in proc.stdout
    assert proc.stderr.strip().splitlines()[-1] == \
        "rs-docker: unable to find user lowuser: no matching entries in passwd file"


def test_workdir_and_exec_see_the_same_stack(rsd, hostile):
    ref = hostile["opaque-root"]
    cid = ok(rsd("run", "-d", "-w", "/lowonly", ref, "sleep", "60")).strip()
    try:
        # -w made /lowonly afresh in the container's own layer: empty.
        assert ok(rsd("exec", cid, "sh", "-c", "pwd; ls -A")) == "/lowonly\n"
        proc = rsd("exec", "-u", "lowuser", cid, "id")
        assert (proc.returncode, proc.stdout, proc.stderr) == (
            125, "", "rs-docker: unable to find user lowuser: no matching entries in passwd file\n")
    finally:
        rsd("rm", "-f", cid)


def test_hidden_layers_are_not_in_the_containers_lowerdir(rsd, store_root, hostile):
    ok(rsd("run", "--name", "c1", hostile["opaque-root"], "true"))
    lowers = ok(rsd("inspect", "-f", "{{.GraphDriver.Data.LowerDir}}", "c1")).strip()
    layers = sorted(p for p in (store_root / "layers").iterdir())
    assert len(lowers.split(":")) == 2, lowers
    for layer in lowers.split(":"):
        assert Path(layer) in layers
    assert not any((Path(p) / "etc" / "secret-lower").exists() for p in lowers.split(":"))


# -- (b) overlayfs xattrs from a layer are dropped ----------------------------

def test_overlay_xattrs_of_layer_entries_are_dropped(driver_rsd, store_root, hostile):
    ref = hostile["overlay-xattrs"]
    script = "cat /data/own.txt /data/lower.txt; ls /data/dir"
    out = ok(driver_rsd("run", "--rm", ref, "sh", "-c", script))
    assert out == "own\nlower\nlower\nmine\n"
    found = {(str(p.relative_to(store_root)), name)
             for p in (store_root / "layers").rglob("*")
             for name in os.listxattr(p, follow_symlinks=False)}
    assert {f for f in found if f[1].startswith(OVERLAY_PREFIXES)} == set()
    assert any(name == "user.keep" for _, name in found)  # other xattrs are kept


@pytest.mark.parametrize("privileged", [True, False])
def test_unpack_drops_overlay_xattrs(tmp_path, privileged):
    """The unpacker alone, privileged (trusted.* kept) and not (a rootless
    store): no entry keeps an overlay xattr, except the opaque mark the
    unpacker derives from .wh..wh..opq itself."""
    tar = oci.tar_entries(HOSTILE_ENTRIES + [oci.file(".wh..wh..opq")])
    unpack(io.BytesIO(tar), tmp_path, privileged=privileged)
    marks = {str(p.relative_to(tmp_path)): os.listxattr(p, follow_symlinks=False)
             for p in [tmp_path, *tmp_path.rglob("*")]}
    mark = "trusted.overlay.opaque" if privileged else "user.overlay.opaque"
    assert marks == {".": [mark], "data": ["user.keep"], "data/own.txt": [],
                     "data/dir": [], "data/dir/mine": []}
    assert (tmp_path / "data" / "own.txt").read_bytes() == b"own\n"


# -- rootless: the same through a user's own store ----------------------------

@pytest.fixture(scope="module")
def rootless_user():
    from tests.fixtures.rootless import throwaway_user

    with throwaway_user(f"rsdls{os.getpid() % 10000}", subids=False) as u:
        yield u


@pytest.mark.parametrize("driver", DRIVERS)
def test_rootless_opaque_root_and_overlay_xattrs(rootless_user, hostile, driver):
    """Unpacked unprivileged, the marks are user.overlay.*: the root mark
    hides the lower layers, and the layer's own user.overlay.* are gone."""
    u = rootless_user
    for ref in hostile.values():
        ok(u.rsd("pull", ref))
    if driver == "fuse-overlayfs" and u.sh("test -r /dev/fuse -a -w /dev/fuse").returncode != 0:
        pytest.skip("fuse-overlayfs, or /dev/fuse for the user, missing")
    (u.store / "rootfs-driver").write_text(driver + "\n")
    os.chown(u.store / "rootfs-driver", u.uid, u.gid)
    script = ("cat /etc/top.txt; for p in /etc/secret-lower /lowonly /etc/passwd; do "
              "test -e $p && echo visible $p; done; true")
    assert ok(u.rsd("run", "--rm", hostile["opaque-root"], "sh", "-c", script)) == "top\n"
    proc = u.rsd("run", "--rm", "-u", "lowuser", hostile["opaque-root"], "id", "-u")
    assert (proc.returncode, proc.stdout, proc.stderr) == (
        125, "", "rs-docker: unable to find user lowuser: no matching entries in passwd file\n")
    out = ok(u.rsd("run", "--rm", hostile["overlay-xattrs"], "sh", "-c",
                   "cat /data/own.txt /data/lower.txt; ls /data/dir"))
    assert out == "own\nlower\nlower\nmine\n"
    layers = u.store / "layers"
    found = {(str(p.relative_to(layers)), name) for p in layers.rglob("*")
             for name in os.listxattr(p, follow_symlinks=False)
             if name.startswith(OVERLAY_PREFIXES)}
    # Only the unpacker's own mark: on the root of the opaque-root layer.
    assert [name for _, name in found] == ["user.overlay.opaque"], found
    assert "/" not in next(iter(found))[0]
