"""Garbage collection of blobs and layers no image record uses, and the
sweep of temp entries left by killed processes.

collect() holds the store lock exclusive; pulls hold it shared from before
they write their first blob until their image record is in images.json, so
gc never removes what a pull in progress is about to reference.
"""

from __future__ import annotations

from rs_docker.context import Context
from rs_docker.errors import DigestMismatch, StoreError
from rs_docker.models.digest import Digest
from rs_docker.store.atomic import sweep_stale
from rs_docker.store.content import ContentStore
from rs_docker.store.images import ImageIndex, ImageRecord
from rs_docker.store.layers import LayerStore
from rs_docker.store.locks import store_lock, sweep_transient

TYPE_CHECKING = False  # not typing's: typing stays off the run path (docs/ARCHITECTURE.md)
if TYPE_CHECKING:
    from collections.abc import Iterable

# A manifest larger than this is not one we wrote (registry clients cap
# manifests at 4 MiB, as containerd does).
MAX_MANIFEST = 4 << 20


def collect(ctx: Context, keep_chain_ids: Iterable[Digest] = ()
            ) -> tuple[list[Digest], list[Digest]]:
    """Remove blobs and layer dirs that no image record reaches; layers in
    keep_chain_ids (those running containers use) stay. Returns the blob
    digests and the chain IDs removed."""
    with store_lock(ctx, shared=False):
        records = ImageIndex(ctx).all()
        content, layers = ContentStore(ctx), LayerStore(ctx)
        keep_layers = {c for r in records for c in r.chain_ids} | set(keep_chain_ids)
        removed_layers = [c for c in layers.chain_ids() if c not in keep_layers]
        for c in removed_layers:
            layers.delete(c)
        reachable = _reachable_blobs(content, records)
        if reachable is None:
            return [], removed_layers
        removed_blobs = [d for d in content.digests() if d not in reachable]
        for d in removed_blobs:
            content.delete(d)
        return removed_blobs, removed_layers


def _reachable_blobs(content: ContentStore, records: list[ImageRecord]) -> set[Digest] | None:
    """Manifest, config, repo digest and the manifest's layer blobs of every
    record; None when a manifest cannot be read — then we cannot know which
    layer blobs are in use, and keeping everything beats deleting one."""
    keep: set[Digest] = set()
    for r in records:
        keep.update(d for d in (r.manifest, r.config, r.repo_digest) if d is not None)
        layer_blobs = _manifest_blobs(content, r.manifest)
        if layer_blobs is None:
            return None
        keep.update(layer_blobs)
    return keep


def _manifest_blobs(content: ContentStore, manifest: Digest) -> list[Digest] | None:
    if not content.has(manifest):
        return []  # nothing of this image is cached beyond its unpacked layers
    import json  # gc is not on `run`'s path

    try:
        data = json.loads(content.read(manifest, max_size=MAX_MANIFEST))
        return [Digest.parse(entry["digest"]) for entry in data.get("layers", [])]
    except (StoreError, DigestMismatch, ValueError, KeyError, TypeError, AttributeError):
        return None


def sweep_tmp(ctx: Context) -> list[str]:
    """Remove temp entries (ingests, unpacks, deletions) whose process is
    gone, and the per-blob and per-layer lock files nobody holds (a killed
    holder leaves its file); entries and locks in use are flock()ed and
    stay. Names removed from tmp/ (the lock files are not counted)."""
    sweep_transient(ctx.locks_dir)
    return sweep_stale(ctx.tmp_dir)
