"""What a container changed: its overlay upper directory read against the
image's layers, for `diff` (A/C/D lines) and `commit` (a layer tar).

The upper dir is read in place (it lives in our store) without following
anything in it: entries are lstat()ed, directories walked by descriptor.
An upper entry is a whiteout (char device 0/0: deleted), an opaque
directory (trusted.overlay.opaque=y: it hides everything below), or a file
or directory that is new or replaces one below. Docker's rules
(moby pkg/archive/changes.go `changes`, overlay's `overlayDeletedFile`):
a whiteout or an opaque directory that existed below is "D"; an entry
that exists below is "C" ("A" otherwise); the parent of an "A" or "D" is
"C". A directory that only exists because a file under it changed is "C"
too, as `docker diff` shows it.

The files rs-docker mounts over at start (/etc/hostname, /etc/hosts,
/etc/resolv.conf: Docker keeps those in its init layer) are empty mount
points in the upper dir and are no change of the container's.
"""

from __future__ import annotations

import os
import stat
import tarfile

from rs_docker.container import state
from rs_docker.container.layerfs import LayerStack, is_opaque, is_whiteout, opaque_xattr
from rs_docker.context import Context
from rs_docker.errors import RsDockerError, StoreError

MOUNT_POINTS = frozenset({"/etc/hostname", "/etc/hosts", "/etc/resolv.conf"})
WHITEOUT_PREFIX = ".wh."
OPAQUE_MARK = ".wh..wh..opq"
_DIR_OPEN = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def layer_dirs(ctx: Context, cid: str) -> tuple[str, list[str]]:
    """(upper dir, lower dirs top-first) of a container on overlay."""
    record = state.read(ctx, cid)
    if (record.get("Driver") or "overlay") == "copy":
        raise StoreError(f"container {cid[:12]} has a copied root (the copy driver): "
                         f"its changes are not kept apart from its image")
    data = (record.get("GraphDriver") or {}).get("Data") or {}
    upper, lowers = data.get("UpperDir"), data.get("LowerDir")
    if not upper or not lowers:
        raise StoreError(f"container {cid[:12]}: no root filesystem recorded")
    return upper, [p for p in lowers.split(":") if os.path.basename(p) != "empty"]


def _is_mount_point(path: str, st: os.stat_result) -> bool:
    return path in MOUNT_POINTS and stat.S_ISREG(st.st_mode) and st.st_size == 0


class _Lower:
    """Lookups in the image's merged layers (symlinks followed inside them)."""

    def __init__(self, lowers: list[str]):
        self.stack = LayerStack(lowers) if lowers else None

    def stat(self, path: str) -> os.stat_result | None:
        if self.stack is None:
            return None
        try:
            _, result = self.stack._walk(path, follow_last=False, create=None)
        except (OSError, RsDockerError):
            return None
        if result[0] == "dir":
            return os.lstat(result[1][0])
        if result[0] == "other":
            return result[2]
        return None


def changes(upper: str, lowers: list[str]) -> list[tuple[str, str]]:
    """[(kind, path)] in Docker's order (a lexical walk): kind "A", "C", "D"."""
    lower = _Lower(lowers)
    out: list[tuple[str, str]] = []
    reported: set[str] = set()
    opaque_name = opaque_xattr()

    def note(kind: str, path: str) -> None:
        parent = os.path.dirname(path)
        if kind in ("A", "D") and parent != "/" and parent not in reported:
            out.append(("C", parent))
            reported.add(parent)
        if path not in reported or kind != "C":
            out.append((kind, path))
            reported.add(path)

    def walk(dir_path: str, host: str) -> bool:
        """Report the entries of one upper directory; True if any was."""
        any_change = False
        try:
            names = sorted(os.listdir(host))
        except OSError:
            return False
        for name in names:
            path = f"{dir_path}/{name}" if dir_path != "/" else f"/{name}"
            child = os.path.join(host, name)
            st = os.lstat(child)
            if is_whiteout(st):
                note("D", path)
                any_change = True
                continue
            if _is_mount_point(path, st):
                continue
            below = lower.stat(path)
            if stat.S_ISDIR(st.st_mode):
                opaque = is_opaque(child, opaque_name)
                kind = None
                if opaque and below is not None:
                    kind = "D"
                elif below is None:
                    kind = "A"
                elif not stat.S_ISDIR(below.st_mode) or (
                        stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) != (
                        stat.S_IMODE(below.st_mode), below.st_uid, below.st_gid):
                    kind = "C"
                position = len(out)
                if kind:
                    note(kind, path)
                inner = walk(path, child)
                if inner and not kind and path not in reported:
                    out.insert(position, ("C", path))
                    reported.add(path)
                any_change = any_change or bool(kind) or inner
                continue
            note("A" if below is None else "C", path)
            any_change = True
        return any_change

    walk("/", upper)
    return out


# -- the layer of a commit ----------------------------------------------------------

class LayerWriter:
    """The upper dir as an OCI layer tar: whiteouts become `.wh.NAME`
    files, an opaque directory a `DIR/.wh..wh..opq` entry, overlayfs's own
    xattrs are left out; owners, modes, times and other xattrs kept;
    hard links inside the upper dir stay hard links."""

    def __init__(self, tar: tarfile.TarFile):
        from rs_docker.container.treetar import TreeWriter

        self.tar = tar
        self.opaque_name = opaque_xattr()
        self.writer = TreeWriter(tar, skip=self._skip, xattrs=True)

    def _skip(self, arcname: str, st: os.stat_result) -> bool:
        path = "/" + arcname
        if _is_mount_point(path, st):
            return True
        if is_whiteout(st):
            parent, name = os.path.split(arcname)
            info = tarfile.TarInfo(os.path.join(parent, WHITEOUT_PREFIX + name))
            info.mtime = st.st_mtime
            self.tar.addfile(info)
            return True
        return False

    def write(self, upper: str) -> None:
        fd = os.open(upper, _DIR_OPEN)
        try:
            names = sorted(os.listdir(fd))
            for name in names:
                st = os.stat(name, dir_fd=fd, follow_symlinks=False)
                if self._skip(name, st):
                    continue
                child = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
                try:
                    self.writer.add_top(child, name)
                finally:
                    os.close(child)
        finally:
            os.close(fd)
        self._opaque_marks(upper)

    def _opaque_marks(self, upper: str) -> None:
        """`.wh..wh..opq` in every opaque directory (after its entries: the
        unpacker applies it to what the layers below hold, not to this one)."""
        stack = [("", upper)]
        while stack:
            rel, host = stack.pop()
            for entry in sorted(os.scandir(host), key=lambda e: e.name):
                if not entry.is_dir(follow_symlinks=False):
                    continue
                arc = f"{rel}/{entry.name}" if rel else entry.name
                if is_opaque(entry.path, self.opaque_name):
                    info = tarfile.TarInfo(f"{arc}/{OPAQUE_MARK}")
                    info.mtime = entry.stat(follow_symlinks=False).st_mtime
                    self.tar.addfile(info)
                stack.append((arc, entry.path))
