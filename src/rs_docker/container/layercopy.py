"""The copy fallback of the rootfs: merge overlay-form layer directories,
bottom-first, into one private tree, applying what overlayfs would
(Documentation/filesystems/overlayfs.rst): a whiteout (0/0 character
device) deletes the entry below, an opaque directory
(trusted.overlay.opaque=y, user.overlay.opaque=y in a rootless store)
replaces the directory below, and a non-directory replaces whatever was
below. The layers are those rootfs.plan keeps (layerfs.visible_layers: an
opaque layer root hides the layers below it).

The destination is only ever touched through entries this code created or
lstat()ed, and never through a symlink: a symlink from a lower layer that
an upper layer's directory shadows is replaced, not followed.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from rs_docker.container.layerfs import is_opaque, is_whiteout
from rs_docker.store.rmtree import rmtree

# overlayfs's marks (opaque...): the copy is merged already, and not a lowerdir.
_OVERLAY_XATTRS = ("trusted.overlay.", "user.overlay.")


def merge_layers(layers_bottom_first: list[Path], dest: Path) -> None:
    """Copy each layer over `dest` in turn (dest: an existing empty dir)."""
    for layer in layers_bottom_first:
        _merge_dir(Path(layer), Path(dest), {})


def _remove(path: Path) -> None:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        rmtree(path)
    else:
        os.unlink(path)


def _merge_dir(src: Path, dest: Path, links: dict) -> None:
    """Merge the entries of layer directory `src` into the real dir `dest`.
    `links` maps (dev, ino) of multiply-linked files to their copy, so hard
    links inside one layer stay hard links."""
    with os.scandir(src) as it:
        entries = list(it)
    for entry in entries:
        st = entry.stat(follow_symlinks=False)
        target = dest / entry.name
        if is_whiteout(st):
            _remove(target)
        elif stat.S_ISDIR(st.st_mode):
            _merge_subdir(Path(entry.path), target, st, links)
        else:
            _remove(target)
            _copy_node(Path(entry.path), target, st, links)


def _merge_subdir(src: Path, target: Path, st: os.stat_result, links: dict) -> None:
    try:
        existing = os.lstat(target)
    except FileNotFoundError:
        existing = None
    if existing is not None and (not stat.S_ISDIR(existing.st_mode) or is_opaque(src)):
        _remove(target)
        existing = None
    if existing is None:
        os.mkdir(target, 0o700)
    _merge_dir(src, target, links)
    _copy_meta(src, target, st)


def _copy_node(src: Path, target: Path, st: os.stat_result, links: dict) -> None:
    key = (st.st_dev, st.st_ino)
    if st.st_nlink > 1 and key in links:
        os.link(links[key], target)
        return
    mode = st.st_mode
    if stat.S_ISLNK(mode):
        os.symlink(os.readlink(src), target)
    elif stat.S_ISREG(mode):
        _copy_file(src, target)
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode):
        os.mknod(target, mode, st.st_rdev)
    else:
        return  # sockets are not image content
    _copy_meta(src, target, st)
    if st.st_nlink > 1:
        links[key] = target


def _copy_file(src: Path, target: Path) -> None:
    fd_in = os.open(src, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        fd_out = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                         | os.O_CLOEXEC, 0o600)
        try:
            size = os.fstat(fd_in).st_size
            copied = 0
            while copied < size:
                n = os.copy_file_range(fd_in, fd_out, size - copied)
                if n == 0:
                    break
                copied += n
        finally:
            os.close(fd_out)
    finally:
        os.close(fd_in)


def _copy_meta(src: Path, target: Path, st: os.stat_result) -> None:
    """Owner, xattrs (except overlay's own), mode (after chown, which clears
    setuid bits), times."""
    os.chown(target, st.st_uid, st.st_gid, follow_symlinks=False)
    try:
        names = os.listxattr(src, follow_symlinks=False)
    except OSError:
        names = []
    for name in names:
        if name.startswith(_OVERLAY_XATTRS):
            continue
        try:
            os.setxattr(target, name, os.getxattr(src, name, follow_symlinks=False),
                        follow_symlinks=False)
        except OSError:
            pass  # a namespace the target fs does not take (best effort, like cp -a)
    if not stat.S_ISLNK(st.st_mode):
        os.chmod(target, stat.S_IMODE(st.st_mode))
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)
