"""HTTP for the registry client: one requests.Session, retries with backoff,
manual redirects that keep the registry's Authorization on the registry.

This module and client.py are the only ones that touch requests, and they
import it lazily, so commands that need no registry never load it.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from rs_docker.errors import RegistryError, RegistryUnreachable

USER_AGENT = "rs-docker/0.1"
# (connect, read) seconds: a dead host fails fast, a slow blob store does not.
TIMEOUT = (10, 60)
MAX_REDIRECTS = 5
# Retry-After can ask for anything; a pull should not sleep for an hour.
MAX_RETRY_AFTER = 30.0


@dataclass(frozen=True)
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
    value) only to the registry's own origin."""

    def __init__(self, origin: str, retry: RetryPolicy = DEFAULT_RETRY,
                 sleep: Callable[[float], None] = time.sleep):
        import requests

        self.origin = origin
        self.retry = retry
        self._sleep = sleep
        self._requests = requests
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT

    def close(self) -> None:
        self.session.close()

    def request(self, method: str, url: str, *, headers: dict | None = None,
                auth: str | None = None, stream: bool = False, params: dict | None = None,
                basic: tuple[str, str] | None = None, data=None):
        """Send with retries; returns the final requests.Response (any status
        except a retried 5xx/429 that kept failing, which is returned too).
        `data` is bytes, or a callable returning a fresh body (a stream) for
        every attempt and redirect: a streamed upload cannot be re-read."""
        last_error: Exception | None = None
        wait = 0.0
        for attempt in range(self.retry.attempts):
            if attempt:
                self._sleep(wait)
            try:
                resp = self._follow(method, url, headers or {}, auth, stream, params, basic,
                                    data)
            except self._requests.exceptions.RequestException as e:
                if not self._retryable(e):
                    raise RegistryError(f"{method} {_safe(url)}: {_reason(e)}") from None
                last_error, wait = e, self.retry.delay(attempt)
                continue
            if resp.status_code == 429 or resp.status_code >= 500:
                if attempt + 1 < self.retry.attempts:
                    wait = retry_after(resp.headers.get("Retry-After"),
                                             self.retry.delay(attempt))
                    resp.close()
                    continue
            return resp
        raise RegistryUnreachable(f"cannot reach {_safe(url)}: {_reason(last_error)}")

    def _retryable(self, e: Exception) -> bool:
        ex = self._requests.exceptions
        return isinstance(e, ex.ConnectionError | ex.Timeout | ex.ChunkedEncodingError)

    def _follow(self, method, url, headers, auth, stream, params, basic, data=None):
        for _ in range(MAX_REDIRECTS + 1):
            sent = dict(headers)
            # Never hand the registry's token to blob storage on another host.
            if auth and same_origin(url, self.origin):
                sent["Authorization"] = auth
            body = data() if callable(data) else data
            resp = self.session.request(method, url, headers=sent, stream=stream, params=params,
                                        auth=basic, timeout=TIMEOUT, allow_redirects=False,
                                        data=body)
            params = None                # the Location already carries the query
            if resp.status_code not in (301, 302, 303, 307, 308) or "Location" not in resp.headers:
                return resp
            resp.close()
            target = urljoin(url, resp.headers["Location"])
            if not same_origin(target, url):
                basic = None             # credentials stay with the host they were meant for
            url = target
            if resp.status_code == 303:
                method, data = "GET", None
        raise RegistryError(f"{method} {_safe(url)}: too many redirects")


def _safe(url: str) -> str:
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
