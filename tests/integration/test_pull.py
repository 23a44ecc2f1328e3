"""`pull` against the real registry: what lands in the store, what is refused,
and how a broken or killed download ends."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from rs_docker.context import Context
from rs_docker.errors import (
    DigestMismatch,
    ManifestUnknown,
    PlatformNotFound,
    RegistryError,
    UnsupportedManifest,
)
from rs_docker.image.local import ensure
from rs_docker.image.pull import pull
from rs_docker.models.digest import Digest
from rs_docker.models.image_config import chain_ids
from rs_docker.store.content import ContentStore
from rs_docker.store.images import ImageIndex
from rs_docker.store.layers import LayerStore
from tests.fixtures import oci
from tests.fixtures.images import MOTD, PLATFORM_MARKER, ImageSpec, Layer, busybox_layer, push
from tests.integration.fault_proxy import FaultProxy


@pytest.fixture
def ctx(store_root, docker_config):
    return Context(root=store_root, docker_config=docker_config.file)


def digests(items) -> list[Digest]:
    return [Digest.parse(d) for d in items]


def layer_dirs(ctx, image) -> list[Path]:
    return [Path(LayerStore(ctx).path(c)) for c in chain_ids(digests(image.diff_ids))]


def assert_stored(ctx, image, reference):
    record = ImageIndex(ctx).get(reference)
    assert record is not None
    assert str(record.config) == image.config_digest
    assert record.chain_ids == chain_ids(digests(image.diff_ids))
    content = ContentStore(ctx)
    for d in [image.manifest_digest, image.config_digest, *image.layer_digests]:
        assert content.has(Digest.parse(d)), d
    for path in layer_dirs(ctx, image):
        assert path.is_dir()
    return record


def unique_layer(tag: str, size: int = 0) -> Layer:
    """A gzip layer no other test shares (so corrupting its blob is safe)."""
    data = os.urandom(size) if size else f"{tag} {time.time_ns()}\n".encode()
    return Layer.from_entries([oci.file(f"etc/{tag}", data)])


def tmp_leftovers(ctx) -> list[str]:
    return sorted(os.listdir(ctx.tmp_dir)) if os.path.isdir(ctx.tmp_dir) else []


# ---------------------------------------------------------------- the happy paths

def test_pull_by_tag_stores_blobs_layers_and_record(ctx, images):
    img = images.busybox
    events = []
    record = pull(ctx, img.ref, progress=events.append)
    assert_stored(ctx, img, img.ref)
    assert str(record.repo_digest) == str(record.manifest) == img.manifest_digest
    [layer] = layer_dirs(ctx, img)
    assert (layer / "etc" / "motd").read_text() == MOTD
    assert os.path.islink(layer / "bin" / "sh")
    short = Digest.parse(img.layer_digests[0]).short
    statuses = [e.status for e in events if e.id == short]
    assert statuses[0] == "Pulling fs layer" and statuses[-1] == "Pull complete"
    assert "Downloading" in statuses
    assert tmp_leftovers(ctx) == []


def test_pull_by_digest(ctx, images):
    img = images.busybox
    record = pull(ctx, img.digest_ref)
    assert record.reference == img.digest_ref
    assert_stored(ctx, img, img.digest_ref)


@pytest.mark.parametrize("name", ["zstd", "uncompressed", "schema2", "multilayer"])
def test_pull_each_layer_format(ctx, images, name):
    img = getattr(images, name)
    pull(ctx, img.ref)
    assert_stored(ctx, img, img.ref)
    assert (layer_dirs(ctx, img)[0] / "bin" / "busybox").stat().st_size > 100_000


def test_a_layer_present_from_another_blob_still_stores_this_images_blob(ctx, images):
    # busybox (gzip) and zstd carry the same layer content: the second pull
    # unpacks nothing, but keeps its own blob for push and save.
    pull(ctx, images.busybox.ref)
    before = set(os.listdir(ctx.layers_dir))
    pull(ctx, images.zstd.ref)
    assert set(os.listdir(ctx.layers_dir)) == before
    for d in digests(images.zstd.layer_digests):
        assert ContentStore(ctx).has(d)


def test_multilayer_layers_keep_their_whiteouts_for_overlay(ctx, images):
    pull(ctx, images.multilayer.ref)
    second = layer_dirs(ctx, images.multilayer)[1]
    assert (second / "etc" / "layer2.txt").read_text() == "layer2\n"
    assert not (second / "etc" / ".wh.motd").exists()


def config_env(ctx, record) -> list[str]:
    return json.loads(ContentStore(ctx).read(record.config))["config"]["Env"]


@pytest.mark.parametrize("name", ["index", "manifest_list"])
def test_index_resolves_to_the_host_platform(ctx, images, name):
    img = getattr(images, name)
    record = pull(ctx, img.ref)
    assert str(record.repo_digest) == img.manifest_digest
    assert str(record.manifest) == img.platform_digests["linux/amd64"]
    assert f"{PLATFORM_MARKER}=linux/amd64" in config_env(ctx, record)
    assert record.platform == "linux/amd64"
    # The index itself is kept: its digest is what RepoDigests name.
    assert ContentStore(ctx).has(Digest.parse(img.manifest_digest))


def test_platform_flag_selects_another_architecture(ctx, images):
    record = pull(ctx, images.index.ref, "linux/arm64")
    assert str(record.manifest) == images.index.platform_digests["linux/arm64/v8"]
    assert f"{PLATFORM_MARKER}=linux/arm64" in config_env(ctx, record)
    assert record.platform == "linux/arm64/v8"


def test_platform_missing_from_the_index(ctx, images):
    with pytest.raises(PlatformNotFound, match="linux/s390x"):
        pull(ctx, images.index.ref, "linux/s390x")
    assert ImageIndex(ctx).all() == []


def test_second_pull_downloads_no_blob(ctx, images, registry):
    with FaultProxy(registry.host) as proxy:
        ref = images.multilayer.ref.replace(registry.host, proxy.host)
        pull(ctx, ref)
        first = len([s for s in proxy.seen if "/blobs/" in s.path])
        events = []
        pull(ctx, ref, progress=events.append)
        blob_gets = [s for s in proxy.seen if "/blobs/" in s.path]
        manifest_gets = [s for s in proxy.seen if "/manifests/" in s.path]
    assert first == 4  # config + 3 layers
    assert len(blob_gets) == first, "a present image downloaded a blob again"
    assert len(manifest_gets) == 2, "pull re-resolves the manifest, like docker pull"
    assert {e.status for e in events if len(e.id) == 12} == {"Already exists"}


def test_run_pull_missing_does_not_contact_the_registry(ctx, images, registry):
    with FaultProxy(registry.host) as proxy:
        ref = images.busybox.ref.replace(registry.host, proxy.host)
        first = ensure(ctx, ref, "missing")
        n = len(proxy.seen)
        again = ensure(ctx, ref, "missing")
        assert len(proxy.seen) == n
        ensure(ctx, ref, "always")
        assert len(proxy.seen) > n
    assert first == again


# ---------------------------------------------------------------- refusals

def test_unknown_tag_and_repository(ctx, images, registry):
    with pytest.raises(ManifestUnknown,
                       match=f"manifest unknown: {registry.host}/busybox:nope not found"):
        pull(ctx, f"{registry.host}/busybox:nope")
    with pytest.raises(ManifestUnknown, match="not found"):
        pull(ctx, f"{registry.host}/no/such/repo")


def test_schema1_is_refused(ctx, images):
    with pytest.raises(UnsupportedManifest, match="schema1"):
        pull(ctx, images.schema1.ref)


def test_corrupted_blob_is_refused_and_nothing_is_kept(ctx, registry, pusher):
    layer = unique_layer("corrupt")
    img = push(pusher, "corrupt/one", "latest", ImageSpec([busybox_layer(), layer]))
    registry.corrupt_blob(layer.digest)
    with pytest.raises(DigestMismatch, match=layer.digest):
        pull(ctx, img.ref)
    assert not ContentStore(ctx).has(Digest.parse(layer.digest))
    assert not layer_dirs(ctx, img)[1].exists()
    assert ImageIndex(ctx).all() == []
    assert tmp_leftovers(ctx) == []


def test_wrong_diff_id_is_refused(ctx, pusher):
    layer = unique_layer("diffid")
    layer.diff_id = oci.sha256(b"something else")
    img = push(pusher, "corrupt/diffid", "latest", ImageSpec([layer]))
    with pytest.raises(DigestMismatch, match="diff_id"):
        pull(ctx, img.ref)
    assert not ContentStore(ctx).has(Digest.parse(layer.digest))
    assert list(LayerStore(ctx).chain_ids()) == []
    assert ImageIndex(ctx).all() == [] and tmp_leftovers(ctx) == []


def test_layer_count_must_match_diff_ids(ctx, pusher):
    def extra_diff_id(config):
        config["rootfs"]["diff_ids"].append(oci.sha256(b"x"))
    img = push(pusher, "corrupt/count", "latest",
               ImageSpec([busybox_layer()], edit_config=extra_diff_id))
    with pytest.raises(UnsupportedManifest, match="1 layers but the config lists 2 diff_ids"):
        pull(ctx, img.ref)
    assert list(LayerStore(ctx).chain_ids()) == []


def test_foreign_layer_urls_are_not_fetched(ctx, pusher):
    with FaultProxy("127.0.0.1:9") as elsewhere:   # would log any fetch of the url
        tar = oci.tar_entries([oci.file("etc/foreign", "f\n")])
        foreign = Layer.foreign(tar, f"http://{elsewhere.host}/layer.tar.gz")
        img = push(pusher, "foreign/one", "latest", ImageSpec([busybox_layer(), foreign],
                                                              docker=True))
        # the registry does not hold it, and the url is not tried instead
        with pytest.raises(RegistryError, match=re.escape(
                f"blob unknown: {foreign.digest} is not in the registry")) as e:
            pull(ctx, img.ref)
        assert e.value.exit_code == 125
        assert elsewhere.seen == []


# ---------------------------------------------------------------- broken downloads

def test_cut_download_resumes_with_a_range_request(ctx, registry, pusher):
    layer = unique_layer("resume", size=1_000_000)
    img = push(pusher, "resume/one", "latest", ImageSpec([layer]))
    with FaultProxy(registry.host, cut_once={layer.digest}) as proxy:
        pull(ctx, img.ref.replace(registry.host, proxy.host))
        gets = proxy.blob_gets(layer.digest)
    assert [g.range for g in gets][0] is None
    assert len(gets) == 2 and gets[1].range and gets[1].range.startswith("bytes=")
    assert int(gets[1].range.removeprefix("bytes=").rstrip("-")) > 0
    assert (layer_dirs(ctx, img)[0] / "etc" / "resume").stat().st_size == 1_000_000


def test_two_concurrent_pulls_download_each_blob_once(ctx, registry, pusher):
    layer = unique_layer("concurrent", size=200_000)
    img = push(pusher, "concurrent/one", "latest", ImageSpec([busybox_layer(), layer]))
    with FaultProxy(registry.host, slow={layer.digest: 0.05}) as proxy:
        ref = img.ref.replace(registry.host, proxy.host)
        errors = []

        def run():
            try:
                pull(ctx, ref)
            except Exception as e:   # reported below
                errors.append(e)

        threads = [threading.Thread(target=run) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert errors == []
        assert len(proxy.blob_gets(layer.digest)) == 1
        assert len(proxy.blob_gets(img.config_digest)) == 1
    assert_stored(ctx, img, ref)


def test_killed_pull_leaves_a_consistent_store(ctx, registry, pusher, store_root, docker_config):
    layer = unique_layer("killed", size=1_000_000)
    img = push(pusher, "killed/one", "latest", ImageSpec([busybox_layer(), layer]))
    with FaultProxy(registry.host, slow={layer.digest: 0.05}) as proxy:
        ref = img.ref.replace(registry.host, proxy.host)
        script = Path(sys.executable).parent / "rs-docker"
        proc = subprocess.Popen([str(script), "--root", str(store_root), "pull", ref],
                                stdout=subprocess.PIPE, text=True,
                                env=os.environ | docker_config.env)
        try:
            assert "Pulling from" in proc.stdout.readline()
            deadline = time.monotonic() + 60
            while not proxy.blob_gets(layer.digest) and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.3)             # well inside the ~0.8 s the slowed blob takes
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
    killed_chain = chain_ids(digests(img.diff_ids))[1]
    assert not LayerStore(ctx).has(killed_chain)
    assert not ContentStore(ctx).has(Digest.parse(layer.digest))
    assert ImageIndex(ctx).all() == []
    pull(ctx, img.ref)
    assert_stored(ctx, img, img.ref)
    assert tmp_leftovers(ctx) == []
