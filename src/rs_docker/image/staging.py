"""Reading an image archive (`load`): the tar, as it streams by, into a
private staging directory under the store's tmp/.

The archive is hostile until checked. It is read forward only (tarfile
"r|*": a pipe works, and a gzip/bzip2/xz-compressed archive too, as
`docker load` accepts), so members can come in any order: each regular file
is copied to a staging file named by a counter — never by the member's name,
so no name can point outside the staging directory — and hashed on the way.
A member named blobs/<alg>/<hex> must hash to that digest or the load stops
right there. Names are still checked (no "..", no absolute path: moby's
loader refuses such breakouts too), extended headers and JSON files are
bounded, and only files, directories and links are accepted. Links
(old `docker save` used symlinks between layer dirs) are kept as aliases,
resolved lexically inside the archive, never on disk.
"""

from __future__ import annotations

import hashlib
import tarfile
from pathlib import Path
from typing import BinaryIO

from rs_docker.errors import DigestMismatch, InvalidArchive
from rs_docker.image.strict_tar import strict_tarinfo
from rs_docker.models.digest import Digest
from rs_docker.values import record

# The JSON documents of an archive (and manifests and configs) are capped
# like manifests: 4 MiB (containerd, the distribution registry).
MAX_JSON = 4 * 1024 * 1024
# Bounds what a hostile archive can make us keep in memory.
MAX_MEMBERS = 1 << 16
MAX_NAME = 4096                # PATH_MAX
MAX_LINK_HOPS = 16
CHUNK = 1 << 20
JSON_FILES = frozenset({"index.json", "manifest.json", "oci-layout", "repositories"})


@record
class Staged:
    """One regular file of the archive, copied into the staging directory."""

    path: Path
    digest: Digest                 # of its content (sha256 unless named by a sha512 digest)
    size: int


_ArchiveInfo = strict_tarinfo(lambda why: InvalidArchive(f"invalid image archive: {why}"))


def member_path(name: str) -> str:
    """The normalized path of an archive member ("./a//b" -> "a/b"); "" is
    the archive's root. InvalidArchive for an absolute path, "..", a NUL."""
    if len(name) > MAX_NAME or "\x00" in name:
        raise InvalidArchive(f"invalid image archive: bad member name {name[:64]!r}")
    if name.startswith("/"):
        raise InvalidArchive(f"invalid image archive: member {name[:120]!r} has an "
                             f"absolute path")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise InvalidArchive(f"invalid image archive: member {name[:120]!r} points outside "
                             f"the archive ('..')")
    return "/".join(parts)


def _symlink_target(name: str, target: str) -> str:
    """Where a symlink member points, as an archive path: relative to its
    directory, an absolute target from the archive's root; never above it."""
    parts = [] if target.startswith("/") else name.split("/")[:-1]
    for p in target.split("/"):
        if p in ("", "."):
            continue
        if p == "..":
            if not parts:
                raise InvalidArchive(f"invalid image archive: symlink {name!r} points "
                                     f"outside the archive ({target[:120]!r})")
            parts.pop()
        else:
            parts.append(p)
    return "/".join(parts)


def _named_digest(name: str) -> Digest | None:
    """The digest a member named blobs/<alg>/<hex> claims to have."""
    parts = name.split("/")
    if len(parts) != 3 or parts[0] != "blobs":
        return None
    try:
        return Digest.parse(f"{parts[1]}:{parts[2]}")
    except DigestMismatch:
        return None


class Stage:
    """The files of one archive, staged under `directory` (which the caller
    creates and removes: store.atomic.temp_dir)."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self.files: dict[str, Staged] = {}
        self.links: dict[str, str] = {}
        self._count = 0

    def read(self, stream: BinaryIO) -> None:
        """Stage every member of the tar read from `stream`."""
        try:
            with tarfile.open(fileobj=stream, mode="r|*", tarinfo=_ArchiveInfo,
                              bufsize=CHUNK) as tar:
                while (member := tar.next()) is not None:
                    self._count += 1
                    if self._count > MAX_MEMBERS:
                        raise InvalidArchive(f"invalid image archive: more than "
                                             f"{MAX_MEMBERS} members")
                    self._add(tar, member)
                    tar.members.clear()  # stream mode keeps every header otherwise
        except (tarfile.TarError, EOFError) as e:
            raise InvalidArchive(f"invalid image archive: {str(e).lower()}") from None

    def _add(self, tar: tarfile.TarFile, m: tarfile.TarInfo) -> None:
        name = member_path(m.name)
        if m.isdir():
            return
        if not name:
            raise InvalidArchive("invalid image archive: a member that is not a directory "
                                 "names the archive's root")
        if m.issym() or m.islnk():
            target = _symlink_target(name, m.linkname) if m.issym() else member_path(m.linkname)
            self.links[name] = target
            self.files.pop(name, None)
            return
        if not m.isreg():
            raise InvalidArchive(f"invalid image archive: member {name[:120]!r} is not a "
                                 f"regular file, directory or link")
        if name in JSON_FILES and m.size > MAX_JSON:
            raise InvalidArchive(f"invalid image archive: {name} is {m.size} bytes "
                                 f"(limit {MAX_JSON})")
        self.files[name] = self._stage(tar, m, name)
        self.links.pop(name, None)

    def _stage(self, tar: tarfile.TarFile, m: tarfile.TarInfo, name: str) -> Staged:
        claimed = _named_digest(name)
        hasher = claimed.hasher() if claimed else hashlib.sha256()
        path = self.directory / f"{self._count:06d}"
        src = tar.extractfile(m)
        with open(path, "xb") as out:
            while chunk := src.read(CHUNK):
                hasher.update(chunk)
                out.write(chunk)
        actual = Digest(claimed.algorithm if claimed else "sha256", hasher.hexdigest())
        if claimed is not None and actual != claimed:
            raise DigestMismatch(f"blob {claimed} in the archive does not match its digest: "
                                 f"its content is {actual}")
        return Staged(path, actual, m.size)

    # -- lookups, after read() ------------------------------------------------

    def get(self, name: str) -> Staged | None:
        """The staged file at archive path `name`, through links; None if absent."""
        for _ in range(MAX_LINK_HOPS):
            if name in self.files:
                return self.files[name]
            if name not in self.links:
                return None
            name = self.links[name]
        raise InvalidArchive(f"invalid image archive: too many levels of links at {name!r}")

    def path(self, text, what: str) -> Staged:
        """The file a manifest.json path names; InvalidArchive if missing."""
        if not isinstance(text, str) or not text:
            raise InvalidArchive(f"invalid image archive: {what} is not a path")
        staged = self.get(member_path(text))
        if staged is None:
            raise InvalidArchive(f"invalid image archive: {what} {text[:120]!r} is missing "
                                 f"from the archive")
        return staged

    def blob(self, d: Digest, size: int) -> Staged:
        """blobs/<alg>/<hex> for a descriptor, checked against its digest and size."""
        staged = self.get(f"blobs/{d.algorithm}/{d.hex}")
        if staged is None:
            raise InvalidArchive(f"invalid image archive: blob {d} is missing from the archive")
        if staged.digest != d:
            raise DigestMismatch(f"blob {d} in the archive does not match its digest: "
                                 f"its content is {staged.digest}")
        if staged.size != size:
            raise DigestMismatch(f"blob {d} in the archive is {staged.size} bytes, its "
                                 f"descriptor says {size}")
        return staged

    def small(self, staged: Staged, what: str) -> bytes:
        """The content of a JSON document (at most MAX_JSON bytes)."""
        if staged.size > MAX_JSON:
            raise InvalidArchive(f"invalid image archive: {what} is {staged.size} bytes "
                                 f"(limit {MAX_JSON})")
        return staged.path.read_bytes()
