"""click options built from Flag records (models.run_options.Flag), so a
flag is declared once: the click commands (cli/main.py's group, cli/run.py)
and the click-free parser (cli/fast.py) read the same record, and
tests/unit/test_run_fast_parse.py checks they parse alike.

TableCommand also reads a boolean flag's value as Docker's pflag does
(`--rm=true`, `-d=false`, `-it=false`), which click refuses ("does not
take a value"): pflag_bools rewrites those arguments before click parses."""

from __future__ import annotations

import click

from rs_docker.models.run_options import Flag, index


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


def pflag_bools(args: list[str], flags: tuple[Flag, ...]) -> list[str]:
    """args with pflag's boolean forms made click's: `--rm=true` -> `--rm`,
    `-it=false` -> `--interactive`, and a flag whose last value is false
    left out altogether (pflag sets flags in order: the last one wins).
    Only options are read, up to the first positional (the command's own
    arguments are untouched), `--` or an unknown option; a value that is
    not a boolean is Docker's error (models.run_flags.parse_bool)."""
    from rs_docker.models.run_flags import parse_bool

    long, short = index(flags)
    items: list[tuple[str | None, str | bool]] = []  # (dest of a flag, value) or (None, arg)
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--" or arg[:1] != "-" or len(arg) == 1:
            break
        if arg[:2] == "--":
            name, eq, value = arg.partition("=")
            flag = long.get(name)
            if flag is None:
                break
            if flag.kind == "flag":
                items.append((flag.dest, parse_bool(value, _shown(flag)) if eq else True))
            else:
                items.append((None, arg))
                if not eq and i + 1 < len(args):
                    i += 1
                    items.append((None, args[i]))
            i += 1
            continue
        if arg.partition("=")[0] in long:
            break
        j, known = 1, True
        while j < len(arg):
            flag = short.get("-" + arg[j])
            if flag is None:
                known = False
                break
            if flag.kind != "flag":
                items.append((None, "-" + arg[j:]))
                if j + 1 == len(arg) and i + 1 < len(args):
                    i += 1
                    items.append((None, args[i]))
                break
            if arg[j + 1:j + 2] == "=":
                items.append((flag.dest, parse_bool(arg[j + 2:], _shown(flag))))
                break
            items.append((flag.dest, True))
            j += 1
        if not known:
            if j > 1:
                items.append((None, "-" + arg[j:]))
                i += 1
            break
        i += 1
    last = {dest: value for dest, value in items if dest is not None}
    by_dest = {flag.dest: flag for flag in flags}
    out = [value if dest is None else by_dest[dest].names[-1]
           for dest, value in items if dest is None or last[dest]]
    return out + args[i:]


def _shown(flag: Flag) -> str:
    """pflag's name of a flag in its errors: "-d, --detach", "--rm"."""
    return ", ".join(flag.names)


class TableCommand(click.Command):
    """A click command whose options are a flag table (`flags`), reading
    pflag's boolean forms as Docker does (pflag_bools)."""

    def __init__(self, name: str, flags: tuple[Flag, ...], params=(), **kwargs):
        super().__init__(name, params=[*params, *options(flags)], **kwargs)
        self.flags = flags

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, pflag_bools(args, self.flags))
