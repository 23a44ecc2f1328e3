"""The container monitor: the process that holds a detached container.

`boot.launch_monitor()` (CLI side) double-forks (setsid between the forks,
as daemon(3) and conmon do, so the monitor is no session leader and never
gets a controlling terminal) and execs a fresh `python -S` that imports
only this module, the runtime and the record code — not click, rich or
requests — to keep its memory small. The monitor starts the container with
runtime.process.start.spawn (the container's PID 1 is its child), reports how the start
went over a pipe, then execs the leaner waiter.py, which copies the
container's stdout/stderr into the json-file log until it exits, reaps it,
and calls exits.finish(): records the exit (ExitCode, FinishedAt,
OOMKilled) and removes the container if HostConfig.AutoRemove.

While the launching command holds the container's lock, the monitor
reports {"pid", "ticks", "monitor_pid", "monitor_ticks", "cgroups"} or
{"error", "code"}; the launcher writes the running state, so the monitor's
"exited" (which needs the lock) always lands after it.

No container runs unsupervised: PID 1 dies with its monitor
(PR_SET_PDEATHSIG, runtime/process/init.py), and a record whose monitor is gone
reads Exited (137) (lifecycle.reconcile). So the monitor must not die of
what it can foresee: the signals in IGNORED, a full store (log entries the
filesystem refuses are dropped and counted, jsonlog.py; the exit record is
written through a space reserve, exits.RESERVE), a clean-up that fails (`rm`
finishes it).
"""

from __future__ import annotations

import json
import os
import signal

from rs_docker.container import exits

# The container dies with its monitor (PR_SET_PDEATHSIG, runtime/process/init.py), so
# the monitor must not die of what it can foresee. Ignored: the terminal's
# and job control's signals (it has no terminal, but a launcher's session may
# hang up: SIGHUP), SIGPIPE (a write to a closed pipe is EPIPE, an error
# handled where it happens) and SIGXFSZ (a log past RLIMIT_FSIZE is EFBIG,
# and its entries are dropped: jsonlog.py). Ignored signals stay ignored
# across execve(2), into the waiter. SIGTERM and SIGKILL still end it, and
# with it the container.
IGNORED = (signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGTTOU, signal.SIGTTIN,
           signal.SIGPIPE, signal.SIGXFSZ)


def main(argv: list[str]) -> None:
    """argv: ROOT CONTAINER_ID STATUS_FD [BACKOFF_MS]. STATUS_FD -1: a
    restart (restart.relaunch), with no launcher to report to; BACKOFF_MS:
    the restart manager's last back-off, handed on to the waiter."""
    root, container_id, status_fd = argv[0], argv[1], int(argv[2])
    backoff_ms = int(argv[3]) if len(argv) > 3 else 0
    for sig in IGNORED:
        signal.signal(sig, signal.SIG_IGN)
    from rs_docker.context import Context

    ctx = Context.from_env(root=root)
    status = Status(status_fd)
    try:
        monitor(ctx, container_id, status, backoff_ms)
    except BaseException as e:  # noqa: B036 - the launcher must hear of any failure
        message = str(e) or type(e).__name__
        if not status.send({"error": message, "code": getattr(e, "exit_code", 125)}):
            exits.record_failure(root, container_id, message)
        raise SystemExit(125) from None


class Status:
    """The one-shot report to the launcher."""

    def __init__(self, fd: int):
        self.fd: int | None = fd if fd >= 0 else None

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


def monitor(ctx, container_id: str, status: Status, backoff_ms: int = 0) -> None:
    from rs_docker.container import state

    if status.fd is not None:
        _wait(*_start(ctx, container_id, status, backoff_ms))
        return
    # A restart: no launcher holds the lock and writes the running state,
    # so this does, under the lock from its last look at the record to the
    # running state: a `stop` marks the record under it too, and so either
    # finds the container running (and stops it) or keeps it from starting.
    from rs_docker.container import restart

    with state.locked(ctx, container_id):
        wanted = restart.still_wanted(state.read(ctx, container_id))
        started = _start(ctx, container_id, status, backoff_ms, relaunch=True) if wanted else None
    if started is None:
        restart.give_up(str(ctx.root), container_id)
        return
    _wait(*started)


def _start(ctx, container_id: str, status: Status, backoff_ms: int,
           relaunch: bool = False) -> tuple[list[str], list[int]]:
    """Start the container; the waiter's argv and the fds it inherits."""
    from rs_docker.container import logs, recorded_pid, state
    from rs_docker.runtime.process.start import spawn

    d = state.container_dir(ctx, container_id)
    record = state.read(ctx, container_id)
    exits.reserve_space(d)
    # Opened before the start: a log that cannot be created fails the start
    # (reported to the launcher), not the monitor of a running container.
    log_config = (record.get("HostConfig") or {}).get("LogConfig") or {}
    log_file = os.devnull if log_config.get("Type") == "none" else logs.log_path(d, container_id)
    log_fd = os.open(log_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
    plan = None
    out_r, out_w = os.pipe2(os.O_CLOEXEC)
    err_r, err_w = os.pipe2(os.O_CLOEXEC)
    # -i without -t: the container's stdin is a pipe whose write end the
    # waiter keeps for attach clients (attach.py); with -t the pty master.
    config = record.get("Config") or {}
    in_r, in_w = os.pipe2(os.O_CLOEXEC) if config.get("OpenStdin") and not config.get("Tty") \
        else (None, -1)
    from rs_docker.container import attach

    listen_fd = attach.listen(d)
    try:
        plan = exits.fuse_plan(d, record)
        c = spawn(d, stdin=in_r, stdout=out_w, stderr=err_w, container_id=container_id)
    except BaseException:
        exits.release_plan(plan)
        for fd in (log_fd, out_r, err_r, listen_fd, in_w):
            if fd >= 0:
                os.close(fd)
        raise
    finally:
        for fd in (out_w, err_w, in_r):
            if fd is not None:
                os.close(fd)
    cgroup = getattr(c, "_cgroup", None)
    me = os.getpid()
    report = {"pid": c.pid, "ticks": c.start_time, "monitor_pid": me,
              "monitor_ticks": recorded_pid.start_ticks(me),
              "cgroups": {k: str(v) for k, v in (cgroup.paths if cgroup else {}).items()}}
    if relaunch:
        from rs_docker.container import lifecycle

        lifecycle.set_running(record, report)
        state.write(ctx, container_id, record, exists=True)
        from rs_docker.container import events

        # A policy's restart is a start, as dockerd's restart manager logs it.
        events.emit(ctx, "container", "start", container_id, events.container_attributes(record))
    else:
        status.send(report)
    console = -1 if c.console is None else c.console
    finish = {"cgroup": exits.describe_cgroup(cgroup), "fuse": plan is not None,
              "backoff": backoff_ms}
    rotation = logs.rotation(record) if log_file != os.devnull else None
    if rotation is not None:
        finish["log"] = [log_file, *rotation]
    check = (record.get("Config") or {}).get("Healthcheck")
    if check:
        from rs_docker.container import health

        if health.enabled(check):
            finish["health"] = health.schedule(check)
    args = [str(ctx.root), container_id, str(c.exit_fd), str(out_r), str(err_r), str(log_fd),
            str(console), json.dumps(finish), str(in_w), str(listen_fd)]
    return args, [fd for fd in (c.exit_fd, out_r, err_r, log_fd, console, in_w, listen_fd)
                  if fd >= 0]


def _wait(args: list[str], fds: list[int]) -> None:
    from rs_docker.container import waiter

    # Wait in a fresh, lean interpreter: this one carries the whole runtime.
    waiter.exec_waiter(args, fds)
    waiter.wait_and_finish(args)  # execv failed: wait here


