"""Read and create paths of a container's root filesystem before it is
mounted, straight from its overlay-form layer directories.

The image is hostile: a symlink `etc -> /` in a layer must not make
rs-docker read the host's /etc/passwd, nor create the workdir on the host.
So a path is resolved one component at a time the way overlayfs merges the
layers (Documentation/filesystems/overlayfs.rst: the top-most entry wins; a
whiteout — a 0/0 character device — hides lower entries; a directory with
xattr trusted.overlay.opaque=y — user.overlay.opaque unprivileged — hides
the lower directories; a non-directory hides lower directories), and
symlinks are followed relative to the container's root, never the host's
(like moby's FollowSymlinkInScope).

overlayfs ignores the opaque mark on a lowerdir's root, so a layer whose
tar opens with `.wh..wh..opq` must leave the layers below it out of the
stack altogether: visible_layers() says which layers a container sees, and
every view of its root (the overlay, fuse-overlayfs, the copy, this one) is
built from those alone (container/rootfs.py plan).
"""

from __future__ import annotations

import errno
import os
import stat

from rs_docker.errors import RsDockerError

TYPE_CHECKING = False  # not typing's: typing stays off the run path (docs/ARCHITECTURE.md)
if TYPE_CHECKING:
    from collections.abc import Sequence

MAX_SYMLINKS = 40  # path_resolution(7): ELOOP after 40 links
# The names image/whiteouts.py writes: trusted.* needs CAP_SYS_ADMIN, so an
# unprivileged unpack (a rootless store) marks user.overlay.opaque, the name
# overlayfs reads when mounted with "userxattr", and fuse-overlayfs too.
OPAQUE_XATTR = "trusted.overlay.opaque"
OPAQUE_XATTR_USER = "user.overlay.opaque"


class ImagePathError(RsDockerError):
    """A path inside the image cannot be resolved or created."""


def is_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def opaque_xattr() -> str:
    """The opaque mark of the layers this process unpacks and reads: a
    store is unpacked by its own user (root: trusted.*, else user.*)."""
    return OPAQUE_XATTR if os.geteuid() == 0 else OPAQUE_XATTR_USER


def is_opaque(path: str, name: str | None = None) -> bool:
    """True when the directory `path` carries the opaque mark `name`
    (default: opaque_xattr())."""
    try:
        return os.getxattr(path, name or opaque_xattr(), follow_symlinks=False) == b"y"
    except OSError:
        return False


def visible_layers(layers_bottom_first: Sequence[str]) -> list[str]:
    """The layers a container sees, bottom-first: all of them, or those from
    the topmost one whose root is opaque upwards. The mark is the one the
    unpacker wrote on the layer's root (image/whiteouts.py): one getxattr(2)
    per layer above the bottom, from the top down to the first mark; the
    layers below it are never read."""
    name = opaque_xattr()
    for i in range(len(layers_bottom_first) - 1, 0, -1):
        if is_opaque(layers_bottom_first[i], name):
            return list(layers_bottom_first[i:])
    return list(layers_bottom_first)


def _split(path: str) -> list[str]:
    return [p for p in path.split("/") if p]


class LayerStack:
    """A merged view of layer directories given top-first. `layers[0]` is the
    writable top (the container's upper dir, or the private copy): the only
    one `makedirs` writes into."""

    def __init__(self, layers: Sequence[str | os.PathLike]):
        if not layers:
            raise ValueError("a LayerStack needs at least one layer")
        # Plain strings: pathlib imports re, urllib.parse and ipaddress, kept
        # off the run path (docs/ARCHITECTURE.md), and each lookup is a join.
        self.layers = [os.fspath(p) for p in layers]
        self._opaque = opaque_xattr()

    # -- lookup -----------------------------------------------------------

    def _lookup(self, dirs: list[str], name: str):
        """One component in a merged directory (its real dirs, top-first):
        ("dir", [dirs...]) | ("other", path, stat) | ("missing",)."""
        found: list[str] = []
        for d in dirs:
            p = os.path.join(d, name)
            try:
                st = os.lstat(p)
            except FileNotFoundError:
                continue
            except NotADirectoryError:
                continue
            if is_whiteout(st):
                break
            if stat.S_ISDIR(st.st_mode):
                found.append(p)
                if is_opaque(p, self._opaque):
                    break
                continue
            if found:
                break  # a non-directory under a directory is hidden
            return ("other", p, st)
        return ("dir", found) if found else ("missing",)

    def _walk(self, path: str, follow_last: bool, create: tuple | None):
        """Resolve `path`; returns (dir_stack, result) where dir_stack holds
        the merged dirs of each resolved component and result is the
        _lookup() of the last one. With `create=(mode, uid, gid)` missing
        directories are made in the top layer."""
        root = list(self.layers)
        stack: list[tuple[str, list[str]]] = [("", root)]
        todo = _split(path)
        result: tuple = ("dir", root)
        links = 0
        while todo:
            name = todo.pop(0)
            if name == ".":
                continue
            if name == "..":
                if len(stack) > 1:
                    stack.pop()
                result = ("dir", stack[-1][1])
                continue
            result = self._lookup(stack[-1][1], name)
            kind = result[0]
            if kind == "other" and stat.S_ISLNK(result[2].st_mode) and (todo or follow_last):
                links += 1
                if links > MAX_SYMLINKS:
                    raise ImagePathError(f"{path}: too many levels of symbolic links")
                target = os.readlink(result[1])
                if target.startswith("/"):
                    stack = stack[:1]
                todo = _split(target) + todo
                continue
            if kind == "missing" and create is not None:
                result = ("dir", [self._mkdir_top(stack, name, create)])
                kind = "dir"
            if kind == "dir":
                stack.append((name, result[1]))
            elif todo:
                return stack, ("notdir" if kind == "other" else "missing",)
        return stack, result

    # -- the top layer ------------------------------------------------------

    def _top_dir(self, stack: list[tuple[str, list[str]]]) -> str:
        """The top layer's copy of the directory `stack` names, created (with
        the metadata of the directory it shadows, as an overlay copy-up does)
        where missing. Safe: each component of the top layer is either
        missing or a real directory, else the walk would have followed or
        refused it."""
        top = self.layers[0]
        for depth, (name, dirs) in enumerate(stack[1:], 1):
            top = os.path.join(top, name)
            if dirs[0] == top:
                continue
            st = os.lstat(dirs[0])
            try:
                os.mkdir(top, stat.S_IMODE(st.st_mode))
            except FileExistsError:
                if not stat.S_ISDIR(os.lstat(top).st_mode):
                    raise
            os.chown(top, st.st_uid, st.st_gid, follow_symlinks=False)
            os.chmod(top, stat.S_IMODE(st.st_mode))
            os.utime(top, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)
            stack[depth] = (name, [top] + [d for d in dirs if d != top])
        return top

    def _mkdir_top(self, stack, name: str, create: tuple) -> str:
        mode, uid, gid = create
        path = os.path.join(self._top_dir(stack), name)
        os.mkdir(path, mode)
        os.chown(path, uid, gid, follow_symlinks=False)
        os.chmod(path, mode)  # not reduced by the umask
        return path

    # -- public -------------------------------------------------------------

    def read_file(self, path: str, limit: int = 1 << 20) -> bytes | None:
        """The content of a regular file of the merged tree (symlinks followed
        inside the tree), None when missing; at most `limit` bytes."""
        _, result = self._walk(path, follow_last=True, create=None)
        if result[0] != "other" or not stat.S_ISREG(result[2].st_mode):
            return None
        fd = os.open(result[1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                return None
            # Asked for its size, not `limit`: os.read allocates what it is
            # asked for (1 MiB: an mmap, mremap and munmap for every file).
            return os.read(fd, min(limit, st.st_size or limit))
        finally:
            os.close(fd)

    def merged_dirs(self, path: str) -> list[str]:
        """The real directories, top-first, whose merge is the directory at
        `path` (symlinks followed inside the tree); [] when `path` is missing
        or not a directory. What a volume's copy-up reads."""
        _, result = self._walk(path, follow_last=True, create=None)
        return list(result[1]) if result[0] == "dir" else []

    def makedirs(self, path: str, mode: int = 0o755, uid: int = 0, gid: int = 0) -> None:
        """mkdir -p inside the merged tree: missing directories are created in
        the top layer, owned uid:gid (Docker's MkdirAllAndChownNew)."""
        try:
            _, result = self._walk(path, follow_last=True, create=(mode, uid, gid))
        except OSError as e:
            raise ImagePathError(f"mkdir {path}: {os.strerror(e.errno).lower()}") from None
        if result[0] != "dir":
            raise ImagePathError(f"mkdir {path}: {os.strerror(errno.ENOTDIR).lower()}")
