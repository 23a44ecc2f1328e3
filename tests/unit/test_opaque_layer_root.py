"""An opaque layer root hides every lower layer (overlayfs ignores the mark
on a lowerdir's root, so the plan leaves those layers out), and the xattr
names only the unpacker may write. Runs as any user: the opaque mark is
the one the current user's store carries (trusted.* as root, user.* else)."""

from __future__ import annotations

import os

import pytest

from rs_docker.container import layercopy
from rs_docker.container.layerfs import (
    OPAQUE_XATTR,
    OPAQUE_XATTR_USER,
    is_opaque,
    opaque_xattr,
    visible_layers,
)
from rs_docker.container.rootfs import make_dirs, plan, populate
from rs_docker.image.whiteouts import is_reserved_xattr


@pytest.fixture
def layers(tmp_path):
    """l0..l3, bottom-first, each with /etc/passwd naming its layer and a
    file of its own, /only-lN."""
    out = []
    for i in range(4):
        d = tmp_path / "layers" / f"l{i}"
        (d / "etc").mkdir(parents=True)
        (d / "etc" / "passwd").write_text(f"u{i}:x:{i}:{i}::/:/bin/sh\n")
        (d / f"only-l{i}").write_text(f"l{i}\n")
        out.append(str(d))
    return out


def mark(path: str) -> None:
    """What unpack writes for a `.wh..wh..opq` at the top of a layer."""
    os.setxattr(path, opaque_xattr(), b"y")


def test_the_mark_is_the_stores_own_name():
    assert opaque_xattr() == (OPAQUE_XATTR if os.geteuid() == 0 else OPAQUE_XATTR_USER)


def test_without_a_mark_every_layer_is_visible(layers):
    assert visible_layers(layers) == layers


def test_the_topmost_marked_root_hides_the_layers_below(layers):
    mark(layers[1])
    assert visible_layers(layers) == layers[1:]
    mark(layers[2])
    assert visible_layers(layers) == layers[2:]


def test_a_mark_on_the_top_layer_leaves_only_it(layers):
    mark(layers[3])
    assert visible_layers(layers) == layers[3:]


def test_layers_below_the_mark_are_never_read(layers, tmp_path):
    mark(layers[2])
    gone = [str(tmp_path / "removed-a"), str(tmp_path / "removed-b")]
    assert visible_layers(gone + layers[2:]) == layers[2:]


def test_the_other_namespaces_mark_does_not_count(layers):
    # The unpacker writes one name per store; the other is not its.
    other = OPAQUE_XATTR_USER if opaque_xattr() == OPAQUE_XATTR else OPAQUE_XATTR
    try:
        os.setxattr(layers[2], other, b"y")
    except PermissionError:
        pytest.skip(f"{other} needs root")
    assert visible_layers(layers) == layers
    assert not is_opaque(layers[2]) and is_opaque(layers[2], other)


def test_plan_and_every_reader_agree(layers, tmp_path):
    mark(layers[2])
    (tmp_path / "c").mkdir()
    p = plan(tmp_path / "c", layers, "overlay")
    assert p.lowers == (layers[3], layers[2])
    assert p.mounts()[0]["options"][0] == f"lowerdir={layers[3]}:{layers[2]}"
    make_dirs(p)
    stack = p.stack()
    assert stack.read_file("/etc/passwd") == b"u3:x:3:3::/:/bin/sh\n"
    assert stack.read_file("/only-l2") == b"l2\n"
    assert stack.read_file("/only-l1") is None and stack.read_file("/only-l0") is None


def test_plan_of_the_copy_driver_copies_only_the_visible_layers(layers, tmp_path):
    mark(layers[1])
    (tmp_path / "c").mkdir()
    p = plan(tmp_path / "c", layers, "copy")
    make_dirs(p)
    populate(p)
    assert sorted(os.listdir(p.rootfs)) == ["etc", "only-l1", "only-l2", "only-l3"]
    assert p.stack().read_file("/only-l0") is None


def test_copy_honours_the_stores_opaque_directories(tmp_path):
    base, top, dest = (tmp_path / n for n in ("base", "top", "dest"))
    for d in (base / "data", top / "data", dest):
        d.mkdir(parents=True)
    (base / "data" / "old").write_text("old\n")
    (top / "data" / "new").write_text("new\n")
    mark(str(top / "data"))
    os.setxattr(top / "data", "user.overlay.origin", b"x")
    layercopy.merge_layers([base, top], dest)
    assert os.listdir(dest / "data") == ["new"]
    assert os.listxattr(dest / "data") == []


@pytest.mark.parametrize("name,reserved", [
    ("trusted.overlay.redirect", True), ("trusted.overlay.metacopy", True),
    ("trusted.overlay.opaque", True), ("trusted.overlay.origin", True),
    ("trusted.overlay.overlay.opaque", True),  # an escaped name (Linux 6.7+)
    ("user.overlay.opaque", True), ("user.overlay.redirect", True),
    ("user.fuseoverlayfs.opaque", True), ("user.rsdocker.override_stat", True),
    ("user.comment", False), ("security.capability", False), ("trusted.note", False),
    ("user.overlayfoo", False), ("trusted.overlay", False),
])
def test_reserved_xattrs(name, reserved):
    assert is_reserved_xattr(name) is reserved
