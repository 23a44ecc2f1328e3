"""Content digests (OCI image-spec descriptor.md#digests), validated once."""

from __future__ import annotations

import re

from rs_docker.errors import DigestMismatch
from rs_docker.models.record import record

_HEX = {"sha256": re.compile(r"^[a-f0-9]{64}$"), "sha512": re.compile(r"^[a-f0-9]{128}$")}


@record
class Digest:
    """An `algorithm:hex` digest. Only sha256 and sha512 are accepted, and the
    hex part is checked, so a Digest is safe to use as a file name.

    A NamedTuple (immutable, ordered, hashable like the frozen dataclass it
    was) because `run` imports it and a dataclass costs ~0.3 ms to define."""

    algorithm: str
    hex: str

    @classmethod
    def parse(cls, text: str) -> Digest:
        algorithm, sep, hexpart = str(text).partition(":")
        pattern = _HEX.get(algorithm)
        if not sep or pattern is None or not pattern.match(hexpart):
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
