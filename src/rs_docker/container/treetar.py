"""Tar streams of a tree reached through descriptors, and their extraction
into a tree reached the same way: what `cp` and `export` move.

Reading: the top entry is an O_PATH descriptor the caller resolved
(openat2 RESOLVE_IN_ROOT for a container path); everything below it is
opened relative to its parent's descriptor, one name at a time, with
O_NOFOLLOW, so a symlink inside the tree is archived as a symlink and never
followed, and a name swapped for a symlink meanwhile fails to open instead
of leading elsewhere. Regular files are opened O_NONBLOCK and checked to be
regular after the open (a FIFO swapped in cannot block the copy).

Writing: every entry's parent directory is looked up with openat2
RESOLVE_IN_ROOT under the given root descriptor, so symlinks are followed
as if chrooted there (Docker's chrootarchive); the entry itself is created
relative to that descriptor without following anything. A directory is
never replaced by a non-directory nor the reverse (Docker's
NoOverwriteDirNonDir). Names with ".." are refused.
"""

from __future__ import annotations

import errno
import os
import stat
import tarfile

from rs_docker.errors import RsDockerError
from rs_docker.linux.openat2 import O_PATH, openat2

CHUNK = 1 << 20
_DIR_OPEN = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_DIR_PATH = O_PATH | os.O_DIRECTORY
_FILE_OPEN = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


class CopyError(RsDockerError):
    """A `cp`/`export` entry that cannot be read or written."""


# -- reading -----------------------------------------------------------------------

class TreeWriter:
    """Adds trees to `tar`. `skip(arcname, stat)` -> True leaves an entry out
    (and, for a directory, everything below it). Owners and modes are kept;
    xattrs when `xattrs` (for layers: security.capability and the like)."""

    def __init__(self, tar: tarfile.TarFile, skip=None, xattrs: bool = False):
        self.tar = tar
        tar.copybufsize = CHUNK  # tarfile's default 16 KiB costs a syscall pair per 16 KiB
        self.skip = skip
        self.xattrs = xattrs
        self._links: dict[tuple[int, int], str] = {}

    def add_top(self, fd: int, arcname: str) -> None:
        """The object of the O_PATH descriptor `fd` (not closed) as `arcname`,
        a directory with everything below it."""
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            dfd = os.open(".", _DIR_OPEN, dir_fd=fd)
            self._tree(dfd, arcname, st)
        elif stat.S_ISREG(st.st_mode):
            # Reopened through our own descriptor: it names this inode, not a path.
            ffd = os.open(f"/proc/self/fd/{fd}", _FILE_OPEN & ~os.O_NOFOLLOW)
            self._file(ffd, arcname, st)
        else:
            target = os.readlink("", dir_fd=fd) if stat.S_ISLNK(st.st_mode) else ""
            self._other(arcname, st, target)

    def _tree(self, top_fd: int, top_name: str, top_st: os.stat_result) -> None:
        """A directory and what is below it, depth first; each directory's
        descriptor stays open only while its entries are listed."""
        if top_name and self._skipped(top_name, top_st):
            os.close(top_fd)
            return
        if top_name:  # "": a whole root, its entries named without a prefix
            self._header(self._info(top_name, top_st, tarfile.DIRTYPE), top_fd)
        stack = [(top_fd, top_name, _listing(top_fd))]
        while stack:
            dfd, prefix, names = stack[-1]
            if not names:
                os.close(dfd)
                stack.pop()
                continue
            name = names.pop()
            arcname = f"{prefix}/{name}" if prefix else name
            try:
                st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
            except FileNotFoundError:
                continue  # removed while we read: Docker's tar skips it too
            if self._skipped(arcname, st):
                continue
            if stat.S_ISDIR(st.st_mode):
                try:
                    child = os.open(name, _DIR_OPEN, dir_fd=dfd)
                except (FileNotFoundError, NotADirectoryError, OSError) as e:
                    if e.errno in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP):
                        continue  # swapped meanwhile: never followed
                    raise
                st = os.fstat(child)
                self._header(self._info(arcname, st, tarfile.DIRTYPE), child)
                stack.append((child, arcname, _listing(child)))
            elif stat.S_ISREG(st.st_mode):
                try:
                    ffd = os.open(name, _FILE_OPEN, dir_fd=dfd)
                except OSError as e:
                    if e.errno in (errno.ENOENT, errno.ELOOP, errno.ENXIO):
                        continue
                    raise
                self._file(ffd, arcname, os.fstat(ffd))
            elif stat.S_ISLNK(st.st_mode):
                try:
                    target = os.readlink(name, dir_fd=dfd)
                except OSError:
                    continue
                self._other(arcname, st, target)
            else:
                self._other(arcname, st, "")

    def _skipped(self, arcname: str, st: os.stat_result) -> bool:
        return self.skip is not None and self.skip(arcname, st)

    def _file(self, fd: int, arcname: str, st: os.stat_result) -> None:
        with os.fdopen(fd, "rb", buffering=0, closefd=True) as f:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                return  # swapped for something else: nothing to read
            key = (st.st_dev, st.st_ino)
            if st.st_nlink > 1 and key in self._links:
                info = self._info(arcname, st, tarfile.LNKTYPE)
                info.linkname = self._links[key]
                self._header(info, None)
                return
            if st.st_nlink > 1:
                self._links[key] = arcname
            info = self._info(arcname, st, tarfile.REGTYPE)
            info.size = st.st_size
            self._header(info, fd, _Exactly(f, st.st_size))

    def _other(self, arcname: str, st: os.stat_result, target: str) -> None:
        mode = st.st_mode
        kind = (tarfile.SYMTYPE if stat.S_ISLNK(mode) else
                tarfile.CHRTYPE if stat.S_ISCHR(mode) else
                tarfile.BLKTYPE if stat.S_ISBLK(mode) else
                tarfile.FIFOTYPE if stat.S_ISFIFO(mode) else None)
        if kind is None:
            return  # a socket: tar has no such entry (Docker skips them too)
        info = self._info(arcname, st, kind)
        info.linkname = target
        if kind in (tarfile.CHRTYPE, tarfile.BLKTYPE):
            info.devmajor, info.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
        self._header(info, None)

    def _info(self, arcname: str, st: os.stat_result, kind: bytes) -> tarfile.TarInfo:
        info = tarfile.TarInfo(arcname)
        info.type = kind
        info.mode = stat.S_IMODE(st.st_mode)
        info.uid, info.gid = st.st_uid, st.st_gid
        info.uname = info.gname = ""
        # Whole seconds, as Docker's archives hold them: a fractional mtime
        # would cost a PAX header per entry.
        info.mtime = int(st.st_mtime)
        return info

    def _header(self, info: tarfile.TarInfo, fd: int | None, data=None) -> None:
        if self.xattrs and fd is not None:
            info.pax_headers = {f"SCHILY.xattr.{k}": v.decode("utf-8", "surrogateescape")
                                for k, v in _xattrs(fd)}
        if data is None:
            info.size = 0
        self.tar.addfile(info, data)


class _Exactly:
    """A file read as exactly `size` bytes (the size in its header): a file
    that grows is cut, one that shrinks is padded with zeros, so the
    archive stays well-formed while a container writes to it."""

    def __init__(self, f, size: int):
        self._f, self._left = f, size

    def read(self, n: int = -1) -> bytes:
        n = self._left if n < 0 else min(n, self._left)
        data = self._f.read(n) if n else b""
        if len(data) < n:
            data += b"\0" * (n - len(data))
        self._left -= len(data)
        return data


def _listing(dfd: int) -> list[str]:
    """The names in a directory, in reverse order (popped in order)."""
    return sorted(os.listdir(dfd), reverse=True)


def _xattrs(fd: int) -> list[tuple[str, bytes]]:
    """The xattrs a layer keeps (not overlayfs's own)."""
    path = f"/proc/self/fd/{fd}"
    out = []
    try:
        names = os.listxattr(path)
    except OSError:
        return out
    for name in names:
        if ".overlay." in name:
            continue
        try:
            out.append((name, os.getxattr(path, name)))
        except OSError:
            continue
    return out


# -- writing -----------------------------------------------------------------------

class Extractor:
    """Writes archive entries under `base` (a path inside `root_fd`,
    "" for the root itself). `owner`: "archive" keeps the archive's
    uid/gid, "root" makes everything 0:0, None leaves this process's own.
    `rebase=(old, new)` renames the archive's top entry `old` to `new`."""

    def __init__(self, root_fd: int, base: str, owner: str | None = "archive",
                 rebase: tuple[str, str] | None = None):
        self.root_fd = root_fd
        self.base = base.strip("/")
        self.owner = owner
        self.rebase = rebase
        self._parent: tuple[str, int] | None = None
        self._dirs: list[tuple[str, str, tarfile.TarInfo]] = []

    def extract(self, stream) -> None:
        try:
            with tarfile.open(fileobj=stream, mode="r|*") as tar:
                for m in tar:
                    self._add(tar, m)
            self._finish_dirs()
        except tarfile.TarError as e:
            raise CopyError(f"invalid tar stream: {e}") from None
        finally:
            self._close_parent()

    def _names(self, name: str) -> list[str]:
        parts = [p for p in name.split("/") if p not in ("", ".")]
        if ".." in parts:
            raise CopyError(f"invalid tar entry {name!r}: it leaves the destination")
        if self.rebase and self.rebase[0] == ".":
            parts.insert(0, self.rebase[1])  # "./x" of a "DIR/." source
        elif parts and self.rebase and parts[0] == self.rebase[0]:
            parts[0] = self.rebase[1]
        return parts

    def _parent_fd(self, parts: list[str]) -> int:
        rel = "/".join([p for p in (self.base, *parts) if p]) or "."
        if self._parent and self._parent[0] == rel:
            return self._parent[1]
        self._close_parent()
        try:
            fd = openat2(self.root_fd, rel, _DIR_PATH | os.O_RDONLY)
        except FileNotFoundError:
            fd = self._make_parents(parts)
        except NotADirectoryError:
            raise CopyError(f"{'/'.join(parts)}: not a directory") from None
        self._parent = (rel, fd)
        return fd

    def _make_parents(self, parts: list[str]) -> int:
        """Create the missing parents of an entry (0755, root's or ours:
        Docker's implied directories), each looked up inside the root."""
        fd = openat2(self.root_fd, self.base or ".", _DIR_PATH | os.O_RDONLY)
        for i, p in enumerate(parts):
            rel = "/".join([x for x in (self.base, *parts[:i + 1]) if x])
            try:
                nxt = openat2(self.root_fd, rel, _DIR_PATH | os.O_RDONLY)
            except FileNotFoundError:
                try:
                    os.mkdir(p, 0o755, dir_fd=fd)
                    if self.owner is not None:
                        os.chown(p, 0, 0, dir_fd=fd, follow_symlinks=False)
                    nxt = openat2(self.root_fd, rel, _DIR_PATH | os.O_RDONLY)
                except OSError as e:
                    os.close(fd)
                    raise CopyError(f"{rel}: {os.strerror(e.errno).lower()}") from None
            except NotADirectoryError:
                os.close(fd)
                raise CopyError(f"{rel}: not a directory") from None
            os.close(fd)
            fd = nxt
        return fd

    def _close_parent(self) -> None:
        if self._parent:
            os.close(self._parent[1])
            self._parent = None

    def _add(self, tar: tarfile.TarFile, m: tarfile.TarInfo) -> None:
        parts = self._names(m.name)
        if not parts:
            return  # "." : the destination directory itself
        *dirs, name = parts
        pfd = self._parent_fd(dirs)
        try:
            existing = os.stat(name, dir_fd=pfd, follow_symlinks=False)
        except FileNotFoundError:
            existing = None
        shown = "/".join(parts)
        if m.isdir():
            if existing is not None and not stat.S_ISDIR(existing.st_mode):
                raise CopyError(f"cannot overwrite non-directory {shown!r} with directory")
            if existing is None:
                os.mkdir(name, 0o700, dir_fd=pfd)
            self._dirs.append((self._parent[0], name, m))
            return
        if existing is not None:
            if stat.S_ISDIR(existing.st_mode):
                raise CopyError(f"cannot overwrite directory {shown!r} with non-directory")
            os.unlink(name, dir_fd=pfd)
        if m.isreg():
            fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                         | os.O_CLOEXEC, 0o600, dir_fd=pfd)
            try:
                src = tar.extractfile(m)
                while chunk := src.read(CHUNK):
                    _write_all(fd, chunk)
                self._owner(m, fd=fd)
                os.fchmod(fd, m.mode & 0o7777)
                os.utime(fd, (m.mtime, m.mtime))
            finally:
                os.close(fd)
        elif m.issym():
            os.symlink(m.linkname, name, dir_fd=pfd)
            self._owner(m, at=(pfd, name))
            os.utime(name, (m.mtime, m.mtime), dir_fd=pfd, follow_symlinks=False)
        elif m.islnk():
            self._hardlink(m, pfd, name)
        elif m.ischr() or m.isblk() or m.isfifo():
            kind = stat.S_IFCHR if m.ischr() else stat.S_IFBLK if m.isblk() else stat.S_IFIFO
            os.mknod(name, kind | (m.mode & 0o7777), os.makedev(m.devmajor, m.devminor),
                     dir_fd=pfd)
            self._owner(m, at=(pfd, name))
            os.utime(name, (m.mtime, m.mtime), dir_fd=pfd, follow_symlinks=False)

    def _hardlink(self, m: tarfile.TarInfo, pfd: int, name: str) -> None:
        target = self._names(m.linkname)
        if not target:
            raise CopyError(f"invalid hard link {m.name!r}")
        rel = "/".join([p for p in (self.base, *target[:-1]) if p]) or "."
        try:
            tfd = openat2(self.root_fd, rel, _DIR_PATH | os.O_RDONLY)
        except OSError:
            raise CopyError(f"hard link {m.name!r}: {m.linkname!r} not found") from None
        try:
            os.link(target[-1], name, src_dir_fd=tfd, dst_dir_fd=pfd, follow_symlinks=False)
        finally:
            os.close(tfd)

    def _owner(self, m: tarfile.TarInfo, fd: int | None = None, at=None) -> None:
        if self.owner is None:
            return
        uid, gid = (m.uid, m.gid) if self.owner == "archive" else (0, 0)
        if fd is not None:
            os.fchown(fd, uid, gid)
        else:
            os.chown(at[1], uid, gid, dir_fd=at[0], follow_symlinks=False)

    def _finish_dirs(self) -> None:
        """Directories' owners, modes and times, deepest first: once their
        entries are in (writing an entry changes its directory's mtime)."""
        self._close_parent()
        for rel, name, m in reversed(self._dirs):
            try:
                pfd = openat2(self.root_fd, rel, _DIR_PATH | os.O_RDONLY)
            except OSError:
                continue
            try:
                fd = os.open(name, _DIR_OPEN, dir_fd=pfd)
            except OSError:
                os.close(pfd)
                continue
            try:
                self._owner(m, fd=fd)
                os.fchmod(fd, m.mode & 0o7777)
                os.utime(fd, (m.mtime, m.mtime))
            finally:
                os.close(fd)
                os.close(pfd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
