"""The console script's entry point: `rs-docker run` without importing click.

click, and what it imports (inspect, typing, gettext, ...), is the
largest import a run could make, kept off the run path
(docs/ARCHITECTURE.md, Start-up rules). This module parses
only the plain shape of a run, [global options] run [run options] IMAGE
[COMMAND ARGS...], against the flag tables click's commands are built
from (cli/commands.py GLOBAL_FLAGS, models.run_options.RUN_FLAGS), the
way click's parser does (click/parser.py:
`_process_args_for_options`, `_process_opts`, `_match_short_opt`):
`--long=v`, `--long v`, `-x v`, `-xv`, `-dit`, and pflag's boolean
`--rm=true`, `-d=false`, `-it=false` (which click's commands read too:
cli/options.TableCommand); option parsing stops at the
first positional (allow_interspersed_args=False); a repeated option keeps
its last value, a multiple one collects them in order. Anything else (an
unknown option, `--`, --help, a bad int, choice or boolean, a flag's
environment variable, shell completion) goes to the full click
entry point with the untouched argv, so the user sees click's own message.
"""

from __future__ import annotations

import os
import stat
import sys

from rs_docker.models.run_options import BOOLS, RUN_FLAGS, Flag, index

# The options of `rs-docker` itself, declared here rather than beside the
# command table (cli/commands.py) so that a run does not load that table;
# cli/main.py builds the click group's options from them.
GLOBAL_FLAGS = (
    Flag(("--root",), "root", "dir", envvar="RS_DOCKER_ROOT",
         help="Store root (default /var/lib/rs-docker; rootless: $XDG_DATA_HOME/rs-docker)."),
    Flag(("-D", "--debug"), "debug", "flag", default=False, envvar="RS_DOCKER_DEBUG",
         help="Show tracebacks and debug messages."),
    Flag(("--insecure-registry",), "insecure_registry", multiple=True, default=(),
         metavar="HOST[:PORT]",
         help="Registry reached over plain HTTP (localhost and 127.0.0.0/8 always are)."),
)


def global_context(params: dict):
    """The Context (rs_docker.context) the global options' values describe,
    keyed by their dest."""
    from rs_docker.context import Context

    return Context.from_env(root=params["root"], debug=params["debug"],
                            insecure_registries=params["insecure_registry"])


class _Fallback(Exception):
    """click must handle this argv."""


_GLOBAL = index(GLOBAL_FLAGS)
_RUN = index(RUN_FLAGS)


def _store(given: dict, flag, value) -> None:
    if flag.multiple:
        given.setdefault(flag.dest, []).append(value)
    else:
        given[flag.dest] = value


def _take(args: list[str], i: int) -> str:
    if i >= len(args):
        raise _Fallback  # click: "Option '-e' requires an argument."
    return args[i]


def _parse_long(arg: str, args: list[str], i: int, long: dict, given: dict) -> int:
    name, eq, value = arg.partition("=")
    flag = long.get(name)
    if flag is None:
        raise _Fallback
    if flag.kind == "flag":
        _store(given, flag, _bool(value) if eq else True)
        return i
    if not eq:
        value, i = _take(args, i), i + 1
    _store(given, flag, value)
    return i


def _parse_short(arg: str, args: list[str], i: int, table: tuple, given: dict) -> int:
    long, short = table
    if arg.partition("=")[0] in long:
        raise _Fallback  # a single-dash long name: click matches it as long
    for j in range(1, len(arg)):
        flag = short.get("-" + arg[j])
        if flag is None:
            raise _Fallback
        if flag.kind == "flag":
            if arg[j + 1:j + 2] == "=":  # pflag: `-d=false`, `-it=false` (t only)
                _store(given, flag, _bool(arg[j + 2:]))
                break
            _store(given, flag, True)
            continue
        # The rest of the argument is the value (`-eK=V`), else the next one.
        if j + 1 < len(arg):
            _store(given, flag, arg[j + 1:])
        else:
            _store(given, flag, _take(args, i))
            i += 1
        break
    return i


def _bool(value: str) -> bool:
    """A boolean flag's `=VALUE` as pflag's strconv.ParseBool reads it;
    anything else goes to click, which reports Docker's error."""
    if value not in BOOLS:
        raise _Fallback
    return BOOLS[value]


def _parse_options(args: list[str], table: tuple) -> tuple[dict, list[str]]:
    """Raw values given on the command line (by python name), and the
    arguments from the first positional on."""
    given: dict = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            raise _Fallback
        if arg[:1] != "-" or len(arg) == 1:
            return given, args[i:]
        if arg[:2] == "--":
            i = _parse_long(arg, args, i + 1, table[0], given)
        else:
            i = _parse_short(arg, args, i + 1, table, given)
    return given, []


def _convert(flag, value):
    kind = flag.kind
    if kind == "int":
        try:
            return int(value)  # what click.INT does
        except ValueError:
            raise _Fallback from None
    if kind == "choice" and value not in flag.choices:
        raise _Fallback
    if kind == "dir":
        _check_dir(value)
    return value


def _check_dir(path: str) -> None:
    # click.Path(file_okay=False): a missing path is fine, a regular file or
    # an unreadable path is an error click reports (click/types.py Path).
    try:
        st = os.stat(path)
    except OSError:
        return
    if stat.S_ISREG(st.st_mode) or not os.access(path, os.R_OK):
        raise _Fallback


def _resolve(flags: tuple, given: dict) -> dict:
    """Every parameter's value: given, else from its environment variable
    (non-empty, as click reads it), else the default."""
    params = {}
    for flag in flags:
        name, envvar = flag.dest, flag.envvar
        if name in given:
            value = given[name]
            params[name] = tuple(_convert(flag, v) for v in value) if flag.multiple \
                else _convert(flag, value)
        elif envvar and os.environ.get(envvar):
            if flag.multiple or flag.kind == "flag":
                raise _Fallback  # click splits / interprets these; let it
            params[name] = _convert(flag, os.environ[envvar])
        else:
            params[name] = flag.default
    return params


def parse(argv: list[str]) -> tuple[dict, dict] | None:
    """(global parameters, run parameters) as click would pass them, or
    None when argv is not a plain run this parser reproduces exactly."""
    try:
        given, rest = _parse_options(argv, _GLOBAL)
        if rest[:1] != ["run"]:
            return None
        run_given, rest = _parse_options(rest[1:], _RUN)
        if not rest:
            return None  # click: "Missing argument 'IMAGE'."
        params = {"image": rest[0], "command": tuple(rest[1:])}
        params.update(_resolve(RUN_FLAGS, run_given))
        return _resolve(GLOBAL_FLAGS, given), params
    except _Fallback:
        return None


def main() -> None:
    argv = sys.argv[1:]
    parsed = None if "_RS_DOCKER_COMPLETE" in os.environ else parse(argv)
    if parsed is None:
        from rs_docker.cli.main import main as click_main

        click_main()
        return
    from rs_docker.runtime.startup import StartUp

    # The one owner of a run's start-up slot: its tricks (the collector off,
    # the cgroup warm-up, PID 1 forked now) begin here and are undone when
    # the block ends. A detached container is started by its monitor: no
    # PID 1 to fork here.
    with StartUp(prefork=not parsed[1]["detach"]) as startup:
        code = _run(*parsed, startup)
    _exit(code)


def _run(global_params: dict, params: dict, startup) -> int:
    """The run's exit status; an error is reported and exits (SystemExit)."""
    from rs_docker.cli.run_exec import execute
    from rs_docker.errors import RsDockerError

    debug = global_params["debug"]
    try:
        ctx = global_context(global_params)
        return execute(ctx, params, startup)
    except RsDockerError as e:
        from rs_docker.cli.errors_out import report  # only on the error path

        report(e, "run", debug)
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
    except OSError as e:
        from rs_docker.cli.errors_out import report_os_error

        report_os_error(e, "run", debug)


def _exit(code: int) -> None:
    """Exit without the interpreter's teardown (every module and object
    freed one by one, work a finished run has no use for). Nothing is left
    to do but flush: the run's files are closed, its records written, its
    children reaped."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        pass
    os._exit(code)
