"""Push: a local image -> a registry, the way `docker push` does it.

Every layer blob and the config go first (each checked with a HEAD and
skipped when the repository has it: "Layer already exists"), then the
manifest, byte for byte as it is stored so its digest does not change. An
image pulled from an index pushes the platform manifest that was stored:
the index itself names other platforms' blobs, which the store does not
have (Docker without the containerd store does the same).
"""

from __future__ import annotations

import os
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait

from rs_docker import values
from rs_docker.errors import DigestMismatch, ImageNotFound, StoreError, UnsupportedManifest
from rs_docker.image.pull import Progress, ProgressFn
from rs_docker.models import manifest
from rs_docker.models.digest import Digest
from rs_docker.models.reference import Reference, parse

# Docker's default --max-concurrent-uploads.
MAX_CONCURRENT_UPLOADS = 5


@values.record  # `record` names the index entries below
class PushResult:
    """What `docker push` prints last: `<tag>: digest: <digest> size: <size>`."""

    reference: str                   # full: 127.0.0.1:5000/team/app:1.0
    selector: str                    # the tag (or the digest pushed by)
    digest: Digest                   # the manifest's, unchanged by the push
    size: int                        # the manifest's bytes


def push(ctx, ref: str | Reference, progress: ProgressFn | None = None, client=None,
         chunk_size: int | None = None) -> PushResult:
    """Push the local image `ref` (default tag latest) to its registry and
    return what was pushed. `chunk_size` uploads blobs in PATCH chunks of
    that many bytes instead of one PUT each. Raises RsDockerError subclasses."""
    from rs_docker.registry.client import RegistryClient
    from rs_docker.registry.upload import Uploader
    from rs_docker.store.images import ImageIndex
    from rs_docker.store.locks import store_lock

    ref = ref if isinstance(ref, Reference) else parse(ref)
    report = progress or (lambda _: None)
    index = ImageIndex(ctx)
    own_client = client is None
    # Shared store lock for the whole push: gc cannot delete a blob being sent.
    with store_lock(ctx, shared=True):
        record = index.get(str(ref))
        if record is None:
            raise ImageNotFound(f"an image does not exist locally with the tag: "
                                f"{ref.familiar_name}")
        data, image = _load_manifest(ctx, record)
        client = client or RegistryClient(ctx, ref.domain)
        try:
            uploader = Uploader(client, ref.path)
            for layer in image.layers:
                report(Progress(layer.digest.short, "Preparing"))
            _upload_blobs(ctx, uploader, image, report, chunk_size)
            digest = uploader.put_manifest(ref.selector, data, image.media_type)
        finally:
            if own_client:
                client.close()
        if ref.digest is None and record.repo_digest != digest:
            # Docker records the pushed digest as the image's RepoDigest.
            index.put(record._replace(repo_digest=digest))
    return PushResult(str(ref), ref.selector, digest, len(data))


def _load_manifest(ctx, record) -> tuple[bytes, manifest.Manifest]:
    """The stored manifest bytes (digest-checked on read) and their parse."""
    from rs_docker.store.content import ContentStore

    try:
        data = ContentStore(ctx).read(record.manifest, max_size=manifest.MAX_MANIFEST_SIZE)
    except StoreError as e:
        raise StoreError(f"image {record.config.short}: {e}") from None
    # An OCI manifest may omit mediaType (image-spec manifest.md); Docker's
    # schema2 always has it. So a body without one is OCI.
    parsed = manifest.parse(data, manifest.OCI_MANIFEST)
    if not isinstance(parsed, manifest.Manifest):
        raise UnsupportedManifest(f"image {record.config.short}: stored manifest "
                                  f"{record.manifest} is an index")
    if parsed.config.digest != record.config:
        raise StoreError(f"image {record.config.short}: its manifest names config "
                         f"{parsed.config.digest}")
    return data, parsed


def _upload_blobs(ctx, uploader, image, report: ProgressFn, chunk_size: int | None) -> None:
    """Layers (a few at a time, with progress) and the config (silently, as
    Docker); the first failure is raised once every worker stopped."""
    from rs_docker.store.content import ContentStore

    content = ContentStore(ctx)
    jobs = [(desc, True) for desc in image.layers] + [(image.config, False)]
    with ThreadPoolExecutor(MAX_CONCURRENT_UPLOADS, thread_name_prefix="push") as pool:
        futures = [pool.submit(_upload_one, content, uploader, desc,
                               report if visible else None, chunk_size)
                   for desc, visible in jobs]
        wait(futures, return_when=FIRST_EXCEPTION)
        for future in futures:
            future.cancel()            # those not started: the push has failed already
    errors = [f.exception() for f in futures if not f.cancelled() and f.exception()]
    if errors:
        raise errors[0]


def _upload_one(content, uploader, desc, report, chunk_size) -> None:
    short = desc.digest.short
    path = content.path(desc.digest)
    try:
        size = os.stat(path).st_size
    except FileNotFoundError:
        raise StoreError(f"blob {desc.digest} is not in the local store") from None
    if size != desc.size:
        raise DigestMismatch(f"blob {desc.digest} in the store is {size} bytes, the manifest "
                             f"says {desc.size}")
    if uploader.exists(desc.digest):
        if report:
            report(Progress(short, "Layer already exists"))
        return
    on_sent = None
    if report:
        report(Progress(short, "Pushing", 0, desc.size))
        def on_sent(n):  # noqa: E306
            report(Progress(short, "Pushing", n, desc.size))
    uploader.upload(desc.digest, path, desc.size, on_sent, chunk_size)
    if report:
        report(Progress(short, "Pushed", desc.size, desc.size))
