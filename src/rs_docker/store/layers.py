"""Unpacked layers by chain ID: layers/<hex>/, each an overlay lowerdir.

A layer is unpacked into a locked temp dir under tmp/ and renamed into place
in one step, so a half-unpacked layer is never visible (DESIGN.md
"Storage"); deletion renames it back into tmp/ before removing it, so a
reader sees the whole layer or none. Durability is against a killed
process, not power loss: like containerd's overlay snapshotter we do not
fsync every unpacked file.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat

from rs_docker.context import Context
from rs_docker.errors import DigestMismatch
from rs_docker.models.digest import Digest
from rs_docker.store.atomic import fsync_dir, store_error, temp_dir

# `run` only asks for layer paths: store.locks and store.rmtree are
# imported where layers are locked or deleted, not here.
TYPE_CHECKING = False  # not typing's: typing stays off the run path (docs/ARCHITECTURE.md)
if TYPE_CHECKING:
    from collections.abc import Iterator


class LayerStore:
    """Unpacked layer trees under ctx.layers_dir, named by chain ID."""

    def __init__(self, ctx: Context):
        self.ctx = ctx

    def path(self, chain_id: Digest) -> str:
        return os.path.join(self.ctx.layers_dir, chain_id.hex)

    def has(self, chain_id: Digest) -> bool:
        return os.path.isdir(self.path(chain_id))

    def lock(self, chain_id: Digest):
        """Exclusive lock on one chain ID: unpack it once across processes.
        Its lock file is removed on release (store.locks: transient)."""
        from rs_docker.store.locks import file_lock

        return file_lock(os.path.join(self.ctx.locks_dir, f"layer-{chain_id.hex}.lock"),
                         transient=True)

    def create(self, chain_id: Digest) -> _Create:
        """`with layers.create(cid) as tmp: unpack(stream, tmp)` (tmp a str
        path): on a clean exit tmp becomes layers/<hex> atomically (or is
        dropped if the layer appeared meanwhile); on an exception it is removed."""
        return _Create(self, chain_id)

    def _commit(self, tmp: str, chain_id: Digest) -> None:
        final = self.path(chain_id)
        if os.path.exists(final):
            return
        try:
            parent = os.path.dirname(final)
            os.makedirs(parent, 0o700, exist_ok=True)
            os.rename(tmp, final)
            fsync_dir(parent)
        except OSError as e:
            # rename(2) refuses to replace a non-empty dir: another process
            # won the race, and its layer is as good as ours.
            if e.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                raise store_error("commit layer", final, e) from e

    def delete(self, chain_id: Digest) -> None:
        """Remove a layer: rename it into tmp/ (atomic), then remove it there.
        The dir stays flock()ed while removed, so sweep_tmp leaves it alone."""
        from rs_docker.store.rmtree import rmtree

        final = self.path(chain_id)
        try:
            fd = os.open(final, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except FileNotFoundError:
            return
        except OSError as e:
            raise store_error("delete layer", final, e) from e
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.makedirs(self.ctx.tmp_dir, 0o700, exist_ok=True)
            doomed = os.path.join(self.ctx.tmp_dir,
                                  f"deleting-{chain_id.hex[:16]}-{os.getpid()}-{fd}")
            os.rename(final, doomed)
            rmtree(doomed, missing_ok=True)
        except FileNotFoundError:
            pass  # removed by someone else meanwhile
        except OSError as e:
            raise store_error("delete layer", final, e) from e
        finally:
            os.close(fd)

    def chain_ids(self) -> Iterator[Digest]:
        top = self.ctx.layers_dir
        for name in sorted(os.listdir(top)) if os.path.isdir(top) else ():
            try:
                yield Digest.parse(f"sha256:{name}")
            except DigestMismatch:
                continue

    def size(self, chain_id: Digest | None = None) -> int:
        """Apparent size in bytes of one layer's files (or of every layer),
        counting each hardlinked inode once — what `docker images` adds up."""
        roots = [self.path(chain_id)] if chain_id else [self.path(c) for c in self.chain_ids()]
        seen: set[tuple[int, int]] = set()
        return sum(_tree_size(r, seen) for r in roots)


class _Create:
    """The `with` block of LayerStore.create: a locked temp dir, renamed into
    layers/ on a clean exit, removed in any case unless renamed. A class
    rather than @contextmanager: contextlib stays off the run path
    (docs/ARCHITECTURE.md, Start-up rules)."""

    def __init__(self, layers: LayerStore, chain_id: Digest):
        self._layers, self._chain_id = layers, chain_id

    def __enter__(self) -> str:
        self._temp = temp_dir(self._layers.ctx.tmp_dir, f"layer-{self._chain_id.hex[:16]}")
        self._tmp, _fd = self._temp.__enter__()
        return self._tmp

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                self._layers._commit(self._tmp, self._chain_id)
        finally:
            self._temp.__exit__(exc_type, exc, tb)


def _tree_size(root: str, seen: set[tuple[int, int]]) -> int:
    total = 0
    stack = [root]
    while stack:
        try:
            entries = os.scandir(stack.pop())
        except (FileNotFoundError, NotADirectoryError):
            continue
        with entries:
            for e in entries:
                st = e.stat(follow_symlinks=False)
                if stat.S_ISDIR(st.st_mode):
                    stack.append(e.path)
                elif (st.st_dev, st.st_ino) not in seen:
                    seen.add((st.st_dev, st.st_ino))
                    total += st.st_size
    return total
