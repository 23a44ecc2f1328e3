"""`exec`: another process in a running container, through
runtime.process.exec.exec_in (which joins every namespace of the container,
PID included, and its cgroup, and keeps its root, capabilities, seccomp and no_new_privs).

The process is the container's config.json process with Docker's exec
overrides (daemon/exec.go): the arguments, -e added to the container's
environment, -w, -u (resolved against the container's own /etc/passwd and
/etc/group, read through the layers, never through /proc/PID/root where an
absolute symlink would lead out of the container), -t.
"""

from __future__ import annotations

import os

from rs_docker.container import lifecycle, state
from rs_docker.context import Context
from rs_docker.errors import Conflict, UsageError
from rs_docker.store import atomic
from rs_docker.values import record


@record
class ExecOptions:
    args: tuple[str, ...]
    env: tuple[str, ...] = ()      # KEY=VALUE, already resolved against the caller's env
    workdir: str | None = None
    user: str | None = None
    tty: bool = False
    interactive: bool = False
    detach: bool = False


class ContainerNotRunning(Conflict):
    """exec into a container that is not running (Docker: exit 1)."""

    exit_code = 1


def build_process(config: dict, opts: ExecOptions, read_file=None) -> dict:
    """The OCI process for the exec, from the container's config.json."""
    from rs_docker.models.env import replace_or_append

    if not opts.args:
        raise UsageError("exec requires at least 1 command argument")
    process = dict(config["process"])
    process.update(args=list(opts.args), terminal=opts.tty,
                   env=replace_or_append(list(process.get("env") or []), opts.env))
    if opts.workdir:
        if not opts.workdir.startswith("/"):
            raise UsageError(f"the working directory '{opts.workdir}' is invalid, "
                             f"it needs to be an absolute path")
        process["cwd"] = opts.workdir
    if opts.user:
        _set_user(process, opts, read_file or (lambda _path: None))
    return process


def _set_user(process: dict, opts: ExecOptions, read_file) -> None:
    from rs_docker.models.spec import additional_gids
    from rs_docker.models.users import resolve_user

    user = resolve_user(opts.user, read_file("/etc/passwd"), read_file("/etc/group"))
    process["user"] = {"uid": user.uid, "gid": user.gid, "additionalGids": additional_gids(user)}
    caps = dict(process.get("capabilities") or {})
    if caps:
        # moby oci.SetCapabilities: a non-root user keeps only the bounding set.
        mine = list(caps.get("bounding") or []) if user.uid == 0 else []
        caps.update(effective=mine, permitted=mine)
        process["capabilities"] = caps
    if not any(e.startswith("HOME=") for e in opts.env):
        process["env"] = [e for e in process["env"] if not e.startswith("HOME=")] + \
            [f"HOME={user.home}"]


def _reader(ctx: Context, container_id: str, record: dict):
    """read_file(path) -> text|None over the container's merged layers."""
    from rs_docker.container import rootfs

    x = record.get("RsDocker") or {}
    plan = rootfs.plan(state.container_dir(ctx, container_id), x.get("Layers") or [],
                       x.get("RootfsDriver") or "overlay")
    stack = plan.stack()

    def read_file(path: str) -> str | None:
        data = stack.read_file(path)
        return None if data is None else data.decode("utf-8", "replace")

    return read_file


def exec_in_container(ctx: Context, container_id: str, opts: ExecOptions) -> int:
    """Run the exec to its end (or, with detach, start it and return 0);
    its exit code, Docker's encoding."""
    from rs_docker.runtime.process.exec import exec_in

    record = lifecycle.refresh(ctx, container_id)
    if not lifecycle.is_running(record):
        raise ContainerNotRunning(f"container {container_id} is not running")
    if record["State"].get("Paused"):
        raise ContainerNotRunning(f"Container {container_id} is paused, unpause the "
                                  f"container before exec")
    d = state.container_dir(ctx, container_id)
    config = atomic.read_json(os.path.join(d, "config.json"))
    process = build_process(config, opts, _reader(ctx, container_id, record))
    pid = record["State"]["Pid"]
    if opts.detach:
        return _detached(lambda: exec_in(pid, process, config, stdin=None,
                                         stdout=None, stderr=None,
                                         forward_signals=False))
    stdio = (0 if opts.interactive else None, 1, 2)
    if opts.tty or not any(fd is not None and os.isatty(fd) for fd in stdio):
        return exec_in(pid, process, config, stdin=stdio[0], stdout=1,
                       stderr=2).exit_code
    # Without -t the caller's terminal is relayed, never handed over (stdio_relay.py).
    from rs_docker.container.stdio_relay import Relay

    relay = Relay(stdio)
    try:
        return exec_in(pid, process, config, stdin=relay.stdio[0],
                       stdout=relay.stdio[1], stderr=relay.stdio[2]).exit_code
    finally:
        relay.finish()


def _detached(body) -> int:
    """exec -d: run body in a grandchild in its own session (not our child
    to reap, not in our terminal's process group); return at once."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        code = 0
        try:
            os.setsid()
            if os.fork() == 0:
                devnull = os.open(os.devnull, os.O_RDWR)
                for fd in (0, 1, 2):
                    os.dup2(devnull, fd)
                try:
                    body()
                except BaseException:  # noqa: B036 - nothing may unwind past fork
                    code = 125
        finally:
            os._exit(code)
    os.waitpid(pid, 0)
    return 0
