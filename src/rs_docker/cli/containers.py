"""Container commands: ps, logs, stop, kill, rm, start, restart, wait,
prune, exec, inspect (named, with their summaries and the `container`
aliases, in cli/commands.py). Flags in, one service call per container,
Docker's output out.

Docker goes on past a failed argument, prints each error, and exits 1 at
the end; errors about a container's state are the daemon's ("Error
response from daemon") and exit 1, not 125.
"""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor

import click

from rs_docker.errors import Conflict, ContainerNotFound, RsDockerError, UsageError

_DAEMON_ERRORS = (ContainerNotFound, Conflict)
_PARALLEL = 16  # containers stopped/removed at once (Docker: errgroup, unbounded)


def _exit_code(e: RsDockerError) -> int:
    return 1 if isinstance(e, _DAEMON_ERRORS) else e.exit_code


def _fail(errors: list[RsDockerError]) -> None:
    if not errors:
        return
    for e in errors:
        click.echo(f"rs-docker: {e}", err=True)
    raise click.exceptions.Exit(max(_exit_code(e) for e in errors) if len(errors) == 1 else 1)


def _resolve(ctx, name: str) -> str:
    from rs_docker.container import state

    return state.resolve(ctx, name)


def _each(ctx, names, action, parallel: bool = False, echo: bool = True) -> None:
    """action(container_id) for every name; print the name as given on success."""
    def one(name):
        try:
            result = action(_resolve(ctx, name))
            return name if result is None else result, None
        except RsDockerError as e:
            return None, e

    if parallel and len(names) > 1:
        with ThreadPoolExecutor(min(_PARALLEL, len(names))) as pool:
            results = list(pool.map(one, names))
    else:
        results = [one(n) for n in names]
    for out, _ in results:
        if out is not None and echo:
            click.echo(out)
    _fail([e for _, e in results if e is not None])


# -- ps -------------------------------------------------------------------------

@click.command("ps")
@click.option("-a", "--all", "all_", is_flag=True, help="Show all containers (default "
                                                       "shows just running).")
@click.option("-q", "--quiet", is_flag=True, help="Only display container IDs.")
@click.option("--no-trunc", is_flag=True, help="Don't truncate output.")
@click.option("-f", "--filter", "filters", multiple=True, metavar="KEY=VALUE",
              help="Filter output: id, name, label, exited, status, ancestor, before, since, "
                   "health, network, publish, expose, volume, is-task (KEY=VALUE).")
@click.option("--format", "fmt", help="'table', 'json', 'table TEMPLATE' or a Go template.")
@click.option("-n", "--last", type=int, default=-1, help="Show n last created containers.")
@click.option("-l", "--latest", is_flag=True, help="Show the latest created container.")
@click.option("-s", "--size", is_flag=True, help="Accepted for Docker (sizes show 0B).")
@click.pass_obj
def ps(ctx, all_, quiet, no_trunc, filters, fmt, last, latest, size):
    from rs_docker.cli import format as fmt_mod
    from rs_docker.container import ps as ps_mod

    if latest:
        last = 1
    records = ps_mod.list_containers(ctx, all_ or last > 0, ps_mod.parse_filters(filters))
    if last > 0:
        records = records[:last]
    if quiet:
        for r in records:
            click.echo(r["Id"] if no_trunc else r["Id"][:12])
        return
    fmt_mod.echo_objects(fmt, [fmt_mod.ps_fields(r, no_trunc) for r in records],
                         labels=[(r.get("Config") or {}).get("Labels") or {} for r in records])


# -- logs -----------------------------------------------------------------------

@click.command("logs")
@click.argument("container")
@click.option("-f", "--follow", is_flag=True, help="Follow log output.")
@click.option("-n", "--tail", default="all", help="Number of lines to show from the end.")
@click.option("-t", "--timestamps", is_flag=True, help="Show timestamps.")
@click.option("--since", default=None, help="Logs since a timestamp or relative (e.g. 42m).")
@click.option("--until", default=None, help="Logs before a timestamp or relative (e.g. 42m).")
@click.option("--details", is_flag=True, help="Accepted for Docker (no log attributes).")
@click.pass_obj
def logs(ctx, container, follow, tail, timestamps, since, until, details):
    """Its stdout to stdout, its stderr to stderr."""
    from rs_docker.container import lifecycle, state
    from rs_docker.container import logs as logs_mod

    try:
        cid = _resolve(ctx, container)
        record = lifecycle.refresh(ctx, cid)
    except RsDockerError as e:
        _fail([e])
    if ((record.get("HostConfig") or {}).get("LogConfig") or {}).get("Type") == "none":
        _fail([Conflict("configured logging driver does not support reading")])
    path = logs_mod.log_path(state.container_dir(ctx, cid), cid)
    entries, offset = logs_mod.read_every(path)
    wanted_tail = None if tail in ("all", "") else _int(tail)
    if wanted_tail is not None and wanted_tail < 0:
        wanted_tail = None
    low = logs_mod.parse_since(since) if since else None
    high = logs_mod.parse_since(until) if until else None
    for e in logs_mod.select(entries, wanted_tail, low, high):
        _write_entry(e, timestamps)
    if follow and (lifecycle.is_running(record) or lifecycle.is_restarting(record)) \
            and until is None:
        def running() -> bool:
            """Still running, or to run again (a restart policy's back-off):
            `logs -f` follows across restarts, as Docker's does."""
            try:
                now = lifecycle.refresh(ctx, cid)
            except ContainerNotFound:
                return False
            return lifecycle.is_running(now) or lifecycle.is_restarting(now)

        for e in logs_mod.follow(path, offset, running):
            _write_entry(e, timestamps, flush=True)


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise UsageError(f"invalid value for --tail: {text}") from None


def _write_entry(entry, timestamps: bool, flush: bool = False) -> None:
    stream = sys.stderr if entry.stream == "stderr" else sys.stdout
    text = f"{entry.time} {entry.text}" if timestamps else entry.text
    stream.buffer.write(text.encode("utf-8", "replace"))
    if flush:
        stream.buffer.flush()


# -- stop, kill, restart, start, wait, rm ---------------------------------------

@click.command("stop")
@click.argument("containers", nargs=-1, required=True)
@click.option("-t", "--time", "--timeout", "timeout", type=int, default=None,
              help="Seconds to wait before killing the container (default 10).")
@click.option("-s", "--signal", "sig", default=None, help="Signal to send (default: the "
                                                           "container's StopSignal, SIGTERM).")
@click.pass_obj
def stop(ctx, containers, timeout, sig):
    """The containers stop in parallel."""
    from rs_docker.container import lifecycle
    from rs_docker.models.signal_names import parse_signal

    number = parse_signal(sig) if sig else None
    _each(ctx, containers, lambda cid: lifecycle.stop(ctx, cid, timeout, number), parallel=True)


@click.command("kill")
@click.argument("containers", nargs=-1, required=True)
@click.option("-s", "--signal", "sig", default="KILL", show_default=True,
              help="Signal to send to the container.")
@click.pass_obj
def kill(ctx, containers, sig):
    from rs_docker.container import lifecycle
    from rs_docker.models.signal_names import parse_signal

    number = parse_signal(sig)
    _each(ctx, containers, lambda cid: lifecycle.kill(ctx, cid, number), parallel=True)


@click.command("restart")
@click.argument("containers", nargs=-1, required=True)
@click.option("-t", "--time", "--timeout", "timeout", type=int, default=None,
              help="Seconds to wait before killing the container.")
@click.pass_obj
def restart(ctx, containers, timeout):
    from rs_docker.container import lifecycle

    _each(ctx, containers, lambda cid: _none(lifecycle.restart(ctx, cid, timeout)))


def _none(_value) -> None:
    return None


@click.command("start")
@click.argument("containers", nargs=-1, required=True)
@click.option("-a", "--attach", is_flag=True, help="Attach STDOUT/STDERR and forward signals.")
@click.option("-i", "--interactive", is_flag=True, help="Attach container's STDIN.")
@click.pass_obj
def start(ctx, containers, attach, interactive):
    from rs_docker.container import lifecycle

    if attach or interactive:
        if len(containers) > 1:
            raise UsageError("you cannot start and attach multiple containers at once")
        if interactive:
            from rs_docker.cli.supervision import start_interactive

            start_interactive(ctx, containers[0])
        _start_attached(ctx, containers[0])
    _each(ctx, containers, lambda cid: _none(lifecycle.start(ctx, cid)))


def _start_attached(ctx, name: str) -> None:
    """start -a: start, stream the new log entries until the container
    exits, exit with its code (what Docker's attach shows)."""
    from rs_docker.container import lifecycle, state
    from rs_docker.container import logs as logs_mod

    try:
        cid = _resolve(ctx, name)
        path = logs_mod.log_path(state.container_dir(ctx, cid), cid)
        offset = logs_mod.read_all(path)[1]
        lifecycle.start(ctx, cid)
    except RsDockerError as e:
        _fail([e])
    code = {}

    def running() -> bool:
        try:
            record = lifecycle.refresh(ctx, cid)
        except ContainerNotFound:
            return False
        code["exit"] = record["State"].get("ExitCode", 0)
        return lifecycle.is_running(record)

    for e in logs_mod.follow(path, offset, running):
        _write_entry(e, False, flush=True)
    raise click.exceptions.Exit(int(code.get("exit", 0)))


@click.command("wait")
@click.argument("containers", nargs=-1, required=True)
@click.pass_obj
def wait(ctx, containers):
    from rs_docker.container import lifecycle

    _each(ctx, containers, lambda cid: str(lifecycle.wait(ctx, cid)), parallel=True)


@click.command("rm")
@click.argument("containers", nargs=-1, required=True)
@click.option("-f", "--force", is_flag=True, help="Force the removal of a running container "
                                                  "(uses SIGKILL).")
@click.option("-v", "--volumes", is_flag=True, help="Remove anonymous volumes associated "
                                                    "with the container.")
@click.pass_obj
def rm(ctx, containers, force, volumes):
    from rs_docker.container import lifecycle

    _each(ctx, containers, lambda cid: lifecycle.remove(ctx, cid, force=force, volumes=volumes),
          parallel=True)


@click.command("prune")
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation.")
@click.pass_obj
def prune(ctx, force):
    from rs_docker.cli import prune as prune_out
    from rs_docker.container import usage

    if not prune_out.confirm(force, "This will remove all stopped containers."):
        return
    removed, freed = usage.container_prune(ctx)
    prune_out.echo_deleted("Containers", removed)
    prune_out.echo_reclaimed(freed)


# -- exec -----------------------------------------------------------------------

@click.command("exec", context_settings={"ignore_unknown_options": True,
                                 "allow_interspersed_args": False})
@click.argument("container")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@click.option("-i", "--interactive", is_flag=True, help="Keep STDIN open.")
@click.option("-t", "--tty", is_flag=True, help="Allocate a pseudo-TTY.")
@click.option("-d", "--detach", is_flag=True, help="Detached mode: run command in the "
                                                   "background.")
@click.option("-e", "--env", multiple=True, help="Set environment variables.")
@click.option("--env-file", multiple=True, help="Read in a file of environment variables.")
@click.option("-w", "--workdir", default=None, help="Working directory inside the container.")
@click.option("-u", "--user", default=None, help="Username or UID (format: "
                                                 "<name|uid>[:<group|gid>]).")
@click.pass_obj
def exec_(ctx, container, command, interactive, tty, detach, env, env_file, workdir, user):
    import os

    from rs_docker.cli.run_exec import env_entries
    from rs_docker.container.execute import ExecOptions, exec_in_container

    if tty and interactive and not os.isatty(0):
        raise UsageError("the input device is not a TTY")
    opts = ExecOptions(tuple(command), env_entries(env_file, env), workdir, user, tty, interactive,
                       detach)
    try:
        code = exec_in_container(ctx, _resolve(ctx, container), opts)
    except RsDockerError as e:
        _fail([e])
    raise click.exceptions.Exit(code)


# -- inspect --------------------------------------------------------------------

@click.command("inspect")
@click.argument("names", nargs=-1, required=True, metavar="NAME|ID...")
@click.option("-f", "--format", "fmt", help="A Go template, e.g. '{{.State.Status}}'.")
@click.option("--type", "kind", type=click.Choice(["container", "image"]), default=None,
              help="Only this type of object.")
@click.pass_obj
def inspect(ctx, names, fmt, kind):
    _inspect(ctx, names, fmt, kind)


@click.command("inspect")
@click.argument("names", nargs=-1, required=True, metavar="CONTAINER...")
@click.option("-f", "--format", "fmt", help="A Go template, e.g. '{{.State.Status}}'.")
@click.pass_obj
def container_inspect(ctx, names, fmt):
    _inspect(ctx, names, fmt, "container")


def _inspect(ctx, names, fmt, kind) -> None:
    import json

    from rs_docker.cli import templates
    from rs_docker.errors import ImageNotFound

    found, errors = [], []
    for name in names:
        try:
            found.append(_inspect_one(ctx, name, kind))
        except (ContainerNotFound, ImageNotFound) as e:
            errors.append(ContainerNotFound(f"No such object: {name}") if kind is None else e)
        except RsDockerError as e:
            errors.append(e)
    if fmt:
        for obj in found:
            # docker/cli's inspector runs the template on the raw document
            # with missingkey=error: a misspelt field is an error.
            click.echo(templates.render(fmt, obj, missingkey="error"))
    else:
        click.echo(json.dumps(found, indent=4, ensure_ascii=False))
    _fail(errors)


def _inspect_one(ctx, name: str, kind: str | None) -> dict:
    from rs_docker.container import ps as ps_mod

    if kind in (None, "container"):
        try:
            return ps_mod.inspect(ctx, _resolve(ctx, name))
        except ContainerNotFound:
            if kind == "container":
                raise
    from rs_docker.image.catalog import inspect as inspect_image

    return inspect_image(ctx, name)
