"""`rs-docker run`: the click command, the one declaration of its flags
(cli/run_flags.py is generated from it); cli/run_exec.py does the rest.

Docker's flag names and meanings. The network default is "none" (only
`lo`) until bridge networking exists; Docker's is "bridge".
"""

from __future__ import annotations

import click

from rs_docker.cli.run_exec import env_entries as _env  # noqa: F401 (cli/containers.py uses it)
from rs_docker.models.run_options import PULL_POLICIES

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
def run(ctx, **params):
    """Create and run a new container from an image."""
    from rs_docker.cli.run_exec import execute

    code = execute(ctx, params)
    if params["detach"]:
        return
    raise click.exceptions.Exit(code)
