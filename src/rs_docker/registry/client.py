"""A Distribution API client (distribution spec: /v2/ ping, manifests, blobs)
with Docker's authentication flow: ping, WWW-Authenticate challenge, Bearer
token per scope (cached, renewed on 401) or Basic.

Everything the registry sends is hostile: manifests and configs are capped
and verified against their digests, blobs are streamed with a size cap (the
caller hashes them into the content store), and every body is read through
Transport.body, which aborts a transfer that stalls (registry/stall.py).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from pathlib import Path

from rs_docker.errors import AuthError, DigestMismatch, ManifestUnknown, RegistryError
from rs_docker.models.digest import Digest
from rs_docker.models.manifest import ACCEPT, MAX_MANIFEST_SIZE, SCHEMA1, UnsupportedManifest
from rs_docker.models.manifest import parse as parse_manifest
from rs_docker.models.reference import DEFAULT_DOMAIN, DOCKER_HUB_REGISTRY
from rs_docker.registry import credentials
from rs_docker.registry.auth import (
    Challenge,
    Credentials,
    Token,
    basic_header,
    parse_challenges,
    parse_token_response,
    pick_challenge,
    pull_scope,
    token_params,
)
from rs_docker.registry.stall import StallLimit
from rs_docker.registry.transport import (
    DEFAULT_RETRY,
    RetryPolicy,
    Transport,
    base_url,
    safe_url,
)
from rs_docker.values import record

# A broken blob download is resumed (Range request) this many times.
BLOB_RESUMES = 5
_UNSET = object()


@record
class FetchedManifest:
    data: bytes
    content_type: str | None
    digest: Digest                   # computed from `data`, never taken from a header


class RegistryClient:
    """One registry (by reference domain: "docker.io", "127.0.0.1:5000").
    Thread-safe for parallel blob downloads."""

    def __init__(self, ctx, domain: str, retry: RetryPolicy = DEFAULT_RETRY):
        self.domain = domain
        self.host = DOCKER_HUB_REGISTRY if domain == DEFAULT_DOMAIN else domain
        self.origin = base_url(self.host, ctx.insecure_registries)
        self.transport = Transport(self.origin, retry, stall=StallLimit.of(ctx))
        self._config_path = Path(ctx.docker_config)
        self._creds = _UNSET
        self._challenge: Challenge | None = None
        self._pinged = False
        self._tokens: dict[str, Token] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        self.transport.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- authentication ---------------------------------------------------

    def credentials(self) -> Credentials | None:
        if self._creds is _UNSET:
            self._creds = credentials.load(self._config_path, self.domain)
        return self._creds

    def ping(self) -> None:
        """GET /v2/: learn whether and how the registry wants authentication."""
        resp = self.transport.request("GET", f"{self.origin}/v2/")
        self.transport.discard(resp, f"GET {self.origin}/v2/")
        if resp.status_code == 401:
            self._challenge = pick_challenge(
                parse_challenges(resp.headers.get("WWW-Authenticate", "")))
        elif resp.status_code != 200:
            raise RegistryError(f"{self.host} is not a registry: GET /v2/ answered "
                                f"{resp.status_code}")
        self._pinged = True

    def check_credentials(self, creds: Credentials) -> None:
        """Authenticate with `creds` (what `docker login` checks); AuthError
        when the registry or its token endpoint refuses them."""
        self._creds = creds
        self.ping()
        if self._challenge is None:
            return
        if self._challenge.scheme == "basic":
            resp = self.transport.request("GET", f"{self.origin}/v2/", auth=basic_header(creds))
            self.transport.discard(resp, f"GET {self.origin}/v2/")
            if resp.status_code == 401:
                raise AuthError(f"{self.host}: unauthorized: incorrect username or password")
            return
        try:
            self._fetch_token(self._challenge, "")
        except AuthError as e:
            raise AuthError(e.message) from None   # its hint is about saved credentials

    def _authorization(self, scope: str, renew: bool = False) -> str | None:
        with self._lock:
            challenge = self._challenge
            if challenge is None:
                return None
            if challenge.scheme == "basic":
                creds = self.credentials()
                if creds is None:
                    raise AuthError(f"{self.host}: authentication required",
                                    hint=f"rs-docker login {self.domain}")
                return basic_header(creds)
            token = self._tokens.get(scope)
            if token is None or renew or not token.valid():
                token = self._fetch_token(challenge, scope)
                self._tokens[scope] = token
            return f"Bearer {token.value}"

    def _fetch_token(self, challenge: Challenge, scope: str) -> Token:
        creds = self.credentials()
        basic = (creds.username, creds.password) if creds else None
        if not challenge.realm.startswith(("https://", "http://")):
            raise AuthError(f"{self.host}: invalid token realm {challenge.realm!r}")
        resp = self.transport.request("GET", challenge.realm, params=token_params(challenge, scope),
                                      basic=basic)
        with resp:
            if resp.status_code in (401, 403):
                if creds:
                    raise AuthError(f"{self.host}: unauthorized: incorrect username or password",
                                    hint=f"check the credentials for {self.domain} in "
                                         f"{self._config_path}")
                raise AuthError(f"{self.host}: authentication required",
                                hint=f"rs-docker login {self.domain}")
            if resp.status_code != 200:
                raise AuthError(f"{self.host}: token endpoint answered {resp.status_code}")
            try:
                body = _json(_read_capped(self.transport, resp, 1024 * 1024,
                                          f"token response from {_host_of(challenge.realm)}"))
            except UnsupportedManifest as e:
                raise AuthError(f"{self.host}: {e}") from None
        return parse_token_response(body)

    def _send(self, method: str, path: str, scope: str, denied: str, **kw):
        """A request with authentication: a 401 renews the token once. `path`
        is a path on the registry, or an absolute URL (an upload Location)."""
        if not self._pinged:
            self.ping()
        url = path if "://" in path else f"{self.origin}{path}"
        resp = self.transport.request(method, url, auth=self._authorization(scope), **kw)
        if resp.status_code != 401:
            return resp
        self.transport.discard(resp, f"{method} {safe_url(url)}")
        challenge = pick_challenge(parse_challenges(resp.headers.get("WWW-Authenticate", "")))
        if challenge is None:
            raise AuthError(f"{self.host}: unauthorized, and no usable authentication challenge")
        with self._lock:
            self._challenge = challenge
        resp = self.transport.request(method, url, auth=self._authorization(scope, renew=True),
                                      **kw)
        if resp.status_code == 401:
            resp.close()
            raise AuthError(denied, hint=f"rs-docker login {self.domain}")
        return resp

    # -- manifests --------------------------------------------------------

    def get_manifest(self, repository: str, selector: str, display: str | None = None
                     ) -> FetchedManifest:
        """GET a manifest or index by tag or digest; verified when by digest.
        `display` names the image in errors. Raises ManifestUnknown, AuthError..."""
        display = display or f"{self.domain}/{repository}:{selector}"
        resp = self._send("GET", f"/v2/{repository}/manifests/{selector}", pull_scope(repository),
                          _denied(self.domain, repository), headers={"Accept": ACCEPT})
        with resp:
            if resp.status_code == 404:
                raise ManifestUnknown(f"manifest unknown: {display} not found")
            _check_status(self.transport, resp, f"manifest {display}")
            data = _read_capped(self.transport, resp, MAX_MANIFEST_SIZE, f"manifest {display}")
        content_type = resp.headers.get("Content-Type")
        if (content_type or "").split(";")[0].strip() in SCHEMA1:
            # Signed schema1 digests cover the payload without its signatures,
            # so refuse it for what it is before any digest check.
            parse_manifest(data, content_type)
        digest = _verify_manifest(data, selector, resp.headers.get("Docker-Content-Digest"),
                                  display)
        return FetchedManifest(data, content_type, digest)

    # -- blobs ------------------------------------------------------------

    def get_blob(self, repository: str, digest: Digest, size: int,
                 max_size: int = MAX_MANIFEST_SIZE) -> bytes:
        """A small blob (a config) read whole, size-capped and verified."""
        if size > max_size:
            raise UnsupportedManifest(f"blob {digest} too large ({size} bytes)")
        data = b"".join(self.blob_chunks(repository, digest, size))
        _verify(data, digest, size)
        return data

    def blob_chunks(self, repository: str, digest: Digest, size: int,
                    offset: int = 0) -> Iterator[bytes]:
        """Stream a blob from `offset`; a broken transfer resumes with a Range
        request. Never yields more than `size` bytes in total; the caller
        checks the digest. Foreign layer `urls` are never used: blobs come
        from the registry only."""
        done, resumes = offset, 0
        while True:
            headers = {"Range": f"bytes={done}-"} if done else {}
            resp = self._send("GET", f"/v2/{repository}/blobs/{digest}", pull_scope(repository),
                              _denied(self.domain, repository), headers=headers)
            try:
                skip = self._start(resp, digest, done)
                for chunk in self.transport.body(resp, f"blob {digest}"):
                    if skip:
                        cut = min(skip, len(chunk))
                        chunk, skip = chunk[cut:], skip - cut
                    if not chunk:
                        continue
                    done += len(chunk)
                    if done > size:
                        raise DigestMismatch(f"blob {digest} is larger than its {size} bytes")
                    yield chunk
                if done == size:
                    return
                broken: Exception = RegistryError(f"blob {digest}: short read ({done}/{size})")
            except Exception as e:
                if not self.transport._retryable(e):
                    raise
                broken = e
            finally:
                resp.close()
            resumes += 1
            if resumes > BLOB_RESUMES:
                raise RegistryError(f"downloading blob {digest} failed: {broken}")

    def _start(self, resp, digest: Digest, offset: int) -> int:
        """Check a blob response; return how many bytes to skip (a server that
        ignores Range sends the whole blob again)."""
        if resp.status_code == 404:
            raise RegistryError(f"blob unknown: {digest} is not in the registry")
        if offset and resp.status_code == 206:
            start = resp.headers.get("Content-Range", "").removeprefix("bytes ").split("-")[0]
            if start != str(offset):
                raise RegistryError(f"blob {digest}: resumed at the wrong offset ({start})")
            return 0
        _check_status(self.transport, resp, f"blob {digest}")
        return offset


def _denied(domain: str, repository: str) -> str:
    # Docker's wording for a 401 after authenticating.
    name = repository.removeprefix("library/") if domain == DEFAULT_DOMAIN else \
        f"{domain}/{repository}"
    return (f"pull access denied for {name}, repository does not exist or may require "
            f"'docker login'")


def _check_status(transport: Transport, resp, what: str) -> None:
    if resp.status_code == 200:
        return
    if resp.status_code == 403:
        raise AuthError(f"{what}: access forbidden")
    detail = _registry_error(transport, resp)
    raise RegistryError(f"{what}: registry answered {resp.status_code}"
                        + (f": {detail}" if detail else ""))


def _registry_error(transport: Transport, resp) -> str:
    """The first message of a distribution error body, if any."""
    try:
        errors = _json(_read_capped(transport, resp, 64 * 1024, "error body")) \
            .get("errors") or []
        first = errors[0]
        return f"{first.get('code', '')}: {first.get('message', '')}".strip(": ").lower()
    except Exception:
        return ""


def _read_capped(transport: Transport, resp, limit: int, what: str) -> bytes:
    """The whole body of `resp` (`what`, named in errors), at most `limit`
    bytes, read under the transport's stall limit."""
    length = resp.headers.get("Content-Length")
    if length and length.isdigit() and int(length) > limit:
        raise UnsupportedManifest(f"{what} too large ({length} bytes, limit {limit})")
    out = bytearray()
    for chunk in transport.body(resp, what):
        out += chunk
        if len(out) > limit:
            raise UnsupportedManifest(f"{what} too large (over {limit} bytes)")
    return bytes(out)


def _host_of(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).netloc


def _json(data: bytes):
    """A JSON body from the registry or its token endpoint: a document
    nested past jsonio.MAX_DEPTH is refused, not a RecursionError."""
    from rs_docker import jsonio

    try:
        return jsonio.loads_any(data, max_depth=jsonio.MAX_DEPTH)
    except ValueError:
        raise UnsupportedManifest("invalid JSON from the registry") from None


def _verify(data: bytes, digest: Digest, size: int | None = None) -> None:
    if size is not None and len(data) != size:
        raise DigestMismatch(f"{digest}: size {len(data)} differs from the expected {size}")
    actual = hashlib.new(digest.algorithm, data).hexdigest()
    if actual != digest.hex:
        raise DigestMismatch(f"digest mismatch: expected {digest}, got {digest.algorithm}:{actual}")


def _verify_manifest(data: bytes, selector: str, header: str | None, display: str) -> Digest:
    """The manifest's own digest; equal to the selector when fetched by digest
    and to Docker-Content-Digest when the registry sends one."""
    computed = Digest.sha256_of(data)
    if ":" in selector:
        wanted = Digest.parse(selector)
        _verify(data, wanted)
        return wanted
    if header:
        try:
            claimed = Digest.parse(header)
        except DigestMismatch:
            raise DigestMismatch(f"manifest {display}: invalid Docker-Content-Digest") from None
        if claimed.algorithm == "sha256" and claimed != computed:
            raise DigestMismatch(f"manifest {display}: content does not match "
                                 f"Docker-Content-Digest {claimed}")
    return computed
