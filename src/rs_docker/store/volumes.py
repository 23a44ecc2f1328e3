"""The volume store: `<root>/volumes/<name>/` holding `_data` (what a
container sees) and `volume.json` (name, creation time, driver, labels,
options), as Docker's local driver lays out /var/lib/docker/volumes.

A volume appears whole or not at all: it is built under tmp/ (its data
filled first, when the caller copies an image's content into it) and
rename(2)d into volumes/; a name already taken makes the rename fail
(the target is never an empty directory), and the volume that won is the
one returned. Removal renames the volume out of volumes/ first, so a
reader never sees half of one.

Which containers use a volume is the containers' business
(container/volumes.py, which holds `lock()` around "is it in use?" and
the removal); this module knows only the volumes themselves.

Names: models/mount_flags.check_volume_name (moby's rule); an anonymous volume is named by 64 random
hex digits and labelled `com.docker.volume.anonymous` (Docker 23+, which
`volume prune` without --all removes alone).
"""

from __future__ import annotations

import errno
import os
import stat
import time

from rs_docker import jsonio
from rs_docker.errors import RsDockerError, UsageError
from rs_docker.models.mount_flags import check_volume_name
from rs_docker.store import atomic
from rs_docker.store.locks import file_lock
from rs_docker.values import record

TYPE_CHECKING = False  # not typing's: typing stays off the run path (docs/ARCHITECTURE.md)
if TYPE_CHECKING:
    from collections.abc import Callable

    from rs_docker.context import Context

DATA = "_data"
META = "volume.json"
DRIVER = "local"
ANONYMOUS_LABEL = "com.docker.volume.anonymous"
# moby volume/local/local.go: the options the local driver takes.
LOCAL_OPTIONS = ("type", "device", "o", "size")


class VolumeNotFound(RsDockerError):
    """No such volume (Docker: "get NAME: no such volume")."""


@record
class Volume:
    """One volume as its record says; `mountpoint` is its `_data`."""

    name: str
    created: str
    driver: str
    labels: dict
    options: dict
    mountpoint: str

    @property
    def anonymous(self) -> bool:
        return ANONYMOUS_LABEL in self.labels

    def inspect(self) -> dict:
        """`docker volume inspect`'s object (no labels, no options: null, as
        Docker 23+ shows them)."""
        return {"CreatedAt": self.created, "Driver": self.driver,
                "Labels": dict(self.labels) or None, "Mountpoint": self.mountpoint,
                "Name": self.name, "Options": dict(self.options) or None, "Scope": "local"}


def volumes_dir(ctx: Context) -> str:
    return os.path.join(ctx.root, "volumes")


def check_options(driver: str, options: dict) -> None:
    if driver != DRIVER:
        raise UsageError(f'create: error looking up volume plugin {driver}: plugin "{driver}" '
                         f"not found")
    for key in options:
        if key not in LOCAL_OPTIONS:
            raise UsageError(f"create: invalid option key: {key!r}")


def anonymous_name() -> str:
    return os.urandom(32).hex()


def _now() -> str:
    # RFC 3339 with the local offset, as Docker's CreatedAt.
    t = time.localtime()
    offset = time.strftime("%z", t)
    zone = "Z" if offset == "+0000" else f"{offset[:3]}:{offset[3:]}"  # Go's RFC 3339
    return time.strftime("%Y-%m-%dT%H:%M:%S", t) + zone


def _load(ctx: Context, name: str) -> Volume:
    d = os.path.join(volumes_dir(ctx), name)
    try:
        meta = atomic.read_json(os.path.join(d, META))
    except FileNotFoundError:
        raise VolumeNotFound(f"get {name}: no such volume") from None
    except (OSError, ValueError) as e:
        raise VolumeNotFound(f"get {name}: unreadable volume record: {e}") from None
    return Volume(name, str(meta.get("CreatedAt", "")), str(meta.get("Driver", DRIVER)),
                  dict(meta.get("Labels") or {}), dict(meta.get("Options") or {}),
                  os.path.join(d, DATA))


def get(ctx: Context, name: str) -> Volume:
    """The volume `name`, else VolumeNotFound."""
    if not name or name.startswith(".") or "/" in name:
        raise VolumeNotFound(f"get {name}: no such volume")
    return _load(ctx, name)


def list_all(ctx: Context) -> list[Volume]:
    """Every volume, by name."""
    try:
        names = sorted(os.listdir(volumes_dir(ctx)))
    except FileNotFoundError:
        return []
    out = []
    for name in names:
        if name.startswith("."):
            continue  # being removed
        try:
            out.append(_load(ctx, name))
        except VolumeNotFound:
            continue  # removed meanwhile
    return out


def create(ctx: Context, name: str | None = None, labels: dict | None = None,
           options: dict | None = None, driver: str = DRIVER,
           fill: Callable[[str], None] | None = None) -> tuple[Volume, bool]:
    """The volume `name` (a new anonymous one when None): the existing one,
    or a new one made whole; (volume, made_now). `fill(data_dir)` fills a
    new volume's data before it appears (an image's content: copy-up); it
    is not called for an existing volume."""
    labels = dict(labels or {})
    options = dict(options or {})
    check_options(driver, options)
    if name is None:
        name = anonymous_name()
        labels.setdefault(ANONYMOUS_LABEL, "")
    else:
        check_volume_name(name)
        try:
            return _existing(ctx, name, driver), False
        except VolumeNotFound:
            pass
    meta = {"Name": name, "CreatedAt": _now(), "Driver": driver, "Labels": labels,
            "Options": options}
    root = volumes_dir(ctx)
    os.makedirs(root, 0o700, exist_ok=True)
    with atomic.temp_dir(ctx.tmp_dir, "volume") as (tmp, fd):
        os.fchmod(fd, 0o700)
        data = os.path.join(tmp, DATA)
        os.mkdir(data, 0o755)
        os.chmod(data, 0o755)  # a volume's root: 0755 whatever the umask (Docker's)
        if fill is not None:
            fill(data)
        atomic.write_file(os.path.join(tmp, META), jsonio.dumps(meta), durable=True)
        try:
            os.rename(tmp, os.path.join(root, name))
        except OSError as e:
            if e.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise atomic.store_error("create volume", os.path.join(root, name), e) from e
            return _existing(ctx, name, driver), False  # made meanwhile by another
        atomic.fsync_dir(root)
    return _load(ctx, name), True


def _existing(ctx: Context, name: str, driver: str) -> Volume:
    volume = _load(ctx, name)
    if volume.driver != driver:
        raise UsageError(f"create {name}: a volume with the name {name} already exists "
                         f"with the {volume.driver} driver")
    return volume


def is_empty(volume: Volume) -> bool:
    try:
        with os.scandir(volume.mountpoint) as it:
            return next(it, None) is None
    except FileNotFoundError:
        return True


def size(volume: Volume) -> int:
    """Bytes of the volume's files (hard links once, symlinks never
    followed): what removing it reclaims, as Docker's directory.Size."""
    total, seen = 0, set()
    todo = [volume.mountpoint]
    while todo:
        try:
            it = os.scandir(todo.pop())
        except OSError:
            continue
        with it:
            for entry in it:
                try:
                    st = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                if stat.S_ISDIR(st.st_mode):
                    todo.append(entry.path)
                    continue
                if st.st_nlink > 1:
                    if (st.st_dev, st.st_ino) in seen:
                        continue
                    seen.add((st.st_dev, st.st_ino))
                total += st.st_size
    return total


def lock(ctx: Context, shared: bool = False):
    """The volumes' lock: a container being created holds it shared from
    the moment it names a volume until its record is written; removing a
    volume holds it exclusive while it checks that no record names it."""
    return file_lock(os.path.join(ctx.locks_dir, "volumes.lock"), shared=shared)


def remove(ctx: Context, name: str) -> None:
    """Remove the volume (VolumeNotFound if missing): renamed out of
    volumes/ first, then its tree removed through directory fds (never
    following a symlink a container left in it). Rootless, files of the
    container's other (subuid) ids are removed as root of a user namespace
    with the same maps. The caller checks that no container uses it."""
    from rs_docker.store.rmtree import rmtree

    get(ctx, name)
    root = volumes_dir(ctx)
    doomed = os.path.join(root, f".removing-{name}-{os.urandom(4).hex()}")
    try:
        os.rename(os.path.join(root, name), doomed)
    except FileNotFoundError:
        raise VolumeNotFound(f"get {name}: no such volume") from None
    try:
        rmtree(doomed, missing_ok=True)
    except PermissionError:
        if os.geteuid() == 0:
            raise
        from rs_docker.runtime import rootless

        rootless.run_in_userns(*rootless.user_mappings(),
                               lambda: rmtree(doomed, missing_ok=True))
