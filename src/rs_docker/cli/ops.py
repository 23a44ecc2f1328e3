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


# -- pause / unpause ----------------------------------------------------------------

@click.command("pause")
@click.argument("containers", nargs=-1, required=True, metavar="CONTAINER...")
@click.pass_obj
def pause(ctx, containers):
    """Every process of each container frozen (the cgroup freezer)."""
    from rs_docker.cli.containers import _each
    from rs_docker.container import pause as pause_mod

    _each(ctx, containers, lambda cid: pause_mod.pause(ctx, cid))


@click.command("unpause")
@click.argument("containers", nargs=-1, required=True, metavar="CONTAINER...")
@click.pass_obj
def unpause(ctx, containers):
    from rs_docker.cli.containers import _each
    from rs_docker.container import pause as pause_mod

    _each(ctx, containers, lambda cid: pause_mod.unpause(ctx, cid))


# -- stats --------------------------------------------------------------------------

STATS_COLUMNS = (("ID", "CONTAINER ID"), ("Name", "NAME"), ("CPUPerc", "CPU %"),
                 ("MemUsage", "MEM USAGE / LIMIT"), ("MemPerc", "MEM %"),
                 ("NetIO", "NET I/O"), ("BlockIO", "BLOCK I/O"), ("PIDs", "PIDS"))
STATS_HEADERS = {"Container": "CONTAINER", **dict(STATS_COLUMNS)}
STATS_INTERVAL = 1.0  # seconds between two samples (dockerd collects every second)


def binary_size(n: float) -> str:
    """go-units BytesSize: "1.523MiB" (binary units, 4 significant digits)."""
    units = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")
    i = 0
    while n >= 1024 and i < len(units) - 1:
        n /= 1024.0
        i += 1
    return f"{n:.4g}{units[i]}"


def stats_fields(rec: dict, figures, no_trunc: bool, given: str | None) -> dict:
    """One container's `docker stats --format` fields (formatter_stats.go)."""
    from rs_docker.cli.humanize import size

    cid = str(rec.get("Id", ""))
    short = cid if no_trunc else cid[:12]
    out = {"Container": given or short, "Name": str(rec.get("Name", "")).removeprefix("/"),
           "ID": short}
    if figures is None:
        return {**out, "CPUPerc": "0.00%", "MemUsage": "0B / 0B", "MemPerc": "0.00%",
                "NetIO": "0B / 0B", "BlockIO": "0B / 0B", "PIDs": "0"}
    f = figures
    return {**out, "CPUPerc": f"{f.cpu_percent:.2f}%",
            "MemUsage": f"{binary_size(f.memory)} / {binary_size(f.memory_limit)}",
            "MemPerc": f"{f.memory_percent:.2f}%",
            "NetIO": f"{size(f.rx)} / {size(f.tx)}",
            "BlockIO": f"{size(f.block_read)} / {size(f.block_write)}", "PIDs": str(f.pids)}


@click.command("stats")
@click.argument("containers", nargs=-1, metavar="[CONTAINER...]")
@click.option("-a", "--all", "all_", is_flag=True,
              help="Show all containers (default shows just running).")
@click.option("--no-stream", is_flag=True, help="Disable streaming stats and only pull "
                                                "the first result.")
@click.option("--no-trunc", is_flag=True, help="Do not truncate output.")
@click.option("--format", "fmt", default=None,
              help="'table', 'json', or a Go template.")
@click.pass_obj
def stats(ctx, containers, all_, no_stream, no_trunc, fmt):
    """CPU, memory, network and block I/O and PIDs of containers, from
    their cgroups: once with --no-stream, else refreshed every second."""
    from rs_docker.container import stats as stats_mod

    live = None
    if not no_stream and sys.stdout.isatty():
        from rich.console import Console
        from rich.live import Live

        live = Live(console=Console(), auto_refresh=False, transient=False)
        live.start()
    try:
        while True:
            chosen, errors = stats_mod.records(ctx, list(containers), all_)
            if errors and not chosen:
                raise errors[0]
            before = [stats_mod.sample(ctx, r) for _, r in chosen]
            time.sleep(STATS_INTERVAL)
            rows = [stats_fields(r, stats_mod.figures(b, stats_mod.sample(ctx, r)), no_trunc,
                                 given) for (given, r), b in zip(chosen, before, strict=True)]
            text = _stats_text(fmt, rows)
            if live is not None:
                from rich.text import Text

                live.update(Text(text), refresh=True)
            else:
                click.echo(text)
            for e in errors:
                click.echo(f"rs-docker: {e}", err=True)
            if no_stream:
                if errors:
                    raise click.exceptions.Exit(1)
                return
    except KeyboardInterrupt:
        return
    finally:
        if live is not None:
            live.stop()


def _stats_text(fmt: str | None, rows: list[dict]) -> str:
    """The rows as Docker's table (the default, or "table TEMPLATE"), JSON
    lines ("json") or a template per row, as text."""
    from rs_docker.cli import templates

    if fmt == "json":
        fmt = "{{json .}}"
    if fmt and not templates.is_table(fmt):
        return "\n".join(templates.render(fmt, r) for r in rows)
    body = templates.table_body(fmt) if fmt and fmt != "table" else \
        "\t".join("{{." + key + "}}" for key, _ in STATS_COLUMNS)
    header = templates.render(body, STATS_HEADERS).split("\t")
    return table([header] + [templates.render(body, r).split("\t") for r in rows])


def table(lines: list[list[str]]) -> str:
    """Cells aligned as Go's tabwriter with docker/cli's settings (minimum
    width 10, padding 3); the last column is not padded."""
    widths = [max([10] + [len(line[i]) + 3 for line in lines if i < len(line)])
              for i in range(max(len(line) for line in lines))]
    return "\n".join(("".join(c.ljust(w) for c, w in zip(line[:-1], widths, strict=False))
                      + line[-1]).rstrip() for line in lines)


# -- rename ---------------------------------------------------------------------------

@click.command("rename")
@click.argument("old", metavar="CONTAINER")
@click.argument("new", metavar="NEW_NAME")
@click.pass_obj
def rename(ctx, old, new):
    """Every refusal is the daemon's in Docker: exit 1."""
    from rs_docker.container import rename as rename_mod

    try:
        rename_mod.rename(ctx, old, new)
    except RsDockerError as e:
        click.echo(f"rs-docker: {e}", err=True)
        raise click.exceptions.Exit(1) from None


# -- top -------------------------------------------------------------------------------

@click.command("top", context_settings={"ignore_unknown_options": True})
@click.argument("container")
@click.argument("ps_args", nargs=-1, type=click.UNPROCESSED, metavar="[ps OPTIONS]")
@click.pass_obj
def top(ctx, container, ps_args):
    """The host's `ps` (default -ef) for the container's processes."""
    from rs_docker.cli.containers import _resolve
    from rs_docker.container import top as top_mod

    try:
        titles, rows = top_mod.top(ctx, _resolve(ctx, container), list(ps_args))
    except RsDockerError as e:
        click.echo(f"rs-docker: {e}", err=True)
        raise click.exceptions.Exit(1) from None
    # docker/cli top.go: tabwriter with minimum width 20, padding 3
    lines = [titles, *rows]
    widths = [max([20] + [len(line[i]) + 3 for line in lines if i < len(line)])
              for i in range(len(titles))]
    for line in lines:
        click.echo(("".join(c.ljust(w) for c, w in zip(line[:-1], widths, strict=False))
                    + line[-1]).rstrip())


# -- update ----------------------------------------------------------------------------

@click.command("update")
@click.argument("containers", nargs=-1, required=True, metavar="CONTAINER...")
@click.option("-m", "--memory", default=None, help="Memory limit.")
@click.option("--memory-swap", default=None,
              help="Swap limit equal to memory plus swap: -1 to enable unlimited swap.")
@click.option("--cpus", default=None, help="Number of CPUs.")
@click.option("-c", "--cpu-shares", type=int, default=None,
              help="CPU shares (relative weight).")
@click.option("--pids-limit", type=int, default=None,
              help="Tune container pids limit (set -1 for unlimited).")
@click.option("--restart", default=None, help="Restart policy to apply when a container exits.")
@click.pass_obj
def update(ctx, containers, memory, memory_swap, cpus, cpu_shares, pids_limit, restart):
    """New limits for containers, running (their cgroup at once) or not."""
    from rs_docker.cli.containers import _each
    from rs_docker.container import update as update_mod

    limits = update_mod.Limits(memory, memory_swap, cpus, cpu_shares, pids_limit, restart)
    if limits == update_mod.Limits():
        click.echo("rs-docker: you must provide one or more flags when using this command",
                   err=True)
        raise click.exceptions.Exit(1)
    _each(ctx, containers, lambda cid: update_mod.update(ctx, cid, limits))
