"""The click entry point: the `rs-docker` group, built from the tables
(options: cli/fast.py GLOBAL_FLAGS; commands, loaded lazily:
cli/commands.py COMMANDS), and the one place where an error becomes
stderr + an exit status."""

from __future__ import annotations

import importlib
import inspect
import sys
from typing import NoReturn

import click

from rs_docker.cli.commands import COMMANDS, Command, Group
from rs_docker.cli.errors_out import (  # noqa: F401 (fail, exit_code_for: re-exported)
    EXIT_FAILED_REQUEST,
    TOOL_EXIT_COMMANDS,
    exit_code_for,
    fail,
    report,
    report_os_error,
)
from rs_docker.cli.fast import GLOBAL_FLAGS, global_context
from rs_docker.cli.options import options
from rs_docker.errors import EXIT_TOOL, RsDockerError


class LazyGroup(click.Group):
    """A group whose subcommands are a table of cli/commands.py: a command's
    module is imported only when it runs; help and shell completion list
    the table's summaries without importing any."""

    invoked: str | None = None  # the subcommand being run, for the exit code

    def __init__(self, *args, commands: dict = COMMANDS, **kwargs):
        super().__init__(*args, **kwargs)
        self.table = commands

    def list_commands(self, ctx):
        return sorted(n for n in self.table if not n.startswith("_"))

    def get_command(self, ctx, name):
        if ctx.parent is None:
            LazyGroup.invoked = name
        entry = self.table.get(name)
        return None if entry is None else load(name, entry)

    def format_commands(self, ctx, formatter):
        with formatter.section("Commands"):
            formatter.write_dl([(name, self.table[name].summary)
                                for name in self.list_commands(ctx)])

    def shell_complete(self, ctx, incomplete):
        from click.shell_completion import CompletionItem

        return [CompletionItem(name, help=self.table[name].summary)
                for name in self.list_commands(ctx) if name.startswith(incomplete)] + \
            click.Command.shell_complete(self, ctx, incomplete)


def load(name: str, entry: Command | Group) -> click.Command:
    """The click command a table entry names (a group: one made from its
    table), its help the entry's summary, then the command function's
    docstring (the details), if any."""
    if isinstance(entry, Group):
        command = LazyGroup(name, commands=entry.commands)
    else:
        command = getattr(importlib.import_module(entry.module), entry.attribute)
    details = command.callback.__doc__ if command.callback is not None else None
    command.short_help = entry.summary
    command.help = f"{entry.summary}.\n\n{inspect.cleandoc(details)}" if details \
        else f"{entry.summary}."
    return command


@click.pass_context
def _configure(ctx, **params):
    """The group's callback: the Context every command gets (pass_obj);
    with no command, the help (Docker: exit 0)."""
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())
        ctx.exit(0)
    ctx.obj = global_context(params)


cli = LazyGroup(
    "rs-docker", help="A daemonless, Docker-compatible container tool.", callback=_configure,
    params=options(GLOBAL_FLAGS), context_settings={"help_option_names": ["-h", "--help"]},
    invoke_without_command=True)
cli = click.version_option(package_name="rs-docker", prog_name="rs-docker")(cli)


def usage_error(e: click.UsageError) -> NoReturn:
    """A flag or argument click refused, in Docker's words (cobra's):
    `rs-docker: unknown flag: --foo`, then `See 'rs-docker ps --help'.`,
    exit 125; an unknown command exits 1, as Docker's does."""
    path = e.ctx.command_path if e.ctx is not None else "rs-docker"
    if path == "rs-docker" and LazyGroup.invoked and LazyGroup.invoked in COMMANDS:
        path = f"rs-docker {LazyGroup.invoked}"   # an option's error has no context
    message = e.format_message()
    if isinstance(e, click.NoSuchOption):
        name = e.option_name
        line = f"unknown flag: {name}" if name.startswith("--") or len(name) != 2 \
            else f"unknown shorthand flag: '{name[1:]}' in {name}"
    elif isinstance(e, click.BadOptionUsage) and "requires an argument" in message:
        line = f"flag needs an argument: {e.option_name}"
    elif isinstance(e, click.MissingParameter):
        line = f'"{path}" requires at least 1 argument.'
    elif isinstance(e, click.BadParameter) and e.param is not None:
        names = ", ".join(e.param.opts)
        why = message.split(": ", 1)[-1].rstrip(".")
        line = f'invalid argument for "{names}" flag: {why}'
    elif message.startswith("No such command"):
        name = message.split("'")[1] if "'" in message else message
        fail(f"'{name}' is not a rs-docker command.\nSee '{path} --help'.", EXIT_FAILED_REQUEST)
    else:
        line = message[0].lower() + message[1:] if message else "bad usage"
    fail(f"{line}\nSee '{path} --help'.", EXIT_TOOL)


def main(argv: list[str] | None = None) -> None:
    debug = "-D" in sys.argv[1:] or "--debug" in sys.argv[1:]
    try:
        code = cli.main(args=argv, prog_name="rs-docker", standalone_mode=False)
    except RsDockerError as e:
        report(e, LazyGroup.invoked, debug)
    except click.exceptions.Exit as e:
        code = e.exit_code
    except click.UsageError as e:
        usage_error(e)
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

