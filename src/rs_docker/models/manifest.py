"""OCI and Docker manifests and indexes: media types, parsing, validation.

Registry content is hostile until checked, so parsing is strict: a manifest
must say what it is (`mediaType` in the body or the Content-Type header), must
not look like both an index and a manifest, and every descriptor must carry a
valid digest and size. Sources: OCI image-spec manifest.md, image-index.md,
descriptor.md; Docker "Image Manifest V2, Schema 2".
"""

from __future__ import annotations

from rs_docker import jsonio
from rs_docker.errors import UnsupportedManifest
from rs_docker.models.digest import Digest
from rs_docker.values import default_factory, record

# Manifests and configs larger than this are refused: containerd and the
# distribution registry both cap manifests at 4 MiB.
MAX_MANIFEST_SIZE = 4 * 1024 * 1024

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
SCHEMA1 = ("application/vnd.docker.distribution.manifest.v1+json",
           "application/vnd.docker.distribution.manifest.v1+prettyjws")

MANIFEST_TYPES = (DOCKER_MANIFEST, OCI_MANIFEST)
INDEX_TYPES = (DOCKER_LIST, OCI_INDEX)
# The registry 404s an OCI manifest unless the Accept header names the OCI type.
ACCEPT = ", ".join((OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST))

DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
CONFIG_TYPES = (DOCKER_CONFIG, OCI_CONFIG)

LAYER_TYPES = {
    "application/vnd.docker.image.rootfs.diff.tar.gzip": "gzip",
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip": "gzip",
    "application/vnd.docker.image.rootfs.diff.tar": "none",
    "application/vnd.docker.image.rootfs.diff.tar.zstd": "zstd",
    "application/vnd.oci.image.layer.v1.tar": "none",
    "application/vnd.oci.image.layer.v1.tar+gzip": "gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd": "zstd",
    "application/vnd.oci.image.layer.nondistributable.v1.tar": "none",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip": "gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd": "zstd",
}


@record
class Descriptor:
    """A pointer to content: media type, digest, size (descriptor.md).
    `urls` of foreign layers are kept for inspection but never fetched."""

    media_type: str
    digest: Digest
    size: int
    platform: dict | None = None
    urls: tuple[str, ...] = ()
    annotations: dict = default_factory(dict)

    @property
    def compression(self) -> str:
        """gzip, zstd or none; raises UnsupportedManifest for a non-layer type."""
        try:
            return LAYER_TYPES[self.media_type]
        except KeyError:
            raise UnsupportedManifest(
                f"unsupported layer media type {self.media_type!r} ({self.digest})") from None


@record
class Manifest:
    """An image manifest: one config and the layers, base first."""

    media_type: str
    config: Descriptor
    layers: tuple[Descriptor, ...]
    annotations: dict = default_factory(dict)


@record
class Index:
    """An index / manifest list: one manifest per platform."""

    media_type: str
    manifests: tuple[Descriptor, ...]
    annotations: dict = default_factory(dict)


def parse(data: bytes, content_type: str | None = None) -> Manifest | Index:
    """Parse a manifest or index body. `content_type` is the HTTP header, used
    only when the body has no `mediaType`. Raises UnsupportedManifest."""
    if len(data) > MAX_MANIFEST_SIZE:
        raise UnsupportedManifest(f"manifest too large ({len(data)} bytes, limit 4 MiB)")
    body = _load_object(data, "manifest")
    media_type = _media_type(body, content_type)
    if media_type in SCHEMA1 or body.get("schemaVersion") == 1:
        raise UnsupportedManifest(
            "unsupported manifest: Docker Image Format v1 (schema1) is no longer supported",
            hint="push the image again with a current client to convert it to schema2 / OCI")
    if body.get("schemaVersion") != 2:
        raise UnsupportedManifest(f"unsupported manifest schemaVersion {body.get('schemaVersion')!r}")
    is_index = "manifests" in body
    is_manifest = "layers" in body or "config" in body
    if is_index and is_manifest:
        raise UnsupportedManifest("ambiguous manifest: has both manifests and layers/config")
    annotations = _annotations(body)
    if media_type in INDEX_TYPES:
        if is_manifest:
            raise UnsupportedManifest(f"{media_type} body has layers/config")
        return Index(media_type, tuple(_descriptors(body.get("manifests"), "manifests")),
                     annotations)
    if media_type in MANIFEST_TYPES:
        if is_index:
            raise UnsupportedManifest(f"{media_type} body has manifests")
        config = parse_descriptor(body.get("config"), "config")
        layers = tuple(_descriptors(body.get("layers"), "layers"))
        return Manifest(media_type, config, layers, annotations)
    raise UnsupportedManifest(f"unsupported manifest media type {media_type!r}")


def parse_descriptor(obj, where: str) -> Descriptor:
    """Validate one descriptor object; `where` names it in errors."""
    if not isinstance(obj, dict):
        raise UnsupportedManifest(f"invalid manifest: {where} is not a descriptor")
    media_type = obj.get("mediaType")
    size = obj.get("size")
    if not isinstance(media_type, str) or not media_type:
        raise UnsupportedManifest(f"invalid manifest: {where} has no mediaType")
    # bool is an int in Python: refuse `true` as a size.
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise UnsupportedManifest(f"invalid manifest: {where} has an invalid size {size!r}")
    try:
        digest = Digest.parse(obj.get("digest"))
    except Exception:
        raise UnsupportedManifest(
            f"invalid manifest: {where} has an invalid digest {obj.get('digest')!r}") from None
    platform = obj.get("platform")
    if platform is not None and not isinstance(platform, dict):
        raise UnsupportedManifest(f"invalid manifest: {where} has an invalid platform")
    urls = obj.get("urls") or []
    if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
        raise UnsupportedManifest(f"invalid manifest: {where} has invalid urls")
    return Descriptor(media_type, digest, size, platform, tuple(urls), _annotations(obj))


def _descriptors(items, where: str) -> list[Descriptor]:
    if not isinstance(items, list):
        raise UnsupportedManifest(f"invalid manifest: {where} is not a list")
    return [parse_descriptor(item, f"{where}[{i}]") for i, item in enumerate(items)]


def _media_type(body: dict, content_type: str | None) -> str | None:
    declared = body.get("mediaType")
    if declared is not None and not isinstance(declared, str):
        raise UnsupportedManifest("invalid manifest: mediaType is not a string")
    header = (content_type or "").split(";")[0].strip() or None
    if declared:
        return declared
    if body.get("schemaVersion") == 1:
        return SCHEMA1[1]
    if header in MANIFEST_TYPES + INDEX_TYPES + SCHEMA1:
        return header
    raise UnsupportedManifest("invalid manifest: no mediaType in the body or Content-Type header")


def _annotations(obj: dict) -> dict:
    ann = obj.get("annotations") or {}
    if not isinstance(ann, dict):
        raise UnsupportedManifest("invalid manifest: annotations is not an object")
    return ann


def _load_object(data: bytes, what: str) -> dict:
    """The JSON object in data (UTF-8, as Go's encoding/json reads it). A
    document nested beyond jsonio.MAX_DEPTH is refused, not a RecursionError."""
    try:
        body = jsonio.loads(data, max_depth=jsonio.MAX_DEPTH)
    except jsonio.TooDeep as e:
        raise UnsupportedManifest(f"invalid {what}: {e}") from None
    except ValueError as e:  # UnicodeDecodeError included
        raise UnsupportedManifest(f"invalid {what}: not JSON ({e.__class__.__name__})") from None
    if not isinstance(body, dict):
        raise UnsupportedManifest(f"invalid {what}: not a JSON object")
    return body
