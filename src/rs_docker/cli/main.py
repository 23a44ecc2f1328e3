"""Entry point: global flags, lazy subcommands, and the one place where an
error becomes stderr + an exit status."""

from __future__ import annotations

import importlib
import sys

import click

from rs_docker.cli.errors_out import (  # noqa: F401 (fail, exit_code_for: re-exported)
    EXIT_FAILED_REQUEST,
    TOOL_EXIT_COMMANDS,
    exit_code_for,
    fail,
    report,
    report_os_error,
)
from rs_docker.errors import EXIT_TOOL, RsDockerError

# name -> "module:attribute"; a module is imported only when its command runs
# (or when `--help` lists the commands' short help, which click asks for).
COMMANDS: dict[str, str] = {
    "pull": "rs_docker.cli.images:pull",
    "images": "rs_docker.cli.images:images",
    "push": "rs_docker.cli.images:push",
    "tag": "rs_docker.cli.images:tag",
    "rmi": "rs_docker.cli.images:rmi",
    "image": "rs_docker.cli.images:image",
    "login": "rs_docker.cli.images:login",
    "logout": "rs_docker.cli.images:logout",
    "save": "rs_docker.cli.images:save",
    "load": "rs_docker.cli.images:load",
    "run": "rs_docker.cli.run:run",
    "ps": "rs_docker.cli.containers:ps",
    "logs": "rs_docker.cli.containers:logs",
    "stop": "rs_docker.cli.containers:stop",
    "kill": "rs_docker.cli.containers:kill",
    "rm": "rs_docker.cli.containers:rm",
    "start": "rs_docker.cli.containers:start",
    "restart": "rs_docker.cli.containers:restart",
    "wait": "rs_docker.cli.containers:wait",
    "exec": "rs_docker.cli.containers:exec_",
    "inspect": "rs_docker.cli.containers:inspect",
    "container": "rs_docker.cli.containers:container",
}

# Short help shown by `rs-docker --help` without importing every module.
SHORT_HELP: dict[str, str] = {
    "pull": "Download an image from a registry",
    "images": "List images",
    "push": "Upload an image to a registry",
    "tag": "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
    "rmi": "Remove one or more images",
    "image": "Manage images",
    "login": "Log in to a registry",
    "logout": "Log out from a registry",
    "save": "Save one or more images to a tar archive (streamed to STDOUT by default)",
    "load": "Load an image from a tar archive or STDIN",
    "run": "Create and run a new container from an image",
    "ps": "List containers",
    "logs": "Fetch the logs of a container",
    "stop": "Stop one or more running containers",
    "kill": "Kill one or more running containers",
    "rm": "Remove one or more containers",
    "start": "Start one or more stopped containers",
    "restart": "Restart one or more containers",
    "wait": "Block until containers stop, then print their exit codes",
    "exec": "Execute a command in a running container",
    "inspect": "Return low-level information on containers and images",
    "container": "Manage containers",
}


class LazyGroup(click.Group):
    invoked: str | None = None  # the subcommand being run, for the exit code

    def list_commands(self, ctx):
        return sorted(COMMANDS)

    def get_command(self, ctx, name):
        LazyGroup.invoked = name
        target = COMMANDS.get(name)
        if target is None:
            return None
        if ctx.resilient_parsing or _listing_help(ctx):
            return click.Command(name, short_help=SHORT_HELP.get(name, ""))
        module, attr = target.split(":")
        return getattr(importlib.import_module(module), attr)


def _listing_help(ctx) -> bool:
    # `rs-docker --help` lists commands: give click a cheap stand-in.
    return ctx.info_name is not None and ctx.invoked_subcommand is None and \
        any(a in ("--help", "-h") for a in sys.argv[1:2])


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--root", envvar="RS_DOCKER_ROOT", type=click.Path(file_okay=False),
              help="Store root (default /var/lib/rs-docker; rootless: $XDG_DATA_HOME/rs-docker).")
@click.option("-D", "--debug", is_flag=True, envvar="RS_DOCKER_DEBUG",
              help="Show tracebacks and debug messages.")
@click.option("--insecure-registry", multiple=True, metavar="HOST[:PORT]",
              help="Registry reached over plain HTTP (localhost and 127.0.0.0/8 always are).")
@click.version_option(package_name="rs-docker", prog_name="rs-docker")
@click.pass_context
def cli(ctx, root, debug, insecure_registry):
    """A daemonless, Docker-compatible container tool."""
    from rs_docker.context import Context

    ctx.obj = Context.from_env(root=root, debug=debug, insecure_registries=insecure_registry)


def main(argv: list[str] | None = None) -> None:
    debug = "-D" in sys.argv[1:] or "--debug" in sys.argv[1:]
    try:
        code = cli.main(args=argv, prog_name="rs-docker", standalone_mode=False)
    except RsDockerError as e:
        report(e, LazyGroup.invoked, debug)
    except click.exceptions.Exit as e:
        code = e.exit_code
    except click.ClickException as e:
        e.show()
        sys.exit(EXIT_TOOL if e.exit_code == 2 else e.exit_code)
    except click.Abort:
        sys.exit(130)
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
    except OSError as e:
        report_os_error(e, LazyGroup.invoked, debug)
    sys.exit(code if isinstance(code, int) else 0)

