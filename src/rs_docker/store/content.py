"""Blobs by digest: blobs/<algorithm>/<hex>, written by ingest -> commit.

Paths are built only from a validated Digest, never from a registry string
(containerd plugins/content/local/store.go::blobPath). A blob becomes
visible only after its size and digest were checked, its data fsync()ed and
its temp file renamed into place (writer.go::Commit), so a reader — or a pull
killed half way — never sees a partial blob.
"""

from __future__ import annotations

import os

from rs_docker.context import Context
from rs_docker.errors import DigestMismatch, StoreError
from rs_docker.models.digest import Digest
from rs_docker.store.atomic import fsync_dir, store_error, temp_file, write_all

# `run` only reads a config blob: store.locks is imported where blobs are
# locked, not here.
TYPE_CHECKING = False  # not typing's: typing stays off the run path (docs/ARCHITECTURE.md)
if TYPE_CHECKING:
    from collections.abc import Iterator


class BlobWriter:
    """What `ContentStore.ingest` yields: write() chunks in order; `offset`
    is the number of bytes written so far (where a resumed download restarts)."""

    def __init__(self, fd: int, expected: Digest, size: int | None):
        self._fd = fd
        self._expected = expected
        self._size = size
        self._hasher = expected.hasher()
        self.offset = 0

    def write(self, chunk: bytes) -> int:
        n = len(chunk)
        if self._size is not None and self.offset + n > self._size:
            # Bound what a hostile registry can make us store: fail at the
            # first byte past the size the manifest promised.
            raise DigestMismatch(f"blob {self._expected}: more than the expected "
                                 f"{self._size} bytes received")
        self._hasher.update(chunk)
        try:
            write_all(self._fd, chunk)
        except OSError as e:
            raise store_error("write blob", self._expected, e) from e
        self.offset += n
        return n

    def verify(self) -> None:
        if self._size is not None and self.offset != self._size:
            raise DigestMismatch(f"blob {self._expected}: size {self.offset} does not match "
                                 f"the expected {self._size}")
        actual = Digest(self._expected.algorithm, self._hasher.hexdigest())
        if actual != self._expected:
            raise DigestMismatch(f"blob digest mismatch: expected {self._expected}, "
                                 f"got {actual}")


class ContentStore:
    """Content-addressed blobs under ctx.root/blobs."""

    def __init__(self, ctx: Context):
        self.ctx = ctx

    def path(self, d: Digest) -> str:
        return os.path.join(self.ctx.root, "blobs", d.algorithm, d.hex)

    def has(self, d: Digest) -> bool:
        return os.path.isfile(self.path(d))

    def read(self, d: Digest, max_size: int | None = None) -> bytes:
        """The blob's bytes, checked against `d` (a corrupt store is caught
        here, not trusted). StoreError if missing or larger than max_size."""
        path = self.path(d)
        try:
            with open(path, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                if max_size is not None and size > max_size:
                    raise StoreError(f"blob {d} is {size} bytes, more than the "
                                     f"{max_size} allowed")
                data = f.read()
        except FileNotFoundError:
            raise StoreError(f"blob {d} not found in the store") from None
        except OSError as e:
            raise store_error("read blob", path, e) from e
        actual = _digest_of(data, d.algorithm)
        if actual != d:
            raise DigestMismatch(f"blob {d} is corrupt in the store: its content is {actual}")
        return data

    def put(self, data: bytes, expected: Digest | None = None) -> Digest:
        """Store `data` (checked against `expected` when given); its digest."""
        actual = _digest_of(data, expected.algorithm if expected else "sha256")
        if expected is not None and actual != expected:
            raise DigestMismatch(f"blob digest mismatch: expected {expected}, got {actual}")
        with self.ingest(actual, len(data)) as w:
            w.write(data)
        return actual

    def ingest(self, expected: Digest, size: int | None = None) -> _Ingest:
        """Stream a blob in: `with store.ingest(d, size) as w: w.write(chunk)`.
        A clean exit verifies size and digest, then commits; an exception or a
        mismatch (DigestMismatch) discards everything written."""
        return _Ingest(self, expected, size)

    def _commit(self, tmp: str, fd: int, d: Digest) -> None:
        final = self.path(d)
        if os.path.exists(final):
            return  # someone committed it first: same bytes, nothing to do
        try:
            os.fsync(fd)  # made 0600 by temp_file: the store owner's alone (store.modes)
            parent = os.path.dirname(final)
            if not os.path.isdir(parent):
                # blobs/ and blobs/<algorithm>/ both 0700: makedirs gives its
                # mode to the last one only, the umask decides the others.
                os.makedirs(os.path.dirname(parent), 0o700, exist_ok=True)
                os.makedirs(parent, 0o700, exist_ok=True)
            os.rename(tmp, final)
            fsync_dir(parent)
        except OSError as e:
            raise store_error("commit blob", final, e) from e

    def delete(self, d: Digest) -> None:
        try:
            os.unlink(self.path(d))
        except FileNotFoundError:
            pass
        except OSError as e:
            raise store_error("delete blob", self.path(d), e) from e

    def digests(self) -> Iterator[Digest]:
        """Every blob in the store (names that are not digests are skipped)."""
        top = os.path.join(self.ctx.root, "blobs")
        for algorithm in sorted(os.listdir(top)) if os.path.isdir(top) else ():
            for name in os.listdir(os.path.join(top, algorithm)):
                try:
                    yield Digest.parse(f"{algorithm}:{name}")
                except DigestMismatch:
                    continue

    def lock(self, d: Digest):
        """Exclusive lock on one digest: take it, check has(), download only if
        still missing — concurrent pulls then fetch each blob once. Its lock
        file is removed on release (store.locks: transient)."""
        from rs_docker.store.locks import file_lock

        return file_lock(os.path.join(self.ctx.locks_dir, f"blob-{d.algorithm}-{d.hex}.lock"),
                         transient=True)


class _Ingest:
    """The `with` block of ContentStore.ingest: a temp file under tmp/ and its
    BlobWriter; on a clean exit verify, then commit; the temp file is removed
    whatever happens. A class rather than @contextmanager: contextlib stays
    off the run path (docs/ARCHITECTURE.md, Start-up rules)."""

    def __init__(self, store: ContentStore, expected: Digest, size: int | None):
        self._store, self._expected, self._size = store, expected, size

    def __enter__(self) -> BlobWriter:
        self._temp = temp_file(self._store.ctx.tmp_dir, f"ingest-{self._expected.hex[:16]}")
        self._tmp, self._fd = self._temp.__enter__()
        try:
            self._writer = BlobWriter(self._fd, self._expected, self._size)
        except BaseException:
            self._temp.__exit__(None, None, None)
            raise
        return self._writer

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                self._writer.verify()
                self._store._commit(self._tmp, self._fd, self._expected)
        finally:
            self._temp.__exit__(exc_type, exc, tb)


def _digest_of(data: bytes, algorithm: str) -> Digest:
    return Digest(algorithm, _whole_hash(algorithm)(data).hexdigest())


def _whole_hash(algorithm: str):
    """The hash constructor for data hashed whole (configs and manifests,
    at most 4 MiB): CPython's builtin sha2 module, because `import hashlib`
    loads OpenSSL's libcrypto, which `run` would pay to check one small
    image config (docs/ARCHITECTURE.md, Start-up rules). Streamed layers keep
    hashlib (Digest.hasher), faster on large data."""
    # CPython 3.11 names the modules _sha256/_sha512, 3.12+ _sha2. The 3.11
    # names go first: a failed import searches all of sys.path.
    builtin = None
    for name in ("_sha512" if algorithm == "sha512" else "_sha256", "_sha2"):
        try:
            builtin = __import__(name)
            break
        except ImportError:
            continue
    constructor = getattr(builtin, algorithm, None)
    if constructor is None:
        import hashlib

        return lambda data: hashlib.new(algorithm, data)
    return constructor
