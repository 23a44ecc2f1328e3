"""Content digests (OCI image-spec descriptor.md#digests), validated once."""

from __future__ import annotations

from rs_docker.errors import DigestMismatch
from rs_docker.values import record

# Hex digits per algorithm. Checked by hand, not with a regular expression:
# re (enum, functools, sre compile) stays off the run path
# (docs/ARCHITECTURE.md, Start-up rules). tests/unit/test_reference.py keeps the regexes
# ^[a-f0-9]{64}$ / ^[a-f0-9]{128}$ (matched whole) as the oracle.
_HEX_LEN = {"sha256": 64, "sha512": 128}
HEX_DIGITS = frozenset("0123456789abcdef")


def is_hex(text: str) -> bool:
    """Only lowercase hex digits (an empty string is, vacuously)."""
    return HEX_DIGITS.issuperset(text)


@record
class Digest:
    """An `algorithm:hex` digest. Only sha256 and sha512 are accepted, and the
    hex part is checked, so a Digest is safe to use as a file name."""

    algorithm: str
    hex: str

    @classmethod
    def parse(cls, text: str) -> Digest:
        algorithm, sep, hexpart = str(text).partition(":")
        if not sep or len(hexpart) != _HEX_LEN.get(algorithm) or not is_hex(hexpart):
            raise DigestMismatch(f"invalid digest {text!r}")
        return cls(algorithm, hexpart)

    @classmethod
    def sha256_of(cls, data: bytes) -> Digest:
        import hashlib

        return cls("sha256", hashlib.sha256(data).hexdigest())

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"

    @property
    def short(self) -> str:
        """The 12-hex-digit form Docker prints as IMAGE ID."""
        return self.hex[:12]

    def hasher(self):
        import hashlib

        return hashlib.new(self.algorithm)
