"""Pure rules of image archives: member names confined to the archive,
symlink targets resolved inside it, names taken from index.json annotations."""

from __future__ import annotations

import pytest

from rs_docker.errors import InvalidArchive
from rs_docker.image.load import _annotated_names
from rs_docker.image.staging import _named_digest, _symlink_target, member_path

HEX = "a" * 64


@pytest.mark.parametrize("name, expected", [
    ("manifest.json", "manifest.json"), ("./blobs//sha256/./x", "blobs/sha256/x"),
    ("./", ""), ("abc/layer.tar", "abc/layer.tar"),
])
def test_member_path_normalizes(name, expected):
    assert member_path(name) == expected


@pytest.mark.parametrize("name", ["../x", "a/../../x", "a/..", "/etc/passwd", "a\x00b",
                                  "x" * 5000])
def test_member_path_refuses_escapes(name):
    with pytest.raises(InvalidArchive):
        member_path(name)


def test_symlink_targets_stay_inside():
    assert _symlink_target("bbb/layer.tar", "../ccc/layer.tar") == "ccc/layer.tar"
    assert _symlink_target("a/b/c", "/abs/x") == "abs/x"
    with pytest.raises(InvalidArchive):
        _symlink_target("bbb/layer.tar", "../../etc/passwd")


def test_named_digest():
    assert str(_named_digest(f"blobs/sha256/{HEX}")) == f"sha256:{HEX}"
    assert _named_digest("blobs/sha256/nothex") is None
    assert _named_digest(f"x/blobs/sha256/{HEX}") is None


def test_annotated_names():
    assert _annotated_names({"io.containerd.image.name": "busybox:1",
                             "org.opencontainers.image.ref.name": "1"}) == \
        ["docker.io/library/busybox:1"]
    assert _annotated_names({"org.opencontainers.image.ref.name": "host:5000/a/b:2"}) == \
        ["host:5000/a/b:2"]
    assert _annotated_names({"org.opencontainers.image.ref.name": "latest"}) == []
    assert _annotated_names({}) == []
    with pytest.raises(InvalidArchive):
        _annotated_names({"io.containerd.image.name": "Not A Name"})
