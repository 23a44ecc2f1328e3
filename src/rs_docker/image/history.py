"""`image history`: an image's config history, newest first, each entry
that made a layer with that layer's size (moby daemon/images
image_history.go; the containerd store shows "<missing>" for every entry
but the image's own)."""

from __future__ import annotations

from rs_docker.image.local import find
from rs_docker.models import image_config
from rs_docker.models.manifest import MAX_MANIFEST_SIZE
from rs_docker.values import record


@record
class HistoryRow:
    id: str              # the image ID for the newest entry, else "<missing>"
    created: str | None
    created_by: str
    size: int
    comment: str


def history(ctx, name: str) -> list[HistoryRow]:
    from rs_docker.store.content import ContentStore
    from rs_docker.store.layers import LayerStore

    rec = find(ctx, name)[0]
    config = image_config.parse(ContentStore(ctx).read(rec.config, max_size=MAX_MANIFEST_SIZE))
    layers = LayerStore(ctx)
    chain = list(rec.chain_ids)
    rows: list[HistoryRow] = []
    n = 0
    entries = list(config.history) or [{"created": config.created}] * len(chain)
    for h in entries:
        size = 0
        if not h.get("empty_layer") and n < len(chain):
            size = layers.size(chain[n]) if layers.has(chain[n]) else 0
            n += 1
        rows.append(HistoryRow("<missing>", h.get("created"), str(h.get("created_by") or ""),
                               size, str(h.get("comment") or "")))
    rows.reverse()
    if rows:
        rows[0] = rows[0]._replace(id=str(rec.config))
    return rows
