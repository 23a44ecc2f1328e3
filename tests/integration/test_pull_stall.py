"""A registry that stalls (one byte every few seconds, or no answer at all)
cannot keep `pull` or `run` waiting for ever: the transfer is aborted with
one line once it moves less than RS_DOCKER_PULL_MIN_RATE bytes/s over
RS_DOCKER_PULL_STALL_SECONDS, the store keeps nothing of it, and the next
pull works (issue 10 item 5).

The registry is the real one, behind tests/integration/fault_proxy.py.
Subprocess timeouts are safety nets against a hang, never the assertion."""

from __future__ import annotations

import json
import os
import re
import time

import pytest

from tests.fixtures import oci
from tests.fixtures.images import ImageSpec, Layer, push
from tests.integration.fault_proxy import FaultProxy

WINDOW = 2                      # seconds: RS_DOCKER_PULL_STALL_SECONDS for these tests
STALL = {"RS_DOCKER_PULL_STALL_SECONDS": str(WINDOW), "RS_DOCKER_PULL_MIN_RATE": "1024"}
# A byte every 0.25 s: never silent for a whole window (so a read timeout
# alone never fires), 4 bytes/s against the 1024 required.
PACE = 0.25
SAFETY_NET = 90                 # a hang fails the test here, not in CI's own timeout


def tiny_image(pusher, name: str, size: int = 0):
    """An image of one small gzip layer no other test shares."""
    data = os.urandom(size) if size else f"{name} {time.time_ns()}\n".encode()
    layer = Layer.from_entries([oci.file(f"etc/{name}", data)])
    return push(pusher, f"stall/{name}", "latest", ImageSpec([layer])), layer


def store_state(root) -> dict:
    """What a user could find in the store: blobs, layers, images.json, tmp/."""
    def entries(*parts):
        path = os.path.join(root, *parts)
        return sorted(os.listdir(path)) if os.path.isdir(path) else []

    images = os.path.join(root, "images.json")
    return {"blobs": entries("blobs", "sha256"), "layers": entries("layers"),
            "images": open(images).read() if os.path.exists(images) else None,
            "tmp": entries("tmp")}


def stalled(proc, code: int, what: str) -> str:
    """The one error line of a command aborted by the stall limit."""
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("rs-docker: ")]
    assert len(errors) == 1, proc.stderr
    [line] = errors
    assert proc.stderr.rstrip("\n").endswith(line)       # the last thing printed
    assert what in line, line
    assert re.search(r": transfer too slow: \d+ bytes in the last [\d.]+ s \(minimum 1024 "
                     r"bytes/s\)$", line), line
    return line


def recorded(root) -> dict:
    with open(os.path.join(root, "images.json")) as f:
        return json.load(f)


def test_a_trickling_manifest_aborts_pull_and_stores_nothing(rsd, registry, pusher, store_root):
    img, _ = tiny_image(pusher, "manifest")
    with FaultProxy(registry.host, trickle={"/manifests/": PACE}) as proxy:
        ref = img.ref.replace(registry.host, proxy.host)
        before = store_state(store_root)
        proc = rsd("pull", ref, env=STALL, timeout=SAFETY_NET)
        line = stalled(proc, 1, f"manifest {ref}")
        assert proc.stdout == ""
        assert store_state(store_root) == before
        proxy.trickle.clear()
        rsd("pull", "-q", ref, env=STALL, check=True)
    assert ref in json.dumps(recorded(store_root)), line


def test_a_trickling_layer_blob_aborts_pull_and_keeps_no_part_of_it(rsd, registry, pusher,
                                                                    store_root):
    img, layer = tiny_image(pusher, "blob", size=2000)
    with FaultProxy(registry.host, trickle={layer.digest: PACE}) as proxy:
        ref = img.ref.replace(registry.host, proxy.host)
        before = store_state(store_root)
        proc = rsd("pull", ref, env=STALL, timeout=SAFETY_NET)
        stalled(proc, 1, f"blob {layer.digest}")
        after = store_state(store_root)
        # The manifest and config blobs are complete and committed before the
        # layers (pull.py); of the stalled layer nothing remains anywhere.
        assert layer.digest.split(":")[1] not in after["blobs"]
        assert set(after["blobs"]) <= {img.manifest_digest.split(":")[1],
                                       img.config_digest.split(":")[1]}
        assert after["layers"] == [] and after["tmp"] == []
        assert after["images"] == before["images"]
        assert len(proxy.blob_gets(layer.digest)) == 1, "a stall is not retried"
        proxy.trickle.clear()
        rsd("pull", "-q", ref, env=STALL, check=True)
    assert store_state(store_root)["tmp"] == []
    assert ref in json.dumps(recorded(store_root))


def test_run_with_an_implicit_pull_of_a_trickling_image_exits_125(rsd, registry, pusher,
                                                                  store_root):
    img, _ = tiny_image(pusher, "run")
    with FaultProxy(registry.host, trickle={"/manifests/": PACE}) as proxy:
        ref = img.ref.replace(registry.host, proxy.host)
        proc = rsd("run", "--rm", ref, "true", env=STALL, timeout=SAFETY_NET)
    stalled(proc, 125, f"manifest {ref}")
    assert store_state(store_root)["images"] is None


def test_a_slow_but_steady_transfer_above_the_minimum_succeeds(rsd, registry, pusher,
                                                              store_root):
    # ~100 bytes/s, one byte per read, over several windows, against 20 required.
    img, layer = tiny_image(pusher, "steady", size=300)
    assert len(layer.data) > 2 * WINDOW * 100
    steady = {"RS_DOCKER_PULL_STALL_SECONDS": str(WINDOW), "RS_DOCKER_PULL_MIN_RATE": "20"}
    with FaultProxy(registry.host, trickle={layer.digest: 0.01}) as proxy:
        ref = img.ref.replace(registry.host, proxy.host)
        proc = rsd("pull", "-q", ref, env=steady, timeout=SAFETY_NET)
        assert proc.returncode == 0, proc.stderr
        assert len(proxy.blob_gets(layer.digest)) == 1
    assert proc.stdout == ref + "\n"
    assert layer.digest.split(":")[1] in store_state(store_root)["blobs"]


def test_a_registry_that_never_answers_fails_the_pull(rsd, registry, pusher, store_root):
    # The TCP connection is accepted, the headers never come.
    img, _ = tiny_image(pusher, "mute")
    with FaultProxy(registry.host, mute={"/manifests/"}) as proxy:
        ref = img.ref.replace(registry.host, proxy.host)
        proc = rsd("pull", ref, env=STALL, timeout=SAFETY_NET)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.splitlines() == [
        f"rs-docker: cannot reach http://{proxy.host}/v2/stall/mute/manifests/latest: "
        f"no answer in {WINDOW} s"]
    assert store_state(store_root)["images"] is None


@pytest.mark.parametrize(("name", "value"), [
    ("RS_DOCKER_PULL_STALL_SECONDS", "0"), ("RS_DOCKER_PULL_STALL_SECONDS", "nan"),
    ("RS_DOCKER_PULL_STALL_SECONDS", "1e309"), ("RS_DOCKER_PULL_MIN_RATE", "-1"),
    ("RS_DOCKER_PULL_MIN_RATE", "1k"),
])
def test_bad_settings_are_one_line_errors(rsd, images, name, value):
    for args, code in ((("pull", images.busybox.ref), 1),
                       (("run", "--rm", images.busybox.ref, "true"), 125)):
        proc = rsd(*args, env={name: value})
        assert proc.returncode == code, proc.stderr
        [line] = proc.stderr.splitlines()
        assert line.startswith(f"rs-docker: invalid {name} {value!r}: want "), line
