"""The test rig itself: the real registry (anonymous and token auth), the token
endpoint, the pushed images and the storage-corruption helper behave as the
other tests assume."""

from __future__ import annotations

import gzip
import io
import os
import subprocess
import sys
import tarfile
import time

import pytest
import requests
import zstandard

from tests.conftest import ALICE, READER
from tests.fixtures import oci
from tests.fixtures.images import (
    MULTILAYER_ABSENT,
    MULTILAYER_PRESENT,
    PLATFORM_MARKER,
    ImageSpec,
    Layer,
    busybox_layer,
    push,
)
from tests.fixtures.pusher import ACCEPT_MANIFESTS, Pusher, PushError, parse_challenge
from tests.fixtures.registry import process_running
from tests.fixtures.token_server import libtrust_kid

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def get(url, token=None, accept=ACCEPT_MANIFESTS):
    headers = {"Accept": accept}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return requests.get(url, headers=headers, timeout=10)


def blob(registry, repo, digest) -> bytes:
    resp = get(f"{registry.url}/v2/{repo}/blobs/{digest}")
    assert resp.status_code == 200, resp.text
    return resp.content


def token_for(ts, scope, auth=ALICE) -> str:
    resp = requests.get(ts.realm, params={"service": ts.service, "scope": scope,
                                          "account": auth[0] if auth else None},
                        auth=auth, timeout=10)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["token"] == body["access_token"] and body["expires_in"] > 0 and body["issued_at"]
    return body["token"]


def tar_names(tar: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(tar)) as tf:
        return tf.getnames()


# ---------------------------------------------------------------- anonymous registry

def test_busybox_manifest_config_and_layer_match_their_digests(registry, images):
    img = images.busybox
    resp = get(f"{registry.url}/v2/busybox/manifests/latest")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == oci.OCI_MANIFEST
    assert resp.headers["Docker-Content-Digest"] == img.manifest_digest == oci.sha256(resp.content)
    assert img.ref == f"{registry.host}/busybox:latest"
    config = blob(registry, "busybox", img.config_digest)
    assert oci.sha256(config) == img.config_digest
    assert img.config["config"] == {"Env": [f"PATH={oci.DEFAULT_PATH}"], "Cmd": ["/bin/sh"]}
    assert (img.config["architecture"], img.config["os"]) == ("amd64", "linux")
    layer = blob(registry, "busybox", img.layer_digests[0])
    tar = gzip.decompress(layer)
    assert oci.sha256(tar) == img.diff_ids[0]
    names = tar_names(tar)
    assert {"bin/busybox", "bin/sh", "etc/passwd", "etc/motd"} <= set(names)


def test_other_encodings_of_the_busybox_tar(registry, images):
    zstd = blob(registry, "zstd", images.zstd.layer_digests[0])
    plain = blob(registry, "uncompressed", images.uncompressed.layer_digests[0])
    assert images.zstd.manifest["layers"][0]["mediaType"] == oci.OCI_LAYER_ZSTD
    assert oci.sha256(zstandard.ZstdDecompressor().decompressobj().decompress(zstd)) == \
        images.zstd.diff_ids[0] == images.busybox.diff_ids[0]
    assert oci.sha256(plain) == images.uncompressed.diff_ids[0] == images.busybox.diff_ids[0]
    s2 = images.schema2.manifest
    assert s2["mediaType"] == oci.DOCKER_MANIFEST
    assert s2["config"]["mediaType"] == oci.DOCKER_CONFIG
    assert s2["layers"][0]["mediaType"] == oci.DOCKER_LAYER_GZIP


def test_multilayer_carries_whiteouts_and_an_opaque_dir(registry, images):
    img = images.multilayer
    assert len(img.layer_digests) == len(img.diff_ids) == 3
    assert img.layer_digests[0] == images.busybox.layer_digests[0]
    names2 = tar_names(gzip.decompress(blob(registry, "multilayer", img.layer_digests[1])))
    names3 = tar_names(gzip.decompress(blob(registry, "multilayer", img.layer_digests[2])))
    assert "etc/.wh.motd" in names2 and "opt/data/a.txt" in names2
    assert {"opt/data/.wh..wh..opq", "opt/data/c.txt", "opt/.wh.gone"} <= set(names3)
    assert "/etc/layer2.txt" in MULTILAYER_PRESENT and "/etc/motd" in MULTILAYER_ABSENT


@pytest.mark.parametrize("name, media_type", [("index", oci.OCI_INDEX),
                                              ("manifest_list", oci.DOCKER_LIST)])
def test_index_has_two_platforms_with_their_markers(registry, images, name, media_type):
    idx = getattr(images, name)
    resp = get(f"{registry.url}/v2/{idx.repo}/manifests/latest")
    assert resp.headers["Content-Type"] == media_type
    entries = {oci.platform_key(m["platform"]): m["digest"] for m in resp.json()["manifests"]}
    assert entries == idx.platform_digests
    assert set(entries) == {"linux/amd64", "linux/arm64/v8"}
    arm = idx.platforms["linux/arm64/v8"]
    assert f"{PLATFORM_MARKER}=linux/arm64" in arm.config["config"]["Env"]
    assert (arm.config["architecture"], arm.config["variant"]) == ("arm64", "v8")
    child = get(f"{registry.url}/v2/{idx.repo}/manifests/{arm.manifest_digest}")
    assert child.status_code == 200 and oci.sha256(child.content) == arm.manifest_digest


def test_tooling_config(images):
    cfg = images.tooling.config["config"]
    assert cfg["Entrypoint"] == ["/bin/echo", "ep"] and cfg["Cmd"] == ["cmd"]
    assert (cfg["WorkingDir"], cfg["User"]) == ("/srv", "app")
    assert "FOO=bar" in cfg["Env"]


def test_corrupt_blob_keeps_size_but_breaks_the_digest(registry, pusher):
    # A layer no other test shares: blob storage is global across repositories.
    layer = Layer.from_entries([oci.file("victim.txt", f"{time.time_ns()}\n")])
    img = push(pusher, "rig/corrupt", "latest", ImageSpec([layer]))
    path = registry.corrupt_blob(img.layer_digests[0])
    assert path.stat().st_size == len(layer.data)
    served = blob(registry, "rig/corrupt", img.layer_digests[0])
    assert len(served) == len(layer.data) and served != layer.data
    assert oci.sha256(served) != img.layer_digests[0]


def test_chunked_upload_and_refused_wrong_digest(registry):
    chunked = Pusher(registry.host, chunk_size=64 * 1024)
    data = busybox_layer().data
    digest = chunked.push_blob("rig/chunked", data)
    assert blob(registry, "rig/chunked", digest) == data
    with pytest.raises(PushError) as err:
        chunked.push_blob("rig/chunked", b"not what the digest says", oci.sha256(b"other"))
    assert err.value.response.status_code == 400


def test_hostile_manifests_the_registry_accepts(registry, pusher):
    """The rig can store what a client must refuse: a foreign layer it cannot
    fetch, a manifest without mediaType, a config with wrong diff_ids."""
    foreign = Layer.foreign(oci.tar_entries([oci.file("f", "f")]), "https://example.invalid/l")
    img = push(pusher, "rig/foreign", "latest", ImageSpec([foreign], docker=True))
    assert img.manifest["layers"][0]["urls"] == ["https://example.invalid/l"]

    spec = ImageSpec([busybox_layer()], edit_manifest=lambda m: m.pop("mediaType"),
                     edit_config=lambda c: c["rootfs"].update(diff_ids=["sha256:" + "0" * 64]))
    img = push(pusher, "rig/bent", "latest", spec)
    body = get(f"{registry.url}/v2/rig/bent/manifests/latest").json()
    assert "mediaType" not in body
    assert img.diff_ids == ["sha256:" + "0" * 64]


# ---------------------------------------------------------------- token auth

@pytest.fixture(scope="module")
def private_image(token_pusher):
    return push(token_pusher, "private/busybox", "latest", ImageSpec([busybox_layer()]))


def test_token_registry_challenges_then_accepts_a_token(token_registry, private_image):
    ts = token_registry.token_server
    url = f"{token_registry.url}/v2/private/busybox/manifests/latest"
    resp = get(url)
    assert resp.status_code == 401
    scheme, params = parse_challenge(resp.headers["WWW-Authenticate"])
    assert scheme == "bearer"
    assert params == {"realm": ts.realm, "service": ts.service,
                      "scope": "repository:private/busybox:pull"}
    before = ts.requests
    token = token_for(ts, params["scope"])
    assert ts.requests == before + 1
    assert ts.log[-1].account == "alice"
    resp = get(url, token)
    assert resp.status_code == 200
    assert resp.headers["Docker-Content-Digest"] == private_image.manifest_digest


def test_token_without_the_needed_scope_is_401_insufficient_scope(token_registry, private_image):
    ts = token_registry.token_server
    url = f"{token_registry.url}/v2/private/busybox/manifests/latest"
    resp = get(url, token_for(ts, "repository:somewhere/else:pull"))
    assert resp.status_code == 401
    assert 'error="insufficient_scope"' in resp.headers["WWW-Authenticate"]
    # reader may pull, not push: its token carries only pull.
    token = token_for(ts, "repository:private/busybox:pull,push", READER)
    assert ts.log[-1].granted == [{"type": "repository", "name": "private/busybox",
                                   "actions": ["pull"]}]
    assert get(url, token).status_code == 200
    upload = requests.post(f"{token_registry.url}/v2/private/busybox/blobs/uploads/",
                           headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert upload.status_code == 401


def test_anonymous_tokens_pull_public_only(token_registry, token_pusher):
    ts = token_registry.token_server
    push(token_pusher, "public/busybox", "latest", ImageSpec([busybox_layer()]))
    public = token_for(ts, "repository:public/busybox:pull", auth=None)
    assert get(f"{token_registry.url}/v2/public/busybox/manifests/latest", public).status_code \
        == 200
    private = token_for(ts, "repository:private/busybox:pull", auth=None)
    assert ts.log[-1].account is None and ts.log[-1].granted == []
    assert get(f"{token_registry.url}/v2/private/busybox/manifests/latest",
               private).status_code == 401


def test_wrong_password_is_refused_by_the_token_endpoint(token_registry):
    ts = token_registry.token_server
    resp = requests.get(ts.realm, params={"service": ts.service,
                                          "scope": "repository:x:pull"},
                        auth=("alice", "wrong"), timeout=10)
    assert resp.status_code == 401 and ts.log[-1].status == 401


def test_short_lived_tokens_expire_at_the_registry(token_registry, private_image):
    ts = token_registry.token_server
    url = f"{token_registry.url}/v2/private/busybox/manifests/latest"
    with ts.lifetime(1):
        token = token_for(ts, "repository:private/busybox:pull")
    assert ts.expires_in == 300
    assert get(url, token).status_code == 200
    time.sleep(2.1)
    resp = get(url, token)
    assert resp.status_code == 401
    assert 'error="invalid_token"' in resp.headers["WWW-Authenticate"]


def test_libtrust_kid_format(token_registry):
    kid = token_registry.token_server.kid
    groups = kid.split(":")
    assert len(groups) == 12 and all(len(g) == 4 for g in groups)
    assert kid == libtrust_kid(token_registry.token_server.key.public_key())


# ---------------------------------------------------------------- the rest of the rig

def test_layer_tars_are_reproducible():
    entries = [oci.directory("a"), oci.file("a/b", "x", uid=1000, gid=1000)]
    assert oci.tar_entries(entries) == oci.tar_entries(entries)
    assert oci.gzip_bytes(b"abc") == oci.gzip_bytes(b"abc")
    with tarfile.open(fileobj=io.BytesIO(oci.tar_entries(entries))) as tf:
        member = tf.getmember("a/b")
    assert (member.uid, member.gid, member.mtime) == (1000, 1000, oci.MTIME)


def test_registry_command_line_serves_and_stops(tmp_path):
    pid_file = tmp_path / "registry.pid"
    run = [sys.executable, "-m", "tests.fixtures.registry"]
    out = subprocess.run(run + ["serve", "--data-dir", str(tmp_path), "--pid-file",
                                str(pid_file)], cwd=ROOT, capture_output=True, text=True,
                         check=True, timeout=30)
    host = out.stdout.strip()
    pid = int(pid_file.read_text())
    try:
        assert requests.get(f"http://{host}/v2/", timeout=5).status_code == 200
        subprocess.run([sys.executable, "-m", "tests.fixtures.images", "push-busybox",
                        f"{host}/demo/busybox:latest"], cwd=ROOT, check=True, timeout=60,
                       capture_output=True)
        assert get(f"http://{host}/v2/demo/busybox/manifests/latest").status_code == 200
    finally:
        subprocess.run(run + ["stop", "--pid-file", str(pid_file)], cwd=ROOT, check=True,
                       timeout=30)
    assert not process_running(pid)


def test_rsd_runs_the_console_script(rsd, store_root, docker_config):
    docker_config.write_auth("127.0.0.1:1", "u", "p")
    proc = rsd("--version")
    assert proc.returncode == 0, proc.stderr
    assert "rs-docker" in proc.stdout
    assert rsd.root == store_root and docker_config.file.exists()


def test_schema1_manifest_is_served_signed(registry, images):
    img = images.schema1
    resp = get(f"{registry.url}/v2/schema1/manifests/latest")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == oci.DOCKER_SCHEMA1_SIGNED
    assert resp.headers["Docker-Content-Digest"] == img.manifest_digest
    body = resp.json()
    assert body["schemaVersion"] == 1 and body["signatures"][0]["header"]["alg"] == "ES256"
    assert body["fsLayers"] == [{"blobSum": images.busybox.layer_digests[0]}]


def test_inject_manifest_stores_what_put_would_refuse(registry, images):
    """A 3 MiB manifest (PUT allows < 4 MiB; GET of a stored one too) and
    one naming a digest no registry would accept."""
    big = dict(images.busybox.manifest, annotations={"junk": "x" * (3 << 20)})
    digest = registry.inject_manifest("rig/injected", "big", oci.canonical_json(big))
    resp = get(f"{registry.url}/v2/rig/injected/manifests/big")
    assert resp.status_code == 200 and resp.headers["Docker-Content-Digest"] == digest
    evil = dict(images.busybox.manifest, layers=[{"mediaType": oci.OCI_LAYER_GZIP,
                                                  "digest": "sha256:../../../etc/passwd",
                                                  "size": 1}])
    registry.inject_manifest("rig/injected", "evil", oci.canonical_json(evil))
    resp = get(f"{registry.url}/v2/rig/injected/manifests/evil")
    assert resp.json()["layers"][0]["digest"] == "sha256:../../../etc/passwd"
