"""Registry authentication, the pure part: WWW-Authenticate challenges
(RFC 7235 section 4.1), scopes (distribution docs spec/auth/scope.md), Basic
headers, token responses (spec/auth/token.md). No I/O here."""

from __future__ import annotations

import base64
import re
import time

from rs_docker.errors import AuthError
from rs_docker.values import default_factory, record


@record
class Challenge:
    scheme: str                      # lowercased: "bearer", "basic"
    params: dict[str, str] = default_factory(dict)

    @property
    def realm(self) -> str | None:
        return self.params.get("realm")


@record
class Credentials:
    username: str
    password: str
    # An OAuth refresh token from `docker login` against some registries.
    identity_token: str | None = None


_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_QUOTED = r'"(?:[^"\\]|\\.)*"'
_PARAM = re.compile(rf"\s*({_TOKEN})\s*=\s*({_QUOTED}|{_TOKEN})\s*(,|$)")
_SCHEME = re.compile(rf"\s*({_TOKEN})(?:\s+|$|(?=,))")


def parse_challenges(header: str) -> list[Challenge]:
    """Parse a WWW-Authenticate value into challenges, e.g.
    `Bearer realm="https://auth/token",service="reg",scope="repository:a:pull"`.
    Unparseable tails are ignored: the header is the server's, not ours."""
    out: list[Challenge] = []
    pos = 0
    header = header or ""
    while pos < len(header):
        m = _SCHEME.match(header, pos)
        if not m:
            break
        scheme, pos = m.group(1).lower(), m.end()
        params: dict[str, str] = {}
        while pos < len(header):
            p = _PARAM.match(header, pos)
            if not p:
                break
            key, value = p.group(1).lower(), p.group(2)
            if value.startswith('"'):
                value = re.sub(r"\\(.)", r"\1", value[1:-1])
            params[key] = value
            pos = p.end()
        out.append(Challenge(scheme, params))
        while pos < len(header) and header[pos] in ", ":
            pos += 1
    return out


def pick_challenge(challenges: list[Challenge]) -> Challenge | None:
    """Bearer if offered (with a realm), else Basic, else None."""
    for scheme in ("bearer", "basic"):
        for c in challenges:
            if c.scheme == scheme and (scheme == "basic" or c.realm):
                return c
    return None


def pull_scope(repository: str) -> str:
    """The scope a pull needs: `repository:library/busybox:pull`."""
    return f"repository:{repository}:pull"


def push_scope(repository: str) -> str:
    """The scope a push needs (a blob HEAD and the upload POST alike):
    `repository:team/app:pull,push`."""
    return f"repository:{repository}:pull,push"


def basic_header(creds: Credentials) -> str:
    raw = f"{creds.username}:{creds.password}".encode()
    return "Basic " + base64.b64encode(raw).decode()


def token_params(challenge: Challenge, scope: str) -> dict[str, str]:
    """Query parameters for the token endpoint (spec/auth/token.md): the
    challenge's service, and the scope we need (the challenge's if it names
    one, which the registry derived from the request)."""
    params = {}
    if challenge.params.get("service"):
        params["service"] = challenge.params["service"]
    scope = challenge.params.get("scope") or scope
    if scope:                        # a login asks for no scope at all
        params["scope"] = scope
    return params


@record
class Token:
    value: str
    expires_at: float                # time.monotonic() deadline

    def valid(self, now: float | None = None) -> bool:
        return (time.monotonic() if now is None else now) < self.expires_at


# Tokens without expires_in last 60 seconds (spec/auth/token.md).
DEFAULT_TOKEN_LIFETIME = 60
# Renew a little early so a token does not expire between check and use.
_EXPIRY_MARGIN = 5


def parse_token_response(body, now: float | None = None) -> Token:
    """`{"token": ..., "access_token": ..., "expires_in": N}` -> Token. Raises AuthError."""
    if not isinstance(body, dict):
        raise AuthError("token endpoint returned an invalid response")
    value = body.get("token") or body.get("access_token")
    if not isinstance(value, str) or not value:
        raise AuthError("token endpoint returned no token")
    lifetime = body.get("expires_in")
    if not isinstance(lifetime, int) or isinstance(lifetime, bool) or lifetime <= 0:
        lifetime = DEFAULT_TOKEN_LIFETIME
    now = time.monotonic() if now is None else now
    return Token(value, now + max(lifetime - _EXPIRY_MARGIN, 1))
