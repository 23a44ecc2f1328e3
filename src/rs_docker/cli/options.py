"""click options built from Flag records (models.run_options.Flag), so a
flag is declared once: the click commands (cli/main.py's group, cli/run.py)
and the click-free parser (cli/fast.py) read the same record, and
tests/unit/test_run_fast_parse.py checks they parse alike."""

from __future__ import annotations

import click

from rs_docker.models.run_options import Flag


def _type(flag: Flag) -> click.ParamType:
    if flag.kind == "str":
        return click.STRING
    if flag.kind == "int":
        return click.INT
    if flag.kind == "choice":
        return click.Choice(flag.choices)
    if flag.kind == "dir":
        return click.Path(file_okay=False)
    raise ValueError(f"flag {flag.names[-1]}: unknown kind {flag.kind!r}")


def option(flag: Flag) -> click.Option:
    """The click.Option for `flag`: its names, its parameter name (dest),
    value type, repetition, default, environment variable and help."""
    kind = {"is_flag": True} if flag.kind == "flag" else {"type": _type(flag)}
    return click.Option([*flag.names, flag.dest], multiple=flag.multiple, default=flag.default,
                        envvar=flag.envvar, metavar=flag.metavar, help=flag.help,
                        show_default=flag.shown_default, **kind)


def options(flags: tuple[Flag, ...]) -> list[click.Option]:
    """The click options of a table of flags, in its order (help's order)."""
    return [option(flag) for flag in flags]
