"""The one place an error becomes stderr + an exit status, without click,
so the fast path of `run` (cli/fast.py) and the click entry point
(cli/main.py) report failures the same way."""

from __future__ import annotations

import sys

from rs_docker.errors import EXIT_TOOL, RsDockerError

# Not typing's TYPE_CHECKING: typing stays off the run path
# (docs/ARCHITECTURE.md, Start-up rules); type checkers read this block
# (mypy and ruff treat any name TYPE_CHECKING so).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NoReturn

# Docker's CLI exits 125 when `run`/`create` fail before the container runs
# (and on a bad flag of any command); any other command reports a failed
# request with 1 (`docker pull nope` -> 1, `docker rm nope` -> 1).
EXIT_FAILED_REQUEST = 1
TOOL_EXIT_COMMANDS = frozenset({"run", "create"})
FLAG_ERRORS = ("unknown flag: ", "unknown shorthand flag: ", "flag needs an argument: ")


def exit_code_for(error: RsDockerError, command: str | None) -> int:
    if error.exit_code == EXIT_TOOL and command not in TOOL_EXIT_COMMANDS:
        return EXIT_FAILED_REQUEST
    return error.exit_code


def fail(message: str, code: int = EXIT_TOOL, hint: str | None = None) -> NoReturn:
    """Print `rs-docker: message` (and a hint) on stderr and exit with code."""
    print(f"rs-docker: {message}", file=sys.stderr)
    if hint:
        print(f"hint: {hint}", file=sys.stderr)
    sys.exit(code)


def report(error: RsDockerError, command: str | None, debug: bool) -> NoReturn:
    """Exit for an RsDockerError raised by `command` (with its traceback
    first under --debug)."""
    if debug:
        import traceback

        traceback.print_exc()
    message = str(error)
    if message.startswith(FLAG_ERRORS):
        # cobra's second line for a flag error, as click's are rewritten (cli/main.py)
        message += f"\nSee 'rs-docker {command} --help'."
    fail(message, exit_code_for(error, command), error.hint)


def report_os_error(error: OSError, command: str | None, debug: bool) -> NoReturn:
    """Exit for an OSError no layer below turned into an RsDockerError (a
    store the caller may not write, say): one line naming the path, with
    the exit code of a failed tool (125 for run, 1 for other commands)."""
    if debug:
        import traceback

        traceback.print_exc()
    why = (error.strerror or str(error)).lower()
    fail(f"{error.filename}: {why}" if error.filename else why,
         EXIT_TOOL if command in TOOL_EXIT_COMMANDS else EXIT_FAILED_REQUEST)
