"""Who may enter the store: its owner alone.

A store other users can traverse hands them root (CVE-2021-41091, fixed in
Docker 20.10.9 by closing /var/lib/docker and its graph-driver dirs to other
users): a pull unpacks an image's setuid-root binaries and device nodes into
layers/, a container writes its own into upper/, and config.json and
container.json hold the values of `-e`. So the store root is 0700 (Docker
makes its data root 0710 root:root only to let a remapped container root
through; here every access below the root happens as the store's owner: a
rootless container's root is the user itself, and overlayfs reaches its
layers with the mounter's credentials), records and locks are 0600, and the
store's own directories 0700. Modes are given at creation, so the umask can
only narrow them.

The root's mode is the marker of a secured store: Context.from_env checks it
with one stat(2) per command and calls secure() only when it is not
STORE_MODE, i.e. on a new store or one an older rs-docker left open.
"""

from __future__ import annotations

import os
import stat

from rs_docker.context import STORE_MODE
from rs_docker.store.locks import sweep_transient

RECORD_MODE = 0o600
DIR_MODE = 0o700
# The store's own directories (not layer trees, not a container's rootfs).
_DIRS = ("blobs", "blobs/sha256", "layers", "containers", "names", "locks", "tmp", "cache",
         "volumes")
# Records in each containers/<id>/ (hostname, hosts and resolv.conf are
# bind-mounted into the container, for its own users to read: they stay 0644).
_CONTAINER_RECORDS = ("config.json", "container.json", "runtime.json")


def secure(root: str) -> None:
    """Make `root` a private store: create it (mode STORE_MODE) if missing,
    else narrow the modes an older store was left with, the root's own
    last, so that an interrupted migration is done again next time.
    Raises OSError (the caller decides whether that matters)."""
    try:
        os.mkdir(root, STORE_MODE)
    except FileNotFoundError:
        os.makedirs(os.path.dirname(root), exist_ok=True)
        os.mkdir(root, STORE_MODE)
    except FileExistsError:
        _migrate(root)
    os.chmod(root, STORE_MODE)  # mkdir(2) applies the umask; chmod(2) does not


def _migrate(root: str) -> None:
    for name in _DIRS:
        _chmod_dir(os.path.join(root, name))
    _chmod_file(os.path.join(root, "images.json"))
    for sub in ("names", "locks", "blobs/sha256"):
        for path in _entries(os.path.join(root, sub)):
            _chmod_file(path)
    for path in _entries(os.path.join(root, "containers")):
        for name in _CONTAINER_RECORDS:
            _chmod_file(os.path.join(path, name))
    # Stores from before transient locks kept one file per blob ever fetched.
    sweep_transient(os.path.join(root, "locks"))


def _entries(path: str) -> list[str]:
    try:
        return [os.path.join(path, n) for n in os.listdir(path)]
    except (FileNotFoundError, NotADirectoryError):
        return []


def _chmod_dir(path: str) -> None:
    _chmod_if(path, stat.S_ISDIR, DIR_MODE)


def _chmod_file(path: str) -> None:
    _chmod_if(path, stat.S_ISREG, RECORD_MODE)


def _chmod_if(path: str, kind, mode: int) -> None:
    # lstat: a symlink is never followed out of the store (Linux has no
    # lchmod; nothing but the store's owner writes in it, so the check holds).
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if kind(st.st_mode) and stat.S_IMODE(st.st_mode) != mode:
        os.chmod(path, mode)
