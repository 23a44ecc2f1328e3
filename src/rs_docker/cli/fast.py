"""The console script's entry point: `rs-docker run` without importing click.

click, and what it imports (inspect, typing, gettext, ...), costs ~25 ms
of a ~130 ms `rs-docker run --rm IMAGE true` (issue 6). This module parses
only the plain shape of a run, [global options] run [run options] IMAGE
[COMMAND ARGS...], against cli/run_flags.py (generated from the click
declarations), the way click's parser does (click/parser.py:
`_process_args_for_options`, `_process_opts`, `_match_short_opt`):
`--long=v`, `--long v`, `-x v`, `-xv`, `-dit`; option parsing stops at the
first positional (allow_interspersed_args=False); a repeated option keeps
its last value, a multiple one collects them in order. Anything else (an
unknown option, `--`, --help, a bad int or choice, a flag given a value, a
flag's environment variable, shell completion) goes to the full click
entry point with the untouched argv, so the user sees click's own message.
"""

from __future__ import annotations

import gc
import os
import stat
import sys

from rs_docker.cli.run_flags import GLOBAL_OPTIONS, RUN_ARGUMENTS, RUN_OPTIONS, RUN_SETTINGS


class _Fallback(Exception):
    """click must handle this argv."""


def _index(table) -> tuple[dict, dict]:
    long, short = {}, {}
    for row in table:
        for name in row[0]:
            (short if len(name) == 2 else long)[name] = row
    return long, short


_GLOBAL = _index(GLOBAL_OPTIONS)
_RUN = _index(RUN_OPTIONS)


def _store(given: dict, row, value) -> None:
    if row[2] == "other":
        raise _Fallback
    if row[3]:
        given.setdefault(row[1], []).append(value)
    else:
        given[row[1]] = value


def _take(args: list[str], i: int) -> str:
    if i >= len(args):
        raise _Fallback  # click: "Option '-e' requires an argument."
    return args[i]


def _parse_long(arg: str, args: list[str], i: int, long: dict, given: dict) -> int:
    name, eq, value = arg.partition("=")
    row = long.get(name)
    if row is None:
        raise _Fallback
    if row[2] == "flag":
        if eq:
            raise _Fallback  # click: "Option '--rm' does not take a value."
        _store(given, row, True)
        return i
    if not eq:
        value, i = _take(args, i), i + 1
    _store(given, row, value)
    return i


def _parse_short(arg: str, args: list[str], i: int, table: tuple, given: dict) -> int:
    long, short = table
    if arg.partition("=")[0] in long:
        raise _Fallback  # a single-dash long name: click matches it as long
    for j in range(1, len(arg)):
        row = short.get("-" + arg[j])
        if row is None:
            raise _Fallback
        if row[2] == "flag":
            _store(given, row, True)
            continue
        # The rest of the argument is the value (`-eK=V`), else the next one.
        if j + 1 < len(arg):
            _store(given, row, arg[j + 1:])
        else:
            _store(given, row, _take(args, i))
            i += 1
        break
    return i


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


def _convert(row, value):
    kind = row[2]
    if kind == "int":
        try:
            return int(value)  # what click.INT does
        except ValueError:
            raise _Fallback from None
    if kind == "choice" and value not in row[5]:
        raise _Fallback
    if kind == "dir":
        _check_dir(value)
    if kind == "other":
        raise _Fallback
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


def _resolve(table: tuple, given: dict) -> dict:
    """Every parameter's value: given, else from its environment variable
    (non-empty, as click reads it), else the default."""
    params = {}
    for row in table:
        name, multiple, default, envvar = row[1], row[3], row[4], row[6]
        if name is None:
            continue
        if name in given:
            value = given[name]
            params[name] = tuple(_convert(row, v) for v in value) if multiple \
                else _convert(row, value)
        elif envvar and os.environ.get(envvar):
            if multiple or row[2] == "flag":
                raise _Fallback  # click splits / interprets these; let it
            params[name] = _convert(row, os.environ[envvar])
        else:
            params[name] = default
    return params


def parse(argv: list[str]) -> tuple[dict, dict] | None:
    """(global parameters, run parameters) as click would pass them, or
    None when argv is not a plain run this parser reproduces exactly."""
    if RUN_ARGUMENTS != (("image", 1, "text"), ("command", -1, "text")) or \
            RUN_SETTINGS != (("allow_interspersed_args", False),
                             ("ignore_unknown_options", True)):
        return None  # run's shape changed: the fast path no longer applies
    try:
        given, rest = _parse_options(argv, _GLOBAL)
        if rest[:1] != ["run"]:
            return None
        run_given, rest = _parse_options(rest[1:], _RUN)
        if not rest:
            return None  # click: "Missing argument 'IMAGE'."
        params = {"image": rest[0], "command": tuple(rest[1:])}
        params.update(_resolve(RUN_OPTIONS, run_given))
        return _resolve(GLOBAL_OPTIONS, given), params
    except _Fallback:
        return None


def main() -> None:
    # A start-up allocates objects by the ten thousand (module imports) and
    # frees few: the collector's passes over them cost ~4 ms of every
    # `run`. run_exec turns it back on once the container has started.
    gc.disable()
    argv = sys.argv[1:]
    parsed = None if "_RS_DOCKER_COMPLETE" in os.environ else parse(argv)
    if parsed is None:
        gc.enable()
        from rs_docker.cli.main import main as click_main

        click_main()
        return
    from rs_docker.runtime import warm_up

    warm_up()  # the cgroup join's kernel latency, paid while we import and plan
    _run(*parsed, preforked=_prefork(parsed[1]))


def _prefork(params: dict):
    """The container's PID 1, forked now (runtime/preforked.py): a foreground
    run as root (no user namespace first; run has no --pid/--userns flags,
    so PID 1 gets a new PID namespace). It imports what PID 1 needs while
    we import, find the image and create the container (~2 ms a run, see
    preforked.py)."""
    if params["detach"] or os.geteuid() != 0:
        return None
    from rs_docker.runtime import prefork

    return prefork()


def _run(global_params: dict, params: dict, preforked=None) -> None:
    try:
        from rs_docker.cli.run_exec import execute
        from rs_docker.context import Context
        from rs_docker.errors import RsDockerError

        debug = global_params["debug"]
        try:
            ctx = Context.from_env(root=global_params["root"], debug=debug,
                                   insecure_registries=global_params["insecure_registry"])
            code = execute(ctx, params, preforked)
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
    finally:
        if preforked is not None:
            preforked.close()  # unused (an error before the start): it exits; a no-op if used
    _exit(code)


def _exit(code: int) -> None:
    """Exit without the interpreter's teardown (every module and object
    freed one by one: ~7 ms after a run). Nothing is left to do but flush:
    the run's files are closed, its records written, its children reaped."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        pass
    os._exit(code)
