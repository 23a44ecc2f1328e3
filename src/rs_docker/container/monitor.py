"""The container monitor: the process that holds a detached container.

`launch()` (CLI side) double-forks (setsid between the forks, as daemon(3)
and conmon do, so the monitor is no session leader and never gets a
controlling terminal) and execs a fresh `python -S` that imports only this
module, the runtime and the record code — not click, rich or requests — to
keep its memory small. The monitor starts the container with
runtime.spawn (the container's PID 1 is its child), reports how the start
went over a pipe, then execs the leaner waiter.py, which copies the
container's stdout/stderr into the json-file log until it exits, reaps it,
and calls finish() here: records the exit (ExitCode, FinishedAt,
OOMKilled) and removes the container if HostConfig.AutoRemove.

While the launching command holds the container's lock, the monitor
reports {"pid", "ticks", "monitor_pid", "monitor_ticks", "cgroups"} or
{"error", "code"}; the launcher writes the running state, so the monitor's
"exited" (which needs the lock) always lands after it.

No container runs unsupervised: PID 1 dies with its monitor
(PR_SET_PDEATHSIG, runtime/init.py), and a record whose monitor is gone
reads Exited (137) (lifecycle.reconcile). So the monitor must not die of
what it can foresee: the signals in IGNORED, a full store (log entries the
filesystem refuses are dropped and counted, jsonlog.py; the exit record is
written through a space reserve, RESERVE), a clean-up that fails (`rm`
finishes it).
"""

from __future__ import annotations

import json
import os
import signal

from rs_docker.container import boot

# -- launcher side (runs in the CLI) --------------------------------------------

def launch(root: str, container_id: str) -> dict:
    """Start a monitor for the container; its start report (see module doc)."""
    r, w = os.pipe()
    argv = boot.python_argv("rs_docker.container.monitor", [root, container_id, str(w)])
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            os.close(r)
            os.setsid()
            if os.fork() == 0:
                _exec_monitor(argv, w)
        finally:
            os._exit(0)
    os.close(w)
    os.waitpid(pid, 0)
    with os.fdopen(r, "rb") as f:
        data = f.read()
    try:
        return json.loads(data)
    except ValueError:
        return {"error": "container monitor exited before starting the container", "code": 125}


def _exec_monitor(argv: list[str], status_fd: int) -> None:  # pragma: no cover - child
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.closerange(3, status_fd)
    os.closerange(status_fd + 1, 1 << 16)
    os.set_inheritable(status_fd, True)
    os.chdir("/")
    os.execv(argv[0], argv)


# -- monitor side ---------------------------------------------------------------

# The container dies with its monitor (PR_SET_PDEATHSIG, runtime/init.py), so
# the monitor must not die of what it can foresee. Ignored: the terminal's
# and job control's signals (it has no terminal, but a launcher's session may
# hang up: SIGHUP), SIGPIPE (a write to a closed pipe is EPIPE, an error
# handled where it happens) and SIGXFSZ (a log past RLIMIT_FSIZE is EFBIG,
# and its entries are dropped: jsonlog.py). Ignored signals stay ignored
# across execve(2), into the waiter. SIGTERM and SIGKILL still end it, and
# with it the container.
IGNORED = (signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGTTOU, signal.SIGTTIN,
           signal.SIGPIPE, signal.SIGXFSZ)
# Kept free in the container's directory until the exit is recorded: the
# store's filesystem may be full by then (the container can fill it), and
# the record is replaced through a temporary file.
RESERVE = ".exit-record-reserve"
RESERVE_BYTES = 256 * 1024


def main(argv: list[str]) -> None:
    root, container_id, status_fd = argv[0], argv[1], int(argv[2])
    for sig in IGNORED:
        signal.signal(sig, signal.SIG_IGN)
    from rs_docker.context import Context

    ctx = Context.from_env(root=root)
    status = Status(status_fd)
    try:
        monitor(ctx, container_id, status)
    except BaseException as e:  # noqa: B036 - the launcher must hear of any failure
        message = str(e) or type(e).__name__
        if not status.send({"error": message, "code": getattr(e, "exit_code", 125)}):
            record_failure(root, container_id, message)
        raise SystemExit(125) from None


class Status:
    """The one-shot report to the launcher."""

    def __init__(self, fd: int):
        self.fd: int | None = fd

    def send(self, message: dict) -> bool:
        """False when already sent (the fd number may be reused by then)."""
        if self.fd is None:
            return False
        fd, self.fd = self.fd, None
        try:
            os.write(fd, json.dumps(message).encode())
        except OSError:
            pass  # the launcher is gone; the record still tells
        os.close(fd)
        return True


def record_failure(root: str, container_id: str, message: str) -> None:
    """A failure after the start was reported: the record must not stay "running"."""
    from rs_docker.container import state
    from rs_docker.context import Context

    ctx = Context.from_env(root=root)
    try:
        with_reserve(state.container_dir(ctx, container_id), lambda: state.set_state(
            ctx, container_id, Status=state.EXITED, Pid=0, ExitCode=125, Error=message,
            FinishedAt=state.now()))
    except Exception:  # noqa: BLE001 - gone with --rm; `ps` reconciles anything else
        pass


def monitor(ctx, container_id: str, status: Status) -> None:
    from rs_docker import runtime
    from rs_docker.container import logs, procs, state, waiter

    d = state.container_dir(ctx, container_id)
    record = state.read(ctx, container_id)
    reserve_space(d)
    # Opened before the start: a log that cannot be created fails the start
    # (reported to the launcher), not the monitor of a running container.
    log_fd = os.open(logs.log_path(d, container_id), os.O_WRONLY | os.O_APPEND | os.O_CREAT
                     | os.O_CLOEXEC, 0o640)
    plan = None
    out_r, out_w = os.pipe2(os.O_CLOEXEC)
    err_r, err_w = os.pipe2(os.O_CLOEXEC)
    try:
        plan = _fuse_plan(d, record)
        c = runtime.spawn(d, stdin=None, stdout=out_w, stderr=err_w, container_id=container_id)
    except BaseException:
        _release(plan)
        for fd in (log_fd, out_r, err_r):
            os.close(fd)
        raise
    finally:
        os.close(out_w)
        os.close(err_w)
    cgroup = getattr(c, "_cgroup", None)
    me = os.getpid()
    status.send({"pid": c.pid, "ticks": c.start_time, "monitor_pid": me,
                 "monitor_ticks": procs.start_ticks(me),
                 "cgroups": {k: str(v) for k, v in (cgroup.paths if cgroup else {}).items()}})
    console = -1 if c.console is None else c.console
    args = [str(ctx.root), container_id, str(c.exit_fd), str(out_r), str(err_r), str(log_fd),
            str(console), json.dumps({"cgroup": describe_cgroup(cgroup), "fuse": plan is not None})]
    # Wait in a fresh, lean interpreter: this one carries the whole runtime.
    waiter.exec_waiter(args, [fd for fd in (c.exit_fd, out_r, err_r, log_fd, console) if fd >= 0])
    waiter.wait_and_finish(args)  # execv failed: wait here


def finish(root: str, container_id: str, code: int, finish_json: str,
           dropped: tuple[int, int] = (0, 0)) -> None:
    """After the container's PID 1 was reaped with `code`: OOM, cgroup
    removal, fuse unmount, then the record (and AutoRemove). The exit is
    recorded whatever the clean-up met: `rm` removes what is left
    (lifecycle._free). dropped: (entries, bytes) of output the log's
    filesystem refused, kept in the record as RsDocker.LogDropped."""
    from rs_docker.container import state
    from rs_docker.context import Context
    from rs_docker.errors import RsDockerError

    info = json.loads(finish_json)
    ctx = Context.from_env(root=root)
    oom = False
    try:
        oom = _release_cgroup(info.get("cgroup"))
        if info.get("fuse"):
            d = state.container_dir(ctx, container_id)
            _release(_fuse_plan(d, state.read(ctx, container_id), mount=False))
    except (OSError, RsDockerError):
        pass  # left for `rm`: the exit must be recorded
    _record_exit(ctx, container_id, code, oom, state, dropped)


def _release_cgroup(info: dict | None) -> bool:
    """Read the container's OOM kill counter, then remove its cgroup; whether
    the OOM killer struck."""
    cgroup = reopen_cgroup(info)
    if cgroup is None:
        return False
    try:
        return bool(cgroup.oom_killed())
    finally:
        cgroup.destroy()


def describe_cgroup(cgroup) -> dict | None:
    """What reopen_cgroup() needs, as JSON: the waiter holds no objects."""
    if cgroup is None:
        return None
    unified = cgroup.layout.unified if cgroup.layout is not None else None
    return {"version": cgroup.version,
            "paths": {k: str(v) for k, v in cgroup.paths.items()},
            "unified_mount": str(unified.mount_point) if unified is not None else None}


def reopen_cgroup(info: dict | None):
    """The container's Cgroup again, from describe_cgroup()'s output, to read
    its OOM counter and remove it (nothing is created or written)."""
    if not info:
        return None
    from rs_docker.runtime.cgroups import Cgroup
    from rs_docker.runtime.cgroups.v1 import V1
    from rs_docker.runtime.cgroups.v2 import V2

    paths = dict(info["paths"])  # str paths, as the cgroups package keeps them
    mount = info.get("unified_mount") or "/sys/fs/cgroup"
    unified = [V2(paths.pop(""), mount)] if "" in paths else []
    if info["version"] == 2:
        return Cgroup(None, unified[0], [])
    return Cgroup(None, V1(paths), unified)


def _record_exit(ctx, container_id: str, code: int, oom: bool, state,
                 dropped: tuple[int, int] = (0, 0)) -> None:
    fields = {"Status": state.EXITED, "Running": False, "Pid": 0, "ExitCode": code,
              "OOMKilled": oom, "FinishedAt": state.now()}

    def change(record: dict) -> None:
        record.setdefault("State", {}).update(fields)
        if dropped[0]:
            record.setdefault("RsDocker", {})["LogDropped"] = {"entries": dropped[0],
                                                                "bytes": dropped[1]}

    d = state.container_dir(ctx, container_id)
    record = with_reserve(d, lambda: state.update(ctx, container_id, change))
    _drop_reserve(d)
    if (record.get("HostConfig") or {}).get("AutoRemove"):
        from rs_docker.container import lifecycle

        lifecycle.remove(ctx, container_id, force=True)


def reserve_space(d: str) -> None:
    """Allocate RESERVE in the container's directory (best effort)."""
    try:
        fd = os.open(os.path.join(d, RESERVE), os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError:
        return
    try:
        os.posix_fallocate(fd, 0, RESERVE_BYTES)
    except OSError:
        try:  # no fallocate here (EOPNOTSUPP): blocks written are blocks held
            os.ftruncate(fd, 0)
            os.write(fd, bytes(RESERVE_BYTES))
        except OSError:
            pass  # no room even now: nothing to hold back
    finally:
        os.close(fd)


def with_reserve(d: str, write):
    """write(); when the filesystem is full (ENOSPC, EDQUOT), free the
    reserve and write() again."""
    import errno

    try:
        return write()
    except OSError as e:
        if e.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
    _drop_reserve(d)
    return write()


def _drop_reserve(d: str) -> None:
    try:
        os.unlink(os.path.join(d, RESERVE))
    except OSError:
        pass


def _fuse_plan(d, record, mount: bool = True):
    """The rootfs plan when fuse-overlayfs must be mounted before the runtime
    starts (the overlay driver is mounted by the runtime itself)."""
    extra = record.get("RsDocker") or {}
    if extra.get("RootfsDriver") != "fuse-overlayfs":
        return None
    from rs_docker.container import rootfs

    p = rootfs.plan(d, extra.get("Layers") or [], "fuse-overlayfs")
    if mount:
        rootfs.prepare_mount(p)
    return p


def _release(plan) -> None:
    if plan is not None:
        from rs_docker.container import rootfs

        rootfs.release(plan)
