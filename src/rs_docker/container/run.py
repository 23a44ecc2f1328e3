"""`run` as a service: find (or pull) the image, create the container, run
it through the runtime, record how it ended, and remove it with --rm.

The hot path imports only what running needs: the registry client (and
requests) are imported only when a pull happens.
"""

from __future__ import annotations

import os

from rs_docker.container import create, events, rootfs, state
from rs_docker.context import Context
from rs_docker.errors import RsDockerError, UsageError
from rs_docker.image import local
from rs_docker.models.run_options import NETWORK_MODES
from rs_docker.values import record

TYPE_CHECKING = False  # not typing's: typing stays off the run path (docs/ARCHITECTURE.md)
if TYPE_CHECKING:
    from collections.abc import Callable

    from rs_docker.models.run_options import RunOptions


def _ignore(*_args, **_kwargs) -> None:
    pass


@record
class RunCallbacks:
    """How run reports: `notice` for lines Docker prints on stderr ("Unable
    to find image 'x' locally"), `debug` for --debug lines, `pull_progress`
    handed to image.pull (and `pull_done` after it), `started(container_id)` once the process runs."""

    notice: Callable[[str], None] = _ignore
    debug: Callable[[str], None] = _ignore
    pull_progress: Callable | None = None
    pull_done: Callable[[], None] = _ignore
    started: Callable[[str], None] = _ignore


def check_options(opts: RunOptions) -> None:
    local.check_policy(opts.pull)
    if opts.sig_proxy is not None and opts.sig_proxy not in (
            "1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False"):
        raise UsageError(f'invalid argument "{opts.sig_proxy}" for "--sig-proxy" flag: '
                         f'strconv.ParseBool: parsing "{opts.sig_proxy}": invalid syntax')
    if opts.attach:
        if opts.detach:
            raise UsageError("conflicting options: cannot specify both --attach and --detach")
        for stream in opts.attach:
            if stream.lower() not in ("stdin", "stdout", "stderr"):
                raise UsageError(f'invalid argument "{stream}" for "-a, --attach" flag: '
                                 f"valid streams are STDIN, STDOUT and STDERR")
    if opts.log_driver != "json-file" or opts.log_opts:
        from rs_docker.container import logs

        logs.log_config(opts.log_driver, opts.log_opts)
    if opts.restart not in ("", "no"):
        from rs_docker.container import restart

        restart.parse(opts.restart)
        if opts.remove:
            raise UsageError("conflicting options: cannot specify both --restart and --rm")
    if opts.no_healthcheck or opts.health_cmd is not None or opts.health_retries is not None \
            or opts.health_interval is not None or opts.health_timeout is not None \
            or opts.health_start_period is not None or opts.health_start_interval is not None:
        from rs_docker.container import health

        health.from_flags(opts)
    if opts.network not in NETWORK_MODES and not opts.network.startswith("container:"):
        from rs_docker.network import network_mode

        network_mode(opts.network)  # a named network is looked up at create
    from rs_docker.models import spec

    spec.check_flags(opts, ncpu=len(os.sched_getaffinity(0)))


def find_image(ctx: Context, opts: RunOptions, cb: RunCallbacks) -> create.Image:
    """The image per --pull (image.local.ensure): pulled when missing, like
    `docker run`, which says so first."""
    record = local.ensure(ctx, opts.image, opts.pull, opts.platform, cb.pull_progress,
                          cb.notice, cb.pull_done)
    return _image(ctx, record)


def _image(ctx: Context, record) -> create.Image:
    from rs_docker.models import image_config
    from rs_docker.store.content import ContentStore
    from rs_docker.store.layers import LayerStore

    config = image_config.parse(ContentStore(ctx).read(record.config))
    layers = LayerStore(ctx)
    return create.Image(id=str(record.config), reference=record.reference,
                        config=config.config,
                        layers=tuple(os.fspath(layers.path(c)) for c in record.chain_ids))


def run_container(ctx: Context, opts: RunOptions, progress: RunCallbacks | None = None,
                  startup=None) -> int:
    """Run the container to its end; its exit code (Docker's: N, or 128+signal).
    startup: the caller's start-up slot (runtime/startup.StartUp), handed
    to the runtime; the caller leaves it."""
    cb = progress or RunCallbacks()
    check_options(opts)
    image = find_image(ctx, opts, cb)
    created = create.create_container(ctx, opts, image, cb.debug)
    try:
        return _start(ctx, created, opts, cb, startup)
    finally:
        if opts.remove:
            remove(ctx, created)
            events.emit(ctx, "container", "destroy", created.id,
                        {"image": opts.image, "name": created.name})


def create_only(ctx: Context, opts: RunOptions, progress: RunCallbacks | None = None) -> str:
    """`create`: the container as `run` would make it (image pulled per
    --pull, volumes made), not started; its id. `start` runs it."""
    cb = progress or RunCallbacks()
    check_options(opts)
    image = find_image(ctx, opts, cb)
    return create.create_container(ctx, opts, image, cb.debug).id


def run_detached(ctx: Context, opts: RunOptions, progress: RunCallbacks | None = None) -> str:
    """`run -d`: create the container, start it under a monitor, return its
    id once its command runs (the monitor records the exit, and removes it
    with --rm)."""
    from rs_docker.container import lifecycle

    cb = progress or RunCallbacks()
    check_options(opts)
    image = find_image(ctx, opts, cb)
    created = create.create_container(ctx, opts, image, cb.debug)
    lifecycle.start(ctx, created.id)
    cb.started(created.id)
    return created.id


def _start(ctx: Context, created: create.Created, opts: RunOptions, cb: RunCallbacks,
           startup=None) -> int:
    from rs_docker.runtime.process.start import run as run_bundle

    attrs = {"image": opts.image, "name": created.name}

    def on_start(pid=None, *_args, **_kwargs) -> None:
        state.set_state(ctx, created.id, Status=state.RUNNING, Pid=pid or 0,
                        StartedAt=state.now())
        cb.started(created.id)
        events.emit(ctx, "container", "start", created.id, attrs)

    stdin = 0 if opts.interactive and _attached(opts, "stdin") \
        else os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
    rootfs.prepare_mount(created.plan)
    net = None
    if os.path.exists(os.path.join(created.dir, "network.json")):
        from rs_docker.network import attach  # bridge networking only

        net = attach
        try:
            attach.up(ctx, created.dir, created.id, state.read(ctx, created.id))
        except BaseException:
            rootfs.release(created.plan)
            raise
    relay = None
    stdio = (stdin, 1 if _attached(opts, "stdout") else None,
             2 if _attached(opts, "stderr") else None)
    log = _foreground_log(created, opts)
    if log is not None or (not opts.tty and any(fd is not None and os.isatty(fd)
                                                for fd in stdio)):
        # Without -t the caller's terminal is relayed, never handed over
        # (stdio_relay.py), and a kept container's output logged as Docker
        # logs every container; the module is imported only then.
        from rs_docker.container.stdio_relay import Relay

        relay = Relay(stdio, log)
        stdio = relay.stdio
    try:
        # No state_dir yet: process.start.write_state reads /proc/<pid>/stat and
        # races a command that exits at once; `run` records Pid itself.
        result = run_bundle(created.dir, stdin=stdio[0], stdout=stdio[1], stderr=stdio[2],
                            on_start=on_start, container_id=created.id, startup=startup,
                            forward_signals=_sig_proxy(opts))
    except RsDockerError as e:
        state.set_state(ctx, created.id, ExitCode=e.exit_code, Error=str(e))
        raise
    finally:
        if relay is not None:
            relay.finish()
        if log is not None:
            os.close(log.fd)
        rootfs.release(created.plan)
        if net is not None:  # --rm: the address goes with the container
            (net.release if opts.remove else net.down)(ctx, created.dir, created.id,
                                                       created.name)
        if stdin != 0:
            os.close(stdin)
    if result.oom_killed:
        events.emit(ctx, "container", "oom", created.id, attrs)
    events.emit(ctx, "container", "die", created.id, {**attrs, "exitCode": str(result.exit_code)})
    if not opts.remove:  # --rm: the record goes right after
        state.set_state(ctx, created.id, Status=state.EXITED, Pid=0, ExitCode=result.exit_code,
                        OOMKilled=bool(result.oom_killed), FinishedAt=state.now())
    return result.exit_code


def _sig_proxy(opts: RunOptions) -> bool:
    """--sig-proxy (Go's ParseBool values; checked by check_options), true by default."""
    return opts.sig_proxy is None or opts.sig_proxy in ("1", "t", "T", "TRUE", "true", "True")


def _attached(opts: RunOptions, stream: str) -> bool:
    """-a/--attach: the streams given (case-insensitive); without it, all."""
    return not opts.attach or any(s.lower() == stream for s in opts.attach)


def _foreground_log(created: create.Created, opts: RunOptions):
    """The json-file log of a foreground run (a LogWriter), as Docker logs
    every container. Not for --rm, whose log goes with it when it exits
    (kept off the fastest path), nor -t (the pty is relayed by the runtime),
    nor --log-driver none."""
    if opts.remove or opts.tty or opts.log_driver == "none":
        return None
    from rs_docker.container.jsonlog import LogWriter  # not logs.py: json and re stay off

    path = os.path.join(created.dir, f"{created.id}-json.log")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
    rotation = None
    if opts.log_opts:
        from rs_docker.container import logs

        rotation = logs.rotation({"HostConfig": {"LogConfig": create._log_config(opts)}})
    return LogWriter(fd, rotate=(path, *rotation) if rotation else None)


def remove(ctx: Context, created: create.Created) -> None:
    """--rm: the container directory goes entirely, its name with it, and
    its anonymous volumes (those no other container uses)."""
    rootfs.release(created.plan)
    create.remove_dir(created.dir)
    state.release_name(ctx, created.name, created.id)
    if created.anonymous_volumes:
        from rs_docker.container import volumes

        volumes.discard(ctx, created.anonymous_volumes)
