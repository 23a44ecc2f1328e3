"""`rs-docker run`: the click command, built from the flag table
(models.run_options.RUN_FLAGS); cli/run_exec.py does the rest.

cli/fast.py parses a plain run without click, in this command's shape:
IMAGE, then COMMAND... taken untouched (options stop at the first
positional; an unknown option is left for IMAGE, which build_options
refuses with Docker's words).
"""

from __future__ import annotations

import click

from rs_docker.cli.options import TableCommand
from rs_docker.models.run_options import RUN_FLAGS

SETTINGS = {"ignore_unknown_options": True, "allow_interspersed_args": False,
            "help_option_names": ["--help"]}  # -h is --hostname, as in Docker


@click.pass_obj
def _run(ctx, **params):
    from rs_docker.cli.run_exec import execute

    code = execute(ctx, params)
    if params["detach"]:
        return
    raise click.exceptions.Exit(code)


run = TableCommand(
    "run", RUN_FLAGS, context_settings=SETTINGS, callback=_run,
    params=[click.Argument(["image"]),
            click.Argument(["command"], nargs=-1, type=click.UNPROCESSED)])
