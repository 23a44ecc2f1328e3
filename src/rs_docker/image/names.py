"""Tar entry names made safe: confined to the layer root before any I/O.

A name is split into components; a leading "/" and "." components are
dropped (GNU tar strips a leading "/" by default: "Removing leading `/'
from member names"), and ".." is refused outright — no real layer needs it,
and resolving it lexically is how CVE-2018-15664-style escapes start.
"""

from __future__ import annotations

from rs_docker.errors import UnsafeLayerEntry

# Longest whole name accepted: PATH_MAX (limits.h). Each component is further
# bounded by the kernel's NAME_MAX (ENAMETOOLONG) when it is created.
MAX_NAME = 4096


def split_name(name: str) -> list[str]:
    """The components of a tar member name inside the layer root; [] is the
    root itself. UnsafeLayerEntry for "..", NUL bytes or a too long name."""
    if len(name) > MAX_NAME:
        raise UnsafeLayerEntry(f"layer entry name too long ({len(name)} characters, "
                               f"limit {MAX_NAME}): {name[:64]!r}...")
    if "\x00" in name:
        raise UnsafeLayerEntry(f"layer entry name contains a NUL byte: {name!r}")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UnsafeLayerEntry(f"layer entry {name!r} points outside the layer ('..')")
    return parts
