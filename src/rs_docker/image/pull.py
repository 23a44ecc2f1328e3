"""Pull: registry -> content store -> unpacked layers -> images.json.

The order keeps the store consistent at every instant (a SIGKILL anywhere
leaves nothing half-done visible): manifest and config blobs first, then each
missing layer is downloaded and unpacked at the same time into its own temp
dir, committed only when the compressed digest, the size and the diff_id all
check out; the reference is recorded in images.json last. Layers are keyed by
chain ID and fetched under the store's locks, so two pulls of one image
download each blob once (containerd core/unpack/unpacker.go does the same).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait

from rs_docker.errors import (
    DigestMismatch,
    RegistryError,
    RsDockerError,
    UnsupportedManifest,
)
from rs_docker.image.streams import ChunkPipe, HashingReader
from rs_docker.models import image_config, manifest, platform
from rs_docker.models.digest import Digest
from rs_docker.models.reference import Reference, parse
from rs_docker.values import record

# Docker's default --max-concurrent-downloads.
MAX_CONCURRENT_DOWNLOADS = 3


@record
class Progress:
    """One progress event. `id` is a layer's short digest (12 hex), or the
    tag/digest for image-wide events; statuses are Docker's words."""

    id: str
    status: str
    current: int = 0
    total: int | None = None


ProgressFn = Callable[[Progress], None]


def _noop(_: Progress) -> None:
    pass


@record
class Resolved:
    """What a reference points at on the registry, checked and parsed."""

    repo_digest: Digest              # what the tag resolves to (index or manifest)
    manifest_digest: Digest          # the platform's image manifest
    manifest: manifest.Manifest
    blobs: tuple[tuple[bytes, Digest], ...]   # index and manifest bytes to store


def pull(ctx, ref: str | Reference, platform_text: str | None = None,
         progress: ProgressFn | None = None, client=None):
    """Pull `ref` for this machine's platform (or `platform_text`, "os/arch[/variant]")
    and return its ImageRecord. Re-resolves the manifest; downloads only what
    the store lacks. Raises RsDockerError subclasses."""
    from rs_docker.registry.client import RegistryClient
    from rs_docker.store.gc import sweep_tmp
    from rs_docker.store.images import ImageIndex, ImageRecord
    from rs_docker.store.locks import store_lock

    ref = _reference(ref)
    want = platform.parse(platform_text) if platform_text else platform.host_platform()
    report = progress or _noop
    own_client = client is None
    client = client or RegistryClient(ctx, ref.domain)
    try:
        resolved = resolve(client, ref, want)
        report(Progress(ref.tag or str(ref.digest), f"Pulling from {ref.path}"))
        # Shared store lock until the record is written: gc cannot remove
        # the blobs and layers this pull is about to reference.
        with store_lock(ctx, shared=True):
            sweep_tmp(ctx)             # what killed pulls left in tmp/ (unlocked entries only)
            config_digest, config = _store_metadata(ctx, client, ref, resolved)
            chain = image_config.chain_ids(config.diff_ids)
            _fetch_layers(ctx, client, ref.path, resolved.manifest.layers, config.diff_ids,
                          chain, report)
            record = ImageRecord(reference=str(ref), manifest=resolved.manifest_digest,
                                 config=config_digest, repo_digest=resolved.repo_digest,
                                 chain_ids=list(chain), created=config.created,
                                 platform=config.platform or str(want))
            ImageIndex(ctx).put(record)
    finally:
        if own_client:
            client.close()
    return record


def resolve(client, ref: Reference, want: platform.Platform) -> Resolved:
    """Fetch the manifest of `ref`; an index yields the manifest for `want`."""
    display = ref.familiar
    top = client.get_manifest(ref.path, ref.selector, display)
    parsed = manifest.parse(top.data, top.content_type)
    blobs = [(top.data, top.digest)]
    digest = top.digest
    if isinstance(parsed, manifest.Index):
        entry = platform.select(parsed.manifests, want)
        if entry.media_type not in manifest.MANIFEST_TYPES:
            raise UnsupportedManifest(f"index entry {entry.digest} is a {entry.media_type}, "
                                      f"not an image manifest")
        if entry.size > manifest.MAX_MANIFEST_SIZE:
            raise UnsupportedManifest(f"manifest {entry.digest} too large ({entry.size} bytes)")
        child = client.get_manifest(ref.path, str(entry.digest), f"{ref.familiar_name}@"
                                    f"{entry.digest}")
        if len(child.data) != entry.size:
            raise DigestMismatch(f"manifest {entry.digest}: size {len(child.data)} differs from "
                                 f"the index's {entry.size}")
        parsed = manifest.parse(child.data, child.content_type)
        if not isinstance(parsed, manifest.Manifest):
            raise UnsupportedManifest(f"index entry {entry.digest} is not an image manifest")
        blobs.append((child.data, child.digest))
        digest = child.digest
    return Resolved(top.digest, digest, parsed, tuple(blobs))


def _store_metadata(ctx, client, ref: Reference, resolved: Resolved):
    """Store the manifest(s) and the config; return (config digest, ImageConfig)."""
    from rs_docker.store.content import ContentStore

    content = ContentStore(ctx)
    for data, digest in resolved.blobs:
        content.put(data, expected=digest)
    desc = resolved.manifest.config
    if desc.size > manifest.MAX_MANIFEST_SIZE:
        raise UnsupportedManifest(f"image config {desc.digest} too large ({desc.size} bytes)")
    with content.lock(desc.digest):
        if content.has(desc.digest):
            data = content.read(desc.digest, max_size=manifest.MAX_MANIFEST_SIZE)
        else:
            data = client.get_blob(ref.path, desc.digest, desc.size)
            content.put(data, expected=desc.digest)
    config = image_config.parse(data)
    layers = resolved.manifest.layers
    if len(layers) != len(config.diff_ids):
        raise UnsupportedManifest(
            f"invalid image {ref.familiar}: the manifest has {len(layers)} layers but the config "
            f"lists {len(config.diff_ids)} diff_ids")
    for layer in layers:
        _ = layer.compression          # refuse an unknown layer type before downloading
    return desc.digest, config


def _fetch_layers(ctx, client, repository, layers, diff_ids, chain, report) -> None:
    """Download and unpack every missing layer, a few at a time; the first
    failure cancels the rest and is raised once all workers stopped."""
    from rs_docker.store.content import ContentStore
    from rs_docker.store.layers import LayerStore

    store, content = LayerStore(ctx), ContentStore(ctx)
    missing, blobs_only = [], []
    for desc, diff_id, chain_id in zip(layers, diff_ids, chain, strict=True):
        if not store.has(chain_id):
            report(Progress(desc.digest.short, "Pulling fs layer", 0, desc.size))
            missing.append((desc, diff_id, chain_id))
        elif content.has(desc.digest):
            report(Progress(desc.digest.short, "Already exists"))
        else:
            # The layer came unpacked from another image's blob (the same
            # content compressed otherwise): keep this image's own blob too,
            # so that push and save can send what its manifest names.
            report(Progress(desc.digest.short, "Pulling fs layer", 0, desc.size))
            blobs_only.append(desc)
    if not missing and not blobs_only:
        return
    cancel = threading.Event()
    fetcher = _LayerFetcher(ctx, client, repository, report, cancel)
    with ThreadPoolExecutor(MAX_CONCURRENT_DOWNLOADS, thread_name_prefix="pull") as pool:
        futures = [pool.submit(fetcher.fetch, *job) for job in missing]
        futures += [pool.submit(fetcher.fetch_blob, desc) for desc in blobs_only]
        try:
            done, _ = wait(futures, return_when=FIRST_EXCEPTION)
            if any(f.exception() is not None for f in done):
                cancel.set()
        except BaseException:  # Ctrl-C: stop the workers before leaving
            cancel.set()
            raise
    errors = [f.exception() for f in futures if f.exception() is not None]
    if errors:
        # The first real cause, not a "cancelled" echo of it.
        real = [e for e in errors if not isinstance(e, _Cancelled)]
        raise (real or errors)[0]


class _Cancelled(RegistryError):
    def __init__(self):
        super().__init__("pull cancelled")


class _LayerFetcher:
    """Fetches one layer at a time per call; shared by the worker threads."""

    def __init__(self, ctx, client, repository: str, report: ProgressFn,
                 cancel: threading.Event):
        from rs_docker.store.content import ContentStore
        from rs_docker.store.layers import LayerStore

        self.content, self.layers = ContentStore(ctx), LayerStore(ctx)
        self.client, self.repository = client, repository
        self.report, self.cancel = report, cancel

    def fetch(self, desc: manifest.Descriptor, diff_id: Digest, chain_id: Digest) -> None:
        short = desc.digest.short
        if self.cancel.is_set():
            raise _Cancelled()
        with self.layers.lock(chain_id):
            if self.layers.has(chain_id):   # another pull finished it meanwhile
                self.report(Progress(short, "Already exists"))
                return
            with self.content.lock(desc.digest), self.layers.create(chain_id) as dest:
                if self.content.has(desc.digest):
                    self.report(Progress(short, "Extracting", 0, desc.size))
                    self._unpack_local(desc, diff_id, dest)
                else:
                    self._download_and_unpack(desc, diff_id, dest)
        self.report(Progress(short, "Pull complete", desc.size, desc.size))

    def fetch_blob(self, desc: manifest.Descriptor) -> None:
        """Download a layer blob into the store (digest and size checked by
        the ingest) without unpacking it: its layer is there already."""
        if self.cancel.is_set():
            raise _Cancelled()
        with self.content.lock(desc.digest):
            if not self.content.has(desc.digest):
                with self.content.ingest(desc.digest, desc.size) as w:
                    done = 0
                    for chunk in self.client.blob_chunks(self.repository, desc.digest, desc.size):
                        if self.cancel.is_set():
                            raise _Cancelled()
                        w.write(chunk)
                        done += len(chunk)
                        self.report(Progress(desc.digest.short, "Downloading", done, desc.size))
        self.report(Progress(desc.digest.short, "Pull complete", desc.size, desc.size))

    def _unpack_local(self, desc, diff_id: Digest, dest) -> None:
        """The blob is in the store but the layer is not (e.g. another chain)."""
        with open(self.content.path(desc.digest), "rb") as f:
            raw = HashingReader(f, desc.digest.hasher())
            diff = _unpack_stream(raw, desc, diff_id.hasher(), dest)
            raw.drain()
        _check_blob(desc, raw.hasher.hexdigest(), raw.count)
        _check_diff_id(desc, diff_id, diff)

    def _download_and_unpack(self, desc, diff_id: Digest, dest) -> None:
        pipe = ChunkPipe()
        unpacker = _UnpackThread(pipe, desc, diff_id, dest)
        unpacker.start()
        hasher, done = desc.digest.hasher(), 0
        try:
            with self.content.ingest(desc.digest, desc.size) as w:
                try:
                    for chunk in self.client.blob_chunks(self.repository, desc.digest, desc.size):
                        if self.cancel.is_set():
                            raise _Cancelled()
                        w.write(chunk)
                        hasher.update(chunk)
                        pipe.feed(chunk)
                        done += len(chunk)
                        self.report(Progress(desc.digest.short, "Downloading", done, desc.size))
                except BaseException as e:
                    pipe.finish(e)
                    raise
                pipe.finish()
                unpacker.join()
                # The compressed digest first: a corrupt blob is a DigestMismatch,
                # whatever the decompressor made of it.
                _check_blob(desc, hasher.hexdigest(), done)
                unpacker.raise_error()
                _check_diff_id(desc, diff_id, unpacker.diff_hasher)
        finally:
            unpacker.join()


class _UnpackThread(threading.Thread):
    """Reads the pipe: decompress, hash (diff_id), extract into `dest`."""

    def __init__(self, pipe: ChunkPipe, desc, diff_id: Digest, dest):
        super().__init__(name=f"unpack-{desc.digest.short}", daemon=True)
        self.pipe, self.desc, self.dest = pipe, desc, dest
        self.diff_hasher = diff_id.hasher()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            import io

            _unpack_stream(io.BufferedReader(self.pipe, 1 << 20), self.desc, self.diff_hasher,
                           self.dest)
            self.pipe.abandon()        # let the writer run to the end of the blob
        except BaseException as e:  # noqa: B036 (handed to the download thread)
            self.error = e
            self.pipe.abandon()

    def raise_error(self) -> None:
        if self.error is not None:
            e = self.error
            if isinstance(e, RsDockerError):
                raise e
            raise RegistryError(f"layer {self.desc.digest}: cannot unpack: {_describe(e)}") from e


def _unpack_stream(raw, desc, diff_hasher, dest):
    """Decompress `raw` and extract it into `dest`; return the hasher of the
    whole uncompressed stream."""
    from rs_docker.image.unpack import open_decompressed, unpack

    stream = open_decompressed(raw, desc.media_type)
    try:
        tar = HashingReader(stream, diff_hasher)
        unpack(tar, dest)
        tar.drain()
    finally:
        stream.close()                 # joins the decompressor's thread, if any
    return diff_hasher


def _check_blob(desc, hexdigest: str, size: int) -> None:
    if size != desc.size:
        raise DigestMismatch(f"layer {desc.digest}: size {size} differs from the manifest's "
                             f"{desc.size}")
    if hexdigest != desc.digest.hex:
        raise DigestMismatch(f"digest mismatch for layer {desc.digest}: got "
                             f"{desc.digest.algorithm}:{hexdigest}")


def _check_diff_id(desc, diff_id: Digest, hasher) -> None:
    if hasher.hexdigest() != diff_id.hex:
        raise DigestMismatch(f"layer {desc.digest}: uncompressed content "
                             f"{diff_id.algorithm}:{hasher.hexdigest()} does not match "
                             f"diff_id {diff_id}")


def _describe(e: BaseException) -> str:
    text = str(e) or e.__class__.__name__
    return text.splitlines()[0].lower()


def _reference(ref: str | Reference) -> Reference:
    return ref if isinstance(ref, Reference) else parse(ref)
