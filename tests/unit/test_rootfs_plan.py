"""Rootfs plan (pure) and the unmounted views of the layers: the merged
lookup, workdir creation in the upper dir, and the copy fallback — all
following overlayfs rules for whiteouts and opaque directories, and never
leaving the container's root through a symlink."""

import os
import stat
from pathlib import Path

import pytest

from rs_docker.container import layercopy
from rs_docker.container.layerfs import OPAQUE_XATTR, ImagePathError, LayerStack
from rs_docker.container.rootfs import plan
from rs_docker.errors import StoreError

needs_root = pytest.mark.skipif(os.geteuid() != 0,
                                reason="whiteouts (mknod) and trusted.* xattrs need root")


def test_plan_lowers_are_top_first_and_upper_work_in_container_dir(tmp_path):
    p = plan(tmp_path / "c", [Path("/l/base"), Path("/l/mid"), Path("/l/top")], "overlay")
    assert p.lowers == ("/l/top", "/l/mid", "/l/base")  # plain strings (issue 6)
    assert p.mounts() == [{
        "destination": "/", "type": "overlay", "source": "overlay",
        "options": ["lowerdir=/l/top:/l/mid:/l/base", f"upperdir={tmp_path}/c/upper",
                    f"workdir={tmp_path}/c/work", "index=off"]}]
    assert p.rootfs == str(tmp_path / "c" / "rootfs")


def test_volatile_plan_mounts_volatile_as_root_on_kernels_that_have_it(tmp_path, monkeypatch):
    from rs_docker.container import rootfs

    assert "volatile" not in plan(tmp_path, [Path("/l")], "overlay", rootless=False).mounts()[0][
        "options"]
    monkeypatch.setattr(rootfs, "_has_volatile", lambda release: True)
    [m] = plan(tmp_path, [Path("/l")], "overlay", rootless=False, volatile=True).mounts()
    assert m["options"][-2:] == ["index=off", "volatile"]
    # Rootless keeps the plain mount; the fallbacks mount no overlay of the kernel.
    assert "volatile" not in plan(tmp_path, [Path("/l")], "overlay", rootless=True,
                                  volatile=True).mounts()[0]["options"]
    assert plan(tmp_path, [Path("/l")], "copy", volatile=True).volatile is False
    monkeypatch.setattr(rootfs, "_has_volatile", lambda release: False)
    assert "volatile" not in plan(tmp_path, [Path("/l")], "overlay", rootless=False,
                                  volatile=True).mounts()[0]["options"]


@pytest.mark.parametrize("release,has", [
    ("6.18.44-fc-v669", True), ("5.10.0-28-amd64", True), ("5.9.16", False),
    ("4.19.0", False), ("5.15rc1", True), ("weird", False)])
def test_volatile_needs_linux_5_10(release, has):
    from rs_docker.container.rootfs import _has_volatile

    assert _has_volatile(release) is has


def test_plan_without_layers_uses_an_empty_lower(tmp_path):
    assert plan(tmp_path, [], "overlay").lowers == (str(tmp_path / "empty"),)


def test_fallback_drivers_need_no_mount_from_the_runtime(tmp_path):
    assert plan(tmp_path, [Path("/l")], "copy").mounts() == []
    assert plan(tmp_path, [Path("/l")], "fuse-overlayfs").mounts() == []


def test_too_many_layers_for_one_mount_page(tmp_path):
    layers = [Path("/var/lib/rs-docker/layers") / (f"{i:x}" * 64)[:64] for i in range(60)]
    with pytest.raises(StoreError, match="too many layers"):
        plan(tmp_path, layers, "overlay")
    assert plan(tmp_path, layers, "copy").driver == "copy"


def whiteout(path: Path) -> None:
    os.mknod(path, stat.S_IFCHR | 0o600, os.makedev(0, 0))


@pytest.fixture
def layers(tmp_path):
    """base: /etc/passwd, /etc/group, /data/old, /link -> /etc, /escape -> ../../..
    top:  whiteout of /etc/group, opaque /data with /data/new, /etc/passwd replaced."""
    base, top, upper = tmp_path / "base", tmp_path / "top", tmp_path / "upper"
    for d in (base / "etc", base / "data", top / "etc", top / "data", upper):
        d.mkdir(parents=True)
    (base / "etc" / "passwd").write_text("base\n")
    (base / "etc" / "group").write_text("g\n")
    (base / "data" / "old").write_text("old\n")
    (base / "link").symlink_to("/etc")
    (base / "escape").symlink_to("../../../../../../etc")
    (top / "etc" / "passwd").write_text("top\n")
    (top / "data" / "new").write_text("new\n")
    return base, top, upper


@needs_root
def test_lookup_top_wins_whiteouts_hide_opaque_dirs_hide(layers):
    base, top, upper = layers
    whiteout(top / "etc" / "group")
    os.setxattr(top / "data", OPAQUE_XATTR, b"y")
    stack = LayerStack([upper, top, base])
    assert stack.read_file("/etc/passwd") == b"top\n"
    assert stack.read_file("/etc/group") is None
    assert stack.read_file("/data/old") is None
    assert stack.read_file("/data/new") == b"new\n"


@needs_root
def test_symlinks_resolve_inside_the_root(layers, tmp_path):
    base, top, upper = layers
    stack = LayerStack([upper, top, base])
    assert stack.read_file("/link/passwd") == b"top\n"
    # ../../.. from the root stays at the root: this is the image's /etc
    assert stack.read_file("/escape/passwd") == b"top\n"
    (base / "hostfile").symlink_to(str(tmp_path / "secret"))
    (tmp_path / "secret").write_text("host secret")
    assert stack.read_file("/hostfile") is None


@needs_root
def test_makedirs_creates_in_upper_copying_parent_metadata(layers):
    base, top, upper = layers
    os.chown(base / "data", 7, 8)
    os.chmod(base / "data", 0o750)
    stack = LayerStack([upper, top, base])
    stack.makedirs("/data/a/b")
    assert (upper / "data" / "a" / "b").is_dir()
    st = os.lstat(upper / "data")
    assert (st.st_uid, st.st_gid) == (os.lstat(top / "data").st_uid,
                                      os.lstat(top / "data").st_gid)
    assert stat.S_IMODE(os.lstat(upper / "data" / "a").st_mode) == 0o755
    assert not (base / "data" / "a").exists() and not (top / "data" / "a").exists()


@needs_root
def test_makedirs_through_symlink_stays_in_the_root(layers, tmp_path):
    base, top, upper = layers
    (base / "out").symlink_to(str(tmp_path / "host"))
    LayerStack([upper, top, base]).makedirs("/out/work")
    assert not (tmp_path / "host").exists()
    assert (upper / str(tmp_path / "host").lstrip("/") / "work").is_dir()


@needs_root
def test_makedirs_over_a_file_fails(layers):
    base, top, upper = layers
    with pytest.raises(ImagePathError, match="not a directory"):
        LayerStack([upper, top, base]).makedirs("/etc/passwd/x")


@needs_root
def test_copy_fallback_applies_whiteouts_opaque_and_replaces_symlinks(layers, tmp_path):
    base, top, _ = layers
    whiteout(top / "etc" / "group")
    os.setxattr(top / "data", OPAQUE_XATTR, b"y")
    (base / "shadowed").symlink_to(str(tmp_path / "hostdir"))
    (tmp_path / "hostdir").mkdir()
    (top / "shadowed").mkdir()
    (top / "shadowed" / "f").write_text("in image")
    (top / "hard1").write_text("x")
    os.link(top / "hard1", top / "hard2")
    dest = tmp_path / "rootfs"
    dest.mkdir()
    layercopy.merge_layers([base, top], dest)
    assert (dest / "etc" / "passwd").read_text() == "top\n"
    assert not (dest / "etc" / "group").exists()
    assert sorted(os.listdir(dest / "data")) == ["new"]
    assert (dest / "link").readlink() == Path("/etc")
    assert (dest / "shadowed").is_dir() and not (dest / "shadowed").is_symlink()
    assert os.listdir(tmp_path / "hostdir") == []
    assert os.stat(dest / "hard1").st_ino == os.stat(dest / "hard2").st_ino
    assert OPAQUE_XATTR not in os.listxattr(dest / "data")
