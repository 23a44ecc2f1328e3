"""-v and --mount type=volume parsed as Docker parses them: a bind of an
absolute (or, through absolute_binds, relative) host path, a named volume,
an anonymous one; moby's rule for volume names; and the volumes' OCI
mounts beside the other mounts in the spec."""

from __future__ import annotations

import pytest

from rs_docker.errors import UsageError
from rs_docker.models import mount_flags
from rs_docker.models.mount_flags import BindMount, VolumeMount


@pytest.mark.parametrize("spec, expected", [
    ("data:/d", VolumeMount("data", "/d", mode="z")),
    ("data:/d:ro", VolumeMount("data", "/d", readonly=True, mode="ro")),
    ("data:/d:nocopy,rw", VolumeMount("data", "/d", nocopy=True, mode="nocopy,rw")),
    ("/anon", VolumeMount(None, "/anon")),
    ("/anon/../x/", VolumeMount(None, "/x")),
    ("my.vol_1-2:/d", VolumeMount("my.vol_1-2", "/d", mode="z")),
    ("/host:/d", BindMount("/host", "/d")),
])
def test_parse_volume(spec, expected):
    assert mount_flags.parse_volume(spec) == expected


@pytest.mark.parametrize("spec, expected", [
    ("type=volume,src=vv,dst=/d", VolumeMount("vv", "/d")),
    ("type=volume,dst=/d", VolumeMount(None, "/d")),
    ("dst=/d,source=vv,readonly,volume-nocopy", VolumeMount("vv", "/d", True, True)),
    ("type=volume,src=vv,dst=/d,volume-label=a=b,volume-label=c",
     VolumeMount("vv", "/d", labels=(("a", "b"), ("c", "")))),
])
def test_parse_mount_volume(spec, expected):
    assert mount_flags.parse_mount(spec) == expected


@pytest.mark.parametrize("spec, message", [
    ("a:/x", "volume name is too short"),
    ("bad$:/x", '"bad$" includes invalid characters for a local volume name'),
    ("-dash:/x", "includes invalid characters"),
    ("relative", "mount path must be absolute"),
    ("./dir:/x", "relative host path"),
    ("v:/x:bogus", "invalid mode: bogus"),
])
def test_bad_volumes(spec, message):
    with pytest.raises(UsageError) as e:
        mount_flags.parse_volume(spec)
    assert message in str(e.value)


def test_bad_mount_volume():
    with pytest.raises(UsageError, match="not supported"):
        mount_flags.parse_mount("type=volume,dst=/d,volume-driver=nfs")
    with pytest.raises(UsageError, match="unexpected key"):
        mount_flags.parse_mount("type=volume,dst=/d,bind-propagation=shared")


def test_absolute_binds():
    assert mount_flags.absolute_binds(
        ("./dir:/x", "../up:/y:ro", ".:/cwd", "name:/v", "/abs:/a", "/anon", ".hidden:/h"),
        "/work/here") == ("/work/here/dir:/x", "/work/up:/y:ro", "/work/here:/cwd", "name:/v",
                          "/abs:/a", "/anon", "/work/here/.hidden:/h")
