"""Volumes of a rootless user (runuser, as tests/integration/test_rootless
does): the store's volumes/ is the user's, a named volume keeps data
between containers, files written in it by the container's root belong to
the user (its mapped root), the image's content is copied up with the
image's owners as the container sees them, and `volume rm` removes files a
container's other (subuid) ids made."""

from __future__ import annotations

import os

import pytest

from tests.fixtures import oci
from tests.fixtures.cli import ok
from tests.fixtures.images import ImageSpec, Layer, busybox_layer, default_config, push
from tests.fixtures.rootless import throwaway_user

pytestmark = pytest.mark.root


@pytest.fixture(scope="module")
def user():
    with throwaway_user(f"rsdvol{os.getpid() % 10000}", subids=True) as u:
        yield u


@pytest.fixture(scope="module")
def image(user, pusher):
    entries = [oci.directory("data", mode=0o750, uid=1000, gid=1000),
               oci.file("data/owned", "app's\n", mode=0o640, uid=1000, gid=1000)]
    config = {**default_config(), "Volumes": {"/data": {}}}
    ref = push(pusher, "volumes/rootless", "latest",
               ImageSpec([busybox_layer(), Layer.from_entries(entries)], config)).ref
    proc = user.rsd("pull", ref)
    assert proc.returncode == 0, proc.stderr
    return ref


def test_named_volume_as_the_user(user, image):
    ok(user.rsd("run", "--rm", "--network", "none", "-v", "udata:/d", image, "sh", "-c",
                "echo x >/d/f"))
    assert ok(user.rsd("run", "--rm", "--network", "none", "-v", "udata:/d", image,
                       "cat", "/d/f")) == "x\n"
    data = user.store / "volumes" / "udata" / "_data"
    st = (data / "f").stat()
    assert (st.st_uid, st.st_gid) == (user.uid, user.gid)
    assert (user.store / "volumes").stat().st_uid == user.uid


def test_copy_up_keeps_the_image_owners(user, image):
    out = ok(user.rsd("run", "--rm", "--network", "none", "-v", "ucopy:/data", image, "sh",
                      "-c", "stat -c '%u:%g %a' /data /data/owned; cat /data/owned;"
                      "adduser -D -u 1234 x 2>/dev/null; touch /data/new; chown 1234 /data/new"))
    assert out.splitlines()[:3] == ["1000:1000 750", "1000:1000 640", "app's"]
    ok(user.rsd("volume", "rm", "ucopy"))
    ok(user.rsd("volume", "create", "uempty"))
    out = ok(user.rsd("run", "--rm", "--network", "none", "-v", "uempty:/data", image, "stat",
                      "-c", "%u:%g %a", "/data", "/data/owned"))
    assert out.splitlines() == ["1000:1000 750", "1000:1000 640"]
    assert not (user.store / "volumes" / "ucopy").exists()
