"""Disk usage and pruning across the store: `system df`, `image prune`,
`system prune`, and the space `container prune` reclaims (moby
daemon/disk_usage.go, daemon/images/image_prune.go).

Sizes are apparent sizes, each inode counted once: an image's is its
unpacked layers', a container's its upper dir's (Docker's SizeRw), a
volume's its `_data` tree's. Removal goes through the services that own
each thing (lifecycle.remove, catalog.remove and its gc, store.volumes),
so pruning follows the same rules and locks as removing by hand.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

from rs_docker.container import lifecycle, state
from rs_docker.context import Context
from rs_docker.errors import Conflict, RsDockerError, UsageError
from rs_docker.models.digest import Digest

DANGLING_PREFIX = "localhost/untagged@"


def tree_size(path: str) -> int:
    from rs_docker.store.layers import _tree_size

    return _tree_size(path, set())


def rw_size(ctx: Context, cid: str) -> int:
    """Bytes a container wrote: its upper dir (0 when it has none)."""
    return tree_size(os.path.join(state.container_dir(ctx, cid), "upper"))


# -- images ------------------------------------------------------------------------

def _images(ctx: Context) -> dict[Digest, list]:
    from rs_docker.store.images import ImageIndex

    out: dict[Digest, list] = {}
    for r in ImageIndex(ctx).all():
        out.setdefault(r.config, []).append(r)
    return out


def _image_size(ctx: Context, records) -> int:
    from rs_docker.image.catalog import image_size

    return image_size(ctx, records[0])


def _store_bytes(ctx: Context) -> int:
    from rs_docker.store.layers import LayerStore

    return LayerStore(ctx).size() + tree_size(os.path.join(ctx.root, "blobs"))


def parse_filters(filters) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for f in filters or ():
        key, eq, value = f.partition("=")
        if key.endswith("!"):
            key, value = "label!", value
        if not eq or key not in ("until", "label", "label!", "dangling"):
            raise UsageError(f"invalid filter '{f}'")
        out.setdefault(key, []).append(value)
    return out


def _until(value: str) -> datetime:
    """A timestamp (RFC 3339, a date, Unix seconds) or a duration before now."""
    from rs_docker.cli.humanize import parse_time
    from rs_docker.container.logs import parse_since

    t = parse_time(value)
    if t is not None:
        return t
    try:
        return datetime.fromtimestamp(parse_since(value), UTC)
    except (RsDockerError, ValueError, TypeError):
        raise UsageError(f"invalid filter 'until={value}'") from None


def _labels_match(labels: dict, wanted: list[str], negated: list[str]) -> bool:
    def has(spec: str) -> bool:
        key, eq, value = spec.partition("=")
        return key in labels and (not eq or labels[key] == value)

    return all(has(s) for s in wanted) and not any(has(s) for s in negated)


def _config_labels(ctx: Context, image_id: Digest) -> dict:
    from rs_docker.models import image_config
    from rs_docker.models.manifest import MAX_MANIFEST_SIZE
    from rs_docker.store.content import ContentStore

    try:
        config = image_config.parse(ContentStore(ctx).read(image_id, max_size=MAX_MANIFEST_SIZE))
    except RsDockerError:
        return {}
    return dict((config.config or {}).get("Labels") or {})


def image_prune(ctx: Context, all_: bool = False, filters=()) -> tuple[list[tuple[str, str]], int]:
    """Remove dangling images (untagged), or with `all_` every image no
    container uses; Docker's ("untagged"|"deleted", what) lines and the
    bytes reclaimed."""
    from rs_docker.image.catalog import containers_using, remove

    wanted = parse_filters(filters)
    until = [_until(v) for v in wanted.get("until", [])]
    if wanted.get("dangling") and wanted["dangling"][-1].lower() in ("false", "0"):
        all_ = True
    used = containers_using(ctx)
    before = _store_bytes(ctx)
    events: list[tuple[str, str]] = []
    for image_id, records in _images(ctx).items():
        if used.get(image_id):
            continue
        dangling = all(r.reference.startswith(DANGLING_PREFIX) for r in records)
        if not dangling and not all_:
            continue
        from rs_docker.cli.humanize import parse_time

        created = parse_time(records[0].created)
        if until and (created is None or any(created >= u for u in until)):
            continue
        if (wanted.get("label") or wanted.get("label!")) and not _labels_match(
                _config_labels(ctx, image_id), wanted.get("label", []), wanted.get("label!", [])):
            continue
        try:
            lines = remove(ctx, str(image_id), force=True)
        except (Conflict, RsDockerError):
            continue
        for verb, what in lines:
            if verb == "Untagged" and what.startswith(DANGLING_PREFIX):
                continue  # the store's name for "no name": Docker shows none
            events.append((verb.lower(), what))
    return events, max(before - _store_bytes(ctx), 0)


# -- containers --------------------------------------------------------------------

def container_prune(ctx: Context) -> tuple[list[str], int]:
    """`container prune`: the stopped containers removed and their bytes."""
    sizes = {}
    for cid in state.list_ids(ctx):
        try:
            if not lifecycle.is_running(lifecycle.refresh(ctx, cid)):
                sizes[cid] = rw_size(ctx, cid)
        except RsDockerError:
            continue
    removed = lifecycle.prune(ctx)
    return removed, sum(sizes.get(cid, 0) for cid in removed)


# -- volumes -----------------------------------------------------------------------

def _volumes_module():
    try:
        from rs_docker.store import volumes
    except ImportError:
        return None
    return volumes if hasattr(volumes, "list_all") and hasattr(volumes, "size") else None


def _volumes_in_use(ctx: Context) -> dict[str, int]:
    """Volume name -> number of containers mounting it."""
    counts: dict[str, int] = {}
    for cid in state.list_ids(ctx):
        try:
            record = state.read(ctx, cid)
        except RsDockerError:
            continue
        for m in record.get("Mounts") or []:
            if isinstance(m, dict) and m.get("Type") == "volume" and m.get("Name"):
                counts[m["Name"]] = counts.get(m["Name"], 0) + 1
    return counts


def volume_prune(ctx: Context, all_: bool = False) -> tuple[list[str], int]:
    """Unused volumes removed (anonymous ones, or all with `all_`, as
    `docker volume prune`), and their bytes."""
    volumes = _volumes_module()
    if volumes is None:
        return [], 0
    used = _volumes_in_use(ctx)
    removed, freed = [], 0
    for v in volumes.list_all(ctx):
        if used.get(v.name) or (not all_ and not getattr(v, "anonymous", False)):
            continue
        size = volumes.size(v)
        try:
            volumes.remove(ctx, v.name)
        except RsDockerError:
            continue
        removed.append(v.name)
        freed += size
    return removed, freed


# -- system df ---------------------------------------------------------------------

def disk_usage(ctx: Context) -> dict:
    """What `system df` shows: per type, (total, active, size, reclaimable)
    and the verbose rows."""
    from rs_docker.image.catalog import containers_using
    from rs_docker.store.layers import LayerStore

    images = _images(ctx)
    used = containers_using(ctx)
    layers = LayerStore(ctx)
    layer_size = {c: layers.size(c) for c in layers.chain_ids()}
    active_layers = {c for image_id, recs in images.items() if used.get(image_id)
                     for c in recs[0].chain_ids}
    all_layers = {c for recs in images.values() for c in recs[0].chain_ids}
    image_rows = []
    for image_id, recs in images.items():
        total = sum(layer_size.get(c, 0) for c in recs[0].chain_ids)
        shared = sum(layer_size.get(c, 0) for c in recs[0].chain_ids
                     if any(c in other[0].chain_ids for i, other in images.items()
                            if i != image_id))
        image_rows.append({"records": recs, "id": image_id, "size": total,
                           "shared": shared, "containers": len(used.get(image_id, []))})
    images_size = sum(layer_size.get(c, 0) for c in all_layers)
    containers = []
    for cid in state.list_ids(ctx):
        try:
            record = lifecycle.refresh(ctx, cid)
        except RsDockerError:
            continue
        containers.append({"record": record, "size": rw_size(ctx, cid),
                           "running": lifecycle.is_running(record)})
    volume_rows = []
    volumes = _volumes_module()
    if volumes is not None:
        in_use = _volumes_in_use(ctx)
        for v in volumes.list_all(ctx):
            volume_rows.append({"name": v.name, "links": in_use.get(v.name, 0),
                                "size": volumes.size(v)})
    return {
        "images": (len(images), sum(1 for i in images if used.get(i)), images_size,
                   images_size - sum(layer_size.get(c, 0) for c in active_layers)),
        "containers": (len(containers), sum(1 for c in containers if c["running"]),
                       sum(c["size"] for c in containers),
                       sum(c["size"] for c in containers if not c["running"])),
        "volumes": (len(volume_rows), sum(1 for v in volume_rows if v["links"]),
                    sum(v["size"] for v in volume_rows),
                    sum(v["size"] for v in volume_rows if not v["links"])),
        "image_rows": image_rows, "container_rows": containers, "volume_rows": volume_rows,
    }
