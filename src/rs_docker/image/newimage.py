"""An image made here (`commit`, `import`): one new layer over a base image
(or over nothing), stored the way a pull stores one.

The layer tar is written by the caller into a temp file under tmp/
(`LayerFile`), gzip-compressed as it goes while both digests are computed
(the blob's and the uncompressed diff_id). `store()` then, under the shared
store lock (gc cannot take what is about to be referenced): ingests the
blob (temp + rename), unpacks it into its chain ID's layer dir (temp +
rename, its diff_id checked again by the unpacker's reader), writes config
and manifest blobs, and records the reference in images.json last. A kill
at any point leaves at most unreferenced blobs and layers, which gc
removes, and temp entries, which the sweep removes: never a half image.

Manifests follow the base image's kind (Docker schema 2 or OCI), so a
committed image pushes with the media types its base was pushed with; an
imported image is OCI, as Docker's containerd store makes it.
"""

from __future__ import annotations

import hashlib
import json
import os
import zlib

from rs_docker.context import Context
from rs_docker.models import manifest as manifests
from rs_docker.models.digest import Digest
from rs_docker.values import record

GZIP_LEVEL = 1  # fast: a commit's layer is written once, read by every pull
_LAYER_TYPE = {manifests.DOCKER_MANIFEST: "application/vnd.docker.image.rootfs.diff.tar.gzip",
               manifests.OCI_MANIFEST: "application/vnd.oci.image.layer.v1.tar+gzip"}
_CONFIG_TYPE = {manifests.DOCKER_MANIFEST: manifests.DOCKER_CONFIG,
                manifests.OCI_MANIFEST: manifests.OCI_CONFIG}
UNTAGGED_REPOSITORY = "localhost/untagged"


@record
class NewLayer:
    """A finished layer file: its blob digest and size, and its diff_id."""

    path: str
    digest: Digest
    size: int
    diff_id: Digest


class LayerFile:
    """A binary sink for a layer tar (`write`), gzip-compressed into a
    locked temp file under tmp/ with both digests computed on the way;
    `finish()` -> NewLayer. Use as a `with` block: the temp file is removed
    on exit (after `store()` copied it)."""

    def __init__(self, ctx: Context):
        from rs_docker.store.atomic import temp_file

        self._temp = temp_file(ctx.tmp_dir, "newlayer")
        os.makedirs(ctx.tmp_dir, 0o700, exist_ok=True)

    def __enter__(self) -> LayerFile:
        self.path, self._fd = self._temp.__enter__()
        self._raw = hashlib.sha256()
        self._blob = hashlib.sha256()
        self._size = 0
        # wbits 31: the gzip container, as `gzip` writes it.
        self._gz = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)
        return self

    def __exit__(self, *exc) -> None:
        self._temp.__exit__(*exc)

    def write(self, data) -> int:
        self._raw.update(data)
        self._out(self._gz.compress(data))
        return len(data)

    def _out(self, data: bytes) -> None:
        from rs_docker.store.atomic import write_all

        if data:
            self._blob.update(data)
            self._size += len(data)
            write_all(self._fd, data)

    def finish(self) -> NewLayer:
        self._out(self._gz.flush())
        os.fsync(self._fd)
        return NewLayer(self.path, Digest("sha256", self._blob.hexdigest()), self._size,
                        Digest("sha256", self._raw.hexdigest()))


def base_manifest(ctx: Context, base) -> manifests.Manifest | None:
    """The stored manifest of the base image record, None if not stored."""
    from rs_docker.store.content import ContentStore

    content = ContentStore(ctx)
    if base is None or not content.has(base.manifest):
        return None
    data = content.read(base.manifest, max_size=manifests.MAX_MANIFEST_SIZE)
    parsed = manifests.parse(data, manifests.OCI_MANIFEST)
    return parsed if isinstance(parsed, manifests.Manifest) else None


def _descriptor(media_type: str, digest: Digest, size: int) -> dict:
    return {"mediaType": media_type, "digest": str(digest), "size": size}


def store(ctx: Context, base, layer: NewLayer | None, config: dict,
          reference: str | None) -> Digest:
    """Store config (its rootfs.diff_ids: the base's plus `layer`'s) and
    `layer` over `base` (an ImageRecord or None), named `reference` (a full
    reference) or untagged; the image ID."""
    from rs_docker.image.load import unpack_file
    from rs_docker.image.staging import Staged
    from rs_docker.models import image_config
    from rs_docker.store.content import ContentStore
    from rs_docker.store.gc import sweep_tmp
    from rs_docker.store.images import ImageIndex, ImageRecord
    from rs_docker.store.layers import LayerStore
    from rs_docker.store.locks import store_lock

    parent = base_manifest(ctx, base)
    kind = parent.media_type if parent is not None else manifests.OCI_MANIFEST
    kind = kind if kind in _LAYER_TYPE else manifests.OCI_MANIFEST
    layers = [_descriptor(d.media_type, d.digest, d.size) for d in parent.layers] if parent else []
    if base is not None and parent is None and base.chain_ids:
        from rs_docker.errors import StoreError

        raise StoreError(f"image {base.config.short}: its manifest is not in the store")
    if layer is not None:
        layers.append(_descriptor(_LAYER_TYPE[kind], layer.digest, layer.size))
    config_bytes = json.dumps(config, separators=(",", ":")).encode()
    parsed_config = image_config.parse(config_bytes)
    config_digest = Digest("sha256", hashlib.sha256(config_bytes).hexdigest())
    doc = {"schemaVersion": 2, "mediaType": kind,
           "config": _descriptor(_CONFIG_TYPE[kind], config_digest, len(config_bytes)),
           "layers": layers}
    manifest_bytes = json.dumps(doc, indent=3).encode()
    manifest_digest = Digest("sha256", hashlib.sha256(manifest_bytes).hexdigest())
    chain = image_config.chain_ids(parsed_config.diff_ids)
    content, store_layers = ContentStore(ctx), LayerStore(ctx)
    with store_lock(ctx, shared=True):
        sweep_tmp(ctx)
        if layer is not None:
            if not content.has(layer.digest):
                with open(layer.path, "rb") as f, content.ingest(layer.digest, layer.size) as w:
                    while chunk := f.read(1 << 20):
                        w.write(chunk)
            top = chain[-1]
            with store_layers.lock(top):
                if not store_layers.has(top):
                    with store_layers.create(top) as dest:
                        unpack_file(Staged(layer.path, layer.digest, layer.size),
                                    _LAYER_TYPE[kind], layer.diff_id, dest)
        for data, digest in ((config_bytes, config_digest), (manifest_bytes, manifest_digest)):
            if not content.has(digest):
                content.put(data, expected=digest)
        name = reference or f"{UNTAGGED_REPOSITORY}@{manifest_digest}"
        ImageIndex(ctx).put(ImageRecord(reference=name, manifest=manifest_digest,
                                        config=config_digest, repo_digest=None,
                                        chain_ids=list(chain), created=parsed_config.created,
                                        platform=parsed_config.platform))
    return config_digest
