"""`rs-docker save` and `load` as a user runs them: the archive's format
(OCI layout + Docker's manifest.json), round trips through a file and a
pipe into another store, hand-made docker-archives, hostile archives, and
skopeo reading what we write."""

from __future__ import annotations

import io
import json
import os
import pty
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.conftest import Rsd
from tests.fixtures import oci
from tests.fixtures.cli import ok
from tests.fixtures.images import (
    MOTD,
    MULTILAYER_ABSENT,
    MULTILAYER_PRESENT,
    busybox_tar,
    default_config,
)

pytestmark = pytest.mark.root


def one_line_error(proc, text: str) -> None:
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("rs-docker: ") and text in lines[0], \
        proc.stderr
    assert "Traceback" not in proc.stderr


def members(path: Path) -> dict[str, bytes]:
    with tarfile.open(path) as tf:
        return {m.name: tf.extractfile(m).read() for m in tf if m.isfile()}


def tar_bytes(files: dict[str, bytes | tuple]) -> bytes:
    """A tar of `files` in order; a tuple value is (tar type, link target)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data in files.items():
            ti = tarfile.TarInfo(name)
            if isinstance(data, tuple):
                ti.type, ti.linkname = data
                tf.addfile(ti)
            else:
                ti.size = len(data)
                tf.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def store_state(root: Path) -> dict[str, int]:
    """Every entry of the store (not locks/, nor tmp/ itself: a failed
    command may create it empty): path -> size."""
    out = {}
    for top, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d != "locks"]
        for name in dirs + files:
            path = Path(top) / name
            if path != root / "tmp":
                out[str(path.relative_to(root))] = path.lstat().st_size
    return out


def other_store(tmp_path: Path, docker_config) -> Rsd:
    (tmp_path / "other").mkdir()
    return Rsd(tmp_path / "other", docker_config)


# -- save: the format ------------------------------------------------------------

def test_save_writes_docker_25_layout(rsd, images, tmp_path):
    img = images.busybox
    rsd("pull", "-q", img.ref, check=True)
    archive = tmp_path / "busybox.tar"
    assert ok(rsd("save", "-o", archive, img.ref)) == ""
    files = members(archive)
    assert json.loads(files["oci-layout"]) == {"imageLayoutVersion": "1.0.0"}
    index = json.loads(files["index.json"])
    assert index["mediaType"] == oci.OCI_INDEX
    [entry] = index["manifests"]
    assert entry["digest"] == img.manifest_digest
    assert entry["annotations"] == {"io.containerd.image.name": img.ref,
                                    "org.opencontainers.image.ref.name": "latest"}
    [legacy] = json.loads(files["manifest.json"])
    config_hex = img.config_digest.split(":")[1]
    assert legacy == {"Config": f"blobs/sha256/{config_hex}", "RepoTags": [img.ref],
                      "Layers": [f"blobs/sha256/{d.split(':')[1]}" for d in img.layer_digests]}
    # Every blob is there and is what its name says; layers as pulled (gzip).
    blobs = {n: d for n, d in files.items() if n.startswith("blobs/")}
    assert all(oci.sha256(d) == "sha256:" + n.rsplit("/", 1)[1] for n, d in blobs.items())
    assert blobs[legacy["Layers"][0]] == img.layers[0].data
    # Nothing half-written left next to the output.
    assert sorted(os.listdir(tmp_path)) == sorted(["busybox.tar", "store", "docker-config"])


def test_save_refuses_a_terminal_and_unknown_images(rsd, images, tmp_path):
    rsd("pull", "-q", images.busybox.ref, check=True)
    primary, secondary = pty.openpty()
    try:
        proc = subprocess.run([str(rsd.script), "--root", str(rsd.root), "save",
                               images.busybox.ref], stdout=secondary, stderr=subprocess.PIPE,
                              text=True, timeout=60, env=rsd.base_env)
    finally:
        os.close(primary)
        os.close(secondary)
    assert proc.returncode == 1
    assert proc.stderr == ("rs-docker: cowardly refusing to save to a terminal. "
                           "Use the -o flag or redirect\n")
    proc = rsd("save", "-o", tmp_path / "x.tar", "nosuch:1")
    one_line_error(proc, "no such image: nosuch:1")
    assert not (tmp_path / "x.tar").exists()


# -- round trips -------------------------------------------------------------------

def test_save_rmi_load_run(rsd, images, tmp_path):
    img = images.busybox
    rsd("pull", "-q", img.ref, check=True)
    image_id = ok(rsd("image", "inspect", "-f", "{{.Id}}", img.ref)).strip()
    archive = tmp_path / "busybox.tar"
    ok(rsd("image", "save", "-o", archive, img.ref))
    ok(rsd("rmi", img.ref))
    assert ok(rsd("images", "-q")) == ""
    assert ok(rsd("load", "-i", archive)) == f"Loaded image: {img.ref}\n"
    assert ok(rsd("image", "inspect", "-f", "{{.Id}}", img.ref)).strip() == image_id
    assert ok(rsd("run", "--rm", "--pull", "never", img.ref, "cat", "/etc/motd")) == MOTD
    # Loading again changes nothing and says the same; -q too (no progress to hide).
    assert ok(rsd("image", "load", "-q", "-i", archive)) == f"Loaded image: {img.ref}\n"


def test_save_pipe_load_into_another_store_keeps_whiteouts(rsd, images, tmp_path,
                                                           docker_config):
    img = images.multilayer
    rsd("pull", "-q", img.ref, check=True)
    other = other_store(tmp_path, docker_config)
    pipeline = (f"{rsd.script} --root {rsd.root} save {img.ref} | "
                f"{other.script} --root {other.root} load")
    proc = subprocess.run(["sh", "-c", pipeline], capture_output=True, text=True, timeout=120,
                          env=rsd.base_env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"Loaded image: {img.ref}\n"
    assert os.listdir(other.root / "tmp") == []
    checks = " ".join(f"cat {p};" for p in MULTILAYER_PRESENT)
    checks += " ".join(f"test -e {p} && echo present {p};" for p in MULTILAYER_ABSENT)
    out = ok(other("run", "--rm", "--pull", "never", img.ref, "sh", "-c", checks + " true"))
    assert out == "".join(MULTILAYER_PRESENT.values())


# -- docker-archive made by hand -------------------------------------------------------

def handmade_archive(repo_tags) -> tuple[bytes, str]:
    """Docker < 25's layout: <id>/layer.tar (plain tar), <config hex>.json,
    manifest.json; a second layer reached through a symlink, as old saves did."""
    layer = busybox_tar()
    extra = oci.tar_entries([oci.file("etc/handmade", "yes\n")])
    diff_ids = [oci.sha256(layer), oci.sha256(extra)]
    config = oci.canonical_json({"architecture": "amd64", "os": "linux",
                                 "config": default_config(),
                                 "rootfs": {"type": "layers", "diff_ids": diff_ids}})
    config_name = oci.sha256(config).split(":")[1] + ".json"
    manifest = [{"Config": config_name, "RepoTags": repo_tags,
                 "Layers": ["aaa/layer.tar", "bbb/layer.tar"]}]
    data = tar_bytes({"aaa/layer.tar": layer, "ccc/layer.tar": extra,
                      "bbb/layer.tar": (tarfile.SYMTYPE, "../ccc/layer.tar"),
                      config_name: config,
                      "manifest.json": json.dumps(manifest).encode()})
    return data, oci.sha256(config)


def test_handmade_docker_archive_loads_and_runs(rsd):
    data, image_id = handmade_archive(["handmade:1"])
    proc = subprocess.run([str(rsd.script), "--root", str(rsd.root), "load"], input=data,
                          capture_output=True, timeout=60, env=rsd.base_env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == b"Loaded image: handmade:1\n"
    assert ok(rsd("image", "inspect", "-f", "{{.Id}}", "handmade:1")).strip() == image_id
    out = ok(rsd("run", "--rm", "--pull", "never", "handmade:1", "cat", "/etc/handmade",
                 "/etc/motd"))
    assert out == "yes\n" + MOTD


def test_untagged_archive_loads_by_id(rsd, tmp_path):
    data, image_id = handmade_archive(None)
    (tmp_path / "untagged.tar").write_bytes(data)
    assert ok(rsd("load", "-i", tmp_path / "untagged.tar")) == f"Loaded image ID: {image_id}\n"
    short = image_id.split(":")[1][:12]
    assert ok(rsd("run", "--rm", "--pull", "never", short, "cat", "/etc/handmade")) == "yes\n"


# -- hostile archives ---------------------------------------------------------------------

def _saved(rsd, images, tmp_path) -> dict[str, bytes]:
    rsd("pull", "-q", images.busybox.ref, check=True)
    rsd("save", "-o", tmp_path / "good.tar", images.busybox.ref, check=True)
    return members(tmp_path / "good.tar")


def _with_dotdot(files, img):
    return {"../escape": b"x", **files}


def _with_wrong_blob(files, img):
    layer = f"blobs/sha256/{img.layer_digests[0].split(':')[1]}"
    return files | {layer: oci.gzip_bytes(b"not the layer")}


def _with_missing_blob(files, img):
    layer = f"blobs/sha256/{img.layer_digests[0].split(':')[1]}"
    return {k: v for k, v in files.items() if k != layer}


def _with_wrong_diff_id(files, img):
    """Blobs all genuine, but the config's diff_id names other content."""
    config = json.loads(files[f"blobs/sha256/{img.config_digest.split(':')[1]}"])
    config["rootfs"]["diff_ids"] = [oci.sha256(b"something else")]
    config_bytes = oci.canonical_json(config)
    manifest = dict(img.manifest, config=oci.descriptor(oci.OCI_CONFIG, config_bytes))
    manifest_bytes = oci.canonical_json(manifest)
    index = {"schemaVersion": 2, "manifests": [
        oci.descriptor(oci.OCI_MANIFEST, manifest_bytes,
                       annotations={"io.containerd.image.name": "evil:1"})]}
    return {k: v for k, v in files.items() if k not in ("index.json", "manifest.json")} | {
        "blobs/sha256/" + oci.sha256(config_bytes)[7:]: config_bytes,
        "blobs/sha256/" + oci.sha256(manifest_bytes)[7:]: manifest_bytes,
        "index.json": json.dumps(index).encode()}


@pytest.mark.parametrize("edit, message", [
    (_with_dotdot, "points outside the archive"),
    (_with_wrong_blob, "does not match its digest"),
    (_with_missing_blob, "is missing from the archive"),
    (_with_wrong_diff_id, "does not match diff_id"),
], ids=["dotdot", "wrong-digest", "missing-blob", "wrong-diff-id"])
def test_hostile_archive_is_refused_and_store_unchanged(rsd, images, tmp_path, docker_config,
                                                        edit, message):
    files = edit(_saved(rsd, images, tmp_path), images.busybox)
    hostile = tmp_path / "hostile.tar"
    hostile.write_bytes(tar_bytes(files))
    for runner in (rsd, other_store(tmp_path, docker_config)):   # with and without the image
        before = store_state(runner.root)
        one_line_error(runner("load", "-i", hostile), message)
        assert store_state(runner.root) == before


def test_not_an_archive(rsd, tmp_path):
    (tmp_path / "junk").write_bytes(b"hello" * 1000)
    one_line_error(rsd("load", "-i", tmp_path / "junk"), "invalid image archive")
    one_line_error(rsd("load", input=""), "invalid image archive")
    one_line_error(rsd("load", "-i", tmp_path / "nosuch"), "no such file or directory")


def test_nested_index_and_gzipped_archive(rsd, images, tmp_path, docker_config):
    """An index.json entry that is itself an index (containerd's save of a
    multi-platform image holding one platform), in a gzip-compressed tar."""
    img = images.busybox
    files = _saved(rsd, images, tmp_path)
    manifest = oci.canonical_json(img.manifest)
    absent = oci.sha256(b"the arm64 manifest, not saved")
    nested = oci.canonical_json({"schemaVersion": 2, "mediaType": oci.OCI_INDEX, "manifests": [
        oci.descriptor(oci.OCI_MANIFEST, manifest, platform={"os": "linux",
                                                             "architecture": "amd64"}),
        {"mediaType": oci.OCI_MANIFEST, "digest": absent, "size": 10,
         "platform": {"os": "linux", "architecture": "arm64"}}]})
    index = {"schemaVersion": 2, "manifests": [oci.descriptor(
        oci.OCI_INDEX, nested, annotations={"io.containerd.image.name": "nested:1"})]}
    files = {k: v for k, v in files.items() if k not in ("index.json", "manifest.json")} | {
        "blobs/sha256/" + oci.sha256(nested)[7:]: nested, "index.json": json.dumps(index).encode()}
    (tmp_path / "nested.tar.gz").write_bytes(oci.gzip_bytes(tar_bytes(files)))
    other = other_store(tmp_path, docker_config)
    assert ok(other("load", "-i", tmp_path / "nested.tar.gz")) == "Loaded image: nested:1\n"
    digests = ok(other("image", "inspect", "-f", "{{json .RepoDigests}}", "nested:1"))
    assert json.loads(digests) == [f"nested@{oci.sha256(nested)}"]
    assert ok(other("run", "--rm", "--pull", "never", "nested:1", "cat", "/etc/motd")) == MOTD


def test_save_of_a_layer_pulled_in_another_compression(rsd, images, tmp_path, docker_config,
                                                       store_root):
    """zstd's layer is busybox's tar. Pulled after busybox, its chain ID is
    already unpacked but pull still keeps zstd's own blob, which save names.
    In a store without that blob (one pulled before pull kept it), save
    names busybox's blob in a manifest of its own; the image ID stays, and
    the archive loads and runs."""
    for ref in (images.busybox.ref, images.zstd.ref):
        rsd("pull", "-q", ref, check=True)
    ok(rsd("save", "-o", tmp_path / "own.tar", images.zstd.ref))
    [legacy] = json.loads(members(tmp_path / "own.tar")["manifest.json"])
    assert legacy["Layers"] == ["blobs/sha256/" + images.zstd.layer_digests[0][7:]]

    (store_root / "blobs" / "sha256" / images.zstd.layer_digests[0][7:]).unlink()
    ok(rsd("save", "-o", tmp_path / "zstd.tar", images.zstd.ref))
    [legacy] = json.loads(members(tmp_path / "zstd.tar")["manifest.json"])
    assert legacy["Config"] == "blobs/sha256/" + images.zstd.config_digest[7:]
    assert legacy["Layers"] == ["blobs/sha256/" + images.busybox.layer_digests[0][7:]]
    other = other_store(tmp_path, docker_config)
    assert ok(other("load", "-i", tmp_path / "zstd.tar")) == f"Loaded image: {images.zstd.ref}\n"
    assert ok(other("run", "--rm", "--pull", "never", images.zstd.ref, "cat", "/etc/motd")) == MOTD


# -- interop ------------------------------------------------------------------------------

def test_skopeo_reads_our_archive(rsd, images, tmp_path):
    img = images.busybox
    rsd("pull", "-q", img.ref, check=True)
    archive = tmp_path / "busybox.tar"
    rsd("save", "-o", archive, img.ref, check=True)
    dest = tmp_path / "skopeo-dir"
    proc = subprocess.run(["skopeo", "copy", f"oci-archive:{archive}", f"dir:{dest}"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((dest / "manifest.json").read_text())
    assert manifest["config"]["digest"] == img.config_digest
    assert [layer["digest"] for layer in manifest["layers"]] == img.layer_digests
