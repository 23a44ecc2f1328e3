"""Image references with Docker's rules (distribution/reference grammar).

    ubuntu                -> docker.io/library/ubuntu:latest
    user/app              -> docker.io/user/app:latest
    host:5000/a/b:tag     -> host:5000/a/b:tag
    name@sha256:<64 hex>  -> docker.io/library/name@sha256:...
    localhost/x           -> localhost/x:latest
"""

from __future__ import annotations

from rs_docker.errors import InvalidReference
from rs_docker.models.digest import Digest
from rs_docker.values import record

DEFAULT_DOMAIN = "docker.io"
LEGACY_DOMAIN = "index.docker.io"
OFFICIAL_PREFIX = "library/"
DEFAULT_TAG = "latest"
# Where docker.io's API really lives.
DOCKER_HUB_REGISTRY = "registry-1.docker.io"

# distribution/reference's grammar (reference/regexp.go), checked by hand:
# re and compiling these patterns stay off the run path (docs/ARCHITECTURE.md,
# Start-up rules). tests/unit/test_reference.py keeps the regular expressions as the
# oracle, each matched against the whole string:
#   path component  [a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*
#   domain          (?:P(?:\.P)*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?
#                   where P = [a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
#   tag             [\w][\w.-]{0,127}   (\w as in Go: ASCII letters, digits, _)
_DIGITS = frozenset("0123456789")
_LOWER_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyz") | _DIGITS
_ALNUM = _LOWER_ALNUM | frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_WORD = _ALNUM | {"_"}
_TAG_CHARS = _WORD | {".", "-"}
_HOST_CHARS = _ALNUM | {"-"}
_IPV6_CHARS = frozenset("0123456789abcdefABCDEF:")
_SEPARATOR_CHARS = frozenset("._-")
_MAX_TAG = 128
_MAX_NAME = 255


@record
class Reference:
    """A normalized reference: domain, path, and a tag and/or a digest."""

    domain: str
    path: str
    tag: str | None = None
    digest: Digest | None = None

    @property
    def name(self) -> str:
        """Fully qualified repository name: docker.io/library/ubuntu."""
        return f"{self.domain}/{self.path}"

    @property
    def familiar_name(self) -> str:
        """The short name Docker shows: ubuntu, user/app, host:5000/a/b."""
        if self.domain == DEFAULT_DOMAIN:
            return self.path.removeprefix(OFFICIAL_PREFIX)
        return self.name

    @property
    def registry_host(self) -> str:
        """Where the Distribution API of this reference is served."""
        return DOCKER_HUB_REGISTRY if self.domain == DEFAULT_DOMAIN else self.domain

    @property
    def selector(self) -> str:
        """What to ask the registry's manifest endpoint for: digest, else tag."""
        return str(self.digest) if self.digest else (self.tag or DEFAULT_TAG)

    def with_tag(self, tag: str) -> Reference:
        return Reference(self.domain, self.path, tag, None)

    def with_digest(self, digest: Digest) -> Reference:
        return Reference(self.domain, self.path, None, digest)

    def __str__(self) -> str:
        return self.name + self._suffix()

    @property
    def familiar(self) -> str:
        """ubuntu:latest, user/app@sha256:..."""
        return self.familiar_name + self._suffix()

    def _suffix(self) -> str:
        return (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")


def _split_domain(name: str) -> tuple[str, str]:
    first, sep, rest = name.partition("/")
    if not sep or (not any(c in first for c in ".:") and first != "localhost"
                   and first.lower() == first):
        domain, remainder = DEFAULT_DOMAIN, name
    else:
        domain, remainder = first, rest
    if domain == LEGACY_DOMAIN:
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in remainder:
        remainder = OFFICIAL_PREFIX + remainder
    return domain, remainder


def _is_component(text: str) -> bool:
    """One path component: lowercase alphanumeric runs joined by exactly one
    separator each, "." or "_" or "__" or any number of "-"."""
    sep = ""
    for i, c in enumerate(text):
        if c in _LOWER_ALNUM:
            if sep:
                if sep not in (".", "_", "__") and sep.strip("-"):
                    return False
                sep = ""
        elif c in _SEPARATOR_CHARS and i:
            sep += c
        else:
            return False
    return bool(text) and not sep


def _is_path(text: str) -> bool:
    return all(_is_component(c) for c in text.split("/"))


def _is_host_label(text: str) -> bool:
    return (bool(text) and _HOST_CHARS.issuperset(text)
            and text[0] != "-" and text[-1] != "-")


def _is_domain(text: str) -> bool:
    """A host name (dot-separated labels) or a bracketed IPv6 address, with
    an optional numeric port."""
    if text.startswith("["):
        end = text.find("]")
        address, port = text[1:end], text[end + 1:]
        if end < 0 or not address or not _IPV6_CHARS.issuperset(address):
            return False
        if port:
            if port[0] != ":":
                return False
            port = port[1:]
            return bool(port) and _DIGITS.issuperset(port)
        return True
    host, colon, port = text.partition(":")
    if colon and not (port and _DIGITS.issuperset(port)):
        return False
    return all(_is_host_label(label) for label in host.split("."))


def _is_tag(text: str) -> bool:
    return (0 < len(text) <= _MAX_TAG and text[0] in _WORD
            and _TAG_CHARS.issuperset(text))


def parse(text: str, default_tag: bool = True) -> Reference:
    """Parse and normalize `text`; add the `latest` tag when it has neither a
    tag nor a digest (unless default_tag is False). Raises InvalidReference."""
    if not text or text != text.strip():
        raise InvalidReference(f"invalid reference format: {text!r}")
    rest, at, digest_text = text.partition("@")
    digest = None
    if at:
        try:
            digest = Digest.parse(digest_text)
        except Exception:
            raise InvalidReference(f"invalid reference format: {text!r}: bad digest") from None
    tag = None
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        rest, tag = rest[:colon], rest[colon + 1:]
        if not _is_tag(tag):
            raise InvalidReference(f"invalid reference format: {text!r}: bad tag {tag!r}")
    if len(rest) > _MAX_NAME:
        raise InvalidReference(f"invalid reference format: repository name must not be "
                               f"more than {_MAX_NAME} characters")
    domain, path = _split_domain(rest)
    if domain != DEFAULT_DOMAIN and not _is_domain(domain):
        raise InvalidReference(f"invalid reference format: {text!r}: bad registry host {domain!r}")
    if not _is_path(path):
        if _is_path(path.lower()):
            raise InvalidReference(f"invalid reference format: repository name "
                                   f"({path}) must be lowercase")
        raise InvalidReference(f"invalid reference format: {text!r}")
    if tag is None and digest is None and default_tag:
        tag = DEFAULT_TAG
    return Reference(domain, path, tag, digest)
