"""Layer blobs to tar streams: gzip, zstd or plain, read strictly forward.

Compression is recognised by its magic bytes, as containerd's
pkg/archive/compression.DecompressStream and Docker's do, because registries
and tools mislabel layers; the media type must still name a layer we know.
"""

from __future__ import annotations

import io
from typing import BinaryIO

from rs_docker.errors import RsDockerError, UnsafeLayerEntry, UnsupportedManifest
from rs_docker.models.digest import Digest

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"  # RFC 8878 section 3.1.1
# Compressions Docker once accepted that no current image uses.
_OTHER_MAGIC = {b"BZh": "bzip2", b"\xfd7zXZ\x00": "xz"}

LAYER_MEDIA_TYPES = frozenset({
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd",
    "application/vnd.oci.image.layer.nondistributable.v1.tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
    "application/vnd.docker.image.rootfs.diff.tar",
    "application/vnd.docker.image.rootfs.diff.tar.gzip",
    "application/vnd.docker.image.rootfs.diff.tar.zstd",
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
})
# Types that say nothing about the content: sniff it.
GENERIC_MEDIA_TYPES = frozenset({"", "application/octet-stream", "application/x-tar"})

_MAGIC_LEN = 6
# Decompressed bytes handed over per read; large reads keep Python overhead low.
BLOCK = 1 << 20


def open_decompressed(fileobj: BinaryIO, media_type: str | None) -> BinaryIO:
    """A binary stream of the layer's tar, read forward only from `fileobj`.
    Close it when done (the gzip reader runs a decompression thread).
    UnsupportedManifest for a media type or compression we do not handle;
    reading it raises UnsafeLayerEntry for corrupt compressed data, and
    whatever `fileobj` raises (network, digest errors) as it was."""
    media_type = (media_type or "").split(";")[0].strip()
    if media_type not in LAYER_MEDIA_TYPES and media_type not in GENERIC_MEDIA_TYPES:
        raise UnsupportedManifest(f"unsupported layer media type {media_type!r}")
    head = _read_exactly(fileobj, _MAGIC_LEN)
    source = _Prefixed(head, fileobj)
    for magic, name in _OTHER_MAGIC.items():
        if head.startswith(magic):
            raise UnsupportedManifest(f"unsupported layer compression {name} "
                                      f"(media type {media_type or 'unknown'})")
    if head.startswith(GZIP_MAGIC):
        return _Checked(_gunzip(source), source, "gzip")
    if head.startswith(ZSTD_MAGIC):
        return _Checked(_unzstd(source), source, "zstd")
    return io.BufferedReader(source, BLOCK)


def _gunzip(stream: BinaryIO) -> BinaryIO:
    try:
        # ISA-L in a background thread: inflating overlaps with writing files,
        # and the thread runs without the GIL while inflating.
        from isal import igzip_threaded

        return igzip_threaded.open(stream, "rb", threads=1, block_size=BLOCK)
    except ImportError:
        import gzip

        return io.BufferedReader(gzip.GzipFile(fileobj=stream, mode="rb"), BLOCK)


def _unzstd(stream: BinaryIO) -> BinaryIO:
    import zstandard

    # read_across_frames: a layer may hold several frames (zstd:chunked does).
    # The decompressor's default window limit (128 MiB) bounds memory use.
    reader = zstandard.ZstdDecompressor().stream_reader(stream, read_size=BLOCK,
                                                        read_across_frames=True)
    return io.BufferedReader(reader, BLOCK)


def _read_exactly(fileobj: BinaryIO, n: int) -> bytes:
    out = b""
    while len(out) < n:
        chunk = fileobj.read(n - len(out))
        if not chunk:
            break
        out += chunk
    return out


class _Prefixed(io.RawIOBase):
    """`head` (already read to sniff the magic) followed by the rest of `raw`."""

    def __init__(self, head: bytes, raw: BinaryIO):
        self._head = head
        self._raw = raw
        self.failure: BaseException | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        try:
            return self._readinto(b)
        except BaseException as e:
            self.failure = e  # the source's own error, not corrupt compression
            raise

    def _readinto(self, b) -> int:
        if self._head:
            n = min(len(b), len(self._head))
            b[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._raw.read(len(b))
        if not data:
            return 0
        n = len(data)
        b[:n] = data
        return n


class _Checked(io.RawIOBase):
    """A decompressing stream whose errors say "corrupt layer" in one line —
    unless the source itself failed, whose error passes through unchanged."""

    def __init__(self, inner: BinaryIO, source: _Prefixed, kind: str):
        self._inner = inner
        self._source = source
        self._kind = kind

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        try:
            return self._inner.read(n)
        except RsDockerError:
            raise
        except Exception as e:
            if self._source.failure is not None:
                raise
            raise UnsafeLayerEntry(f"corrupt {self._kind} layer data: {e}") from None

    def readinto(self, b) -> int:
        data = self.read(len(b))
        b[:len(data)] = data
        return len(data)

    def close(self) -> None:
        self._inner.close()
        super().close()


class DigestingReader(io.RawIOBase):
    """Passes reads through while hashing them: wrap the decompressed stream
    to check a layer's DiffID (the digest of its uncompressed tar) once unpack
    has read it to the end."""

    def __init__(self, raw: BinaryIO, algorithm: str = "sha256"):
        import hashlib

        self._raw = raw
        self._algorithm = algorithm
        self._hasher = hashlib.new(algorithm)
        self.size = 0

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        data = self._raw.read(n)
        self._hasher.update(data)
        self.size += len(data)
        return data

    def readinto(self, b) -> int:
        data = self.read(len(b))
        b[:len(data)] = data
        return len(data)

    def digest(self) -> Digest:
        return Digest(self._algorithm, self._hasher.hexdigest())
