"""The declaration tables are the one source: the commands of cli/commands.py
are what `rs-docker --help` lists (without importing them), each one a
click command under its summary; RunOptions has one field per run flag
and `run --help` shows every flag."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest

from rs_docker.cli.commands import COMMANDS, Group
from rs_docker.cli.main import cli
from rs_docker.models.run_options import RUN_FLAGS, RunOptions


def rs_docker(*args: str) -> subprocess.CompletedProcess:
    """The console script's entry point (cli/fast.py), run as a user would."""
    return subprocess.run([sys.executable, "-c", "from rs_docker.cli.fast import main; main()",
                           *args], capture_output=True, text=True, timeout=60)


def _entries(table: dict, prefix: tuple[str, ...] = ()):
    for name, entry in table.items():
        yield (*prefix, name), entry
        if isinstance(entry, Group):
            yield from _entries(entry.commands, (*prefix, name))


ENTRIES = [pytest.param(path, entry, id=" ".join(path)) for path, entry in _entries(COMMANDS)]


def _listing(help_text: str) -> dict[str, str]:
    """The Commands section of a help page: name -> summary (a wrapped
    summary joined again)."""
    listing: dict[str, str] = {}
    for line in help_text.split("\nCommands:\n", 1)[1].splitlines():
        if line[2:3] not in ("", " "):
            name, summary = line.split(None, 1)
            listing[name] = summary
        elif line.strip():
            listing[name] += " " + line.strip()
    return listing


def test_help_lists_every_command_with_its_summary():
    out = rs_docker("--help")
    assert out.returncode == 0, out.stderr
    # a leading underscore hides a command (__complete: the completion scripts')
    assert _listing(out.stdout) == {name: entry.summary for name, entry in COMMANDS.items()
                                    if not name.startswith("_")}


@pytest.mark.parametrize("group", [n for n, e in COMMANDS.items() if isinstance(e, Group)])
def test_a_group_lists_its_table(group):
    out = rs_docker(group, "--help")
    assert out.returncode == 0, out.stderr
    assert _listing(out.stdout) == {n: e.summary for n, e in COMMANDS[group].commands.items()}


def test_listing_the_commands_imports_none_of_them():
    code = ("import sys\nfrom rs_docker.cli.main import cli\n"
            "try:\n    cli.main(['--help'], prog_name='rs-docker')\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.startswith('rs_docker.cli.')),"
            " file=sys.stderr)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    imported = eval(out.stderr.strip().splitlines()[-1])  # noqa: S307 - our own print
    assert {"rs_docker.cli.run", "rs_docker.cli.images", "rs_docker.cli.containers"} \
        .isdisjoint(imported)


@pytest.mark.parametrize(("path", "entry"), ENTRIES)
def test_each_entry_is_a_click_command_helped_by_its_summary(path, entry):
    ctx = click.Context(cli, info_name="rs-docker")
    command = cli
    for name in path:
        command = command.get_command(ctx, name)
        ctx = click.Context(command, info_name=name, parent=ctx)
    assert isinstance(command, click.Command)
    assert command.get_short_help_str() == entry.summary
    assert command.help.splitlines()[0] == entry.summary + "."


def test_help_of_a_command_is_its_summary_then_its_details():
    out = rs_docker("push", "--help")
    assert out.returncode == 0, out.stderr
    assert "  Upload an image to a registry.\n\n  Its layers and config" in out.stdout


def test_run_options_has_one_field_per_run_flag_with_its_default():
    fields = [flag.dest for flag in RUN_FLAGS if flag.in_options]
    assert RunOptions._fields == ("image", "command", *fields)
    defaults = RunOptions(image="x")
    for flag in RUN_FLAGS:
        if flag.in_options:
            assert getattr(defaults, flag.dest) == flag.default, flag.dest
    assert defaults.command == ()


def test_run_help_shows_every_flag():
    out = rs_docker("run", "--help")
    assert out.returncode == 0, out.stderr
    lines = [line.strip() for line in out.stdout.splitlines()]
    text = _unwrapped(out.stdout)
    for flag in RUN_FLAGS:
        assert any(line.startswith(", ".join(flag.names)) for line in lines), flag.names
        assert _unwrapped(flag.help) in text, flag.names


def _unwrapped(text: str) -> str:
    """text with click's line wrapping undone (a word it broke after a
    hyphen joined again)."""
    return " ".join(text.split()).replace("- ", "-")


def test_an_unknown_command_is_refused_as_docker_does():
    out = rs_docker("container", "bogus")
    assert out.returncode == 1
    assert out.stderr == ("rs-docker: 'bogus' is not a rs-docker command.\n"
                          "See 'rs-docker container --help'.\n")
