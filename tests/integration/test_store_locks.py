"""locks/ does not grow with every blob fetched (issue 10 item 12): after a
pull, and after a pull that fails half way, it holds only the store-wide
lock files, none per blob or layer."""

from __future__ import annotations

import os
import re

import pytest

from tests.fixtures import oci
from tests.fixtures.images import ImageSpec, Layer, busybox_layer, push_image

pytestmark = pytest.mark.root

STORE_WIDE = {"store.lock", "images.lock"}


def _per_item_locks(rs) -> list[str]:
    return sorted(set(os.listdir(rs.root / "locks")) - STORE_WIDE)


@pytest.fixture(scope="module")
def bad_layer_image(pusher):
    """A second layer whose content does not match the config's diff_id:
    the pull downloads it, unpacks it, then fails."""
    good = Layer.from_entries([oci.file("etc/extra.txt", "extra\n")])
    bad = Layer(good.data, good.media_type, oci.sha256(b"something else"))
    return push_image(pusher, "locks-bad-layer", "latest", ImageSpec([busybox_layer(), bad]))


def test_a_pull_leaves_no_per_blob_lock(rsd, images):
    rsd("pull", images.multilayer.ref, check=True)
    rsd("pull", images.index.ref, check=True)
    assert _per_item_locks(rsd) == []


def test_a_failed_pull_leaves_no_per_blob_lock(rsd, bad_layer_image):
    proc = rsd("pull", bad_layer_image.ref)
    assert proc.returncode == 1
    assert re.fullmatch(r"rs-docker: layer sha256:[0-9a-f]{64}: uncompressed content "
                        r"sha256:[0-9a-f]{64} does not match diff_id sha256:[0-9a-f]{64}\n",
                        proc.stderr), proc.stderr
    assert _per_item_locks(rsd) == []
