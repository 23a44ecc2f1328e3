"""`rs-docker run`: flags -> RunOptions -> container.run.run_container.

Docker's flag names and meanings. The network default is "none" (only
`lo`) until bridge networking exists; Docker's is "bridge".
"""

from __future__ import annotations

import os
import sys

import click

from rs_docker.errors import UsageError
from rs_docker.models.run_options import PULL_POLICIES, RunOptions


def _env(env_files: tuple[str, ...], flags: tuple[str, ...]) -> tuple[str, ...]:
    from rs_docker.models.env import parse_env_file, resolve_cli_env

    from_files: list[str] = []
    for path in env_files:
        try:
            with open(path) as f:
                text = f.read()
        except OSError as e:
            raise UsageError(f"open {path}: {(e.strerror or str(e)).lower()}") from None
        except UnicodeDecodeError:
            raise UsageError(f"{path}: env file is not valid utf-8") from None
        from_files += parse_env_file(text, os.environ, source=path)
    return tuple(resolve_cli_env(from_files, flags, os.environ))


def _echo_err(text: str) -> None:
    click.echo(text, err=True)


class _PullProgress:
    """Pull progress on stderr (Docker prints `run`'s pull there), the
    renderer imported only if a pull happens, and closed when it ends."""

    def __init__(self):
        self.renderer = None

    def __call__(self, event) -> None:
        if self.renderer is None:
            from rs_docker.cli.progress import renderer

            self.renderer = renderer(stream=sys.stderr)
        self.renderer(event)

    def close(self) -> None:
        if self.renderer is not None:
            self.renderer.close()


_SETTINGS = {"ignore_unknown_options": True, "allow_interspersed_args": False,
             "help_option_names": ["--help"]}


@click.command(context_settings=_SETTINGS)
@click.argument("image")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@click.option("--entrypoint", default=None, help="Overwrite the default ENTRYPOINT of the image.")
@click.option("-e", "--env", multiple=True, metavar="KEY[=VALUE]",
              help="Set environment variables (a bare KEY takes this shell's value).")
@click.option("--env-file", multiple=True, metavar="FILE", help="Read in a file of KEY=VALUE lines.")
@click.option("-w", "--workdir", default=None, help="Working directory inside the container.")
@click.option("-u", "--user", default=None, metavar="NAME|UID[:GROUP|GID]",
              help="Username or UID (format: <name|uid>[:<group|gid>]).")
@click.option("-h", "--hostname", default=None, help="Container host name (default: short id).")
@click.option("--name", default=None, help="Assign a name to the container.")
@click.option("--rm", "remove", is_flag=True, help="Remove the container when it exits.")
@click.option("-d", "--detach", is_flag=True,
              help="Run container in background and print container ID.")
@click.option("-i", "--interactive", is_flag=True, help="Keep STDIN open and pass it in.")
@click.option("-t", "--tty", is_flag=True, help="Allocate a pseudo-TTY.")
@click.option("--pull", type=click.Choice(PULL_POLICIES), default="missing", show_default=True,
              help="Pull image before running.")
@click.option("--platform", default=None, metavar="OS/ARCH[/VARIANT]",
              help="Set platform if server is multi-platform capable.")
@click.option("-v", "--volume", "volumes", multiple=True, metavar="/HOST:/CTR[:ro|rw]",
              help="Bind mount a host path (absolute; created if missing).")
@click.option("--mount", "mounts", multiple=True,
              metavar="type=bind|tmpfs,source=,target=,readonly",
              help="Attach a filesystem mount to the container.")
@click.option("--tmpfs", multiple=True, metavar="/PATH[:OPTS]", help="Mount a tmpfs directory.")
@click.option("--read-only", is_flag=True, help="Mount the container's root filesystem read-only.")
@click.option("--network", "--net", "network", default="none", show_default=True,
              help="none (only lo) or host. Bridge networking is not available yet, "
                   "so the default is none, not Docker's bridge.")
@click.option("--init", is_flag=True, help="Run an init inside the container that forwards "
                                           "signals and reaps processes.")
@click.option("--cap-add", multiple=True, help="Add Linux capabilities.")
@click.option("--cap-drop", multiple=True, help="Drop Linux capabilities.")
@click.option("--privileged", is_flag=True, help="Give extended privileges to this container.")
@click.option("--security-opt", multiple=True, help="Security options (seccomp=, "
                                                    "no-new-privileges).")
@click.option("-m", "--memory", default=None, help="Memory limit (e.g. 64m).")
@click.option("--memory-swap", default=None, help="Memory plus swap limit; -1: unlimited swap.")
@click.option("--cpus", default=None, help="Number of CPUs (e.g. 1.5).")
@click.option("-c", "--cpu-shares", type=int, default=None, help="CPU shares (relative weight).")
@click.option("--pids-limit", type=int, default=None, help="Tune container pids limit "
                                                           "(-1 for unlimited).")
@click.option("--ulimit", "ulimits", multiple=True, metavar="NAME=SOFT[:HARD]",
              help="Ulimit options.")
@click.option("--stop-signal", default=None, help="Signal to stop the container.")
@click.option("--stop-timeout", type=int, default=None,
              help="Timeout (in seconds) to stop a container.")
@click.pass_obj
def run(ctx, image, command, env, env_file, **flags):
    """Create and run a new container from an image."""
    from rs_docker.container.run import RunCallbacks, run_container

    if flags["tty"] and flags["interactive"] and not os.isatty(0):
        raise UsageError("the input device is not a TTY")
    opts = RunOptions(image=image, command=tuple(command), env=_env(env_file, env), **flags)
    pull_progress = _PullProgress()
    callbacks = RunCallbacks(notice=_echo_err, pull_progress=pull_progress,
                             pull_done=pull_progress.close)
    if ctx.debug:
        callbacks = callbacks._replace(debug=lambda text: _echo_err(f"debug: {text}"))
    sys.stdout.flush()
    if opts.detach:
        from rs_docker.container.run import run_detached

        click.echo(run_detached(ctx, opts, callbacks))
        return
    code = run_container(ctx, opts, callbacks)
    raise click.exceptions.Exit(code)
