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
"""

from __future__ import annotations

import os
from pathlib import Path

from rs_docker.container.layerfs import LayerStack
from rs_docker.context import Context
from rs_docker.errors import StoreError
from rs_docker.models.record import record

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
    reverse of the image's chain ids); `upper`/`work` live under
    containers/<id>/; for "copy" the rootfs dir itself holds everything."""

    driver: str
    rootfs: Path
    lowers: tuple[Path, ...]
    upper: Path
    work: Path
    # Rootless: the runtime mounts the overlay inside the container's user
    # namespace, where overlayfs (5.11+) needs "userxattr": its own xattrs
    # are then user.overlay.* (the opaque marker unpack writes unprivileged).
    userxattr: bool = False

    def overlay_options(self) -> list[str]:
        lower = ":".join(str(p) for p in self.lowers)
        return [f"lowerdir={lower}", f"upperdir={self.upper}", f"workdir={self.work}",
                *OVERLAY_EXTRA, *(("userxattr",) if self.userxattr else ())]

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


def plan(container_dir: Path, layer_dirs: list[Path], driver: str,
         rootless: bool | None = None) -> RootfsPlan:
    """Layer dirs are given bottom-first (the order of chain ids). `rootless`
    (default: not running as root) mounts the overlay with userxattr."""
    rootless = os.geteuid() != 0 if rootless is None else rootless
    container_dir = Path(container_dir)
    lowers = tuple(reversed([Path(p) for p in layer_dirs]))
    if not lowers:
        lowers = (container_dir / "empty",)  # overlayfs needs one lower dir
    p = RootfsPlan(driver, container_dir / "rootfs", lowers, container_dir / "upper",
                   container_dir / "work", userxattr=rootless and driver == "overlay")
    if driver != "copy" and len(",".join(p.overlay_options())) > MAX_MOUNT_DATA:
        raise StoreError(f"image has too many layers for one overlay mount ({len(layer_dirs)})")
    return p


def make_dirs(p: RootfsPlan) -> None:
    for d in (p.rootfs, p.upper, p.work, *(x for x in p.lowers if x.name == "empty")):
        d.mkdir(mode=0o700 if d != p.rootfs else 0o755, exist_ok=True)
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
        _run([FUSE_OVERLAYFS, "-o", ",".join(p.overlay_options()[:3]), str(p.rootfs)],
             "fuse-overlayfs")


def release(p: RootfsPlan) -> None:
    """Undo prepare_mount() before the container dir is removed (fuse unmount)."""
    if p.driver == "fuse-overlayfs" and os.path.ismount(p.rootfs):
        _run(["umount", str(p.rootfs)], "umount")


def _run(argv: list[str], what: str) -> None:
    import subprocess  # only for the fallbacks and the one-time probe

    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        raise StoreError(f"{what} {argv[-1]}: {done.stderr.strip() or 'failed'}")


# -- which driver works here --------------------------------------------------

def driver_for(ctx: Context, on_debug=None) -> str:
    """The remembered driver of this store, probed on first use."""
    path = Path(ctx.root) / DRIVER_FILE
    try:
        driver = path.read_text().strip()
    except FileNotFoundError:
        driver = ""
    if driver not in DRIVERS:
        driver = probe(ctx)
        tmp = path.with_name(f".{DRIVER_FILE}.{os.getpid()}")
        tmp.write_text(driver + "\n")
        os.replace(tmp, path)
    if on_debug:
        on_debug(f"rootfs driver: {driver} (from {path})")
    return driver


def probe(ctx: Context) -> str:
    """Mount a tiny overlay with upper and work in the store: if the kernel
    takes it there, it will take the containers' too."""
    if _overlay_works(Path(ctx.tmp_dir), ctx.rootless):
        return "overlay"
    # Unprivileged, fuse-overlayfs needs /dev/fuse (often 0600 root) and
    # fusermount3: probe the device rather than trust the binary.
    if os.access(FUSE_OVERLAYFS, os.X_OK) and (
            not ctx.rootless or os.access("/dev/fuse", os.R_OK | os.W_OK)):
        return "fuse-overlayfs"
    return "copy"


def _overlay_works(tmp_dir: Path, rootless: bool = False) -> bool:
    """Rootless, the mount is tried where the runtime will do it: as root of
    a new user and mount namespace (unshare(1) -r), with userxattr."""
    tmp_dir.mkdir(parents=True, exist_ok=True)
    base = Path(os.path.realpath(tmp_dir)) / f"probe-overlay-{os.getpid()}"
    import subprocess

    dirs = [base / n for n in ("lower", "upper", "work", "merged")]
    try:
        for d in dirs:
            d.mkdir(parents=True, exist_ok=True)
        opts = f"lowerdir={dirs[0]},upperdir={dirs[1]},workdir={dirs[2]},index=off"
        argv = ["mount", "-t", "overlay", "overlay", "-o", opts, str(dirs[3])]
        if rootless:
            argv = ["unshare", "--user", "--map-root-user", "--mount",
                    *argv[:-2], opts + ",userxattr", str(dirs[3])]
        mounted = subprocess.run(argv, capture_output=True).returncode == 0
        if mounted and not rootless:  # the namespace's mount went with it
            subprocess.run(["umount", str(dirs[3])], capture_output=True)
        return mounted
    finally:
        if not os.path.ismount(dirs[3]):
            _remove_probe(base)


def _remove_probe(base: Path) -> None:
    import shutil

    # overlayfs leaves work/work mode 000: rmtree alone cannot list it.
    for sub in ("work/work", "work/index"):
        if (base / sub).is_dir():
            os.chmod(base / sub, 0o700)
    shutil.rmtree(base, ignore_errors=True)
