"""One conformance suite, every rootfs driver: overlay (the runtime mounts
it), fuse-overlayfs (mounted by run before the runtime starts) and the
private copy. The driver is forced through the store's `rootfs-driver`
file, the same file the one-time probe writes."""

from __future__ import annotations

import os

import pytest

pytestmark = pytest.mark.root

DRIVERS = ["overlay", "fuse-overlayfs", "copy"]


@pytest.fixture(params=DRIVERS)
def driver_rsd(request, rsd, store_root, images):
    (store_root / "rootfs-driver").write_text(request.param + "\n")
    rsd("pull", images.multilayer.ref, check=True)
    return rsd


def test_driver_is_reported_in_debug(driver_rsd, store_root, images):
    driver = (store_root / "rootfs-driver").read_text().strip()
    proc = driver_rsd("--debug", "run", "--rm", images.multilayer.ref, "true")
    assert proc.returncode == 0, proc.stderr
    assert f"rootfs driver: {driver}" in proc.stderr


def test_layers_merge_with_whiteouts(driver_rsd, images):
    from tests.fixtures.images import MULTILAYER_ABSENT, MULTILAYER_PRESENT

    checks = " ".join(f"test -e {p} || echo missing {p};" for p in MULTILAYER_PRESENT)
    checks += " ".join(f"test -e {p} && echo present {p};" for p in MULTILAYER_ABSENT)
    proc = driver_rsd("run", "--rm", images.multilayer.ref, "sh", "-c", checks + " true")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""


def test_writes_stay_in_the_container_and_workdir_is_made(driver_rsd, store_root, images):
    layers_before = _tree(store_root / "layers")
    proc = driver_rsd("run", "--name", "w1", "-w", "/new/dir", images.multilayer.ref, "sh", "-c",
                      "echo x > f && rm -rf /opt /etc/passwd && pwd")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "/new/dir\n"
    assert _tree(store_root / "layers") == layers_before
    [cid] = os.listdir(store_root / "containers")
    assert not os.path.ismount(store_root / "containers" / cid / "rootfs")


def _tree(root):
    return sorted((str(p.relative_to(root)), p.lstat().st_mtime_ns) for p in root.rglob("*"))
