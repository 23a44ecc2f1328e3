"""A container's volumes: which it mounts, made when missing and filled
from the image (Docker's copy-up), and which containers use a volume.

Sources of a container's volumes, as moby's daemon/volumes.go
registerMountPoints takes them (a later one never replaces an earlier
destination): `-v` / `--mount` given for this container, then
`--volumes-from` (the other container's volumes and binds, read-only or
read-write as asked, else as there), then the image's Config.Volumes (an
anonymous volume each, unless a mount covers that path).

Copy-up: a volume that is empty when a container first mounts it gets the
image's content at the mount path (owners, modes, times, xattrs; symlinks
copied as symlinks), unless `nocopy`. The path is resolved inside the
image's layers (container/layerfs.py: symlinks followed relative to the
image's root, never the host's), and the copy writes only entries it
created itself (container/layercopy.py), so a hostile image cannot make it
read or write a host file. A new volume is filled before it appears in the
store (store/volumes.create); an existing empty one (which a running
container may have mounted) from a private copy, renamed in.

In use: named by any container's record (`Mounts`), running or not, as
Docker counts. store/volumes.lock() makes "not in use, remove it" and
"use it" exclusive: create holds it shared from attach() to the record.
"""

from __future__ import annotations

import os
import stat

from rs_docker.container import state
from rs_docker.errors import Conflict, ContainerNotFound, StoreError, UsageError
from rs_docker.models import mount_flags
from rs_docker.store import volumes as store
from rs_docker.values import record

TYPE_CHECKING = False  # not typing's: typing stays off the run path (docs/ARCHITECTURE.md)
if TYPE_CHECKING:
    from rs_docker.container.layerfs import LayerStack
    from rs_docker.context import Context
    from rs_docker.models.run_options import RunOptions


@record
class Attached:
    """What create needs of a container's volumes: OCI mounts for
    config.json, entries for inspect's Mounts, the anonymous volumes it
    uses (`rm -v` removes them) and those this call made."""

    oci: tuple[dict, ...] = ()
    records: tuple[dict, ...] = ()
    anonymous: tuple[str, ...] = ()
    made: tuple[str, ...] = ()


def needed(opts: RunOptions, image_config: dict | None) -> bool:
    """Whether this container may use a volume at all (cheap: no parsing)."""
    return bool(opts.volumes or opts.mounts or getattr(opts, "volumes_from", ())
                or (image_config or {}).get("Volumes"))


def _oci(source: str, target: str, readonly: bool, propagation: str = "rprivate") -> dict:
    return {"destination": target, "type": "bind", "source": source,
            "options": ["rbind", propagation] + (["ro"] if readonly else [])}


def _volume_record(volume: store.Volume, target: str, readonly: bool, mode: str) -> dict:
    return {"Type": "volume", "Name": volume.name, "Source": volume.mountpoint,
            "Destination": target, "Driver": volume.driver, "Mode": mode,
            "RW": not readonly, "Propagation": ""}


def attach(ctx: Context, opts: RunOptions, image_config: dict | None,
           stack: LayerStack, made: list[str]) -> Attached:
    """Every volume the container mounts, made (and filled) where needed;
    the names of those made are appended to `made` as they appear. The
    caller holds store.lock(ctx, shared=True) until the container's record
    is written; on failure it releases the lock, then discards `made`."""
    wanted: list[mount_flags.VolumeMount] = []
    taken: set[str] = set()
    for text in opts.volumes:
        m = mount_flags.parse_volume(text)
        taken.add(m.target)
        if isinstance(m, mount_flags.VolumeMount):
            wanted.append(m)
    for text in opts.mounts:
        m = mount_flags.parse_mount(text)
        taken.add(m.target)
        if isinstance(m, mount_flags.VolumeMount):
            wanted.append(m)
    taken.update(mount_flags.parse_tmpfs(t).target for t in opts.tmpfs)
    shared_oci, shared_records = _volumes_from(ctx, getattr(opts, "volumes_from", ()), taken)
    for path in sorted((image_config or {}).get("Volumes") or {}):
        target = _image_target(path)
        if target not in taken:
            taken.add(target)
            wanted.append(mount_flags.VolumeMount(None, target))
    oci, records, anonymous, first = list(shared_oci), list(shared_records), [], len(made)
    for m in wanted:
        volume, new = _ensure(ctx, m, stack)
        if new:
            made.append(volume.name)
        if m.name is None:  # moby: only a mount given without a name is anonymous
            anonymous.append(volume.name)
        oci.append(_oci(volume.mountpoint, m.target, m.readonly))
        records.append(_volume_record(volume, m.target, m.readonly, m.mode))
    anonymous += [r["Name"] for r in shared_records if r["Type"] == "volume"
                  and _anonymous(ctx, r["Name"])]
    return Attached(tuple(oci), tuple(records), tuple(anonymous), tuple(made[first:]))


def _image_target(path: str) -> str:
    """A Config.Volumes key (hostile: the image's) as a mount target."""
    if not isinstance(path, str) or not path.startswith("/") or "\0" in path:
        raise UsageError(f"invalid volume in the image config: {path!r}: "
                         f"mount path must be absolute")
    return mount_flags.parse_volume(path).target


def _anonymous(ctx: Context, name: str) -> bool:
    try:
        return store.get(ctx, name).anonymous
    except store.VolumeNotFound:
        return False


def _ensure(ctx: Context, m: mount_flags.VolumeMount,
            stack: LayerStack) -> tuple[store.Volume, bool]:
    fill = None if m.nocopy else (lambda data: copy_up(ctx, stack, m.target, data))
    volume, new = store.create(ctx, m.name, dict(m.labels), fill=fill)
    if not new and fill is not None and store.is_empty(volume) and stack.merged_dirs(m.target):
        _fill_existing(ctx, volume, fill)  # Docker: an empty volume is filled on first use
    return volume, new


def _fill_existing(ctx: Context, volume: store.Volume, fill) -> None:
    """Copy-up into a volume that exists already, which a running container
    may have mounted: the copy is made in a private temp dir, then each of
    its top entries renamed into the volume (rename(2) follows no symlink a
    container could swap in; an entry the container made meanwhile wins),
    and the root's owner and mode set on the volume's own directory."""
    from rs_docker.store import atomic
    from rs_docker.store.rmtree import rmtree

    with atomic.temp_dir(ctx.tmp_dir, "copyup") as (tmp, _fd):
        fill(tmp)

        def move() -> None:
            for name in os.listdir(tmp):
                try:
                    os.rename(os.path.join(tmp, name), os.path.join(volume.mountpoint, name))
                except OSError:
                    continue
            st = os.lstat(tmp)
            os.chown(volume.mountpoint, st.st_uid, st.st_gid)
            os.chmod(volume.mountpoint, stat.S_IMODE(st.st_mode))
            rmtree(tmp, missing_ok=True)  # what the container's own entries kept out

        if ctx.rootless:  # the copy's owners may be the user's subordinate ids
            from rs_docker.runtime import rootless

            rootless.run_in_userns(*rootless.user_mappings(), move)
        else:
            move()


def _volumes_from(ctx: Context, sources: tuple[str, ...],
                  taken: set[str]) -> tuple[list[dict], list[dict]]:
    """--volumes-from CONTAINER[:ro|rw]: its volumes and binds, at the same
    destinations; :ro / :rw override how each was mounted there."""
    oci, records = [], []
    for text in sources:
        name, _, mode = text.partition(":")
        if mode not in ("", "ro", "rw"):
            raise UsageError(f"invalid mode for volumes-from: {mode}")
        try:
            source = state.read(ctx, state.resolve(ctx, name))
        except ContainerNotFound:
            raise ContainerNotFound(f"No such container: {name}") from None
        for entry in source.get("Mounts") or []:
            target = entry.get("Destination")
            if entry.get("Type") not in ("volume", "bind") or target in taken:
                continue
            readonly = (mode == "ro") if mode else not entry.get("RW", True)
            if entry["Type"] == "volume":
                volume = store.get(ctx, entry["Name"])
                records.append(_volume_record(volume, target, readonly, entry.get("Mode", "")))
                oci.append(_oci(volume.mountpoint, target, readonly))
            else:
                records.append({**entry, "RW": not readonly})
                oci.append(_oci(entry["Source"], target, readonly,
                                entry.get("Propagation") or "rprivate"))
            taken.add(target)
    return oci, records


# -- copy-up ----------------------------------------------------------------------

def copy_up(ctx: Context, stack: LayerStack, target: str, data: str) -> None:
    """Fill the empty directory `data` with the image's content at `target`
    (nothing when the image has no directory there). Rootless, as root of
    a user namespace with the user's maps, so the image's owners carry over."""
    if not stack.merged_dirs(target):
        return  # nothing to copy (the common case): no helper process, no imports
    if ctx.rootless:
        from rs_docker.runtime import rootless

        def copy() -> None:
            _copy_tree(stack, target, data)
            _apply_owners(data)

        rootless.run_in_userns(*rootless.user_mappings(), copy)
    else:
        _copy_tree(stack, target, data)


def _copy_tree(stack: LayerStack, target: str, data: str) -> None:
    dirs = stack.merged_dirs(target)
    if not dirs:
        return
    from pathlib import Path

    from rs_docker.container import layercopy

    links: dict = {}
    for d in reversed(dirs):  # bottom-first, as the layers merge
        layercopy._merge_dir(Path(d), Path(data), links)
    layercopy._copy_meta(Path(dirs[0]), Path(data), os.lstat(dirs[0]))


def _apply_owners(data: str) -> None:
    """Rootless layers keep each entry's owner and mode in an xattr
    (image/unpack.py OWNER_XATTR: the unpack could not chown); a volume is
    mounted as it is, so its copy is given them for real, as root of the
    user namespace (an id outside the maps stays the mapped root's)."""
    from rs_docker.image.unpack import OWNER_XATTR

    todo = [data]
    while todo:
        path = todo.pop()
        try:
            uid, gid, mode = os.getxattr(path, OWNER_XATTR, follow_symlinks=False).split(b":")
            os.removexattr(path, OWNER_XATTR, follow_symlinks=False)
            try:
                os.chown(path, int(uid), int(gid), follow_symlinks=False)
            except OSError:
                pass  # not mapped: the mapped root keeps it
            os.chmod(path, int(mode, 8))  # after chown, which clears setuid bits
        except (OSError, ValueError):
            pass  # no record of an owner: as copied
        if os.path.isdir(path) and not os.path.islink(path):
            with os.scandir(path) as it:
                todo.extend(e.path for e in it)


# -- in use, removal ------------------------------------------------------------------

def users(ctx: Context) -> dict[str, list[str]]:
    """Volume name -> ids of the containers whose records name it."""
    out: dict[str, list[str]] = {}
    for cid in state.list_ids(ctx):
        try:
            record = state.read(ctx, cid)
        except (ContainerNotFound, StoreError):
            continue
        for entry in record.get("Mounts") or []:
            if entry.get("Type") == "volume" and entry.get("Name"):
                out.setdefault(entry["Name"], []).append(cid)
    return out


def remove(ctx: Context, name: str, force: bool = False) -> None:
    """`volume rm`: Conflict when a container uses it (Docker's message);
    VolumeNotFound when missing, unless force."""
    with store.lock(ctx):
        try:
            store.get(ctx, name)
        except store.VolumeNotFound:
            if force:
                return
            raise
        using = users(ctx).get(name)
        if using:
            raise Conflict(f"remove {name}: volume is in use - [{', '.join(using)}]")
        store.remove(ctx, name)


def discard(ctx: Context, names) -> None:
    """Remove these volumes where no container uses them (a failed create's,
    `rm -v`'s and `run --rm`'s anonymous volumes); others are left alone,
    as Docker leaves a volume another container still uses."""
    if not names:
        return
    with store.lock(ctx):
        using = users(ctx)
        for name in names:
            if name not in using:
                try:
                    store.remove(ctx, name)
                except store.VolumeNotFound:
                    pass


def prune(ctx: Context, all_: bool = False,
          labels: tuple[str, ...] = ()) -> tuple[list[str], int]:
    """`volume prune`: remove the volumes no container uses (anonymous ones
    only, unless all_, as Docker 23+), those matching every `label`
    filter (KEY, KEY=VALUE, or label!=...); (names removed, bytes reclaimed)."""
    removed, reclaimed = [], 0
    with store.lock(ctx):
        using = users(ctx)
        for volume in store.list_all(ctx):
            if volume.name in using or not (all_ or volume.anonymous):
                continue
            if not all(label_matches(volume.labels, f) for f in labels):
                continue
            size = store.size(volume)
            store.remove(ctx, volume.name)
            removed.append(volume.name)
            reclaimed += size
    return removed, reclaimed


def label_matches(labels: dict, spec: str) -> bool:
    """A label filter: `KEY`, `KEY=VALUE`, or negated as `!KEY...` (the
    caller turns `label!=` into `!`)."""
    negate = spec.startswith("!")
    key, eq, value = spec.removeprefix("!").partition("=")
    hit = key in labels and (not eq or labels[key] == value)
    return hit != negate
