"""HTTP for the registry client: one requests.Session, retries with backoff,
manual redirects that keep the registry's Authorization on the registry,
timeouts on every request and stall detection on every body.

This module and client.py are the only ones that touch requests, and they
import it lazily, so commands that need no registry never load it.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable, Iterator
from urllib.parse import urljoin, urlsplit

from rs_docker.context import PULL_MIN_RATE, PULL_STALL_SECONDS
from rs_docker.errors import RegistryError, RegistryUnreachable
from rs_docker.registry.stall import StallLimit
from rs_docker.values import record

USER_AGENT = "rs-docker/0.1"
# A dead host fails fast. The read timeout (no byte at all: waiting for the
# headers, or silence inside a body) is the stall window: a silent window is
# below any minimum rate.
CONNECT_TIMEOUT = 10.0
DEFAULT_STALL = StallLimit(PULL_STALL_SECONDS, PULL_MIN_RATE)
# Bytes asked of one read1(): what is there is returned, not waited for.
READ_SIZE = 64 * 1024
# An unwanted body (a 401's, a redirect's) up to this size is read rather
# than dropped: its connection then serves the next request.
DRAIN_LIMIT = 64 * 1024
MAX_REDIRECTS = 5
# Retry-After can ask for anything; a pull should not sleep for an hour.
MAX_RETRY_AFTER = 30.0


@record
class RetryPolicy:
    """How often and how patiently to retry: connection errors, 5xx and 429."""

    attempts: int = 3
    backoff: float = 0.25            # seconds before the 2nd attempt, doubled after

    def delay(self, attempt: int) -> float:
        return self.backoff * (2 ** attempt)


DEFAULT_RETRY = RetryPolicy()


def is_loopback(host: str) -> bool:
    """localhost, 127.0.0.0/8 or ::1 (with or without a port)."""
    name = host
    if name.startswith("["):
        name = name[1:].split("]", 1)[0]
    elif name.count(":") == 1:
        name = name.split(":", 1)[0]
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def base_url(host: str, insecure: frozenset[str] | set[str] = frozenset()) -> str:
    """https://host, or http://host for loopback and --insecure-registry hosts
    (Docker treats 127.0.0.0/8 as insecure by default)."""
    plain = is_loopback(host) or host in insecure or host.split(":")[0] in insecure
    return f"{'http' if plain else 'https'}://{host}"


def same_origin(a: str, b: str) -> bool:
    ua, ub = urlsplit(a), urlsplit(b)
    return (ua.scheme, ua.hostname, ua.port) == (ub.scheme, ub.hostname, ub.port)


def retry_after(value: str | None, default: float) -> float:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date)."""
    if not value:
        return default
    try:
        return min(max(float(value), 0.0), MAX_RETRY_AFTER)
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return default
    return min(max(when - time.time(), 0.0), MAX_RETRY_AFTER)


class Transport:
    """One Session for one registry. `request` retries connection errors, 5xx
    and 429, follows redirects itself, and sends `auth` (an Authorization
    value) only to the registry's own origin. Every request has a connect
    and a read timeout; every body is read through `body`, which aborts a
    transfer slower than `stall` allows."""

    def __init__(self, origin: str, retry: RetryPolicy = DEFAULT_RETRY,
                 sleep: Callable[[float], None] = time.sleep,
                 stall: StallLimit = DEFAULT_STALL):
        import requests

        self.origin = origin
        self.retry = retry
        self.stall = stall
        self.timeout = (CONNECT_TIMEOUT, stall.seconds)
        self._sleep = sleep
        self._requests = requests
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT

    def close(self) -> None:
        self.session.close()

    def request(self, method: str, url: str, *, headers: dict | None = None,
                auth: str | None = None, params: dict | None = None,
                basic: tuple[str, str] | None = None, data=None):
        """Send with retries; returns the final requests.Response (any status
        except a retried 5xx/429 that kept failing, which is returned too),
        its body unread: read it with `body`, and close the response.
        `data` is bytes, or a callable returning a fresh body (a stream) for
        every attempt and redirect: a streamed upload cannot be re-read."""
        last_error: Exception | None = None
        wait = 0.0
        for attempt in range(self.retry.attempts):
            if attempt:
                self._sleep(wait)
            try:
                resp = self._follow(method, url, headers or {}, auth, params, basic, data)
            except self._requests.exceptions.RequestException as e:
                if not self._retryable(e):
                    raise RegistryError(f"{method} {safe_url(url)}: {_reason(e)}") from None
                last_error, wait = e, self.retry.delay(attempt)
                continue
            if resp.status_code == 429 or resp.status_code >= 500:
                if attempt + 1 < self.retry.attempts:
                    wait = retry_after(resp.headers.get("Retry-After"),
                                             self.retry.delay(attempt))
                    self.discard(resp, f"{method} {safe_url(url)}")
                    continue
            return resp
        raise RegistryUnreachable(f"cannot reach {safe_url(url)}: {self._why(last_error)}")

    def body(self, resp, what: str) -> Iterator[bytes]:
        """The body of `resp` as it arrives, in pieces of at most READ_SIZE.
        TransferStalled (naming `what`) when it is slower than the stall
        limit or silent for its whole window; a cut transfer raises what
        requests' iter_content would (ChunkedEncodingError: resumable)."""
        from urllib3 import exceptions as u3

        ex = self._requests.exceptions
        meter = self.stall.meter(what)
        while True:
            # read1, not read: read(n) waits for n bytes, during which a
            # trickle would go unseen; read1 returns what one recv got.
            try:
                chunk = resp.raw.read1(READ_SIZE, decode_content=True)
            except u3.ReadTimeoutError:
                raise meter.silent() from None
            except u3.ProtocolError as e:
                raise ex.ChunkedEncodingError(e) from e
            except u3.DecodeError as e:
                raise ex.ContentDecodingError(e) from e
            except u3.SSLError as e:
                raise ex.SSLError(e) from e
            if not chunk:
                return
            meter.add(len(chunk))
            yield chunk

    def discard(self, resp, what: str) -> None:
        """Close `resp`, its body unwanted. A body read to its end (when small,
        under the stall limit) hands the connection back to the pool for
        the next request; closing it unread would close the connection."""
        read = 0
        try:
            for chunk in self.body(resp, what):
                read += len(chunk)
                if read > DRAIN_LIMIT:
                    break
        except self._requests.exceptions.RequestException:
            pass                         # a broken body: its connection is closed below
        finally:
            resp.close()

    def _retryable(self, e: Exception) -> bool:
        ex = self._requests.exceptions
        return isinstance(e, ex.ConnectionError | ex.Timeout | ex.ChunkedEncodingError)

    def _why(self, e: Exception | None) -> str:
        if isinstance(e, self._requests.exceptions.ReadTimeout):
            return f"no answer in {self.stall.seconds:g} s"
        return _reason(e)

    def _follow(self, method, url, headers, auth, params, basic, data=None):
        for _ in range(MAX_REDIRECTS + 1):
            sent = dict(headers)
            # Never hand the registry's token to blob storage on another host.
            if auth and same_origin(url, self.origin):
                sent["Authorization"] = auth
            body = data() if callable(data) else data
            # stream=True: requests would read a body itself, with only the
            # read timeout (restarted by every byte) to bound it.
            resp = self.session.request(method, url, headers=sent, stream=True, params=params,
                                        auth=basic, timeout=self.timeout, allow_redirects=False,
                                        data=body)
            params = None                # the Location already carries the query
            if resp.status_code not in (301, 302, 303, 307, 308) or "Location" not in resp.headers:
                return resp
            self.discard(resp, f"{method} {safe_url(url)}")
            target = urljoin(url, resp.headers["Location"])
            if not same_origin(target, url):
                basic = None             # credentials stay with the host they were meant for
            url = target
            if resp.status_code == 303:
                method, data = "GET", None
        raise RegistryError(f"{method} {safe_url(url)}: too many redirects")


def safe_url(url: str) -> str:
    """A URL without its query string (pre-signed blob URLs carry secrets)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _reason(e: Exception | None) -> str:
    """A short lowercase reason from a requests/urllib3 exception chain."""
    text = str(e) if e else "unknown error"
    for marker in ("Connection refused", "Name or service not known", "timed out",
                   "Temporary failure in name resolution", "No route to host",
                   "Connection reset by peer", "certificate verify failed", "IncompleteRead"):
        if marker.lower() in text.lower():
            return marker.lower()
    return text.splitlines()[0][:200].lower() if text else "unknown error"
