"""Uploads to a registry: blobs and manifests (distribution spec api.md,
"Pushing An Image": existing layers, starting an upload, monolithic and
chunked uploads, completed upload, pushing an image manifest).

A blob is streamed from its file in the content store, never read whole:
one PUT with Content-Length (monolithic), or PATCH chunks of a bounded size
and an empty closing PUT. The upload URL is whatever Location the registry
answers, resolved against the request (it may be relative) with its query
kept (distribution keeps its upload state there: `_state=...`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from urllib.parse import urljoin

from rs_docker.errors import AuthError, DigestMismatch, RegistryError
from rs_docker.models.digest import Digest
from rs_docker.registry.auth import push_scope
from rs_docker.registry.client import _registry_error

# Read and sent in pieces of this size: small enough to report progress
# often, large enough that a layer is not thousands of tiny writes.
PIECE = 1024 * 1024
OCTET_STREAM = "application/octet-stream"


class FileBody:
    """A part of a file as an HTTP body: requests sends len() as
    Content-Length and urllib3 iterates it (urllib3 util/request.py
    body_to_chunks), so the blob is never whole in memory. Each iteration
    reopens the file: a retried or redirected request sends it again."""

    __slots__ = ("path", "offset", "length", "on_sent")

    def __init__(self, path: str | os.PathLike, offset: int, length: int,
                 on_sent: Callable[[int], None] | None = None):
        self.path, self.offset, self.length, self.on_sent = path, offset, length, on_sent

    def __len__(self) -> int:
        return self.length

    def __iter__(self) -> Iterator[bytes]:
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            sent = 0
            while sent < self.length:
                piece = f.read(min(PIECE, self.length - sent))
                if not piece:
                    raise RegistryError(f"{self.path}: file shrank during the upload")
                sent += len(piece)
                yield piece
                if self.on_sent:
                    self.on_sent(sent)


class Uploader:
    """Uploads into one repository of the client's registry. Thread-safe as
    the client is: layers are uploaded in parallel."""

    def __init__(self, client, repository: str):
        self.client, self.repository = client, repository
        self.scope = push_scope(repository)
        self.display = f"{client.domain}/{repository}"
        # Docker's words for a push the registry refuses.
        self.denied = f"push to {self.display} denied: requested access to the resource is denied"

    def _send(self, method: str, path: str, **kw):
        resp = self.client._send(method, path, self.scope, self.denied, **kw)
        if resp.status_code == 403:
            resp.close()
            raise AuthError(self.denied)
        return resp

    def exists(self, digest: Digest) -> bool:
        """HEAD the blob: already in the repository (skip the upload)?"""
        resp = self._send("HEAD", f"/v2/{self.repository}/blobs/{digest}")
        resp.close()
        if resp.status_code in (200, 404):
            return resp.status_code == 200
        raise self._failed(resp, f"check blob {digest} in {self.display}")

    def upload(self, digest: Digest, path: str | os.PathLike, size: int,
               on_sent: Callable[[int], None] | None = None,
               chunk_size: int | None = None) -> None:
        """Upload the blob stored at `path` as `digest`: monolithic by default,
        in PATCH chunks of `chunk_size` bytes when given."""
        location = self._start(digest)
        done = 0
        if chunk_size:
            while done < size:
                length = min(chunk_size, size - done)
                location = self._patch(location, path, done, length, on_sent)
                done += length
        # An empty closing PUT goes as b"": requests sends an empty stream chunked.
        body = FileBody(path, done, size - done,
                        (lambda n: on_sent(done + n)) if on_sent else None) \
            if size > done else b""
        resp = self._send("PUT", location, params={"digest": str(digest)},
                          headers={"Content-Type": OCTET_STREAM,
                                   "Content-Length": str(size - done)},
                          data=lambda: body)
        with resp:
            if resp.status_code != 201:
                raise self._failed(resp, f"upload blob {digest} to {self.display}")

    def _start(self, digest: Digest) -> str:
        """POST .../blobs/uploads/: the upload URL (202 + Location)."""
        url = f"{self.client.origin}/v2/{self.repository}/blobs/uploads/"
        resp = self._send("POST", url, headers={"Content-Length": "0"})
        with resp:
            if resp.status_code != 202 or not resp.headers.get("Location"):
                raise self._failed(resp, f"start the upload of {digest} to {self.display}")
            return urljoin(resp.url or url, resp.headers["Location"])

    def _patch(self, location: str, path, offset: int, length: int, on_sent) -> str:
        # Content-Range is "<start>-<end>", inclusive (api.md "Chunked Upload").
        body = FileBody(path, offset, length,
                        (lambda n: on_sent(offset + n)) if on_sent else None)
        resp = self._send("PATCH", location, data=lambda: body,
                          headers={"Content-Type": OCTET_STREAM, "Content-Length": str(length),
                                   "Content-Range": f"{offset}-{offset + length - 1}"})
        with resp:
            if resp.status_code != 202 or not resp.headers.get("Location"):
                raise self._failed(resp, f"upload a chunk at {offset} to {self.display}")
            return urljoin(resp.url or location, resp.headers["Location"])

    def put_manifest(self, selector: str, data: bytes, media_type: str) -> Digest:
        """PUT the manifest bytes as they are under a tag (or digest); their
        digest, checked against the registry's Docker-Content-Digest."""
        digest = Digest.sha256_of(data)
        resp = self._send("PUT", f"/v2/{self.repository}/manifests/{selector}", data=data,
                          headers={"Content-Type": media_type})
        with resp:
            if resp.status_code != 201:
                raise self._failed(resp, f"push manifest {self.display}:{selector}")
            claimed = resp.headers.get("Docker-Content-Digest")
        if claimed and claimed != str(digest):
            raise DigestMismatch(f"push manifest {self.display}:{selector}: the registry "
                                 f"stored {claimed}, not {digest}")
        return digest

    def _failed(self, resp, what: str) -> RegistryError:
        """The error for an unexpected upload answer, with the registry's code."""
        detail = _registry_error(self.client.transport, resp)
        if "digest_invalid" in detail:
            return DigestMismatch(f"{what}: the registry computed another digest ({detail})")
        return RegistryError(f"{what}: registry answered {resp.status_code}"
                             + (f": {detail}" if detail else ""))
