"""`commit`: a container's changes as a new image, and `import`: a tarball
as a one-layer image (moby daemon/commit.go and daemon/images/
image_import.go). The layer and the store's rules are image/newimage.py's.

commit: the layer is the container's upper dir (container/changes.py:
whiteouts as `.wh.` entries, opaque dirs as `.wh..wh..opq`); the config is
the base image's with the container's runtime config (Cmd, Entrypoint,
Env, WorkingDir, User, Labels...) then the `-c` changes, a new history
entry (created_by: the container's command; author, comment), and the new
diff_id. A commit that changed nothing adds an empty-layer history entry
and no layer, as Docker does.
"""

from __future__ import annotations

import os
import platform
import tarfile
from datetime import UTC, datetime

from rs_docker.context import Context
from rs_docker.errors import ImageNotFound, UsageError
from rs_docker.image import newimage
from rs_docker.models import config_changes, image_config
from rs_docker.models.digest import Digest
from rs_docker.models.manifest import MAX_MANIFEST_SIZE
from rs_docker.models.reference import parse

# The image config keys a container's own config carries over (Docker's
# container.Config fields that are part of an image config).
_RUNTIME_KEYS = ("User", "ExposedPorts", "Env", "Cmd", "Healthcheck", "ArgsEscaped",
                 "Volumes", "WorkingDir", "Entrypoint", "OnBuild", "Labels", "StopSignal",
                 "Shell")
_GOARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "ppc64le": "ppc64le",
           "s390x": "s390x", "riscv64": "riscv64", "i686": "386"}


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def reference(text: str | None) -> str | None:
    """The full reference `REPO[:TAG]` names (tag "latest" by default), or None."""
    if not text:
        return None
    ref = parse(text)
    if ref.digest is not None:
        raise UsageError(f"invalid reference format: {text} is a digest reference")
    return str(ref)


def commit(ctx: Context, cid: str, repo_tag: str | None, author: str = "", message: str = "",
           changes: tuple[str, ...] = (), pause: bool = True) -> Digest:
    """The new image's ID. The container may be running (its upper dir is
    read as it is; `pause` freezes it meanwhile where it can be)."""
    from rs_docker.container import changes as container_changes
    from rs_docker.container import lifecycle

    target = reference(repo_tag)
    record = lifecycle.refresh(ctx, cid)
    base = _base_record(ctx, record)
    base_config = _config_of(ctx, base)
    upper, lowers = container_changes.layer_dirs(ctx, cid)
    raw = dict(base_config.raw or {})
    runtime = dict(raw.get("config") or {})
    container_config = record.get("Config") or {}
    for key in _RUNTIME_KEYS:
        if key in container_config:
            runtime[key] = container_config[key]
    runtime = config_changes.apply(runtime, changes)
    created = now()
    frozen = _freeze(ctx, cid, record) if pause and lifecycle.is_running(record) else None
    try:
        empty = not container_changes.changes(upper, lowers)
        with newimage.LayerFile(ctx) as sink:
            layer = None
            if not empty:
                with tarfile.open(fileobj=sink, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                    container_changes.LayerWriter(tar).write(upper)
                layer = sink.finish()
            if frozen is not None:
                frozen()
                frozen = None
            history_entry = {"created": created,
                             "created_by": " ".join(container_config.get("Cmd") or []),
                             **({"author": author} if author else {}),
                             **({"comment": message} if message else {}),
                             **({"empty_layer": True} if empty else {})}
            config = dict(raw, created=created, config=runtime,
                          history=list(raw.get("history") or []) + [history_entry],
                          rootfs={"type": "layers", "diff_ids": [
                              str(d) for d in base_config.diff_ids]
                              + ([str(layer.diff_id)] if layer else [])})
            config.pop("container", None)
            config.pop("container_config", None)
            if author:
                config["author"] = author
            return newimage.store(ctx, base, layer, config, target)
    finally:
        if frozen is not None:
            frozen()


def _base_record(ctx: Context, record: dict):
    from rs_docker.store.images import ImageIndex

    try:
        image_id = Digest.parse(str(record.get("Image") or ""))
    except Exception:
        image_id = None
    for r in ImageIndex(ctx).all():
        if r.config == image_id:
            return r
    raise ImageNotFound(f"the image of container {str(record.get('Id', ''))[:12]} "
                        f"({record.get('Image')}) is no longer in the store")


def _config_of(ctx: Context, base) -> image_config.ImageConfig:
    from rs_docker.store.content import ContentStore

    return image_config.parse(ContentStore(ctx).read(base.config, max_size=MAX_MANIFEST_SIZE))


def _freeze(ctx: Context, cid: str, record: dict):
    """Freeze the container's processes (Docker's `commit --pause`) when the
    pause service is there; the function that thaws them, or None."""
    try:
        from rs_docker.container import pause as pause_mod
    except ImportError:
        return None
    pause_fn, unpause_fn = getattr(pause_mod, "pause", None), getattr(pause_mod, "unpause", None)
    if pause_fn is None or unpause_fn is None:
        return None
    try:
        pause_fn(ctx, cid)
    except Exception:  # noqa: BLE001 (a commit does not fail for want of a freezer)
        return None
    return lambda: unpause_fn(ctx, cid)


# -- import ---------------------------------------------------------------------------

def import_tarball(ctx: Context, stream, source: str, repo_tag: str | None,
                   changes: tuple[str, ...] = (), message: str = "") -> Digest:
    """A one-layer image of the tar (plain, gzip or zstd) read from
    `stream`; `source` names it in the default history comment."""
    from rs_docker.image.decompress import open_decompressed

    target = reference(repo_tag)
    runtime = config_changes.apply({}, changes)
    created = now()
    with newimage.LayerFile(ctx) as sink:
        tar = open_decompressed(stream, "")
        try:
            while chunk := tar.read(1 << 20):
                sink.write(chunk)
        finally:
            tar.close()
        layer = sink.finish()
        config = {"architecture": _GOARCH.get(platform.machine(), platform.machine()),
                  "os": "linux", "created": created, "config": runtime,
                  "rootfs": {"type": "layers", "diff_ids": [str(layer.diff_id)]},
                  "history": [{"created": created,
                               "comment": message or f"Imported from {source}"}]}
        return newimage.store(ctx, None, layer, config, target)


def open_source(source: str):
    """A binary stream of `import`'s FILE|URL|-; the caller closes it."""
    import sys

    if source == "-":
        return os.fdopen(os.dup(sys.stdin.fileno()), "rb")
    if source.startswith(("http://", "https://")):
        import urllib.request

        try:
            return urllib.request.urlopen(source, timeout=30)  # noqa: S310 (http/https only)
        except OSError as e:
            raise UsageError(f"import {source}: {getattr(e, 'reason', e)}") from None
    try:
        return open(source, "rb")
    except OSError as e:
        raise UsageError(f"open {source}: {(e.strerror or str(e)).lower()}") from None
