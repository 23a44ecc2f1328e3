"""Commands that move data in and out of containers and images: cp,
export, import, commit, diff, history, image prune, system df, system
prune (named, with their summaries, in cli/commands.py). Flags in, one
service call, Docker's output out.
"""

from __future__ import annotations

import sys

import click

from rs_docker.errors import UsageError


def _resolve(ctx, name: str) -> str:
    from rs_docker.container import state

    return state.resolve(ctx, name)


# -- cp -------------------------------------------------------------------------

@click.command("cp", context_settings={"ignore_unknown_options": False})
@click.argument("source")
@click.argument("dest")
@click.option("-a", "--archive", is_flag=True, help="Archive mode (copy all uid/gid information).")
@click.option("-L", "--follow-link", is_flag=True, help="Always follow symbol link in SRC_PATH.")
@click.option("-q", "--quiet", is_flag=True,
              help="Suppress progress output during copy (there is none without a terminal).")
@click.pass_obj
def cp(ctx, source, dest, archive, follow_link, quiet):
    """Copy files/folders between a container and the local filesystem.

    CONTAINER:SRC_PATH DEST_PATH|- or SRC_PATH|- CONTAINER:DEST_PATH.
    Use '-' as the source to read a tar archive from stdin and extract it
    to a directory destination in a container; as the destination to
    stream a tar archive of a container source to stdout."""
    from rs_docker.container import copy

    src_c, src_path = copy.split_arg(source)
    dst_c, dst_path = copy.split_arg(dest)
    if src_c is None and dst_c is None:
        raise UsageError("must specify at least one container source")
    if src_c is not None and dst_c is not None:
        raise UsageError("copying between containers is not supported")
    if (src_path if src_c is not None else dst_path) == "":
        raise UsageError("filesystem path cannot be empty")
    if src_c is not None:
        if dest == "-" and sys.stdout.isatty():
            raise UsageError("cannot write a tar archive to a terminal")
        copy.copy_out(ctx, _resolve(ctx, src_c), src_path, dst_path, follow_link,
                      sys.stdout.buffer)
        sys.stdout.flush()
    else:
        copy.copy_in(ctx, _resolve(ctx, dst_c), src_path, dst_path, follow_link, archive,
                     sys.stdin.buffer)


# -- export / import / commit ---------------------------------------------------

@click.command("export")
@click.argument("container")
@click.option("-o", "--output", help="Write to a file, instead of STDOUT.")
@click.pass_obj
def export(ctx, container, output):
    """Export a container's filesystem as a tar archive."""
    from rs_docker.container import copy

    cid = _resolve(ctx, container)
    if not output:
        if sys.stdout.isatty():
            raise UsageError("cowardly refusing to save to a terminal. Use the -o flag or "
                             "redirect")
        copy.export(ctx, cid, sys.stdout.buffer)
        sys.stdout.flush()
        return
    _write_replacing(output, lambda f: copy.export(ctx, cid, f))


def _write_replacing(path: str, write) -> None:
    """write(f) into a temp file beside `path`, renamed over it once whole."""
    import os
    import tempfile

    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".rs-docker-export-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.chmod(tmp, 0o666 & ~_umask())
        os.rename(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _umask() -> int:
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask


@click.command("import")
@click.argument("source")
@click.argument("repository", required=False)
@click.option("-c", "--change", "changes", multiple=True,
              help="Apply Dockerfile instruction to the created image.")
@click.option("-m", "--message", default="", help="Set commit message for imported image.")
@click.option("--platform", default=None, help="Accepted for Docker (the host's platform).")
@click.pass_obj
def import_(ctx, source, repository, changes, message, platform):
    """Import the contents from a tarball to create a filesystem image.

    SOURCE is a file, an http(s) URL, or '-' for STDIN."""
    from rs_docker.image import commit as commit_mod

    stream = commit_mod.open_source(source)
    try:
        image_id = commit_mod.import_tarball(ctx, stream, source, repository, changes, message)
    finally:
        stream.close()
    click.echo(str(image_id))


@click.command("commit")
@click.argument("container")
@click.argument("repository", required=False)
@click.option("-a", "--author", default="",
              help='Author (e.g., "John Hannibal Smith <hannibal@a-team.com>").')
@click.option("-c", "--change", "changes", multiple=True,
              help="Apply Dockerfile instruction to the created image.")
@click.option("-m", "--message", default="", help="Commit message.")
@click.option("-p/--no-pause", "--pause", "pause", default=True,
              help="Pause container during commit (default true).")
@click.pass_obj
def commit(ctx, container, repository, author, changes, message, pause):
    """Create a new image from a container's changes."""
    from rs_docker.image import commit as commit_mod
    from rs_docker.models import config_changes

    config_changes.apply({}, changes)  # a bad -c fails before anything is read
    image_id = commit_mod.commit(ctx, _resolve(ctx, container), repository, author, message,
                                 changes, pause)
    click.echo(str(image_id))


# -- diff -----------------------------------------------------------------------

@click.command("diff")
@click.argument("container")
@click.pass_obj
def diff(ctx, container):
    """Inspect changes to files or directories on a container's filesystem.

    A: added, C: changed, D: deleted."""
    from rs_docker.container import changes as changes_mod

    upper, lowers = changes_mod.layer_dirs(ctx, _resolve(ctx, container))
    for kind, path in changes_mod.changes(upper, lowers):
        click.echo(f"{kind} {path}")


# -- history --------------------------------------------------------------------

@click.command("history")
@click.argument("image")
@click.option("-H", "--human", default=True, type=bool,
              help="Print sizes and dates in human readable format (default true).")
@click.option("--no-trunc", is_flag=True, help="Don't truncate output.")
@click.option("-q", "--quiet", is_flag=True, help="Only show image IDs.")
@click.option("--format", "fmt", help="'table', 'json', or a Go-template subset.")
@click.option("--platform", default=None, help="Accepted for Docker (the stored platform).")
@click.pass_obj
def history(ctx, image, human, no_trunc, quiet, fmt, platform):
    """Show the history of an image."""
    from rs_docker.cli import format as fmt_mod
    from rs_docker.cli import humanize
    from rs_docker.image import history as history_mod

    rows = history_mod.history(ctx, image)
    if quiet:
        for r in rows:
            click.echo(r.id if no_trunc or r.id == "<missing>" else r.id.split(":")[-1][:12])
        return
    objs = []
    for r in rows:
        created_by = r.created_by.replace("\t", " ")
        objs.append({
            "ID": r.id if no_trunc or r.id == "<missing>" else r.id.split(":")[-1][:12],
            "CreatedSince": humanize.since(r.created) if human else r.created or "",
            "CreatedAt": r.created or "",
            "CreatedBy": created_by if no_trunc else fmt_mod.ellipsis(created_by, 45),
            "Size": humanize.size(r.size) if human else str(r.size),
            "Comment": r.comment,
        })
    if fmt and fmt != "table":
        from rs_docker.cli import templates

        if fmt == "json":
            import json

            for o in objs:
                click.echo(json.dumps(o, separators=(",", ":")))
            return
        body = templates.table_body(fmt) if templates.is_table(fmt) else fmt
        for o in objs:
            click.echo(templates.render(body, o))
        return
    fmt_mod.echo_table(["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"],
                       [[o["ID"], o["CreatedSince"], o["CreatedBy"], o["Size"], o["Comment"]]
                        for o in objs])


# -- prune and df ---------------------------------------------------------------

@click.command("prune")
@click.option("-a", "--all", "all_", is_flag=True,
              help="Remove all unused images, not just dangling ones.")
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation.")
@click.option("--filter", "filters", multiple=True,
              help='Provide filter values (e.g. "until=<timestamp>", "label=k=v").')
@click.pass_obj
def image_prune(ctx, all_, force, filters):
    """Remove unused images."""
    from rs_docker.cli import prune
    from rs_docker.container import usage

    usage.parse_filters(filters)
    warning = ("This will remove all images without at least one container associated "
               "to them." if all_ else "This will remove all dangling images.")
    if not prune.confirm(force, warning):
        return
    events, freed = usage.image_prune(ctx, all_, filters)
    prune.echo_deleted("Images", (f"{verb}: {what}" for verb, what in events))
    prune.echo_reclaimed(freed)


@click.command("prune")
@click.option("-a", "--all", "all_", is_flag=True,
              help="Remove all unused images not just dangling ones.")
@click.option("--volumes", is_flag=True, help="Prune anonymous volumes.")
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation.")
@click.option("--filter", "filters", multiple=True, help="Provide filter values.")
@click.pass_obj
def system_prune(ctx, all_, volumes, force, filters):
    """Remove unused data."""
    from rs_docker.cli import prune
    from rs_docker.container import usage

    usage.parse_filters(filters)
    items = ["all stopped containers"]
    if volumes:
        items.append("all anonymous volumes not used by at least one container")
    items.append("all images without at least one container associated to them" if all_
                 else "all dangling images")
    items.append("unused build cache")
    if not prune.confirm(force, "This will remove:\n" + "".join(f"  - {i}\n" for i in items)):
        return
    removed, freed = usage.container_prune(ctx)
    prune.echo_deleted("Containers", removed)
    if volumes:
        names, volume_bytes = usage.volume_prune(ctx)
        freed += volume_bytes
        prune.echo_deleted("Volumes", names)
    events, image_bytes = usage.image_prune(ctx, all_, filters)
    freed += image_bytes
    prune.echo_deleted("Images", (f"{verb}: {what}" for verb, what in events))
    prune.echo_reclaimed(freed)


@click.command("df")
@click.option("-v", "--verbose", is_flag=True, help="Show detailed information on space usage.")
@click.option("--format", "fmt", help="'table', 'json', or a Go-template subset.")
@click.pass_obj
def system_df(ctx, verbose, fmt):
    """Show rs-docker disk usage."""
    from rs_docker.cli import format as fmt_mod
    from rs_docker.cli import humanize
    from rs_docker.container import usage

    du = usage.disk_usage(ctx)

    def reclaim(size, part):
        if not size:
            return humanize.size(part)
        return f"{humanize.size(part)} ({int(part * 100 / size)}%)"

    rows = [{"Type": t, "TotalCount": str(n), "Active": str(a), "Size": humanize.size(s),
             "Reclaimable": reclaim(s, r)}
            for t, (n, a, s, r) in (("Images", du["images"]), ("Containers", du["containers"]),
                                    ("Local Volumes", du["volumes"]))]
    rows.append({"Type": "Build Cache", "TotalCount": "0", "Active": "0", "Size": "0B",
                 "Reclaimable": "0B"})
    if fmt and fmt != "table" and not verbose:
        from rs_docker.cli import templates

        if fmt == "json":
            import json

            for r in rows:
                click.echo(json.dumps(r, separators=(",", ":")))
            return
        for r in rows:
            click.echo(templates.render(templates.table_body(fmt) if templates.is_table(fmt)
                                        else fmt, r))
        return
    if not verbose:
        fmt_mod.echo_table(["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"],
                           [[r["Type"], r["TotalCount"], r["Active"], r["Size"],
                             r["Reclaimable"]] for r in rows])
        return
    _df_verbose(du, fmt_mod, humanize)


def _df_verbose(du, fmt_mod, humanize) -> None:
    from rs_docker.image.catalog import familiar

    click.echo("Images space usage:\n")
    image_rows = []
    for row in du["image_rows"]:
        for r in row["records"]:
            name = familiar(r.reference)
            repo, _, tag = name.rpartition(":") if "@" not in name else (name, "", "")
            if r.reference.startswith("localhost/untagged@"):
                repo, tag = "<none>", "<none>"
            image_rows.append([repo or name, tag or "<none>", row["id"].hex[:12],
                               humanize.since(r.created), humanize.size(row["size"]),
                               humanize.size(row["shared"]),
                               humanize.size(row["size"] - row["shared"]),
                               str(row["containers"])])
    fmt_mod.echo_table(["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE", "SHARED SIZE",
                        "UNIQUE SIZE", "CONTAINERS"], image_rows)
    click.echo("\nContainers space usage:\n")
    rows = []
    for c in du["container_rows"]:
        rec = c["record"]
        config = rec.get("Config") or {}
        cmd = " ".join(list(config.get("Entrypoint") or []) + list(config.get("Cmd") or []))
        rows.append([rec["Id"][:12], (rec.get("Config") or {}).get("Image", ""),
                     fmt_mod.ellipsis(f'"{cmd}"', 20), str(len(rec.get("Mounts") or [])),
                     humanize.size(c["size"]), humanize.since(rec.get("Created")),
                     (rec.get("State") or {}).get("Status", ""),
                     str(rec.get("Name", "")).lstrip("/")])
    fmt_mod.echo_table(["CONTAINER ID", "IMAGE", "COMMAND", "LOCAL VOLUMES", "SIZE",
                        "CREATED", "STATUS", "NAMES"], rows)
    click.echo("\nLocal Volumes space usage:\n")
    fmt_mod.echo_table(["VOLUME NAME", "LINKS", "SIZE"],
                       [[v["name"], str(v["links"]), humanize.size(v["size"])]
                        for v in du["volume_rows"]])
    click.echo("\nBuild cache usage: 0B")
