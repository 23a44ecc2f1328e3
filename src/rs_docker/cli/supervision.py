"""What a container's monitor does for it, from the command line:
`system restore` (containers with a restart policy brought back after a
reboot) and `generate systemd` (a unit that starts one at boot). Named,
with their summaries, in cli/commands.py."""

from __future__ import annotations

import click

from rs_docker.errors import RsDockerError


@click.command("restore")
@click.pass_obj
def restore(ctx):
    """Starts what dockerd starts when it starts: `always` containers,
    `unless-stopped` ones not stopped by the user, `on-failure` ones that
    failed with retries left. Prints the name of each container started."""
    from rs_docker.container import restart

    started, errors = restart.restore(ctx)
    for name in started:
        click.echo(name)
    for e in errors:
        click.echo(f"rs-docker: {e}", err=True)
    if errors:
        raise click.exceptions.Exit(1)


@click.command("systemd")
@click.argument("container")
@click.option("-n", "--name", "use_name", is_flag=True,
              help="Use the container's name instead of its ID.")
@click.option("-f", "--files", is_flag=True,
              help="Write the unit to container-NAME.service in the current directory.")
@click.option("-t", "--time", "stop_timeout", type=int, default=None,
              help="Stop timeout (default: the container's, else 10).")
@click.pass_obj
def systemd(ctx, container, use_name, files, stop_timeout):
    """The unit runs `rs-docker start` at boot and `rs-docker stop` at
    shutdown; the monitor carries out the restart policy."""
    from rs_docker.container import lifecycle, state, systemd_unit

    try:
        cid = state.resolve(ctx, container)
        record = lifecycle.refresh(ctx, cid)
    except RsDockerError as e:
        click.echo(f"rs-docker: {e}", err=True)
        raise click.exceptions.Exit(1) from None
    name = str(record.get("Name") or "").removeprefix("/") if use_name else cid
    if stop_timeout is None:
        stop_timeout = (record.get("Config") or {}).get("StopTimeout") or \
            lifecycle.DEFAULT_STOP_TIMEOUT
    text = systemd_unit.unit(name, str(ctx.root), stop_timeout)
    if not files:
        click.echo(text, nl=False)
        return
    import os

    path = os.path.abspath(f"container-{name}.service")
    with open(path, "w") as f:
        f.write(text)
    click.echo(path)


def _bool(text: str, flag: str) -> bool:
    value = {"true": True, "1": True, "false": False, "0": False}.get(text.lower())
    if value is None:
        raise click.UsageError(f'invalid argument "{text}" for "{flag}" flag: '
                               f'strconv.ParseBool: parsing "{text}": invalid syntax')
    return value


@click.command("attach")
@click.argument("container")
@click.option("--no-stdin", is_flag=True, help="Do not attach STDIN.")
@click.option("--detach-keys", default=None,
              help="Override the key sequence for detaching a container.")
@click.option("--sig-proxy", default="true", metavar="BOOL",
              help="Proxy all received signals to the process (non-TTY mode only).")
@click.pass_obj
def attach(ctx, container, no_stdin, detach_keys, sig_proxy):
    """Its output to ours, our input to its stdin (when it keeps one open);
    the detach sequence (ctrl-p ctrl-q) leaves it running."""
    _attach(ctx, container, not no_stdin, detach_keys, _bool(sig_proxy, "--sig-proxy"))


def start_interactive(ctx, name: str) -> None:
    """start -i (-a): start the container, then attach with stdin."""
    from rs_docker.container import lifecycle, state

    try:
        lifecycle.start(ctx, state.resolve(ctx, name))
    except RsDockerError as e:
        click.echo(f"rs-docker: {e}", err=True)
        raise click.exceptions.Exit(1) from None
    _attach(ctx, name, True, None, True)


def _attach(ctx, name: str, stdin: bool, detach_keys: str | None, sig_proxy: bool) -> None:
    from rs_docker.container import attach as attach_mod
    from rs_docker.container import lifecycle, state

    try:
        cid = state.resolve(ctx, name)
        record = lifecycle.refresh(ctx, cid)
        if not lifecycle.is_running(record):
            from rs_docker.errors import Conflict

            raise Conflict("You cannot attach to a stopped container, start it first")
        keys = attach_mod.parse_detach_keys(detach_keys or attach_mod.DEFAULT_DETACH_KEYS)
        config = record.get("Config") or {}
        detached = attach_mod.attach(state.container_dir(ctx, cid), bool(config.get("Tty")),
                                     stdin and bool(config.get("OpenStdin")), keys, sig_proxy)
    except RsDockerError as e:
        click.echo(f"rs-docker: {e}", err=True)
        raise click.exceptions.Exit(1) from None
    if detached:
        click.echo(attach_mod.ESCAPED, err=True)
        raise click.exceptions.Exit(1)
    code = lifecycle.wait(ctx, cid)
    raise click.exceptions.Exit(code)
