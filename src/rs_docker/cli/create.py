"""`rs-docker create`: the click command, built from run's flag table
(models.run_options.RUN_FLAGS), so it takes every flag `run` takes; it
makes the container as `run` would and prints its ID. `start` runs it
(cli/containers.py)."""

from __future__ import annotations

import sys

import click

from rs_docker.cli.errors_out import report
from rs_docker.cli.options import TableCommand
from rs_docker.cli.run import SETTINGS
from rs_docker.errors import RsDockerError
from rs_docker.models.run_options import RUN_FLAGS


@click.pass_obj
def _create(ctx, **params):
    from rs_docker.cli.run_exec import _echo_err, _PullProgress, build_options
    from rs_docker.container.run import RunCallbacks, create_only

    opts = build_options(params)
    pull_progress = _PullProgress()
    callbacks = RunCallbacks(notice=_echo_err, pull_progress=pull_progress,
                             pull_done=pull_progress.close)
    if ctx.debug:
        callbacks = callbacks._replace(debug=lambda text: _echo_err(f"debug: {text}"))
    sys.stdout.flush()
    try:
        click.echo(create_only(ctx, opts, callbacks))
    except RsDockerError as e:
        # "create" by name: `container create` fails with 125 too, as Docker's.
        report(e, "create", ctx.debug)


create = TableCommand(
    "create", RUN_FLAGS, context_settings=SETTINGS, callback=_create,
    params=[click.Argument(["image"]),
            click.Argument(["command"], nargs=-1, type=click.UNPROCESSED)])
