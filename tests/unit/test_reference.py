import random
import re

import pytest

from rs_docker.errors import DigestMismatch, InvalidReference
from rs_docker.models.digest import Digest
from rs_docker.models.reference import parse

D = "sha256:" + "a" * 64


@pytest.mark.parametrize("text, full, familiar", [
    ("ubuntu", "docker.io/library/ubuntu:latest", "ubuntu:latest"),
    ("ubuntu:22.04", "docker.io/library/ubuntu:22.04", "ubuntu:22.04"),
    ("user/app", "docker.io/user/app:latest", "user/app:latest"),
    ("index.docker.io/user/app", "docker.io/user/app:latest", "user/app:latest"),
    ("docker.io/busybox", "docker.io/library/busybox:latest", "busybox:latest"),
    ("host:5000/a/b:tag", "host:5000/a/b:tag", "host:5000/a/b:tag"),
    ("127.0.0.1:5000/busybox", "127.0.0.1:5000/busybox:latest", "127.0.0.1:5000/busybox:latest"),
    ("localhost/x", "localhost/x:latest", "localhost/x:latest"),
    ("localhost:5000/x", "localhost:5000/x:latest", "localhost:5000/x:latest"),
    (f"name@{D}", f"docker.io/library/name@{D}", f"name@{D}"),
    (f"name:v1@{D}", f"docker.io/library/name:v1@{D}", f"name:v1@{D}"),
    ("a.b/c__d/e-f.g_h:T_1.2-3", "a.b/c__d/e-f.g_h:T_1.2-3", "a.b/c__d/e-f.g_h:T_1.2-3"),
    ("Foo.com/bar", "Foo.com/bar:latest", "Foo.com/bar:latest"),
])
def test_parse_normalizes_like_docker(text, full, familiar):
    ref = parse(text)
    assert str(ref) == full
    assert ref.familiar == familiar


def test_docker_hub_api_host():
    assert parse("ubuntu").registry_host == "registry-1.docker.io"
    assert parse("host:5000/a").registry_host == "host:5000"


def test_selector_prefers_digest():
    assert parse(f"a:b@{D}").selector == D
    assert parse("a:b").selector == "b"


@pytest.mark.parametrize("text", [
    "", " ubuntu", "UPPER", "a//b", "a/", "-a", "a:", "a:-tag", "a@sha256:abc",
    "a@md5:" + "a" * 32, "a b", "host:port/x", "a/b:" + "t" * 129, "a" * 256,
    "a..b/c", "a/b/:tag", "ubuntu:la test",
    # Go's regexp anchors at the very end and its \w is ASCII (Python's `$`
    # also matched before a final newline, and its \w took "é").
    "ubuntu\n:latest", f"a:tag\n@{D}", "host:5000\n/a", "a:é", "[::1]\n/a",
])
def test_invalid_references_rejected(text):
    with pytest.raises(InvalidReference) as e:
        parse(text)
    assert "invalid reference format" in str(e.value)


def test_uppercase_repository_message():
    with pytest.raises(InvalidReference, match="must be lowercase"):
        parse("docker.io/Library/Ubuntu")


# The oracle: Docker's reference grammar as the regular expressions
# models/reference.py used before it was hand-written (distribution/reference
# regexp.go). Matched whole and ASCII-only, as Go's regexp does: Python's `$`
# also matches before a trailing newline and its `\w` is Unicode.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_PATH = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*", re.ASCII)
_DOMAIN_PART = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = re.compile(rf"(?:{_DOMAIN_PART}(?:\.{_DOMAIN_PART})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?",
                     re.ASCII)
_TAG = re.compile(r"[\w][\w.-]{0,127}", re.ASCII)
_HEX = {"sha256": re.compile(r"[a-f0-9]{64}"), "sha512": re.compile(r"[a-f0-9]{128}")}


def _oracle_digest(text):
    algorithm, sep, hexpart = text.partition(":")
    pattern = _HEX.get(algorithm)
    return bool(sep and pattern and pattern.fullmatch(hexpart))


def _oracle_parse(text):
    """What parse() must answer for `text`: the normalized reference, or the
    kind of rejection."""
    if not text or text != text.strip():
        return "invalid"
    rest, at, digest_text = text.partition("@")
    if at and not _oracle_digest(digest_text):
        return "bad digest"
    tag = None
    slash, colon = rest.rfind("/"), rest.rfind(":")
    if colon > slash:
        rest, tag = rest[:colon], rest[colon + 1:]
        if not _TAG.fullmatch(tag):
            return "bad tag"
    if len(rest) > 255:
        return "too long"
    first, sep, remainder = rest.partition("/")
    if not sep or (not any(c in first for c in ".:") and first != "localhost"
                   and first.lower() == first):
        domain, remainder = "docker.io", rest
    else:
        domain = first
    domain = "docker.io" if domain == "index.docker.io" else domain
    if domain == "docker.io" and "/" not in remainder:
        remainder = "library/" + remainder
    if domain != "docker.io" and not _DOMAIN.fullmatch(domain):
        return "bad registry host"
    if not _PATH.fullmatch(remainder):
        return "must be lowercase" if _PATH.fullmatch(remainder.lower()) else "invalid"
    suffix = (f":{tag}" if tag else "") + (f"@{digest_text}" if at else "")
    return f"{domain}/{remainder}" + (suffix or ":latest")


def _answer(text):
    try:
        return str(parse(text))
    except InvalidReference as e:
        message = str(e)
        for kind in ("bad digest", "bad tag", "more than 255", "bad registry host",
                     "must be lowercase"):
            if kind in message:
                return {"more than 255": "too long"}.get(kind, kind)
        return "invalid"


_PIECES = ["a", "b", "z", "0", "9", "x1", "A", "Q", ".", "_", "__", "___", "-", "--", "/",
           "//", ":", "::", "@", "[", "]", "[::1]", "[fe80::1]", "[g::1]", "localhost",
           "docker.io", "index.docker.io", "library", "5000", "80", "é", "\u212a", "\n",
           " ", "\t", "sha256", "t" * 127, "t" * 128, f"@{D}", "@sha512:" + "b" * 128,
           "@sha256:" + "A" * 64, "@sha256:" + "a" * 63, "@md5:abc", ".com", "ex-ample"]
_HOSTS = ["", "localhost/", "localhost:5000/", "example.com/", "Ex-Ample.COM:443/",
          "127.0.0.1:5055/", "[::1]:5000/", "[2001:db8::]/", "docker.io/", "index.docker.io/",
          "-bad.com/", "bad-.com/", "a..b/", "host:/", "host:5x/", "[::1/", "[]:5/", "a_b.com/"]
_NAMES = ["busybox", "library/busybox", "user/app", "a__b", "a___b", "a..b", "a.b", "a-b",
          "a----b", "a_b_c", "a/b/c", "_a", "a_", "-a", "a-", ".a", "a.", "a//b", "a/",
          "Upper", "up/Per", "x" * 255, "x" * 256, "a.-b", "a_.b", "a" * 300]
_TAGS = ["", ":latest", ":v1.2-3_x", ":_x", ":.x", ":-x", ":" + "t" * 128, ":" + "t" * 129,
         ":", ":é", ":a b", ":UPPER"]
_DIGESTS = ["", f"@{D}", "@sha512:" + "c" * 128, "@sha256:" + "a" * 65, "@sha256:",
            "@sha256:" + "g" * 64, f"@{D}\n", "@"]


def _generated(n=600, seed=6):
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        out.append("".join(rng.choice(_PIECES) for _ in range(rng.randint(1, 6))))
        out.append(rng.choice(_HOSTS) + rng.choice(_NAMES) + rng.choice(_TAGS)
                   + rng.choice(_DIGESTS))
    return out


def test_hand_parser_agrees_with_the_grammar_regexes():
    texts = _generated()
    answers = [(t, _oracle_parse(t)) for t in texts]
    # The generator reaches every branch, valid and invalid.
    kinds = {a if " " in a or a == "invalid" or a == "too long" else "valid" for _, a in answers}
    assert kinds == {"valid", "invalid", "bad digest", "bad tag", "too long",
                     "bad registry host", "must be lowercase"}
    assert [(t, _answer(t)) for t in texts] == answers


def test_digest_validation_agrees_with_its_regexes():
    rng = random.Random(66)
    alphabet = "0123456789abcdefABCDEFg:\n"
    texts = [f"{algorithm}:{''.join(rng.choice(alphabet) for _ in range(length))}"
             for algorithm in ("sha256", "sha512", "md5", "")
             for length in (0, 1, 63, 64, 65, 127, 128, 129) for _ in range(8)]
    texts += [f"sha256:{'a' * 64}", f"sha512:{'0' * 128}", f"sha256:{'a' * 64}\n",
              f"sha256{'a' * 64}", f"sha256::{'a' * 63}"]
    for text in texts:
        try:
            Digest.parse(text)
            ok = True
        except DigestMismatch:
            ok = False
        assert ok == _oracle_digest(text), text
    assert any(_oracle_digest(t) for t in texts) and not all(_oracle_digest(t) for t in texts)
