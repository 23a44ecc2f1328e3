"""A loopback HTTP proxy in front of the real registry that misbehaves on
purpose: cut a blob response midway (once), slow a blob down, trickle a
response one byte at a time, never answer at all, redirect blob requests to
another origin. It forwards everything else untouched and logs
each request (method, path, Range, Authorization), so tests can count blob
downloads. A test tool for faults the real registry never makes, not a mock
of it."""

from __future__ import annotations

import http.client
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

_HOP = {"connection", "keep-alive", "transfer-encoding", "host", "proxy-connection"}


@dataclass
class Seen:
    method: str
    path: str
    range: str | None
    authorization: str | None


@dataclass
class FaultProxy:
    upstream: str                          # "127.0.0.1:PORT"
    cut_once: set[str] = field(default_factory=set)     # digests to cut midway, once
    slow: dict[str, float] = field(default_factory=dict)  # digest -> seconds per 64 KiB
    # path substring -> seconds between the bytes of a 200 body: one byte at a
    # time, the headers at once (a registry that stalls without going silent)
    trickle: dict[str, float] = field(default_factory=dict)
    mute: set[str] = field(default_factory=set)   # path substrings never answered
    redirect_blobs_to: str | None = None   # "http://127.0.0.1:PORT": answer blobs with 307
    add_authorization: str | None = None   # sent upstream when the client sent none
    # path substring -> statuses to answer, one per matching request, before forwarding
    fail: dict[str, list[tuple[int, dict]]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)

    def start(self) -> FaultProxy:
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self._httpd.server_address[1]}"

    def blob_gets(self, digest: str) -> list[Seen]:
        return [s for s in self.seen if s.method == "GET" and s.path.endswith(f"/blobs/{digest}")]


def _blob_digest(path: str) -> str | None:
    parts = urlsplit(path).path.split("/blobs/")
    return parts[1] if len(parts) == 2 and parts[1].startswith("sha256:") else None


def _handler(proxy: FaultProxy):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):  # noqa: N802 (http.server naming)
            self._forward()

        def do_HEAD(self):  # noqa: N802
            self._forward()

        def _forward(self):
            auth = self.headers.get("Authorization")
            with proxy._lock:
                proxy.seen.append(Seen(self.command, self.path, self.headers.get("Range"), auth))
            digest = _blob_digest(self.path)
            if any(part in self.path for part in proxy.mute):
                self._hang()
                return
            if self._scripted_failure():
                return
            if digest and proxy.redirect_blobs_to:
                self.send_response(307)
                self.send_header("Location", proxy.redirect_blobs_to + self.path)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
            if proxy.add_authorization and not auth:
                headers["Authorization"] = proxy.add_authorization
            conn = http.client.HTTPConnection(proxy.upstream, timeout=30)
            conn.request(self.command, self.path, headers=headers)
            resp = conn.getresponse()
            self.send_response(resp.status)
            for k, v in resp.getheaders():
                if k.lower() not in _HOP:
                    self.send_header(k, v)
            self.end_headers()
            cut = False
            with proxy._lock:
                if digest in proxy.cut_once and resp.status == 200:
                    proxy.cut_once.discard(digest)
                    cut = True
                pace = next((v for k, v in proxy.trickle.items() if k in self.path), None)
            if pace is not None and resp.status == 200 and self.command == "GET":
                self._trickle(resp, pace)
            else:
                self._copy(resp, digest, cut)
            conn.close()

        def _hang(self):
            """Take the request and answer nothing, until the client hangs up."""
            self.close_connection = True
            while self.rfile.read(1):
                pass

        def _trickle(self, resp, pace: float):
            self.close_connection = True
            try:
                while byte := resp.read(1):
                    self.wfile.write(byte)
                    time.sleep(pace)
            except OSError:             # the client gave up: what the test wants
                pass

        def _scripted_failure(self) -> bool:
            with proxy._lock:
                for part, answers in proxy.fail.items():
                    if part in self.path and answers:
                        status, headers = answers.pop(0)
                        break
                else:
                    return False
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return True

        def _copy(self, resp, digest, cut):
            if self.command == "HEAD":
                return
            length = int(resp.getheader("Content-Length") or 0)
            sent = 0
            while chunk := resp.read(64 * 1024):
                if cut and sent + len(chunk) > length // 2:
                    self.wfile.write(chunk[: length // 2 - sent])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(chunk)
                sent += len(chunk)
                if digest in proxy.slow:
                    self.wfile.flush()
                    time.sleep(proxy.slow[digest])

        def log_message(self, *args):
            pass

    return Handler
