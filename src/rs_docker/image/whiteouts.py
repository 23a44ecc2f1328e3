"""Whiteout rules: how a layer tar says "deleted" and how overlayfs wants it.

In a layer tar (OCI image-spec layer.md "Whiteouts"; Docker's AUFS heritage):
  dir/.wh.NAME       NAME was deleted from the layers below
  dir/.wh..wh..opq   dir is opaque: nothing below shows through it
  .wh..wh.*          other AUFS bookkeeping (.wh..wh.plnk, .wh..wh.aufs): ignored
In an overlayfs lowerdir (kernel Documentation/filesystems/overlayfs.rst,
"whiteouts and opaque directories"):
  NAME               a character device 0/0
  dir                the xattr trusted.overlay.opaque = "y"
                     (user.overlay.opaque when mounted with "userxattr", which is
                     how an unprivileged user namespace mounts overlay, 5.11+)
containerd's pkg/archive OverlayConvertWhiteout does the same conversion.

overlayfs ignores the opaque mark on a lowerdir's *root*: a `.wh..wh..opq` at
the top of a layer is still written there (the layer's record of it, read
when a container's rootfs is planned: container/layerfs.py visible_layers),
and the layers below are left out of the stack instead.

A layer may not carry overlayfs's own xattrs (is_reserved_xattr): on a
lowerdir they are instructions (redirect, metacopy, opaque, origin,
whiteout), so only the unpacker writes them, from the whiteouts above.
"""

from __future__ import annotations

from rs_docker.errors import UnsafeLayerEntry
from rs_docker.values import record

PREFIX = ".wh."
META_PREFIX = ".wh..wh."
OPAQUE = ".wh..wh..opq"

OPAQUE_XATTR = "trusted.overlay.opaque"
OPAQUE_XATTR_USER = "user.overlay.opaque"

# xattr namespaces a layer entry never brings in (unpack drops them, as it
# would any xattr its filesystem refuses, rather than refuse the image: they
# mean nothing outside the overlay they were copied from):
# - trusted.overlay.*, user.overlay.* (the "userxattr" form, rootless):
#   read by overlayfs on every lowerdir (kernel
#   Documentation/filesystems/overlayfs.rst: "redirect_dir", "metacopy",
#   opaque, origin, and since 6.7 whiteouts as xattrs and escaped
#   "overlay.overlay.*" names); redirect_always_follow=Y follows a lower
#   layer's redirect even with redirect_dir=off;
# - user.fuseoverlayfs.*: fuse-overlayfs's own opaque and origin marks
#   (main.c OPAQUE_XATTR, ORIGIN_XATTR), read on its lower layers too;
# - user.rsdocker.*: this unpacker's own record of an owner (unpack.OWNER_XATTR).
RESERVED_XATTR_PREFIXES = ("trusted.overlay.", "user.overlay.", "user.fuseoverlayfs.",
                           "user.rsdocker.")


@record
class Whiteout:
    """What a whiteout entry asks for: `opaque` (the parent dir), or the
    deletion of `target`, a name in the entry's directory."""

    opaque: bool
    target: str | None = None


def classify(base: str) -> Whiteout | None:
    """The whiteout meaning of an entry's last path component, or None for an
    ordinary entry. Raises UnsafeLayerEntry for `.wh.`, `.wh..` and `.wh...`:
    they would delete nothing, the directory itself, or its parent."""
    if base == OPAQUE:
        return Whiteout(opaque=True)
    if not base.startswith(PREFIX):
        return None
    if base.startswith(META_PREFIX):
        return Whiteout(opaque=False, target=None)  # AUFS metadata: nothing to do
    target = base[len(PREFIX):]
    if target in ("", ".", "..") or "/" in target:
        raise UnsafeLayerEntry(f"invalid whiteout {base!r}: it names no file in its directory")
    return Whiteout(opaque=False, target=target)


def is_aufs_meta(components: list[str]) -> bool:
    """True for AUFS bookkeeping: `.wh..wh.plnk/...` and the like, at any depth
    (Docker's archive skips them too), but not the opaque marker."""
    return any(c.startswith(META_PREFIX) and c != OPAQUE for c in components)


def is_reserved_xattr(name: str) -> bool:
    """True for an xattr only the unpacker may write (RESERVED_XATTR_PREFIXES)."""
    return name.startswith(RESERVED_XATTR_PREFIXES)


def opaque_xattr(privileged: bool) -> str:
    """trusted.* needs CAP_SYS_ADMIN; an unprivileged overlay reads user.*."""
    return OPAQUE_XATTR if privileged else OPAQUE_XATTR_USER
