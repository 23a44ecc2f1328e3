"""`tag` and `push` as a user runs them, against the real registry: pull,
tag into another repository, push, pull back into a fresh store and run."""

from __future__ import annotations

import uuid

import pytest

from rs_docker.context import Context
from rs_docker.image.push import push
from rs_docker.models.digest import Digest
from tests.conftest import ALICE, READER, Rsd


def lines(proc) -> list[str]:
    return proc.stdout.splitlines()


def one_line_error(proc, text: str, stdout: str = "") -> None:
    # A failed request of a command other than run/create exits 1, as Docker's CLI.
    assert proc.returncode == 1, proc.stderr
    assert stdout is None or proc.stdout == stdout
    first, *rest = proc.stderr.splitlines()
    assert first.startswith("rs-docker: ") and text in first, proc.stderr
    assert rest == [] or (len(rest) == 1 and rest[0].startswith("hint: ")), proc.stderr
    assert "Traceback" not in proc.stderr


def unique(host: str, name: str) -> str:
    """A repository of its own on the session's registry: every push starts empty."""
    return f"{host}/{name}-{uuid.uuid4().hex[:8]}"


def registry_manifest(pusher, ref: str):
    _, _, rest = ref.partition("/")
    repo, _, tag = rest.rpartition(":")
    resp = pusher.get_manifest(repo, tag)
    assert resp.status_code == 200, resp.text
    return resp


@pytest.mark.root
def test_tag_push_then_pull_back_and_run(rsd, images, registry, pusher, tmp_path,
                                         docker_config):
    img = images.busybox
    short = Digest.parse(img.layer_digests[0]).short
    rsd("pull", "-q", img.ref, check=True)
    repo = unique(registry.host, "pushed/busybox")
    assert rsd("tag", img.ref, f"{repo}:v1", check=True).stdout == ""
    listed = lines(rsd("images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}", check=True))
    image_id = Digest.parse(img.config_digest).short
    assert f"{repo}:v1 {image_id}" in listed and f"{img.ref} {image_id}" in listed

    out = lines(rsd("push", f"{repo}:v1", check=True))
    size = len(registry_manifest(pusher, f"{repo}:v1").content)
    assert out == [f"The push refers to repository [{repo}]", f"{short}: Preparing",
                   f"{short}: Pushing", f"{short}: Pushed",
                   f"v1: digest: {img.manifest_digest} size: {size}"]
    # The registry has the very manifest bytes the store had: same digest.
    assert registry_manifest(pusher, f"{repo}:v1").headers["Docker-Content-Digest"] == \
        img.manifest_digest
    assert img.manifest_digest in lines(rsd("images", "--digests", repo, check=True))[1]

    again = lines(rsd("push", f"{repo}:v1", check=True))
    assert again[1:] == [f"{short}: Preparing", f"{short}: Layer already exists",
                         f"v1: digest: {img.manifest_digest} size: {size}"]

    fresh = Rsd(tmp_path / "fresh-store", docker_config)
    (tmp_path / "fresh-store").mkdir()
    assert fresh("pull", "-q", f"{repo}:v1", check=True).stdout == f"{repo}:v1\n"
    run = fresh("run", "--rm", f"{repo}:v1", "cat", "/etc/motd", check=True)
    assert run.stdout == "welcome to busybox\n"


def test_push_without_tag_and_quiet(rsd, images, registry):
    rsd("pull", "-q", images.busybox.ref, check=True)
    repo = unique(registry.host, "quiet")
    rsd("tag", images.busybox.ref, repo, check=True)      # default tag: latest
    out = lines(rsd("push", repo, check=True))
    assert out[:2] == ["Using default tag: latest", f"The push refers to repository [{repo}]"]
    assert out[-1].startswith(f"latest: digest: {images.busybox.manifest_digest} size: ")
    assert rsd("push", "-q", f"{repo}:latest", check=True).stdout == f"{repo}:latest\n"
    assert rsd("image", "push", "-q", repo, check=True).stdout == f"{repo}:latest\n"


def test_tag_by_image_id_and_errors(rsd, images, registry):
    rsd("pull", "-q", images.busybox.ref, check=True)
    image_id = Digest.parse(images.busybox.config_digest)
    repo = unique(registry.host, "byid")
    rsd("image", "tag", image_id.hex[:8], f"{repo}:a", check=True)
    rsd("tag", f"sha256:{image_id.hex}", f"{repo}:b", check=True)
    ids = lines(rsd("images", "--format", "{{.Tag}} {{.ID}}", repo, check=True))
    assert sorted(ids) == [f"a {image_id.short}", f"b {image_id.short}"]

    one_line_error(rsd("tag", f"{registry.host}/nope:1", f"{repo}:c"), "no such image")
    one_line_error(rsd("tag", images.busybox.ref, f"{repo}@{image_id}"),
                   "refusing to create a tag with a digest reference")
    one_line_error(rsd("tag", images.busybox.ref, "Bad/Name"), "invalid reference format")
    # Docker names the repository first, then fails.
    one_line_error(rsd("push", f"{registry.host}/not-here:1"),
                   f"an image does not exist locally with the tag: {registry.host}/not-here",
                   f"The push refers to repository [{registry.host}/not-here]\n")


def test_push_to_token_registry_needs_push_rights(rsd, images, token_registry,
                                                 docker_config):
    rsd("pull", "-q", images.busybox.ref, check=True)
    repo = unique(token_registry.host, "team/app")
    rsd("tag", images.busybox.ref, f"{repo}:1", check=True)
    header = f"The push refers to repository [{repo}]\n"
    short = Digest.parse(images.busybox.layer_digests[0]).short
    one_line_error(rsd("push", f"{repo}:1"), "denied", header + f"{short}: Preparing\n")
    docker_config.write_auth(token_registry.host, *READER)        # pull only
    proc = rsd("push", f"{repo}:1")     # HEAD allowed (404), the upload POST denied
    one_line_error(proc, "denied", None)
    assert proc.stdout.endswith(f"{short}: Pushing\n")
    docker_config.write_auth(token_registry.host, *ALICE)
    out = lines(rsd("push", f"{repo}:1", check=True))
    assert out[-1].startswith(f"1: digest: {images.busybox.manifest_digest} ")
    assert rsd("pull", "-q", f"{repo}:1", check=True).stdout == f"{repo}:1\n"


def test_push_schema2_in_chunks_and_an_index_platform(rsd, images, registry, pusher,
                                                      store_root, docker_config):
    """Docker media types keep their Content-Type; PATCH chunks give the same
    blobs; an image pulled from an index pushes its platform manifest."""
    ctx = Context(root=store_root, docker_config=docker_config.file)
    rsd("pull", "-q", images.schema2.ref, check=True)
    repo = unique(registry.host, "chunked")
    rsd("tag", images.schema2.ref, f"{repo}:s2", check=True)
    events = []
    result = push(ctx, f"{repo}:s2", events.append, chunk_size=256 * 1024)
    assert str(result.digest) == images.schema2.manifest_digest
    pushing = [e.current for e in events if e.status == "Pushing"]
    assert pushing[-1] == images.schema2.layers[0].data.__len__() and len(pushing) > 3
    resp = registry_manifest(pusher, f"{repo}:s2")
    assert resp.headers["Content-Type"] == images.schema2.media_type

    rsd("pull", "-q", images.index.ref, check=True)
    rsd("tag", images.index.ref, f"{repo}:idx", check=True)
    result = push(ctx, f"{repo}:idx")
    assert str(result.digest) == images.index.platforms["linux/amd64"].manifest_digest
