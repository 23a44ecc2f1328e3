"""A container's root filesystem as one directory descriptor, for `cp` and
`export`: the merged tree the container sees.

`snapshot`: the container's own root filesystem, running or not, without
what is mounted on it (what `export` writes): the upper dir and the image's
layers mounted read-only, privately (below). Otherwise, a running
container: its PID 1's root, `/proc/PID/root`, opened while a
pidfd proves PID 1 is still the recorded process (so a reused PID never
lends us another process's root); its volumes and binds are visible, as
Docker's cp sees them. A stopped (or created) container: its overlay
mounted privately, in a mount namespace of this process's own (unshared
first, so the mount never shows on the host and vanishes with the process
if it is killed), under the container's lock so that `start` does not
mount the same upper dir meanwhile; the copy driver's rootfs is the tree
itself.

The descriptor is an O_PATH directory: every lookup below it goes through
linux/openat2.py with RESOLVE_IN_ROOT, never through a host path.
"""

from __future__ import annotations

import os

from rs_docker.container import lifecycle, recorded_pid, state
from rs_docker.context import Context
from rs_docker.errors import Conflict, StoreError

_DIR = os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC
MS_REC = 0x4000
MS_BIND = 0x1000
MS_REMOUNT = 0x20
MS_RDONLY = 1
MS_PRIVATE = 1 << 18
MNT_DETACH = 2


class RootView:
    """`with RootView(ctx, cid) as fd:` the container's root; `.running`
    says which kind it is. Raises Conflict when the root cannot be opened
    (the container is being removed, or its PID 1 just exited)."""

    def __init__(self, ctx: Context, container_id: str, snapshot: bool = False):
        self.ctx, self.cid, self.snapshot = ctx, container_id, snapshot
        self.running = False
        self._fd = -1
        self._lock = None
        self._mounted: str | None = None
        self._temp = None

    def __enter__(self) -> int:
        record = lifecycle.refresh(self.ctx, self.cid)
        if self.snapshot:
            try:
                self._fd = self._stopped_root(record, readonly=True)
            except BaseException:
                self.__exit__(None, None, None)
                raise
            return self._fd
        if lifecycle.is_running(record):
            fd = _running_root(record)
            if fd is not None:
                self.running = True
                self._fd = fd
                return fd
        self._lock = state.locked(self.ctx, self.cid)
        self._lock.__enter__()
        try:
            record = state.read(self.ctx, self.cid)
            if lifecycle.reconcile(record):
                state.write(self.ctx, self.cid, record)
            if lifecycle.is_running(record):
                raise Conflict(f"container {self.cid[:12]} started while its files were read")
            self._fd = self._stopped_root(record)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self._fd

    def __exit__(self, *_exc) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        if self._mounted:
            from rs_docker.linux import syscalls

            try:
                syscalls.umount2(self._mounted, MNT_DETACH)
            except OSError:
                # Still mounted here (only here: the namespace is ours): the
                # temp dir must not be emptied through the mount; the sweep
                # removes it once this process is gone.
                self._temp = None
            self._mounted = None
        if self._temp is not None:
            self._temp.__exit__(None, None, None)
            self._temp = None
        if self._lock is not None:
            self._lock.__exit__(None, None, None)
            self._lock = None

    def _stopped_root(self, record: dict, readonly: bool = False) -> int:
        data = (record.get("GraphDriver") or {}).get("Data") or {}
        driver = record.get("Driver") or "overlay"
        merged = data.get("MergedDir") or os.path.join(
            state.container_dir(self.ctx, self.cid), "rootfs")
        if driver == "copy":
            return os.open(merged, _DIR | os.O_NOFOLLOW)
        lowers, upper, work = data.get("LowerDir"), data.get("UpperDir"), data.get("WorkDir")
        if not (lowers and upper and work):
            raise StoreError(f"container {self.cid[:12]}: no root filesystem recorded")
        from rs_docker.linux import constants, syscalls
        from rs_docker.store.atomic import temp_dir

        _private_mounts(syscalls, constants)
        self._temp = temp_dir(self.ctx.tmp_dir, f"rootview-{self.cid[:12]}")
        target, _ = self._temp.__enter__()
        # Read-only: the upper dir as the top lower layer (its whiteouts and
        # opaque dirs count there too), no work dir, nothing in use twice.
        options = (f"lowerdir={upper}:{lowers}" if readonly else
                   f"lowerdir={lowers},upperdir={upper},workdir={work}") + ",index=off"
        if self.ctx.rootless:
            options += ",userxattr"
        try:
            syscalls.mount("overlay", target, "overlay", constants.MS_RDONLY if readonly else 0,
                           options)
        except OSError as e:
            raise StoreError(f"mount the root of container {self.cid[:12]}: "
                             f"{(e.strerror or str(e)).lower()}") from None
        self._mounted = target
        fd = os.open(target, _DIR | os.O_NOFOLLOW)
        if not readonly:
            _mount_volumes(syscalls, fd, record.get("Mounts") or [])
        return fd


def _mount_volumes(syscalls, root_fd: int, mounts: list) -> None:
    """The container's volumes and binds over its stopped root, as its
    start would mount them, so `cp` reads and writes them (Docker mounts
    them for an archive request too). Each destination is resolved inside
    the root (openat2) and mounted on through its descriptor, so an image's
    symlink cannot aim the bind at a host path."""
    from rs_docker.linux.openat2 import O_PATH, openat2

    for m in mounts:
        if not isinstance(m, dict) or m.get("Type") not in ("bind", "volume"):
            continue
        source, dest = m.get("Source"), str(m.get("Destination") or "")
        if not source or not dest.startswith("/"):
            continue
        try:
            fd = openat2(root_fd, dest.strip("/") or ".", O_PATH)
        except OSError:
            continue  # made by the runtime at start: nothing of it to copy yet
        target = f"/proc/self/fd/{fd}"
        try:
            syscalls.mount(source, target, None, MS_BIND | MS_REC, None)
            if m.get("RW") is False:
                syscalls.mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY, None)
        except OSError:
            pass  # a source gone since: the container's own layer shows
        finally:
            os.close(fd)


def _private_mounts(syscalls, constants) -> None:
    """Move this process into a mount namespace of its own, whose mounts
    propagate nowhere (once per process)."""
    global _unshared
    if _unshared:
        return
    syscalls.unshare(constants.CLONE_NEWNS)
    syscalls.mount(None, "/", None, MS_REC | MS_PRIVATE, None)
    _unshared = True


_unshared = False


def _running_root(record: dict) -> int | None:
    """An O_PATH descriptor of PID 1's root, or None when PID 1 is gone."""
    import signal

    st = record.get("State") or {}
    pid = st.get("Pid")
    pidfd = recorded_pid.open_pidfd(pid, lifecycle.extra(record).get("PidStartTime"))
    if pidfd is None:
        return None
    try:
        try:
            fd = os.open(f"/proc/{pid}/root", _DIR)
        except OSError:
            return None
        try:
            # Still alive after the open: the root is that process's, not a
            # later holder of its PID's.
            signal.pidfd_send_signal(pidfd, 0)
        except ProcessLookupError:
            os.close(fd)
            return None
        return fd
    finally:
        os.close(pidfd)
