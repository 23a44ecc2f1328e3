"""The root filesystem of a container: an overlay of the image's unpacked
layers (read-only, shared) under a private upper directory.

`plan()` returns data; the runtime performs the overlay mount (this
project's convention: a config.json mount with destination "/" is mounted
onto root.path inside the container's mount namespace). Where overlayfs
cannot be mounted (rootless, or a store on a filesystem overlay refuses as
upper), the fallbacks are fuse-overlayfs, mounted here before the runtime
starts, else a private copy of the merged layers (slow: proportional to the
image size). Which one works is probed once per store and remembered in
<root>/rootfs-driver (write "copy" there to force the copy).

Paths are plain strings: pathlib imports re, urllib.parse and ipaddress,
kept off the run path (docs/ARCHITECTURE.md, Start-up rules).
"""

from __future__ import annotations

import os

from rs_docker.container.layerfs import LayerStack, visible_layers
from rs_docker.context import Context
from rs_docker.errors import StoreError
from rs_docker.store import atomic
from rs_docker.values import record

DRIVERS = ("overlay", "fuse-overlayfs", "copy")
DRIVER_FILE = "rootfs-driver"
FUSE_OVERLAYFS = "/usr/bin/fuse-overlayfs"
# The kernel copies mount options into one page (fs/namespace.c
# copy_mount_options): longer lowerdir lists cannot be mounted.
MAX_MOUNT_DATA = 4095
# moby daemon/graphdriver/overlay2: index=off so that the same lower layers
# can be mounted under many upper dirs at once.
OVERLAY_EXTRA = ("index=off",)


@record
class RootfsPlan:
    """Where the container's root comes from. `lowers` are top-first (the
    reverse of the image's chain ids, without the layers an opaque layer
    root hides: layerfs.visible_layers); `upper`/`work` live under
    containers/<id>/; for "copy" the rootfs dir itself holds everything."""

    driver: str
    rootfs: str
    lowers: tuple[str, ...]
    upper: str
    work: str
    # Rootless: the runtime mounts the overlay inside the container's user
    # namespace, where overlayfs (5.11+) needs "userxattr": its own xattrs
    # are then user.overlay.* (the opaque marker unpack writes unprivileged).
    userxattr: bool = False
    # `run --rm` (podman does the same since 3.2): overlayfs's "volatile"
    # skips the sync of the upper filesystem when the overlay is unmounted.
    # Without it, the end of every container syncs the whole host
    # filesystem, and the blocks that sync allocates to the container dir's
    # files make each file's removal slower. Such an upper dir cannot be mounted
    # again (overlayfs refuses a work dir holding work/incompat/volatile),
    # which a container removed at its end never needs.
    volatile: bool = False

    def overlay_options(self) -> list[str]:
        lower = ":".join(self.lowers)
        return [f"lowerdir={lower}", f"upperdir={self.upper}", f"workdir={self.work}",
                *OVERLAY_EXTRA, *(("userxattr",) if self.userxattr else ()),
                *(("volatile",) if self.volatile else ())]

    def mounts(self) -> list[dict]:
        """config.json mounts the runtime performs for the root: the overlay
        onto "/", or nothing when the root is ready before the runtime runs."""
        if self.driver != "overlay":
            return []
        return [{"destination": "/", "type": "overlay", "source": "overlay",
                 "options": self.overlay_options()}]

    def stack(self) -> LayerStack:
        """The merged view of the unmounted root, writable on top."""
        if self.driver == "copy":
            return LayerStack([self.rootfs])
        return LayerStack([self.upper, *self.lowers])


def plan(container_dir: str | os.PathLike, layer_dirs: list, driver: str,
         rootless: bool | None = None, volatile: bool = False) -> RootfsPlan:
    """Layer dirs (str or PathLike) are given bottom-first (the order of
    chain ids); the plan keeps those the container sees: a layer whose root
    is opaque hides every layer below it, which overlayfs would not do (it
    ignores the mark on a lowerdir's root). `rootless` (default: not
    running as root) mounts the overlay with userxattr. `volatile` (for a
    container removed at its end) mounts it volatile where the kernel can:
    overlay as root (rootless keeps the plain mount), Linux 5.10 or later.
    The plan holds strings."""
    rootless = os.geteuid() != 0 if rootless is None else rootless
    container_dir = os.fspath(container_dir)
    lowers = tuple(reversed(visible_layers([os.fspath(p) for p in layer_dirs])))
    if not lowers:
        lowers = (os.path.join(container_dir, "empty"),)  # overlayfs needs one lower dir
    p = RootfsPlan(driver, os.path.join(container_dir, "rootfs"), lowers,
                   os.path.join(container_dir, "upper"), os.path.join(container_dir, "work"),
                   userxattr=rootless and driver == "overlay",
                   volatile=volatile and driver == "overlay" and not rootless
                   and _has_volatile(os.uname().release))
    if driver != "copy" and len(",".join(p.overlay_options())) > MAX_MOUNT_DATA:
        raise StoreError(f"image has too many layers for one overlay mount ({len(lowers)})")
    return p


def _has_volatile(release: str) -> bool:
    """overlayfs takes "volatile" since Linux 5.10 (uname -r: "6.1.0-18-amd64")."""
    try:
        major, minor = release.split(".")[:2]
        return (int(major), int("".join(c for c in minor if c.isdigit()) or 0)) >= (5, 10)
    except ValueError:
        return False


def make_dirs(p: RootfsPlan) -> None:
    for d in (p.rootfs, p.upper, p.work,
              *(x for x in p.lowers if os.path.basename(x) == "empty")):
        try:
            os.mkdir(d, 0o700 if d != p.rootfs else 0o755)
        except FileExistsError:
            if not os.path.isdir(d):
                raise
    os.chmod(p.upper, 0o755)  # the upper's root is the container's "/"


def populate(p: RootfsPlan) -> None:
    """The copy driver: fill rootfs/ with the merged layers (before anything
    reads or creates paths of the image in it)."""
    if p.driver == "copy":
        from rs_docker.container import layercopy

        layercopy.merge_layers(list(reversed(p.lowers)), p.rootfs)


def prepare_mount(p: RootfsPlan) -> None:
    """Mount what the runtime does not: fuse-overlayfs on rootfs/, right
    before the runtime starts (after every offline change to upper/)."""
    if p.driver == "fuse-overlayfs" and not os.path.ismount(p.rootfs):
        _run([FUSE_OVERLAYFS, "-o", ",".join(p.overlay_options()[:3]), p.rootfs],
             "fuse-overlayfs")


def release(p: RootfsPlan) -> None:
    """Undo prepare_mount() before the container dir is removed (fuse unmount)."""
    if p.driver == "fuse-overlayfs" and os.path.ismount(p.rootfs):
        _run(["umount", p.rootfs], "umount")


def _run(argv: list[str], what: str) -> None:
    import subprocess  # only for the fallbacks and the one-time probe

    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        raise StoreError(f"{what} {argv[-1]}: {done.stderr.strip() or 'failed'}")


# -- which driver works here --------------------------------------------------

def driver_for(ctx: Context, on_debug=None) -> str:
    """The remembered driver of this store, probed on first use."""
    path = os.path.join(ctx.root, DRIVER_FILE)
    try:
        driver = atomic.read_file(path).decode().strip()
    except FileNotFoundError:
        driver = ""
    if driver not in DRIVERS:
        driver = probe(ctx)
        atomic.replace_file(path, driver + "\n", durable=False)
    if on_debug:
        on_debug(f"rootfs driver: {driver} (from {path})")
    return driver


def probe(ctx: Context) -> str:
    """Mount a tiny overlay with upper and work in the store: if the kernel
    takes it there, it will take the containers' too."""
    if _overlay_works(ctx.tmp_dir, ctx.rootless):
        return "overlay"
    # Unprivileged, fuse-overlayfs needs /dev/fuse (often 0600 root) and
    # fusermount3: probe the device rather than trust the binary.
    if os.access(FUSE_OVERLAYFS, os.X_OK) and (
            not ctx.rootless or os.access("/dev/fuse", os.R_OK | os.W_OK)):
        return "fuse-overlayfs"
    return "copy"


def _overlay_works(tmp_dir: str, rootless: bool = False) -> bool:
    """Rootless, the mount is tried where the runtime will do it: as root of
    a new user and mount namespace (unshare(1) -r), with userxattr. As root,
    mount(2) itself: mount(8) would cost the first `run` of every store the
    subprocess import, kept off the run path (docs/ARCHITECTURE.md)."""
    os.makedirs(tmp_dir, exist_ok=True)
    base = os.path.join(os.path.realpath(tmp_dir), f"probe-overlay-{os.getpid()}")
    dirs = [os.path.join(base, n) for n in ("lower", "upper", "work", "merged")]
    try:
        for d in dirs:
            os.makedirs(d, exist_ok=True)
        opts = f"lowerdir={dirs[0]},upperdir={dirs[1]},workdir={dirs[2]},index=off"
        if rootless:
            import subprocess

            argv = ["unshare", "--user", "--map-root-user", "--mount", "mount", "-t",
                    "overlay", "overlay", "-o", opts + ",userxattr", dirs[3]]
            return subprocess.run(argv, capture_output=True).returncode == 0
        from rs_docker.linux import syscalls

        try:
            syscalls.mount("overlay", dirs[3], "overlay", 0, opts)
        except OSError:
            return False
        try:
            syscalls.umount2(dirs[3])
        except OSError:
            pass  # still mounted: the probe dir is left (below), as before
        return True
    finally:
        if not os.path.ismount(dirs[3]):
            _remove_probe(base)


def _remove_probe(base: str) -> None:
    from rs_docker.store.rmtree import rmtree

    try:
        rmtree(base)  # makes overlayfs's mode 000 work/work listable on the way
    except OSError:
        pass  # a leftover probe dir is never read
