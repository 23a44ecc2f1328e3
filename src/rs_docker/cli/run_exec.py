"""`rs-docker run` after parsing, without click: parsed flag values ->
RunOptions -> container.run. Both the click command (cli/run.py) and the
fast path (cli/fast.py) end here, so they cannot disagree on what a flag
means."""

from __future__ import annotations

import os
import sys

from rs_docker.errors import UsageError
from rs_docker.models.run_options import RunOptions


def env_entries(env_files: tuple[str, ...], flags: tuple[str, ...]) -> tuple[str, ...]:
    """--env-file files, then -e flags, as KEY=VALUE entries (Docker's order)."""
    from rs_docker.models.env import parse_env_file, resolve_cli_env

    from_files: list[str] = []
    for path in env_files:
        try:
            text = read_env_file(path).decode()
        except UnicodeDecodeError:
            raise UsageError(f"{path}: env file is not valid utf-8") from None
        from_files += parse_env_file(text, os.environ, source=path)
    return tuple(resolve_cli_env(from_files, flags, os.environ))


# An env file is read whole: a device (/dev/zero) would grow the read without
# end and a FIFO would block it, so only a regular file is read, and at most
# this much of it. 1 MiB is far beyond any real env file, and the container's
# whole environment must fit with its arguments in a quarter of the stack
# limit for execve(2) (ARG_MAX: 2 MiB under the usual 8 MiB limit).
ENV_FILE_MAX = 1 << 20


def read_env_file(path: str) -> bytes:
    """The bytes of the env file at path: a regular file of at most
    ENV_FILE_MAX bytes, else UsageError."""
    from rs_docker.models.flags import read_regular_file

    return read_regular_file(path, ENV_FILE_MAX, "env file")


def label_entries(label_files: tuple[str, ...], flags: tuple[str, ...]) -> tuple[str, ...]:
    """--label-file lines, then -l flags (docker-cli: the files first, a
    flag's label wins)."""
    from rs_docker.models.flags import read_regular_file
    from rs_docker.models.run_flags import label_file_lines

    out: list[str] = []
    for path in label_files:
        try:
            text = read_regular_file(path, ENV_FILE_MAX, "label file").decode()
        except UnicodeDecodeError:
            raise UsageError(f"{path}: label file is not valid utf-8") from None
        out += label_file_lines(text)
    return (*out, *flags)


def build_options(params: dict) -> RunOptions:
    """RunOptions from the run command's parameter values, keyed by dest
    (image, command, then each RUN_FLAGS entry's): every field taken as
    parsed, but `env`, which merges --env-file and -e."""
    image = params["image"]
    if image.startswith("-"):
        # click takes an unknown option for IMAGE (the command's own options
        # must pass through untouched); Docker's word for it:
        raise UsageError(f"unknown flag: {image.split('=', 1)[0]}")
    if params["tty"] and params["interactive"] and not params["detach"] and not os.isatty(0):
        raise UsageError("the input device is not a TTY")
    values = {name: params[name] for name in RunOptions._fields}
    values["command"] = tuple(values["command"])
    values["env"] = env_entries(params["env_file"], params["env"])
    if params["label_file"]:
        values["labels"] = label_entries(params["label_file"], params["labels"])
    if any(v.startswith(".") for v in values["volumes"]):
        from rs_docker.models.mount_flags import absolute_binds

        values["volumes"] = absolute_binds(values["volumes"], os.getcwd())
    return RunOptions(**values)


def _echo_err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


class _PullProgress:
    """Pull progress on stderr (Docker prints `run`'s pull there), the
    renderer imported only if a pull happens, and closed when it ends. A
    pull is long: the start-up slot, if any, is done() at its first event."""

    def __init__(self, startup=None):
        self.renderer = None
        self.startup = startup

    def __call__(self, event) -> None:
        if self.renderer is None:
            if self.startup is not None:
                self.startup.done()
            from rs_docker.cli.progress import renderer

            self.renderer = renderer(stream=sys.stderr)
        self.renderer(event)

    def close(self) -> None:
        if self.renderer is not None:
            self.renderer.close()


def execute(ctx, params: dict, startup=None) -> int:
    """Run the container the parameters describe; its exit status (0 once a
    detached container is started and its id printed). startup: the
    caller's start-up slot (runtime/startup.StartUp), which the caller
    leaves; a foreground run hands it to the runtime."""
    from rs_docker.container.run import RunCallbacks, run_container

    opts = build_options(params)
    pull_progress = _PullProgress(startup)
    callbacks = RunCallbacks(notice=_echo_err, pull_progress=pull_progress,
                             pull_done=pull_progress.close)
    if ctx.debug:
        callbacks = callbacks._replace(debug=lambda text: _echo_err(f"debug: {text}"))
    sys.stdout.flush()
    if opts.detach:
        from rs_docker.container.run import run_detached

        print(run_detached(ctx, opts, callbacks), flush=True)
        return 0
    return run_container(ctx, opts, callbacks, startup=startup)
