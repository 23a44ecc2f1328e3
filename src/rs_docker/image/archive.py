"""`save`: images from the store -> one tar, in the format Docker 25+ writes.

The tar is an OCI image layout (image-spec image-layout.md: `oci-layout`,
`index.json`, `blobs/<alg>/<hex>`) plus Docker's legacy `manifest.json`
([{"Config": "blobs/sha256/<hex>", "RepoTags": [...], "Layers": [...]}]),
as moby's image/tarexport/save.go writes it: one index.json entry per tag,
annotated with `io.containerd.image.name` (the full reference) and
`org.opencontainers.image.ref.name` (the tag).

Layer blobs are written as the store keeps them, i.e. compressed as pulled.
That is what Docker with the containerd image store writes (the graphdriver
store writes uncompressed diffs); `docker load` of either kind accepts
compressed `Layers`, only pre-1.10 loaders would not. No legacy
`repositories` file and no per-layer v1 JSON: they serve only those loaders.

Blobs are streamed from the store into the tar (never read whole, except
manifests and configs) and each layer blob's digest is checked as it goes,
so a corrupt store fails the save instead of producing a bad archive.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
from pathlib import Path
from typing import BinaryIO

from rs_docker import values
from rs_docker.errors import (
    DigestMismatch,
    InvalidReference,
    StoreError,
    UnsupportedManifest,
)
from rs_docker.image.local import find
from rs_docker.image.streams import HashingReader
from rs_docker.models import manifest as manifests
from rs_docker.models.digest import Digest
from rs_docker.models.reference import parse

OCI_LAYOUT = b'{"imageLayoutVersion":"1.0.0"}'
IMAGE_NAME_ANNOTATION = "io.containerd.image.name"      # containerd images.AnnotationImageName
REF_NAME_ANNOTATION = "org.opencontainers.image.ref.name"  # image-spec annotations.md
INDEX_FILE, MANIFEST_FILE, LAYOUT_FILE = "index.json", "manifest.json", "oci-layout"
# Docker's save sets every mtime to the epoch or the image's creation time;
# a fixed time makes the archive of one image byte-for-byte reproducible.
MTIME = 0
COPY_BUFSIZE = 1 << 20


@values.record  # `record` names the index entries below
class SavedImage:
    """One image of the archive: its manifest and the tags it is saved under."""

    image_id: Digest                  # the config digest
    manifest_digest: Digest
    manifest: manifests.Manifest
    manifest_bytes: bytes
    config_bytes: bytes
    tags: tuple[str, ...]             # full references with a tag


def blob_path(d: Digest) -> str:
    """Where a blob lives inside the archive (path.Join("blobs", alg, hex))."""
    return f"blobs/{d.algorithm}/{d.hex}"


def save(ctx, names: list[str] | tuple[str, ...], output: str | os.PathLike) -> None:
    """`docker save -o FILE`: write the archive to a temp file next to
    `output` and rename it into place, so `output` is never left half written
    (docker/cli command.CopyToFile does the same)."""
    output = Path(output)
    directory = output.parent if str(output.parent) else Path(".")
    tmp = directory / f".{output.name}.rs-docker-{os.urandom(6).hex()}"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
    except OSError as e:
        raise StoreError(f"create {tmp}: {(e.strerror or str(e)).lower()}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            write_archive(ctx, names, f)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, output)
    except OSError as e:
        raise StoreError(f"write {output}: {(e.strerror or str(e)).lower()}") from None
    finally:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass


def write_archive(ctx, names: list[str] | tuple[str, ...], out: BinaryIO) -> list[SavedImage]:
    """Write the archive of the images `names` designate to the binary stream
    `out` (forward only: a pipe is fine). Every name is resolved and every
    manifest and config read and verified before the first byte is written.
    Returns the images saved. ImageNotFound, StoreError, DigestMismatch."""
    from rs_docker.store.locks import store_lock

    # Shared, like a pull: gc (rmi) cannot delete a blob we are about to copy.
    with store_lock(ctx, shared=True):
        images = resolve(ctx, names)
        tar = tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT,
                           copybufsize=COPY_BUFSIZE)
        try:
            _write_blobs(ctx, tar, images)
            _add_bytes(tar, INDEX_FILE, _json(index_document(images)))
            _add_bytes(tar, MANIFEST_FILE, _json(legacy_manifest(images)) + b"\n")
            _add_bytes(tar, LAYOUT_FILE, OCI_LAYOUT)
        finally:
            tar.close()
    return images


def resolve(ctx, names) -> list[SavedImage]:
    """The images `names` designate, each once, in the order first named.
    As moby's tarexport.parseNames: NAME:TAG saves that tag; a bare NAME every
    tag of that repository; an image ID or NAME@DIGEST the image untagged."""
    from rs_docker.store.content import ContentStore

    content = ContentStore(ctx)
    found: dict[Digest, tuple[Digest, list[str]]] = {}
    for name in names:
        for record, tag in _records_for(ctx, name):
            manifest_digest, tags = found.setdefault(record.config, (record.manifest, []))
            if tag and tag not in tags:
                tags.append(tag)
    return [_load(ctx, content, image_id, manifest_digest, tags)
            for image_id, (manifest_digest, tags) in found.items()]


def _records_for(ctx, name: str) -> list[tuple]:
    """(record, tagged reference or None) pairs for one argument of `save`."""
    from rs_docker.store.images import ImageIndex

    index = ImageIndex(ctx)
    try:
        ref = parse(name, default_tag=False)
    except InvalidReference:
        ref = None
    if ref is not None and ref.tag is None and ref.digest is None:
        same_repo = [r for r in index.all() if _repository(r.reference) == ref.name]
        tagged = [(r, r.reference) for r in same_repo if _is_tagged(r.reference)]
        if tagged:
            return tagged
    records = find(ctx, name)
    if ref is not None and ref.tag is not None and ref.digest is None:
        return [(r, r.reference) for r in records if r.reference == str(ref)] or \
            [(records[0], None)]
    return [(records[0], None)]


def _load(ctx, content, image_id: Digest, manifest_digest: Digest,
          tags: list[str]) -> SavedImage:
    try:
        data = content.read(manifest_digest, max_size=manifests.MAX_MANIFEST_SIZE)
        parsed = manifests.parse(data)
        if not isinstance(parsed, manifests.Manifest) or parsed.config.digest != image_id:
            raise StoreError(f"manifest {manifest_digest} in the store does not describe "
                             f"image {image_id.short}")
        config = content.read(image_id, max_size=manifests.MAX_MANIFEST_SIZE)
    except (StoreError, DigestMismatch) as e:
        raise StoreError(f"cannot save image {image_id.short}: {e}") from None
    if not all(content.has(layer.digest) for layer in parsed.layers):
        data = _with_stored_layers(ctx, content, image_id, parsed, config)
        manifest_digest, parsed = Digest.sha256_of(data), manifests.parse(data)
    return SavedImage(image_id, manifest_digest, parsed, data, config, tuple(tags))


def _with_stored_layers(ctx, content, image_id: Digest, parsed: manifests.Manifest,
                        config: bytes) -> bytes:
    """A manifest for the image naming layer blobs the store has. `pull` does
    not download a layer whose chain ID is already unpacked, so an image whose
    layer came in another compression (zstd vs gzip of one tar) lacks its own
    blob: name a stored blob with the same diff_id instead. The image ID (the
    config) is unchanged; Docker's graphdriver save writes its own manifests
    too (moby image/tarexport/save.go)."""
    from rs_docker.models import image_config

    diff_ids = image_config.parse(config).diff_ids
    stored = _stored_blobs_by_diff_id(ctx, content)
    layers = []
    for layer, diff_id in zip(parsed.layers, diff_ids, strict=False):
        if content.has(layer.digest):
            layers.append(layer)
        elif diff_id in stored:
            layers.append(stored[diff_id])
        else:
            raise StoreError(f"cannot save image {image_id.short}: no blob of layer {diff_id} "
                             f"is in the store", hint="remove the image and pull it again")
    family = OCI_LAYER_TYPES if parsed.media_type == manifests.OCI_MANIFEST else DOCKER_LAYER_TYPES
    doc = {"schemaVersion": 2, "mediaType": parsed.media_type,
           "config": _descriptor(parsed.config, parsed.config.media_type),
           "layers": [_descriptor(layer, family[layer.compression]) for layer in layers]}
    return _json(doc)


def _stored_blobs_by_diff_id(ctx, content) -> dict[Digest, manifests.Descriptor]:
    """diff_id -> a layer descriptor, from every image whose blob is stored."""
    from rs_docker.models import image_config
    from rs_docker.store.images import ImageIndex

    out: dict[Digest, manifests.Descriptor] = {}
    for record in ImageIndex(ctx).all():
        try:
            parsed = manifests.parse(content.read(record.manifest, manifests.MAX_MANIFEST_SIZE))
            config = image_config.parse(content.read(record.config, manifests.MAX_MANIFEST_SIZE))
        except (StoreError, DigestMismatch, UnsupportedManifest):
            continue   # this image cannot help; its own save reports why
        for layer, diff_id in zip(getattr(parsed, "layers", ()), config.diff_ids, strict=False):
            if content.has(layer.digest):
                out.setdefault(diff_id, layer)
    return out


# Layer media types by compression, per manifest family (image-spec
# media-types.md; Docker's schema 2 has a zstd type since Docker 23).
OCI_LAYER_TYPES = {"gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
              "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
              "none": "application/vnd.oci.image.layer.v1.tar"}
DOCKER_LAYER_TYPES = {"gzip": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                 "zstd": "application/vnd.docker.image.rootfs.diff.tar.zstd",
                 "none": "application/vnd.docker.image.rootfs.diff.tar"}


def _descriptor(desc: manifests.Descriptor, media_type: str) -> dict:
    out = {"mediaType": media_type, "digest": str(desc.digest), "size": desc.size}
    return out | {"annotations": desc.annotations} if desc.annotations else out


def index_document(images: list[SavedImage]) -> dict:
    """index.json: one entry per tag (Docker's save), one unannotated entry
    for an image saved without a tag so the layout still holds it."""
    entries = []
    for image in images:
        base = {"mediaType": image.manifest.media_type, "digest": str(image.manifest_digest),
                "size": len(image.manifest_bytes)}
        if not image.tags:
            entries.append(base)
        for tag in image.tags:
            ref = parse(tag)
            entries.append(base | {"annotations": {IMAGE_NAME_ANNOTATION: str(ref),
                                                   REF_NAME_ANNOTATION: ref.tag}})
    return {"schemaVersion": 2, "mediaType": manifests.OCI_INDEX, "manifests": entries}


def legacy_manifest(images: list[SavedImage]) -> list[dict]:
    """manifest.json, Docker's own format (moby image/tarexport manifestItem)."""
    return [{"Config": blob_path(image.image_id),
             "RepoTags": [parse(t).familiar for t in image.tags] or None,
             "Layers": [blob_path(layer.digest) for layer in image.manifest.layers]}
            for image in images]


def _write_blobs(ctx, tar: tarfile.TarFile, images: list[SavedImage]) -> None:
    from rs_docker.store.content import ContentStore

    content = ContentStore(ctx)
    small: dict[Digest, bytes] = {}
    layers: dict[Digest, int] = {}
    for image in images:
        small[image.manifest_digest] = image.manifest_bytes
        small[image.image_id] = image.config_bytes
        for layer in image.manifest.layers:
            layers.setdefault(layer.digest, layer.size)
    _add_dir(tar, "blobs")
    for algorithm in sorted({d.algorithm for d in [*small, *layers]}):
        _add_dir(tar, f"blobs/{algorithm}")
    # Sorted by path, as Docker's archive.Tar walks its temp directory.
    for d in sorted({*small, *layers}, key=blob_path):
        if d in small:
            _add_bytes(tar, blob_path(d), small[d])
        else:
            _add_blob_file(tar, content.path(d), d, layers[d])


def _add_blob_file(tar: tarfile.TarFile, path: Path, d: Digest, size: int) -> None:
    """Stream one layer blob into the tar, hashing it on the way."""
    try:
        f = open(path, "rb")
    except OSError as e:
        raise StoreError(f"read blob {d}: {(e.strerror or str(e)).lower()}") from None
    with f:
        actual = os.fstat(f.fileno()).st_size
        if actual != size:
            raise DigestMismatch(f"blob {d} is corrupt in the store: {actual} bytes, "
                                 f"the manifest says {size}")
        reader = HashingReader(f, d.hasher())
        tar.addfile(_info(blob_path(d), tarfile.REGTYPE, size), reader)
    if reader.hasher.hexdigest() != d.hex:
        raise DigestMismatch(f"blob {d} is corrupt in the store: its content is "
                             f"{d.algorithm}:{reader.hasher.hexdigest()}")


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    tar.addfile(_info(name, tarfile.REGTYPE, len(data)), io.BytesIO(data))


def _add_dir(tar: tarfile.TarFile, name: str) -> None:
    tar.addfile(_info(name, tarfile.DIRTYPE, 0))


def _info(name: str, kind: bytes, size: int) -> tarfile.TarInfo:
    ti = tarfile.TarInfo(name)
    ti.type, ti.size, ti.mtime = kind, size, MTIME
    ti.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
    ti.uname = ti.gname = ""
    return ti


def _json(obj) -> bytes:
    # Go's json.Marshal: compact, no spaces.
    return json.dumps(obj, separators=(",", ":")).encode()


def _repository(reference: str) -> str:
    return parse(reference, default_tag=False).name


def _is_tagged(reference: str) -> bool:
    ref = parse(reference, default_tag=False)
    return ref.tag is not None and ref.digest is None
