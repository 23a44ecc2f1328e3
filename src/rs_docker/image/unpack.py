"""Safe, single-pass extraction of a layer tar into a layer directory.

The tar is read in stream mode (tarfile "r|": forward only, as it comes off
the network) and every entry is written through a ConfinedTree, so nothing
lands outside `dest` whatever the names, symlinks or hardlinks say (STYLE.md
6; Charliecloud lib/image.py::validate_members; containerd pkg/archive).

Rules, in the order an entry meets them:
- names: a leading "/" is stripped, ".." refused (names.split_name);
- whiteouts become overlayfs form: `.wh.NAME` -> char device 0/0 NAME,
  `.wh..wh..opq` -> opaque xattr on the directory (whiteouts.py); at the
  top of the tar it marks the layer's root, the record rootfs planning
  reads to leave the layers below out (overlayfs ignores it there);
- an entry replaces what is already there (a later entry wins, as in tar),
  except a directory over a directory, which merges;
- symlinks are kept verbatim, absolute ones too: they are only ever followed
  inside the root (fstree.py);
- hardlinks may only name an entry already inside this layer;
- owners (numeric uid/gid, when privileged; else recorded in the xattr
  user.rsdocker.override_stat, see _record_owner), modes with setuid/setgid/sticky,
  mtimes and SCHILY.xattr.* are kept, except overlayfs's own xattrs
  (trusted.overlay.*, user.overlay.*...: whiteouts.RESERVED_XATTR_PREFIXES),
  which only this unpacker writes; chown/chmod/utime never go through a
  symlink (fchown/fchmod/futimens on our own descriptor, or *at() with
  AT_SYMLINK_NOFOLLOW);
- device nodes only when privileged: unprivileged, they are skipped, like
  Docker does in a user namespace (mknod would fail with EPERM, and a
  container's /dev is a fresh tmpfs anyway); FIFOs are always made;
- directories get their final mode and mtime after all their content.
"""

from __future__ import annotations

import errno
import os
import stat
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from rs_docker.errors import RsDockerError, StoreError, UnsafeLayerEntry
from rs_docker.image import whiteouts
from rs_docker.image.decompress import open_decompressed  # noqa: F401  (re-exported API)
from rs_docker.image.fstree import ConfinedTree
from rs_docker.image.names import split_name
from rs_docker.image.strict_tar import strict_tarinfo
from rs_docker.store.atomic import write_all
from rs_docker.store.rmtree import rmtree

CHUNK = 1 << 20
# tarfile's read size from the stream; small enough that its per-read buffer
# copies stay cheap for the many tiny files of a real layer.
TAR_BUFSIZE = 64 << 10

_XATTR_PREFIX = "SCHILY.xattr."
# Errors that are the machine's fault, not the layer's.
_STORE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS, errno.EMFILE,
                 errno.ENFILE, errno.ENOMEM, errno.EACCES}
_MAX_ID = 2**32 - 2  # (uid_t)-1 means "leave unchanged" to chown(2)
# Where an unprivileged unpack keeps an entry's tar owner (see _record_owner).
OWNER_XATTR = "user.rsdocker.override_stat"


_BoundedTarInfo = strict_tarinfo(lambda why: UnsafeLayerEntry(f"invalid layer tar: {why}"))


def unpack(tar_stream: BinaryIO, dest: Path, *, privileged: bool | None = None) -> int:
    """Extract the tar read from `tar_stream` into the existing directory
    `dest`; returns the bytes of regular-file content written. `privileged`
    (default: running as root) keeps owners, device nodes and trusted.*
    xattrs. The stream is read to its end, so a digest computed over it (a
    DiffID check) covers every byte. Raises UnsafeLayerEntry for a hostile or
    corrupt tar, StoreError when the disk fails us."""
    privileged = os.geteuid() == 0 if privileged is None else privileged
    try:
        root_fd = os.open(dest, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as e:
        raise StoreError(f"unpack into {dest}: {e.strerror.lower()}") from None
    writer = _Writer(ConfinedTree(root_fd), privileged)
    try:
        with tarfile.open(fileobj=tar_stream, mode="r|", tarinfo=_BoundedTarInfo,
                          bufsize=TAR_BUFSIZE) as tar:
            while (member := tar.next()) is not None:
                writer.add(tar, member)
                tar.members.clear()  # stream mode keeps every header otherwise
        writer.finish()
        while tar_stream.read(CHUNK):
            pass
    except tarfile.TarError as e:
        raise UnsafeLayerEntry(f"invalid layer tar: {e}") from None
    except EOFError as e:
        raise UnsafeLayerEntry(f"invalid layer tar: {e}") from None
    finally:
        writer.tree.close()
        os.close(root_fd)
    return writer.content_bytes


class _Writer:
    """Applies tar entries to a ConfinedTree, one at a time."""

    def __init__(self, tree: ConfinedTree, privileged: bool):
        self.tree = tree
        self.privileged = privileged
        self.content_bytes = 0
        self._reading = False  # inside a read of the tar stream
        # (path, inode, mode, mtime) of each directory, applied last
        self._dirs: list[tuple[str, int, int, float]] = []

    def add(self, tar: tarfile.TarFile, m: tarfile.TarInfo) -> None:
        try:
            self._add(tar, m)
        except OSError as e:
            if self._reading:
                raise  # the stream's own failure (a network error): not the entry's
            raise _entry_error(m.name, e) from None
        except (ValueError, OverflowError) as e:
            raise UnsafeLayerEntry(f"layer entry {_shown(m.name)}: {e}") from None

    def _add(self, tar: tarfile.TarFile, m: tarfile.TarInfo) -> None:
        parts = split_name(m.name)
        if whiteouts.META_PREFIX in m.name and whiteouts.is_aufs_meta(parts):
            return
        if not parts:
            if not m.isdir():
                raise UnsafeLayerEntry(f"layer entry {_shown(m.name)} is not a directory "
                                       f"but names the layer root")
            return self._directory("", m)
        parent, name = "/".join(parts[:-1]), parts[-1]
        wh = whiteouts.classify(name)
        if wh is not None:
            return self._whiteout(parent, wh, m)
        if m.isdir():
            self._directory("/".join(parts), m)
        elif m.isreg():
            self._regular(tar, parent, name, m)
        elif m.issym():
            self._symlink(parent, name, m)
        elif m.islnk():
            self._hardlink(parent, name, m)
        elif m.ischr() or m.isblk() or m.isfifo():
            self._special(parent, name, m)
        else:
            raise UnsafeLayerEntry(f"layer entry {_shown(m.name)} has unsupported tar "
                                   f"type {m.type!r}")

    # -- creating entries ---------------------------------------------------

    def _place(self, parent: str, name: str, make) -> int:
        """Run make(parent_fd) to create `name`; if something is in the way,
        remove it and try once more (a later entry wins). Returns make's result."""
        try:
            return make(self.tree.dir(parent))
        except FileExistsError:
            self._remove(self.tree.dir(parent), name)
        return make(self.tree.dir(parent))

    def _remove(self, pfd: int, name: str) -> None:
        mode = os.stat(name, dir_fd=pfd, follow_symlinks=False).st_mode
        if stat.S_ISDIR(mode):
            rmtree(name, dir_fd=pfd)  # fd-based: never follows symlinks
        else:
            os.unlink(name, dir_fd=pfd)
        if stat.S_ISDIR(mode) or stat.S_ISLNK(mode):
            self.tree.invalidate()  # cached paths may have gone through it

    def _regular(self, tar: tarfile.TarFile, parent: str, name: str,
                 m: tarfile.TarInfo) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = self._place(parent, name, lambda pfd: os.open(name, flags, 0o600, dir_fd=pfd))
        try:
            self._copy_data(tar, m, fd)
            self._own(m, fd=fd)
            os.fchmod(fd, m.mode & 0o7777)  # after chown, which clears setuid
            self._xattrs(m, fd)
            os.utime(fd, ns=_times(m))
        finally:
            os.close(fd)
        self.content_bytes += m.size

    def _copy_data(self, tar: tarfile.TarFile, m: tarfile.TarInfo, fd: int) -> None:
        remaining = m.size
        chunks = _member_data(tar, m)
        while True:
            self._reading = True
            buf = next(chunks, None)
            self._reading = False
            if buf is None:
                break
            remaining -= len(buf)
            write_all(fd, buf)
        if remaining:
            raise UnsafeLayerEntry(f"layer tar ends inside {_shown(m.name)}")

    def _directory(self, path: str, m: tarfile.TarInfo) -> None:
        if path:
            parent, _, name = path.rpartition("/")
            self._mkdir(parent, name)
        fd = self.tree.dir(path)
        self._own(m, fd=fd)
        # Final modes wait for the end unless we are root: a 0555 directory
        # must stay writable for its own content when we are not.
        os.fchmod(fd, m.mode & 0o7777 if self.privileged else 0o700)
        self._xattrs(m, fd)
        self._dirs.append((path, os.fstat(fd).st_ino, m.mode & 0o7777, m.mtime))

    def _mkdir(self, parent: str, name: str) -> None:
        pfd = self.tree.dir(parent)
        try:
            os.mkdir(name, 0o700, dir_fd=pfd)
        except FileExistsError:
            if stat.S_ISDIR(os.stat(name, dir_fd=pfd, follow_symlinks=False).st_mode):
                return  # a directory over a directory merges
            self._remove(pfd, name)
            os.mkdir(name, 0o700, dir_fd=self.tree.dir(parent))

    def _symlink(self, parent: str, name: str, m: tarfile.TarInfo) -> None:
        if not m.linkname:
            raise UnsafeLayerEntry(f"layer entry {_shown(m.name)} is a symlink to nothing")
        self._place(parent, name, lambda pfd: os.symlink(m.linkname, name, dir_fd=pfd))
        self._meta_at(parent, name, m)

    def _hardlink(self, parent: str, name: str, m: tarfile.TarInfo) -> None:
        target = split_name(m.linkname)
        if not target:
            raise UnsafeLayerEntry(f"layer entry {_shown(m.name)} is a hard link to the root")
        try:
            # dup: the tree may close its own descriptor on the next lookup.
            tfd = os.dup(self.tree.dir("/".join(target[:-1]), create=False))
        except (FileNotFoundError, NotADirectoryError):
            raise _link_outside(m) from None
        try:
            os.stat(target[-1], dir_fd=tfd, follow_symlinks=False)
        except FileNotFoundError:
            os.close(tfd)
            raise _link_outside(m) from None
        try:
            # follow_symlinks=False: linkat(2) without AT_SYMLINK_FOLLOW links
            # a symlink itself, never what it points to.
            self._place(parent, name, lambda pfd: os.link(
                target[-1], name, src_dir_fd=tfd, dst_dir_fd=pfd, follow_symlinks=False))
        finally:
            os.close(tfd)

    def _special(self, parent: str, name: str, m: tarfile.TarInfo) -> None:
        if m.isfifo():
            kind, dev = stat.S_IFIFO, 0
        elif not self.privileged:
            return  # see the module docstring: no device nodes unprivileged
        else:
            kind = stat.S_IFCHR if m.ischr() else stat.S_IFBLK
            dev = os.makedev(m.devmajor, m.devminor)
        self._place(parent, name, lambda pfd: os.mknod(name, kind | 0o600, dev, dir_fd=pfd))
        self._meta_at(parent, name, m, chmod=True)

    def _whiteout(self, parent: str, wh: whiteouts.Whiteout, m: tarfile.TarInfo) -> None:
        if wh.opaque:
            os.setxattr(self.tree.dir(parent), whiteouts.opaque_xattr(self.privileged), b"y")
        elif wh.target is not None:
            target = wh.target
            self._place(parent, target,
                        lambda pfd: os.mknod(target, stat.S_IFCHR, 0, dir_fd=pfd))

    # -- metadata -----------------------------------------------------------

    def _own(self, m: tarfile.TarInfo, fd: int | None = None, at: tuple | None = None) -> None:
        if not self.privileged:
            if fd is not None and (m.uid, m.gid) != (0, 0):
                _record_owner(fd, m)
            return
        if not (0 <= m.uid <= _MAX_ID and 0 <= m.gid <= _MAX_ID):
            raise UnsafeLayerEntry(f"layer entry {_shown(m.name)} has an invalid owner "
                                   f"{m.uid}:{m.gid}")
        if fd is not None:
            os.fchown(fd, m.uid, m.gid)
        else:
            pfd, name = at
            os.chown(name, m.uid, m.gid, dir_fd=pfd, follow_symlinks=False)

    def _meta_at(self, parent: str, name: str, m: tarfile.TarInfo, chmod: bool = False) -> None:
        """Owner, mode, xattrs and times of an entry we cannot open (symlink,
        device, FIFO), by name in its parent, never following a symlink."""
        pfd = self.tree.dir(parent)
        self._own(m, at=(pfd, name))
        if chmod:  # a node we just made with mknodat: not a symlink
            os.chmod(name, m.mode & 0o7777, dir_fd=pfd)
        if _xattrs_of(m, self.privileged):
            # No *at() form of lsetxattr: name the entry through our
            # descriptor of its parent; the last component is not followed.
            self._xattrs(m, f"/proc/self/fd/{pfd}/{name}")
        os.utime(name, ns=_times(m), dir_fd=pfd, follow_symlinks=False)

    def _xattrs(self, m: tarfile.TarInfo, target: int | str) -> None:
        for key, value in _xattrs_of(m, self.privileged):
            try:
                if isinstance(target, int):
                    os.setxattr(target, key, value)
                else:
                    os.setxattr(target, key, value, follow_symlinks=False)
            except OSError as e:
                # As Docker does: a filesystem without xattrs (or this one)
                # loses them rather than failing the pull.
                if e.errno not in (errno.ENOTSUP, errno.EPERM):
                    raise

    def finish(self) -> None:
        """Directory modes and mtimes, now that nothing more goes into them."""
        for path, ino, mode, mtime in self._dirs:
            try:
                self._finish_dir(path, ino, mode, mtime)
            except OSError as e:
                raise _entry_error(path or ".", e) from None

    def _finish_dir(self, path: str, ino: int, mode: int, mtime: float) -> None:
        try:
            fd = self.tree.dir(path, create=False)
        except OSError:
            return  # replaced by a later entry
        if os.fstat(fd).st_ino != ino:
            return  # another directory took its place
        os.fchmod(fd, mode)
        os.utime(fd, ns=_times_ns(mtime))


def _record_owner(fd: int, m: tarfile.TarInfo) -> None:
    """Unprivileged, an entry cannot be given its tar owner (chown(2): EPERM),
    so the container shows it as root; keep the owner as "uid:gid:mode"
    (octal) in OWNER_XATTR, the form of fuse-overlayfs's
    user.fuseoverlayfs.override_stat (runtime/rootless.py says why). Only
    regular files and directories take user.* xattrs (xattr(7))."""
    value = f"{m.uid}:{m.gid}:{m.mode & 0o7777:o}".encode()
    try:
        os.setxattr(fd, OWNER_XATTR, value)
    except OSError as e:
        if e.errno not in (errno.ENOTSUP, errno.EPERM):
            raise


def _member_data(tar: tarfile.TarFile, m: tarfile.TarInfo) -> Iterator[bytes]:
    """The content of `m`, the member just read, in chunks; stops early only
    at the end of the stream."""
    if m.issparse():  # needs tarfile's sparse map
        src = tar.extractfile(m)
        while chunk := src.read(CHUNK):
            yield chunk
        return
    stream = tar.fileobj  # in stream mode: positioned at m's data
    remaining = m.size
    while remaining:
        chunk = stream.read(min(remaining, CHUNK))
        if not chunk:
            return
        remaining -= len(chunk)
        yield chunk


def _xattrs_of(m: tarfile.TarInfo, privileged: bool) -> list[tuple[str, bytes]]:
    """SCHILY.xattr.* PAX records worth restoring. overlayfs's own xattrs
    (whiteouts.is_reserved_xattr) are never taken from a layer: overlayfs
    would obey them on a lowerdir (we set opaque ourselves); trusted.* needs
    privilege."""
    out = []
    for key, value in m.pax_headers.items():
        if not key.startswith(_XATTR_PREFIX):
            continue
        name = key[len(_XATTR_PREFIX):]
        if whiteouts.is_reserved_xattr(name) or (name.startswith("trusted.")
                                                 and not privileged):
            continue
        # tarfile decoded the value as UTF-8 with surrogateescape: undo it.
        out.append((name, value.encode("utf-8", "surrogateescape")))
    return out


def _times(m: tarfile.TarInfo) -> tuple[int, int]:
    return _times_ns(m.mtime)


def _times_ns(mtime: float) -> tuple[int, int]:
    # atime = mtime, as Docker does when the header has no later atime.
    ns = min(max(int(mtime * 1_000_000_000), 0), 2**63 - 1)
    return ns, ns


def _shown(name: str) -> str:
    return repr(name if len(name) <= 120 else name[:120] + "...")


def _link_outside(m: tarfile.TarInfo) -> UnsafeLayerEntry:
    return UnsafeLayerEntry(f"layer entry {_shown(m.name)} is a hard link to "
                            f"{_shown(m.linkname)}, which is not in the layer")


def _entry_error(name: str, e: OSError) -> RsDockerError:
    why = (e.strerror or str(e)).lower()
    if e.errno in _STORE_ERRNOS:
        return StoreError(f"unpack {_shown(name)}: {why}")
    return UnsafeLayerEntry(f"layer entry {_shown(name)}: {why}")
