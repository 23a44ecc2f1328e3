"""Whiteout and entry-name rules (pure functions)."""

from __future__ import annotations

import pytest

from rs_docker.errors import UnsafeLayerEntry
from rs_docker.image.names import MAX_NAME, split_name
from rs_docker.image.whiteouts import Whiteout, classify, is_aufs_meta, opaque_xattr


@pytest.mark.parametrize("base,expected", [
    ("file", None),
    (".whatever", None),
    (".wh.gone", Whiteout(opaque=False, target="gone")),
    (".wh..hidden", Whiteout(opaque=False, target=".hidden")),
    (".wh..wh..opq", Whiteout(opaque=True)),
    (".wh..wh.plnk", Whiteout(opaque=False, target=None)),
])
def test_classify(base, expected):
    assert classify(base) == expected


@pytest.mark.parametrize("base", [".wh.", ".wh..", ".wh..."])
def test_whiteouts_of_nothing_dot_or_dotdot_are_refused(base):
    with pytest.raises(UnsafeLayerEntry, match="invalid whiteout"):
        classify(base)


def test_aufs_metadata_anywhere_in_the_path():
    assert is_aufs_meta([".wh..wh.plnk", "123.456"])
    assert is_aufs_meta(["a", ".wh..wh.aufs"])
    assert not is_aufs_meta(["a", ".wh..wh..opq"])
    assert not is_aufs_meta(["a", ".wh.b"])


def test_opaque_xattr_depends_on_privilege():
    assert opaque_xattr(True) == "trusted.overlay.opaque"
    assert opaque_xattr(False) == "user.overlay.opaque"


@pytest.mark.parametrize("name,parts", [
    ("a/b/c", ["a", "b", "c"]),
    ("./a/./b/", ["a", "b"]),
    ("/etc/passwd", ["etc", "passwd"]),
    ("//x", ["x"]),
    ("./", []),
    ("", []),
    ("a..b/..c", ["a..b", "..c"]),
])
def test_split_name(name, parts):
    assert split_name(name) == parts


@pytest.mark.parametrize("name", ["..", "../x", "a/../../x", "/abs/../../x", "a/.."])
def test_split_name_refuses_dotdot(name):
    with pytest.raises(UnsafeLayerEntry, match="outside the layer"):
        split_name(name)


def test_split_name_refuses_nul_and_huge_names():
    with pytest.raises(UnsafeLayerEntry, match="NUL"):
        split_name("a\x00b")
    with pytest.raises(UnsafeLayerEntry, match="too long"):
        split_name("a" * (MAX_NAME + 1))
