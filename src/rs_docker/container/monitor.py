"""The container monitor: the process that holds a detached container.

`launch()` (CLI side) double-forks (setsid between the forks, as daemon(3)
and conmon do, so the monitor is no session leader and never gets a
controlling terminal) and execs a fresh `python -S` that imports only this
module, the runtime and the record code — not click, rich or requests — to
keep its memory small. The monitor starts the container with
runtime.spawn, reports how the start went over a pipe, then copies the
container's stdout/stderr into the json-file log until it exits, records
the exit (ExitCode, FinishedAt, OOMKilled) and removes the container if
HostConfig.AutoRemove.

While the launching command holds the container's lock, the monitor
reports {"pid", "ticks", "monitor_pid", "monitor_ticks", "cgroups"} or
{"error", "code"}; the launcher writes the running state, so the monitor's
"exited" (which needs the lock) always lands after it.
"""

from __future__ import annotations

import json
import os
import select
import signal
import sys

MONITOR_READ = 65536


# -- launcher side (runs in the CLI) --------------------------------------------

def _boot_code() -> str:
    package_parent = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return (f"import sys; sys.path.insert(0, {package_parent!r}); "
            f"from rs_docker.container.monitor import main; main(sys.argv[1:])")


def launch(root: str, container_id: str) -> dict:
    """Start a monitor for the container; its start report (see module doc)."""
    r, w = os.pipe()
    argv = [sys.executable, "-S", "-c", _boot_code(), root, container_id, str(w)]
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

def main(argv: list[str]) -> None:
    root, container_id, status_fd = argv[0], argv[1], int(argv[2])
    for sig in (signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGTTOU, signal.SIGTTIN):
        signal.signal(sig, signal.SIG_IGN)
    from rs_docker.context import Context

    ctx = Context.from_env(root=root)
    status = Status(status_fd)
    try:
        monitor(ctx, container_id, status)
    except BaseException as e:  # noqa: B036 - the launcher must hear of any failure
        message = str(e) or type(e).__name__
        if not status.send({"error": message, "code": getattr(e, "exit_code", 125)}):
            _record_failure(ctx, container_id, message)
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


def _record_failure(ctx, container_id: str, message: str) -> None:
    """A failure after the start was reported: the record must not stay "running"."""
    from rs_docker.container import state

    try:
        state.set_state(ctx, container_id, Status=state.EXITED, Pid=0, ExitCode=125,
                        Error=message, FinishedAt=state.now())
    except Exception:  # noqa: BLE001 - gone with --rm; `ps` reconciles anything else
        pass


def monitor(ctx, container_id: str, status: Status) -> None:
    from rs_docker import runtime
    from rs_docker.container import logs, procs, state

    d = state.container_dir(ctx, container_id)
    record = state.read(ctx, container_id)
    plan = _fuse_plan(d, record)
    out_r, out_w = os.pipe2(os.O_CLOEXEC)
    err_r, err_w = os.pipe2(os.O_CLOEXEC)
    try:
        c = runtime.spawn(d, stdin=None, stdout=out_w, stderr=err_w, container_id=container_id)
    except BaseException:
        _release(plan)
        raise
    finally:
        os.close(out_w)
        os.close(err_w)
    cgroup = getattr(c, "_cgroup", None)
    me = os.getpid()
    status.send({"pid": c.pid, "ticks": c.start_time, "monitor_pid": me,
                        "monitor_ticks": procs.start_ticks(me),
                        "cgroups": {k: str(v) for k, v in (cgroup.paths if cgroup else {}).items()}})
    log_fd = os.open(logs.log_path(d, container_id), os.O_WRONLY | os.O_APPEND | os.O_CREAT
                     | os.O_CLOEXEC, 0o640)
    try:
        pump(c.exit_fd, {out_r: "stdout", err_r: "stderr"}, logs.LogWriter(log_fd))
        result = c.wait()
    finally:
        os.close(log_fd)
        _release(plan)
    _record_exit(ctx, container_id, result, state)


def pump(exit_fd: int, streams: dict[int, str], writer) -> None:
    """Copy the pipes into the log until they close; once the container has
    exited, stop after 2 s of silence (a pipe some escaped process still holds)."""
    poller = select.poll()
    for fd in (exit_fd, *streams):
        poller.register(fd, select.POLLIN)
    exited = False
    while streams:
        events = poller.poll(2000 if exited else None)
        if not events:
            break
        for fd, _ev in events:
            if fd == exit_fd:
                exited = True
                poller.unregister(fd)
                continue
            data = os.read(fd, MONITOR_READ)
            if data:
                writer.feed(streams[fd], data)
                continue
            writer.flush(streams.pop(fd))
            poller.unregister(fd)
            os.close(fd)
    for fd, name in streams.items():
        writer.flush(name)
        os.close(fd)


def _record_exit(ctx, container_id: str, result, state) -> None:
    record = state.set_state(ctx, container_id, Status=state.EXITED, Pid=0,
                             ExitCode=result.exit_code, OOMKilled=bool(result.oom_killed),
                             FinishedAt=state.now())
    if (record.get("HostConfig") or {}).get("AutoRemove"):
        from rs_docker.container import lifecycle

        lifecycle.remove(ctx, container_id, force=True)


def _fuse_plan(d, record):
    """The rootfs plan when fuse-overlayfs must be mounted before the runtime
    starts (the overlay driver is mounted by the runtime itself)."""
    extra = record.get("RsDocker") or {}
    if extra.get("RootfsDriver") != "fuse-overlayfs":
        return None
    from rs_docker.container import rootfs

    p = rootfs.plan(d, extra.get("Layers") or [], "fuse-overlayfs")
    rootfs.prepare_mount(p)
    return p


def _release(plan) -> None:
    if plan is not None:
        from rs_docker.container import rootfs

        rootfs.release(plan)
