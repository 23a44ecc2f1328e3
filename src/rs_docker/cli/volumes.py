"""Volume commands: volume create, ls, inspect, rm, prune (named, with their
summaries, in cli/commands.py). Flags in, one service call (store/volumes.py,
container/volumes.py), Docker's output out (docker/cli
cli/command/volume/, formatter/volume.go).

Errors are the daemon's (exit 1); like Docker, a command given several
volumes goes on past a failed one and exits 1 at the end.
"""

from __future__ import annotations

import click

from rs_docker.errors import RsDockerError, UsageError

# formatter/volume.go: the default table and each field's header.
COLUMNS = (("Driver", "DRIVER"), ("Name", "VOLUME NAME"))
HEADERS = {"Name": "VOLUME NAME", "Driver": "DRIVER", "Scope": "SCOPE",
           "Mountpoint": "MOUNTPOINT", "Labels": "LABELS", "Links": "LINKS", "Size": "SIZE",
           "Availability": "AVAILABILITY", "Group": "GROUP"}
FILTER_KEYS = ("dangling", "driver", "label", "name")
PRUNE_WARNING = {
    False: "This will remove anonymous local volumes not used by at least one container.",
    True: "This will remove all local volumes not used by at least one container.",
}


def _fail(errors: list[RsDockerError]) -> None:
    if errors:
        for e in errors:
            click.echo(f"rs-docker: {e}", err=True)
        raise click.exceptions.Exit(1)


def _key_values(items: tuple[str, ...], what: str) -> dict[str, str]:
    out = {}
    for item in items:
        key, _, value = item.partition("=")
        if not key:
            raise UsageError(f"invalid {what}: {item!r}")
        out[key] = value
    return out


# -- create ---------------------------------------------------------------------------

@click.command("create")
@click.argument("name", required=False)
@click.option("--name", "name_option", default=None, hidden=True,
              help="Specify volume name (the argument's older spelling).")
@click.option("-d", "--driver", default="local", show_default=True,
              help="Specify volume driver name.")
@click.option("--label", "labels", multiple=True, metavar="KEY=VALUE",
              help="Set metadata for a volume.")
@click.option("-o", "--opt", "opts", multiple=True, metavar="KEY=VALUE",
              help="Set driver specific options.")
@click.pass_obj
def create(ctx, name, name_option, driver, labels, opts):
    """Without NAME, an anonymous volume: a random 64-hex name."""
    from rs_docker.store import volumes as store

    if name and name_option and name != name_option:
        raise UsageError("conflicting options: either specify --name or provide positional "
                         "arg, not both")
    try:
        volume, _ = store.create(ctx, name or name_option, _key_values(labels, "label"),
                                 _key_values(opts, "option"), driver)
    except UsageError as e:
        _fail([e])
    click.echo(volume.name)


# -- ls -------------------------------------------------------------------------------

def parse_filters(items: tuple[str, ...]) -> dict[str, list[str]]:
    """models/filters.parse, and dangling= must be a boolean."""
    from rs_docker.models import filters as filter_args

    out = filter_args.parse(items, FILTER_KEYS)
    for value in out.get("dangling", ()):
        if value.lower() not in ("true", "false", "1", "0"):
            raise UsageError(f"invalid filter 'dangling={value}'")
    return out


def _matches(volume, used: bool, filters: dict[str, list[str]]) -> bool:
    from rs_docker.container.volumes import label_matches

    tests = {
        "dangling": lambda v: (v.lower() in ("true", "1")) != used,
        "driver": lambda v: volume.driver == v,
        "name": lambda v: v in volume.name,
        "label": lambda v: label_matches(volume.labels, v),
    }
    # Values of one key are alternatives, but every label must match (moby).
    return all((all if key == "label" else any)(tests[key](v) for v in values)
               for key, values in filters.items())


def fields(volume, links: int | None = None) -> dict:
    """One `docker volume ls --format json` object."""
    return {"Availability": "N/A", "Driver": volume.driver, "Group": "N/A",
            "Labels": ",".join(f"{k}={v}" for k, v in sorted(volume.labels.items())),
            "Links": "N/A" if links is None else str(links), "Mountpoint": volume.mountpoint,
            "Name": volume.name, "Scope": "local", "Size": "N/A", "Status": "N/A",
            "_labels": dict(volume.labels)}


@click.command("ls")
@click.option("-q", "--quiet", is_flag=True, help="Only display volume names.")
@click.option("-f", "--filter", "filters", multiple=True, metavar="KEY=VALUE",
              help="Provide filter values (e.g. 'dangling=true').")
@click.option("--format", "fmt", help="'table', 'json', or a Go-template subset.")
@click.pass_obj
def ls(ctx, quiet, filters, fmt):
    from rs_docker.container.volumes import users
    from rs_docker.store import volumes as store

    wanted = parse_filters(filters)
    using = users(ctx) if wanted else {}
    found = [v for v in store.list_all(ctx) if _matches(v, v.name in using, wanted)]
    if quiet:
        for v in found:
            click.echo(v.name)
        return
    _echo(fmt, [fields(v) for v in found])


def _echo(fmt: str | None, objects: list[dict]) -> None:
    from rs_docker.cli import format as fmt_mod

    fmt_mod.echo_objects(fmt, objects, COLUMNS, HEADERS, go_type="*formatter.volumeContext",
                         labels=[o.pop("_labels") for o in objects])


# -- inspect --------------------------------------------------------------------------

@click.command("inspect")
@click.argument("names", nargs=-1, required=True, metavar="VOLUME...")
@click.option("-f", "--format", "fmt", help="Go-template subset, e.g. '{{.Mountpoint}}'.")
@click.pass_obj
def inspect(ctx, names, fmt):
    import json

    from rs_docker.cli import templates
    from rs_docker.store import volumes as store

    found, errors = [], []
    for name in names:
        try:
            found.append(store.get(ctx, name).inspect())
        except RsDockerError as e:
            errors.append(e)
    if fmt:
        for obj in found:
            click.echo(templates.render(fmt, obj))
    else:
        click.echo(json.dumps(found, indent=4, ensure_ascii=False))
    _fail(errors)


# -- rm, prune ---------------------------------------------------------------------------

@click.command("rm")
@click.argument("names", nargs=-1, required=True, metavar="VOLUME...")
@click.option("-f", "--force", is_flag=True,
              help="Force the removal of one or more volumes (a missing one is no error).")
@click.pass_obj
def rm(ctx, names, force):
    """A volume a container uses (running or not) is not removed."""
    from rs_docker.container import volumes

    errors = []
    for name in names:
        try:
            volumes.remove(ctx, name, force)
            click.echo(name)
        except RsDockerError as e:
            errors.append(e)
    _fail(errors)


@click.command("prune")
@click.option("-a", "--all", "all_", is_flag=True,
              help="Remove all unused volumes, not just anonymous ones.")
@click.option("--filter", "filters", multiple=True, metavar="label=KEY[=VALUE]",
              help="Provide filter values (e.g. 'label=<label>').")
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation.")
@click.pass_obj
def prune(ctx, all_, filters, force):
    from rs_docker.cli import prune as prune_out
    from rs_docker.container import volumes

    labels = []
    for item in filters:
        key, eq, value = item.partition("=")
        if key in ("label", "label!") and eq:
            labels.append(("!" if key == "label!" else "") + value)
        elif key == "all" and eq:
            all_ = all_ or value.lower() in ("1", "true")
        else:
            raise UsageError(f"invalid filter '{key}'")
    if not prune_out.confirm(force, PRUNE_WARNING[all_]):
        return
    removed, reclaimed = volumes.prune(ctx, all_, tuple(labels))
    prune_out.echo_deleted("Volumes", removed)
    prune_out.echo_reclaimed(reclaimed)
