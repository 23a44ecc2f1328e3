"""Commands on running containers and the event log: events, pause,
unpause, top, stats, rename, update (named, with their summaries, in
cli/commands.py). Flags in, one service call, Docker's output out."""

from __future__ import annotations

import sys
import time

import click

from rs_docker.errors import RsDockerError

POLL = 0.1  # seconds between two reads of the event log while following


# -- events -----------------------------------------------------------------------

@click.command("events")
@click.option("--since", default=None, help="Show all events created since timestamp.")
@click.option("--until", default=None, help="Stream events until this timestamp.")
@click.option("-f", "--filter", "filters", multiple=True, metavar="KEY=VALUE",
              help="Filter output: type=, event=, container=, image=, label=, scope=.")
@click.option("--format", "fmt", default=None,
              help="Format the output: 'json' or a Go template.")
@click.pass_obj
def events(ctx, since, until, filters, fmt):
    """Past events in --since..--until, then new ones as they happen, until
    interrupted or --until passes."""
    from rs_docker.container import events as ev
    from rs_docker.container.logs import parse_since

    try:
        wanted = ev.parse_filters(filters)
        low = parse_since(since) if since else None
        high = parse_since(until) if until else None
    except RsDockerError as e:
        click.echo(f"rs-docker: {e}", err=True)
        raise click.exceptions.Exit(125) from None
    start_ns = time.time_ns()
    low_ns = int(low * 1e9) if low is not None else start_ns
    high_ns = int(high * 1e9) if high is not None else None
    show = _printer(fmt)
    follower = ev.Follower(ctx)
    try:
        batch = ev.read_old(ctx) + follower.poll()
        while True:
            for m in batch:
                if high_ns is not None and m["timeNano"] > high_ns:
                    continue
                if m["timeNano"] >= low_ns and ev.matches(m, wanted):
                    show(m)
            sys.stdout.flush()
            if high_ns is not None and time.time_ns() > high_ns:
                return
            time.sleep(POLL)
            batch = follower.poll()
    except KeyboardInterrupt:
        return
    finally:
        follower.close()


def _printer(fmt: str | None):
    from rs_docker.container import events as ev

    if not fmt:
        return lambda m: click.echo(ev.text_line(m))
    from rs_docker.cli import templates

    template = "{{json .}}" if fmt == "json" else fmt
    return lambda m: click.echo(templates.render(template, m))
