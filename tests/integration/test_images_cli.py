"""The image commands as a user runs them: pull, images, rmi, image inspect,
login/logout — output shapes, exit codes, one-line errors, gc."""

from __future__ import annotations

import json
import os

import pytest

from rs_docker.models.digest import Digest
from tests.conftest import ALICE
from tests.fixtures.registry import free_port


def lines(proc) -> list[str]:
    return proc.stdout.splitlines()


def one_line_error(proc, text: str) -> None:
    # Docker's CLI: a failed request of pull/rmi/login/... exits 1 (125 is run's)
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout == ""
    first, *rest = proc.stderr.splitlines()
    assert first.startswith("rs-docker: ") and text in first
    assert rest == [] or (len(rest) == 1 and rest[0].startswith("hint: ")), proc.stderr
    assert "Traceback" not in proc.stderr


def listing(store_root, top: str) -> list[str]:
    path = store_root / top
    return sorted(os.listdir(path)) if path.is_dir() else []


# ---------------------------------------------------------------- pull

def test_pull_prints_what_docker_prints(rsd, images):
    img = images.busybox
    out = lines(rsd("pull", img.ref, check=True))
    short = Digest.parse(img.layer_digests[0]).short
    assert out == ["latest: Pulling from busybox", f"{short}: Pulling fs layer",
                   f"{short}: Pull complete", f"Digest: {img.manifest_digest}",
                   f"Status: Downloaded newer image for {img.ref}", img.ref]
    again = lines(rsd("pull", img.ref, check=True))
    assert f"{short}: Already exists" in again
    assert again[-2:] == [f"Status: Image is up to date for {img.ref}", img.ref]


def test_pull_quiet_and_default_tag(rsd, images, registry):
    assert rsd("pull", "-q", images.busybox.ref, check=True).stdout == images.busybox.ref + "\n"
    out = lines(rsd("pull", f"{registry.host}/busybox", check=True))
    assert out[0] == "Using default tag: latest"


def test_pull_errors_are_one_line(rsd, images, registry):
    one_line_error(rsd("pull", f"{registry.host}/busybox:nope"),
                   f"manifest unknown: {registry.host}/busybox:nope not found")
    one_line_error(rsd("pull", images.schema1.ref), "schema1")
    one_line_error(rsd("pull", f"127.0.0.1:{free_port()}/x:1"), "connection refused")
    one_line_error(rsd("pull", "--platform", "linux/s390x", images.index.ref),
                   "no matching manifest for linux/s390x")


def test_pull_private_image_needs_login(rsd, token_registry, token_pusher, docker_config):
    from tests.fixtures.images import ImageSpec, busybox_layer, push

    img = push(token_pusher, "private/cli", "latest", ImageSpec([busybox_layer()]))
    one_line_error(rsd("pull", img.ref), "pull access denied")
    proc = rsd("login", "-u", ALICE[0], "--password-stdin", token_registry.host,
               input=ALICE[1] + "\n", check=True)
    assert proc.stdout == "Login Succeeded\n"
    auths = json.loads(docker_config.file.read_text())["auths"]
    assert list(auths) == [token_registry.host]
    assert rsd("pull", "-q", img.ref, check=True).stdout == img.ref + "\n"
    assert rsd("logout", token_registry.host, check=True).stdout == \
        f"Removing login credentials for {token_registry.host}\n"
    assert json.loads(docker_config.file.read_text())["auths"] == {}


def test_login_with_a_bad_password_fails_and_saves_nothing(rsd, token_registry, docker_config):
    proc = rsd("login", "-u", "alice", "--password-stdin", token_registry.host, input="nope\n")
    one_line_error(proc, "incorrect username or password")
    assert not docker_config.file.exists()


# ---------------------------------------------------------------- images

def test_images_table_quiet_digests_and_json(rsd, images, registry):
    rsd("pull", "-q", images.busybox.ref, check=True)
    rsd("pull", "-q", images.tooling.digest_ref, check=True)
    table = lines(rsd("images", check=True))
    assert table[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    rows = {tuple(r.split()[:3]) for r in table[1:]}
    busybox_id = Digest.parse(images.busybox.config_digest).short
    tooling_id = Digest.parse(images.tooling.config_digest).short
    assert rows == {(f"{registry.host}/busybox", "latest", busybox_id),
                    (f"{registry.host}/tooling", "<none>", tooling_id)}
    assert all(r.split()[-1].endswith("MB") for r in table[1:])

    assert set(lines(rsd("images", "-q", check=True))) == {busybox_id, tooling_id}
    digests = lines(rsd("images", "--digests", check=True))
    assert digests[0].split()[:3] == ["REPOSITORY", "TAG", "DIGEST"]
    assert any(images.busybox.manifest_digest in r for r in digests[1:])

    objects = [json.loads(line) for line in lines(rsd("images", "--format", "json", check=True))]
    assert {o["ID"] for o in objects} == {busybox_id, tooling_id}
    bb = next(o for o in objects if o["Tag"] == "latest")
    assert set(bb) == {"Containers", "CreatedAt", "CreatedSince", "Digest", "ID", "Repository",
                       "SharedSize", "Size", "Tag", "UniqueSize", "VirtualSize"}
    assert bb["CreatedAt"] == "2024-01-01 00:00:00 +0000 UTC"
    assert bb["CreatedSince"].endswith(" ago")
    assert bb["Digest"] == images.busybox.manifest_digest

    only = lines(rsd("images", f"{registry.host}/busybox", check=True))
    assert len(only) == 2
    assert set(lines(rsd("images", "--format", "{{.Repository}}:{{.Tag}}", check=True))) == \
        {f"{registry.host}/busybox:latest", f"{registry.host}/tooling:<none>"}


# ---------------------------------------------------------------- rmi and gc

def test_rmi_untags_deletes_and_keeps_shared_layers(rsd, images, store_root):
    rsd("pull", "-q", images.busybox.ref, check=True)
    rsd("pull", "-q", images.tooling.ref, check=True)
    blobs_before = listing(store_root, "blobs/sha256")
    assert len(listing(store_root, "layers")) == 2   # tooling shares busybox's base layer

    out = lines(rsd("rmi", images.tooling.ref, check=True))
    assert out[:3] == [f"Untagged: {images.tooling.ref}",
                       f"Untagged: {images.tooling.ref.rsplit(':', 1)[0]}@"
                       f"{images.tooling.manifest_digest}",
                       f"Deleted: {images.tooling.config_digest}"]
    assert len(out) == 4 and out[3].startswith("Deleted: sha256:")   # its own layer
    assert len(listing(store_root, "layers")) == 1
    kept = listing(store_root, "blobs/sha256")
    busybox_blobs = {d.split(":")[1] for d in [images.busybox.manifest_digest,
                                               images.busybox.config_digest,
                                               *images.busybox.layer_digests]}
    assert set(kept) == busybox_blobs
    assert len(blobs_before) == len(kept) + 3

    rsd("rmi", images.busybox.ref, check=True)
    assert listing(store_root, "layers") == [] and listing(store_root, "blobs/sha256") == []
    assert rsd("images", "-q", check=True).stdout == ""


def test_rmi_unknown_image(rsd):
    one_line_error(rsd("rmi", "nothing:here"), "no such image: nothing:here")


def test_rmi_by_id_across_repositories_needs_force(rsd, images, pusher, registry):
    from tests.fixtures.images import ImageSpec, busybox_layer, push

    copy = push(pusher, "copy/busybox", "latest", ImageSpec([busybox_layer()]))
    rsd("pull", "-q", images.busybox.ref, check=True)
    rsd("pull", "-q", copy.ref, check=True)
    image_id = Digest.parse(images.busybox.config_digest).short
    one_line_error(rsd("rmi", image_id), "must be forced")
    out = lines(rsd("rmi", "-f", image_id, check=True))
    assert f"Untagged: {images.busybox.ref}" in out and f"Untagged: {copy.ref}" in out
    assert f"Deleted: {images.busybox.config_digest}" in out


def test_rmi_of_an_image_a_container_uses(rsd, images, store_root):
    rsd("pull", "-q", images.busybox.ref, check=True)
    cid = "c" * 64
    layers = [str(store_root / "layers" / name) for name in listing(store_root, "layers")]
    (store_root / "containers" / cid).mkdir(parents=True)
    (store_root / "containers" / cid / "container.json").write_text(json.dumps({
        "Id": cid, "Image": images.busybox.config_digest,
        "GraphDriver": {"Name": "overlay", "Data": {"LowerDir": ":".join(layers)}}}))
    one_line_error(rsd("rmi", images.busybox.ref), f"container {cid[:12]} is using")
    out = lines(rsd("rmi", "-f", images.busybox.ref, check=True))
    assert out[0] == f"Untagged: {images.busybox.ref}"
    assert listing(store_root, "layers") != [], "a container's layers must survive rmi -f"


# ---------------------------------------------------------------- image inspect

def test_image_inspect_shape(rsd, images):
    rsd("pull", "-q", images.tooling.ref, check=True)
    [obj] = json.loads(rsd("image", "inspect", images.tooling.ref, check=True).stdout)
    assert obj["Id"] == images.tooling.config_digest
    assert obj["RepoTags"] == [images.tooling.ref]
    assert obj["RepoDigests"] == [f"{images.tooling.ref.rsplit(':', 1)[0]}@"
                                  f"{images.tooling.manifest_digest}"]
    assert obj["Created"] == "2024-01-01T00:00:00Z"
    assert (obj["Os"], obj["Architecture"]) == ("linux", "amd64") and "Variant" not in obj
    assert obj["Config"]["Entrypoint"] == ["/bin/echo", "ep"]
    assert obj["Config"]["User"] == "app"
    assert obj["RootFS"] == {"Type": "layers", "Layers": images.tooling.diff_ids}
    assert obj["Size"] > 1_000_000
    assert rsd("image", "inspect", "-f", "{{.Id}} {{json .Config.Cmd}}", images.tooling.ref,
               check=True).stdout == f"{images.tooling.config_digest} [\"cmd\"]\n"


def test_image_inspect_variant_and_missing(rsd, images):
    rsd("image", "pull", "-q", "--platform", "linux/arm64/v8", images.index.ref, check=True)
    [obj] = json.loads(rsd("image", "inspect", images.index.ref, check=True).stdout)
    assert (obj["Architecture"], obj["Variant"]) == ("arm64", "v8")
    assert obj["RepoDigests"][0].endswith(images.index.manifest_digest)
    proc = rsd("image", "inspect", "nope")
    assert proc.returncode == 1 and json.loads(proc.stdout) == []
    assert "no such image: nope" in proc.stderr


def test_image_subcommand_aliases(rsd, images):
    rsd("image", "pull", "-q", images.busybox.ref, check=True)
    assert len(lines(rsd("image", "ls", check=True))) == 2
    assert lines(rsd("image", "rm", images.busybox.ref, check=True))[0].startswith("Untagged:")


@pytest.mark.parametrize("args", [["--help"], ["pull", "--help"], ["images", "--help"]])
def test_help(rsd, args):
    assert rsd(*args, check=True).stdout.startswith("Usage:")
