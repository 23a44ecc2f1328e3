"""`load`: an image archive -> content store -> unpacked layers -> images.json.

Two formats, as `docker load` reads them:
- an OCI image layout (index.json -> manifests, or an index whose entry for
  this platform is taken), names from the `io.containerd.image.name`
  annotation, else a full reference in `org.opencontainers.image.ref.name`;
- a docker-archive (manifest.json: Config, RepoTags, Layers paths; layers
  plain or compressed tars, e.g. `<id>/layer.tar` of Docker < 25), for which
  a Docker schema 2 manifest is synthesized as containerd's importer does
  (images/archive/importer.go): compression sniffed, media types to match.
When both are present (Docker 25+ writes both) the OCI layout wins.

All or nothing: the archive is staged and every document and blob checked
(staging.py) before the store changes; then, under the shared store lock,
every missing layer is unpacked into its own temp dir with its diff_id
verified, blobs are committed, the layers renamed into place together, and
the references recorded last. A failure before that leaves the store as it
was.
"""

from __future__ import annotations

import json
from contextlib import ExitStack
from typing import BinaryIO

from rs_docker import jsonio
from rs_docker.errors import DigestMismatch, InvalidArchive, InvalidReference, UnsupportedManifest
from rs_docker.image.archive import (
    DOCKER_LAYER_TYPES,
    IMAGE_NAME_ANNOTATION,
    INDEX_FILE,
    MANIFEST_FILE,
    REF_NAME_ANNOTATION,
)
from rs_docker.image.decompress import GZIP_MAGIC, ZSTD_MAGIC
from rs_docker.image.staging import Stage, Staged
from rs_docker.models import image_config, platform
from rs_docker.models import manifest as manifests
from rs_docker.models.digest import Digest
from rs_docker.models.reference import parse
from rs_docker.values import record

# An image loaded without a name still needs a record (the index is keyed by
# reference) to be found by ID: it is kept as <this>@<manifest digest>.
UNTAGGED_REPOSITORY = "localhost/untagged"


@record
class LoadedImage:
    """What `load` reports: a reference (full form) or None when untagged."""

    reference: str | None
    image_id: Digest


@record
class _Image:
    """One image of the archive, checked, ready to commit."""

    manifest_digest: Digest
    manifest: manifests.Manifest
    config: image_config.ImageConfig
    blobs: tuple[tuple[bytes, Digest], ...]     # (index), manifest, config
    layers: tuple[tuple[manifests.Descriptor, Staged], ...]
    names: list[str]
    repo_digest: Digest | None

    @property
    def image_id(self) -> Digest:
        return self.manifest.config.digest


def load(ctx, stream: BinaryIO, progress=None) -> list[LoadedImage]:
    """Load every image of the archive read from `stream` (forward only).
    Returns one LoadedImage per name (or per untagged image). Raises
    InvalidArchive, DigestMismatch, UnsafeLayerEntry, UnsupportedManifest,
    StoreError; the store is unchanged by a hostile archive."""
    from rs_docker.store.atomic import temp_dir

    report = progress or (lambda _event: None)
    with temp_dir(ctx.tmp_dir, "load") as (staging, _fd):
        stage = Stage(staging)
        stage.read(stream)
        images = plan(stage)
        _commit(ctx, images, report)
    out: list[LoadedImage] = []
    for image in images:
        out += [LoadedImage(n, image.image_id) for n in image.names] or \
            [LoadedImage(None, image.image_id)]
    return out


def plan(stage: Stage) -> list[_Image]:
    """The images of a staged archive, every document parsed and every blob
    found and verified."""
    if stage.get(INDEX_FILE) is not None:
        images = _plan_oci(stage)
    elif stage.get(MANIFEST_FILE) is not None:
        images = _plan_docker(stage)
    else:
        raise InvalidArchive("invalid image archive: no index.json or manifest.json in it")
    if not images:
        raise InvalidArchive("invalid image archive: it holds no image")
    return images


# -- OCI image layout -----------------------------------------------------------

def _plan_oci(stage: Stage) -> list[_Image]:
    data = stage.small(stage.get(INDEX_FILE), INDEX_FILE)
    index = manifests.parse(data, manifests.OCI_INDEX)  # index.json may omit mediaType
    if not isinstance(index, manifests.Index):
        raise InvalidArchive("invalid image archive: index.json is not an image index")
    images: dict[Digest, _Image] = {}
    for desc in index.manifests:
        names = _annotated_names(desc.annotations)
        extra: tuple[tuple[bytes, Digest], ...] = ()
        repo_digest = None
        if desc.media_type in manifests.INDEX_TYPES:
            # A multi-platform image: this platform's manifest, as `pull` takes
            # it; the index is kept and recorded as the repo digest, as by pull.
            index_bytes = _blob_bytes(stage, desc)
            extra, repo_digest = ((index_bytes, desc.digest),), desc.digest
            desc = _platform_entry(stage, index_bytes, desc.digest)
        elif desc.media_type not in manifests.MANIFEST_TYPES:
            raise UnsupportedManifest(f"index.json entry {desc.digest} is a "
                                      f"{desc.media_type!r}, not an image manifest")
        image = images.get(desc.digest)
        if image is None:
            image = images[desc.digest] = _oci_image(stage, desc, extra, repo_digest)
        image.names.extend(n for n in names if n not in image.names)
    return list(images.values())


def _platform_entry(stage: Stage, data: bytes, digest: Digest) -> manifests.Descriptor:
    """The entry of a nested index for this machine, among those whose
    manifest is in the archive (a save may hold one platform of many)."""
    nested = manifests.parse(data)
    if not isinstance(nested, manifests.Index):
        raise InvalidArchive(f"invalid image archive: {digest} is not an image index")
    present = [d for d in nested.manifests if d.media_type in manifests.MANIFEST_TYPES
               and stage.get(f"blobs/{d.digest.algorithm}/{d.digest.hex}") is not None]
    return platform.select(present, platform.host_platform())


def _oci_image(stage: Stage, desc: manifests.Descriptor, extra, repo_digest) -> _Image:
    data = _blob_bytes(stage, desc)
    parsed = manifests.parse(data, desc.media_type)
    if not isinstance(parsed, manifests.Manifest):
        raise InvalidArchive(f"invalid image archive: {desc.digest} is not an image manifest")
    config_bytes = _blob_bytes(stage, parsed.config)
    config = _config(config_bytes, parsed)
    layers = tuple((layer, stage.blob(layer.digest, layer.size)) for layer in parsed.layers)
    blobs = (*extra, (data, desc.digest), (config_bytes, parsed.config.digest))
    return _Image(desc.digest, parsed, config, blobs, layers, [], repo_digest)


def _annotated_names(annotations: dict) -> list[str]:
    """The reference an index.json entry names: io.containerd.image.name (what
    Docker and containerd write), else org.opencontainers.image.ref.name when
    it is a whole reference ("busybox:1.36") rather than a bare tag."""
    full = annotations.get(IMAGE_NAME_ANNOTATION)
    if isinstance(full, str) and full:
        try:
            return [str(parse(full))]
        except InvalidReference:
            raise InvalidArchive(f"invalid image archive: bad {IMAGE_NAME_ANNOTATION} "
                                 f"{full[:120]!r}") from None
    ref_name = annotations.get(REF_NAME_ANNOTATION)
    if isinstance(ref_name, str) and ("/" in ref_name or ":" in ref_name):
        try:
            return [str(parse(ref_name))]
        except InvalidReference:
            pass  # the spec allows any string here: not a name we can use
    return []


def _blob_bytes(stage: Stage, desc: manifests.Descriptor) -> bytes:
    """A manifest, index or config blob: verified and at most 4 MiB."""
    if desc.size > manifests.MAX_MANIFEST_SIZE:
        raise UnsupportedManifest(f"{desc.digest} too large ({desc.size} bytes, limit 4 MiB)")
    return stage.small(stage.blob(desc.digest, desc.size), str(desc.digest))


def _config(data: bytes, parsed: manifests.Manifest) -> image_config.ImageConfig:
    config = image_config.parse(data)
    if len(config.diff_ids) != len(parsed.layers):
        raise InvalidArchive(f"invalid image archive: image {parsed.config.digest.short} has "
                             f"{len(parsed.layers)} layers but its config lists "
                             f"{len(config.diff_ids)} diff_ids")
    for layer in parsed.layers:
        _ = layer.compression          # an unknown layer type is refused here
    return config


# -- docker-archive (manifest.json) --------------------------------------------

def _plan_docker(stage: Stage) -> list[_Image]:
    try:
        items = jsonio.loads(stage.small(stage.get(MANIFEST_FILE), MANIFEST_FILE),
                             max_depth=jsonio.MAX_DEPTH)
    except jsonio.TooDeep as e:
        raise InvalidArchive(f"invalid image archive: manifest.json: {e}") from None
    except ValueError:  # UnicodeDecodeError included
        raise InvalidArchive("invalid image archive: manifest.json is not JSON") from None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise InvalidArchive("invalid image archive: manifest.json is not a list of objects")
    return [_docker_image(stage, item, n) for n, item in enumerate(items)]


def _docker_image(stage: Stage, item: dict, n: int) -> _Image:
    config_file = stage.path(item.get("Config"), f"manifest.json[{n}].Config")
    config_bytes = stage.small(config_file, f"manifest.json[{n}].Config")
    paths = item.get("Layers")
    if not isinstance(paths, list):
        raise InvalidArchive(f"invalid image archive: manifest.json[{n}].Layers is not a list")
    staged = [stage.path(p, f"manifest.json[{n}].Layers") for p in paths]
    layers = [{"mediaType": DOCKER_LAYER_TYPES[_compression(s)], "digest": str(s.digest),
               "size": s.size} for s in staged]
    doc = {"schemaVersion": 2, "mediaType": manifests.DOCKER_MANIFEST,
           "config": {"mediaType": manifests.DOCKER_CONFIG, "digest": str(config_file.digest),
                      "size": config_file.size},
           "layers": layers}
    data = json.dumps(doc, separators=(",", ":")).encode()
    parsed = manifests.parse(data)
    config = _config(config_bytes, parsed)
    digest = Digest.sha256_of(data)
    return _Image(digest, parsed, config, ((data, digest), (config_bytes, config_file.digest)),
                  tuple(zip(parsed.layers, staged, strict=True)),
                  _repo_tags(item.get("RepoTags"), n), None)


def _compression(staged: Staged) -> str:
    with open(staged.path, "rb") as f:
        head = f.read(4)
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    return "zstd" if head.startswith(ZSTD_MAGIC) else "none"


def _repo_tags(tags, n: int) -> list[str]:
    if tags is None:
        return []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise InvalidArchive(f"invalid image archive: manifest.json[{n}].RepoTags is not a "
                             f"list of strings")
    out = []
    for text in tags:
        try:
            ref = parse(text)
        except InvalidReference:
            raise InvalidArchive(f"invalid image archive: bad RepoTag {text[:120]!r}") from None
        if str(ref) not in out:
            out.append(str(ref))
    return out


# -- commit ----------------------------------------------------------------------

def _commit(ctx, images: list[_Image], report) -> None:
    from rs_docker.store.gc import sweep_tmp
    from rs_docker.store.images import ImageIndex
    from rs_docker.store.locks import store_lock

    # Shared store lock until the records are written, as a pull holds it:
    # gc cannot remove what this load is about to reference.
    with store_lock(ctx, shared=True):
        sweep_tmp(ctx)
        with ExitStack() as stack:
            _unpack_layers(ctx, stack, images, report)
            _store_blobs(ctx, images)
        # Leaving the stack renamed every unpacked layer into place.
        index = ImageIndex(ctx)
        known = {r.config for r in index.all()}
        for image in images:
            for record in _records(image, known):
                index.put(record)


def _unpack_layers(ctx, stack: ExitStack, images: list[_Image], report) -> None:
    """Unpack every layer the store lacks into a temp dir entered on `stack`
    (committed when the stack closes cleanly, dropped if anything fails).
    Layer locks are taken in chain-ID order, so two loads cannot deadlock."""
    from rs_docker.image.pull import Progress
    from rs_docker.store.layers import LayerStore

    layers = LayerStore(ctx)
    todo: dict[Digest, tuple] = {}
    for image in images:
        chain = image_config.chain_ids(image.config.diff_ids)
        for (desc, staged), diff_id, chain_id in zip(image.layers, image.config.diff_ids,
                                                     chain, strict=True):
            todo.setdefault(chain_id, (desc, staged, diff_id))
    for chain_id in sorted(todo):
        desc, staged, diff_id = todo[chain_id]
        short = desc.digest.short
        stack.enter_context(layers.lock(chain_id))
        if layers.has(chain_id):
            report(Progress(short, "Already exists"))
            continue
        dest = stack.enter_context(layers.create(chain_id))
        report(Progress(short, "Loading layer", 0, desc.size))
        unpack_file(staged, desc.media_type, diff_id, dest)
        report(Progress(short, "Loading layer", desc.size, desc.size))


def unpack_file(staged: Staged, media_type: str, diff_id: Digest, dest) -> None:
    """Decompress and extract one staged layer into `dest`, checking that the
    uncompressed stream hashes to `diff_id`."""
    from rs_docker.image.streams import HashingReader
    from rs_docker.image.unpack import open_decompressed, unpack

    with open(staged.path, "rb") as f:
        stream = open_decompressed(f, media_type)
        try:
            tar = HashingReader(stream, diff_id.hasher())
            unpack(tar, dest)
            tar.drain()
        finally:
            stream.close()
    if tar.hasher.hexdigest() != diff_id.hex:
        raise DigestMismatch(f"layer {staged.digest}: uncompressed content "
                             f"{diff_id.algorithm}:{tar.hasher.hexdigest()} does not match "
                             f"diff_id {diff_id}")


def _store_blobs(ctx, images: list[_Image]) -> None:
    """Every blob of every image into the content store (checked again by
    the store's ingest as they are copied)."""
    from rs_docker.store.content import ContentStore

    content = ContentStore(ctx)
    for image in images:
        for data, digest in image.blobs:
            if not content.has(digest):
                content.put(data, expected=digest)
        for desc, staged in image.layers:
            if content.has(desc.digest):
                continue
            with open(staged.path, "rb") as f, content.ingest(desc.digest, desc.size) as w:
                while chunk := f.read(1 << 20):
                    w.write(chunk)


def _records(image: _Image, known: set[Digest]):
    from rs_docker.store.images import ImageRecord

    names = list(image.names)
    if not names and image.image_id not in known:
        names = [f"{UNTAGGED_REPOSITORY}@{image.manifest_digest}"]
    chain = image_config.chain_ids(image.config.diff_ids)
    for name in names:
        yield ImageRecord(reference=name, manifest=image.manifest_digest,
                          config=image.image_id, repo_digest=image.repo_digest,
                          chain_ids=list(chain), created=image.config.created,
                          platform=image.config.platform)
