"""Local images as Docker shows them: list, inspect, remove (untag + gc).

Service functions for `images`, `image inspect` and `rmi`; they return
values and raise RsDockerError, the CLI formats. Removal follows Docker's
rules (daemon/images/image_delete.go): a reference is untagged; an image ID
removes every reference; an image with references in several repositories,
or one a container uses, needs force.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from rs_docker import values
from rs_docker.errors import Conflict, StoreError
from rs_docker.image.local import find
from rs_docker.models import image_config
from rs_docker.models.digest import Digest
from rs_docker.models.manifest import MAX_MANIFEST_SIZE
from rs_docker.models.reference import parse


@values.record  # `record` names the index entries below
class ImageSummary:
    """One row of `images`: a reference of an image (an untagged image pulled
    by digest has tag None)."""

    repository: str                  # familiar: busybox, 127.0.0.1:5000/x
    tag: str | None
    digest: Digest | None            # the registry's digest (RepoDigests)
    id: Digest                       # the config digest
    created: str | None
    size: int
    reference: str                   # the full reference in images.json


def list_images(ctx, name: str | None = None) -> list[ImageSummary]:
    """Every local image reference, newest first; `name` ("busybox",
    "busybox:1.36") keeps those of that repository (and tag)."""
    from rs_docker.store.images import ImageIndex

    wanted = parse(name, default_tag=False) if name else None
    sizes: dict[Digest, int] = {}
    out = []
    for record in ImageIndex(ctx).all():
        ref = parse(record.reference, default_tag=False)
        if wanted and (ref.name != wanted.name or (wanted.tag and ref.tag != wanted.tag)):
            continue
        if record.config not in sizes:
            sizes[record.config] = image_size(ctx, record)
        out.append(ImageSummary(ref.familiar_name, ref.tag, record.repo_digest, record.config,
                                record.created, sizes[record.config], record.reference))
    out.sort(key=lambda s: (s.created or "", s.repository, s.tag or ""), reverse=True)
    return out


def image_size(ctx, record) -> int:
    """Bytes of the image's unpacked layers (what `docker images` shows)."""
    from rs_docker.store.layers import LayerStore

    layers = LayerStore(ctx)
    return sum(layers.size(c) for c in record.chain_ids if layers.has(c))


def inspect(ctx, name: str) -> dict:
    """`docker image inspect` of one image, Docker's JSON shape."""
    from rs_docker.store.content import ContentStore
    from rs_docker.store.images import ImageIndex

    image_id = find(ctx, name)[0].config
    records = [r for r in ImageIndex(ctx).all() if r.config == image_id]
    try:
        config = image_config.parse(ContentStore(ctx).read(image_id, max_size=MAX_MANIFEST_SIZE))
    except StoreError as e:
        raise StoreError(f"image {image_id.short}: {e}") from None
    refs = [parse(r.reference, default_tag=False) for r in records]
    out = {
        "Id": str(image_id),
        "RepoTags": sorted({r.familiar for r in refs if r.tag and not r.digest}),
        "RepoDigests": sorted({f"{ref.familiar_name}@{rec.repo_digest}"
                               for ref, rec in zip(refs, records, strict=True)
                               if rec.repo_digest}),
        "Parent": "",
        "Comment": "",
        "Created": config.created or "",
        "Author": config.author or "",
        "Config": config.config,
        "Architecture": config.architecture,
        "Os": config.os,
        "Size": image_size(ctx, records[0]),
        "RootFS": {"Type": "layers", "Layers": [str(d) for d in config.diff_ids]},
        "Metadata": {"LastTagTime": ""},
    }
    if config.variant:
        out["Variant"] = config.variant  # Docker omits an empty Variant
    return out


def remove(ctx, name: str, force: bool = False) -> list[tuple[str, str]]:
    """`docker rmi NAME`: untag, then delete what nothing uses any more.
    Returns Docker's lines as (verb, what): ("Untagged", "busybox:latest"),
    ("Deleted", "sha256:...")."""
    from rs_docker.store.gc import collect
    from rs_docker.store.images import ImageIndex

    index = ImageIndex(ctx)
    matched = find(ctx, name)
    image_id = matched[0].config
    siblings = [r for r in index.all() if r.config == image_id]
    by_id = not _names_reference(name, matched)
    targets = siblings if by_id else matched
    if by_id and not force and len({_repository(r) for r in siblings}) > 1:
        raise Conflict(f"conflict: unable to delete {image_id.short} (must be forced) - image "
                       f"is referenced in multiple repositories")
    users = containers_using(ctx).get(image_id, [])
    remaining = [r for r in siblings if r.reference not in {t.reference for t in targets}]
    if users and not remaining and not force:
        raise Conflict(f"conflict: unable to remove repository reference \"{name}\" (must force) "
                       f"- container {users[0][:12]} is using its referenced image "
                       f"{image_id.short}")
    events = []
    for record in targets:
        if index.remove(record.reference) is not None:
            events += _untagged(record, remaining)
    if remaining:
        return events
    events.append(("Deleted", str(image_id)))
    keep = {c for r in targets for c in r.chain_ids} if users else set()
    _, layers = collect(ctx, keep_chain_ids=keep | layers_in_use(ctx))
    events += [("Deleted", str(c)) for c in layers]
    return events


def _untagged(record, remaining) -> list[tuple[str, str]]:
    ref = parse(record.reference, default_tag=False)
    lines = [("Untagged", ref.familiar)]
    # The repo@digest line goes with the last reference of that repository.
    if record.repo_digest and ref.tag and not any(
            _repository(r) == ref.name and r.repo_digest == record.repo_digest
            for r in remaining):
        lines.append(("Untagged", f"{ref.familiar_name}@{record.repo_digest}"))
    return lines


def _names_reference(name: str, matched) -> bool:
    """True when `name` matched as a reference rather than as an image ID."""
    try:
        ref = parse(name)
    except Exception:
        return False
    return any(r.reference == str(ref) or _repository(r) == ref.name for r in matched)


def _repository(record) -> str:
    return parse(record.reference, default_tag=False).name


def _container_records(ctx):
    top = Path(ctx.containers_dir)
    for name in sorted(os.listdir(top)) if top.is_dir() else ():
        try:
            with open(top / name / "container.json") as f:
                yield name, json.load(f)
        except (OSError, ValueError):
            continue                 # being created or removed: not ours to judge


def containers_using(ctx) -> dict[Digest, list[str]]:
    """Image ID -> IDs of the containers created from it (container.json
    "Image", as in `docker inspect`)."""
    out: dict[Digest, list[str]] = {}
    for cid, record in _container_records(ctx):
        try:
            image = Digest.parse(record.get("Image", ""))
        except Exception:
            continue
        out.setdefault(image, []).append(cid)
    return out


def layers_in_use(ctx) -> set[Digest]:
    """Chain IDs of layer dirs that containers mount, from container.json
    GraphDriver.Data.LowerDir (colon-separated, as Docker prints it)."""
    out: set[Digest] = set()
    layers_dir = str(ctx.layers_dir) + "/"
    for _, record in _container_records(ctx):
        data = (record.get("GraphDriver") or {}).get("Data") or {}
        for path in str(data.get("LowerDir") or "").split(":"):
            if path.startswith(layers_dir):
                try:
                    out.add(Digest.parse("sha256:" + path[len(layers_dir):].split("/")[0]))
                except Exception:
                    continue
    return out


def familiar(reference: str) -> str:
    return parse(reference, default_tag=False).familiar


# `images --filter` keys (moby daemon/images/images.go).
IMAGE_FILTER_KEYS = ("dangling", "reference", "label", "before", "since")


def filter_images(ctx, rows: list[ImageSummary], flt: dict[str, list[str]]) -> list:
    """The rows `images --filter` keeps: dangling=BOOL (an untagged image),
    reference=PATTERN (Go path.Match on the familiar name or name:tag),
    label=KEY[=VALUE], before=/since=IMAGE (created before/after it);
    values of one key OR, keys AND."""
    from rs_docker.models import filters as filter_args

    if not flt:
        return rows
    for value in flt.get("dangling", []):
        filter_args.bool_value("dangling", value)
    bounds = {key: [inspect(ctx, v)["Created"] for v in flt.get(key, [])]
              for key in ("before", "since")}
    labels: dict = {}

    def image_labels(row):
        if row.id not in labels:
            labels[row.id] = (inspect(ctx, str(row.id)).get("Config") or {}).get("Labels")
        return labels[row.id]

    def reference(row, pattern: str) -> bool:
        names = [row.repository] + ([f"{row.repository}:{row.tag}"] if row.tag else [])
        return any(filter_args.path_match(pattern, n) for n in names)

    out = []
    for row in rows:
        tests = {
            "dangling": lambda v, row=row: filter_args.bool_value("dangling", v) ==
            (row.tag is None),
            "reference": lambda v, row=row: reference(row, v),
            "label": lambda v, row=row: filter_args.label_matches(image_labels(row), v),
            "before": lambda v, row=row: all((row.created or "") < b for b in bounds["before"]),
            "since": lambda v, row=row: all((row.created or "") > b for b in bounds["since"]),
        }
        if filter_args.match_all(flt, tests):
            out.append(row)
    return out
