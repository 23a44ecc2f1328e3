"""Image commands: pull, push, tag, images, rmi, inspect, login, logout,
save, load (named, with their summaries and the `image` aliases, in
cli/commands.py). Flags in, one service call, Docker's output out."""

from __future__ import annotations

import json
import sys

import click

from rs_docker.errors import RsDockerError


@click.command("pull")
@click.argument("name", metavar="NAME[:TAG|@DIGEST]")
@click.option("--platform", metavar="OS/ARCH[/VARIANT]", envvar="DOCKER_DEFAULT_PLATFORM",
              help="Pull the image for this platform (default: this machine's).")
@click.option("-q", "--quiet", is_flag=True, help="Print only the image reference.")
@click.pass_obj
def pull(ctx, name, platform, quiet):
    from rs_docker.cli.progress import renderer
    from rs_docker.image.pull import pull as pull_image
    from rs_docker.models.reference import parse
    from rs_docker.store.images import ImageIndex

    ref = parse(name)
    given = parse(name, default_tag=False)
    if not quiet and given.tag is None and given.digest is None:
        click.echo("Using default tag: latest")
    before = ImageIndex(ctx).get(str(ref))
    render = renderer(quiet)
    try:
        record = pull_image(ctx, ref, platform, render)
    finally:
        render.close()
    _event(ctx, "pull", ref.familiar, {"name": ref.familiar_name})
    if not quiet:
        fresh = before is None or before.manifest != record.manifest
        click.echo(f"Digest: {record.repo_digest}")
        click.echo(f"Status: {'Downloaded newer image' if fresh else 'Image is up to date'} "
                   f"for {ref.familiar}")
    click.echo(str(ref))


@click.command("push")
@click.argument("name", metavar="NAME[:TAG]")
@click.option("-q", "--quiet", is_flag=True, help="Print only the image reference.")
@click.pass_obj
def push(ctx, name, quiet):
    """Its layers and config (those the repository already has are
    skipped), then its manifest, byte for byte.

    An image pulled from a multi-platform index pushes the one platform
    manifest that was pulled, not the index."""
    from rs_docker.cli.progress import renderer
    from rs_docker.image.push import push as push_image
    from rs_docker.models.reference import parse

    ref = parse(name)
    given = parse(name, default_tag=False)
    if not quiet:
        if given.tag is None and given.digest is None:
            click.echo("Using default tag: latest")
        click.echo(f"The push refers to repository [{ref.name}]")
    render = renderer(quiet)
    try:
        result = push_image(ctx, ref, render)
    finally:
        render.close()
    if quiet:
        click.echo(str(ref))
    else:
        click.echo(f"{result.selector}: digest: {result.digest} size: {result.size}")


@click.command("tag")
@click.argument("source", metavar="SOURCE_IMAGE[:TAG]")
@click.argument("target", metavar="TARGET_IMAGE[:TAG]")
@click.pass_obj
def tag(ctx, source, target):
    """SOURCE_IMAGE: a reference or an image ID."""
    from rs_docker.image.tag import tag as tag_image
    from rs_docker.models.reference import parse

    record = tag_image(ctx, source, target)
    if record is not None:
        _event(ctx, "tag", str(record.config), {"name": parse(target).familiar})


def _event(ctx, action: str, actor: str, attributes: dict) -> None:
    """An image event in the log `rs-docker events` reads."""
    from rs_docker.container import events

    events.emit(ctx, "image", action, actor, attributes)


@click.command("images")
@click.argument("repository", required=False, metavar="[REPOSITORY[:TAG]]")
@click.option("-a", "--all", "all_", is_flag=True,
              help="Show all images (there are no intermediate images; accepted for Docker).")
@click.option("-q", "--quiet", is_flag=True, help="Only show image IDs.")
@click.option("--digests", is_flag=True, help="Show digests.")
@click.option("--no-trunc", is_flag=True, help="Don't truncate output.")
@click.option("-f", "--filter", "filters", multiple=True, metavar="KEY=VALUE",
              help="Filter output: dangling=, reference=, label=, before=, since=.")
@click.option("--format", "fmt", help="'table', 'json', 'table TEMPLATE' or a Go template.")
@click.pass_obj
def images(ctx, repository, all_, quiet, digests, no_trunc, filters, fmt):
    from rs_docker.image.catalog import IMAGE_FILTER_KEYS, filter_images, list_images
    from rs_docker.models import filters as filter_args

    flt = filter_args.parse(filters, IMAGE_FILTER_KEYS)
    rows = filter_images(ctx, list_images(ctx, repository), flt)
    if quiet:
        seen = []
        for row in rows:
            image_id = str(row.id) if no_trunc else row.id.short
            if image_id not in seen:
                seen.append(image_id)
                click.echo(image_id)
        return
    from rs_docker.cli import format as fmt_mod

    columns = IMAGE_COLUMNS if not digests else \
        IMAGE_COLUMNS[:2] + (("Digest", "DIGEST"),) + IMAGE_COLUMNS[2:]
    fmt_mod.echo_objects(fmt, [_fields(row, no_trunc) for row in rows], columns,
                         IMAGE_HEADERS, "*formatter.ImageContext")


# docker/cli cli/command/formatter/image.go: the default table and headers.
IMAGE_COLUMNS = (("Repository", "REPOSITORY"), ("Tag", "TAG"), ("ID", "IMAGE ID"),
                 ("CreatedSince", "CREATED"), ("Size", "SIZE"))
IMAGE_HEADERS = {"ID": "IMAGE ID", "Repository": "REPOSITORY", "Tag": "TAG", "Digest": "DIGEST",
                 "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "Size": "SIZE",
                 "Containers": "CONTAINERS", "VirtualSize": "VIRTUAL SIZE",
                 "SharedSize": "SHARED SIZE", "UniqueSize": "UNIQUE SIZE"}


def _fields(row, no_trunc: bool) -> dict:
    """The object `docker images --format json` prints for one row."""
    from rs_docker.cli import humanize

    size = humanize.size(row.size)
    return {
        "Containers": "N/A", "CreatedAt": humanize.go_time(row.created),
        "CreatedSince": humanize.since(row.created),
        "Digest": str(row.digest) if row.digest else "<none>",
        "ID": str(row.id) if no_trunc else row.id.short,
        "Repository": row.repository, "SharedSize": "N/A", "Size": size,
        "Tag": row.tag or "<none>", "UniqueSize": "N/A", "VirtualSize": size,
    }


@click.command("rmi")
@click.argument("names", nargs=-1, required=True, metavar="IMAGE...")
@click.option("-f", "--force", is_flag=True, help="Force removal of the image.")
@click.option("--no-prune", is_flag=True, help="Accepted for Docker; untagged parents do not "
                                               "exist here.")
@click.pass_obj
def rmi(ctx, names, force, no_prune):
    from rs_docker.image.catalog import remove

    errors: list[RsDockerError] = []
    for name in names:
        try:
            deleted = False
            for verb, what in remove(ctx, name, force=force):
                click.echo(f"{verb}: {what}")
                if verb == "Untagged" and "@" not in what:
                    _event(ctx, "untag", what, {"name": what})
                elif verb == "Deleted" and not deleted:  # the image; its layers follow
                    deleted = True
                    _event(ctx, "delete", what, {"name": what})
        except RsDockerError as e:
            errors.append(e)
    _raise_collected(errors)


def _raise_collected(errors: list[RsDockerError]) -> None:
    """Docker goes on past a failed argument and fails at the end."""
    if not errors:
        return
    if len(errors) == 1:
        raise errors[0]
    first = errors[0]
    raise type(first)("; ".join(e.message for e in errors), first.hint)


@click.command("inspect")
@click.argument("names", nargs=-1, required=True, metavar="IMAGE...")
@click.option("-f", "--format", "fmt", help="A Go template, e.g. '{{.Id}}' or "
                                            "'{{json .Config}}'.")
@click.pass_obj
def inspect(ctx, names, fmt):
    from rs_docker.image.catalog import inspect as inspect_image

    found, errors = [], []
    for name in names:
        try:
            found.append(inspect_image(ctx, name))
        except RsDockerError as e:
            errors.append(e)
    if fmt:
        from rs_docker.cli import templates

        for obj in found:
            click.echo(templates.render(fmt, obj, missingkey="error"))
    else:
        click.echo(json.dumps(found, indent=4))
    _raise_collected(errors)


@click.command("login")
@click.argument("server", required=False)
@click.option("-u", "--username")
@click.option("-p", "--password")
@click.option("--password-stdin", is_flag=True, help="Take the password from stdin.")
@click.pass_obj
def login(ctx, server, username, password, password_stdin):
    """Docker Hub by default; credentials are saved in the docker config
    file (~/.docker/config.json)."""
    from rs_docker.errors import UsageError
    from rs_docker.registry.login import login as do_login

    if password_stdin:
        if password:
            raise UsageError("--password and --password-stdin are mutually exclusive")
        password = sys.stdin.read().rstrip("\r\n")
    if not username:
        username = click.prompt("Username")
    if password is None:
        password = click.prompt("Password", hide_input=True)
    elif not password_stdin:
        click.echo("WARNING! Using --password via the CLI is insecure. Use --password-stdin.",
                   err=True)
    do_login(ctx, server, username, password)
    click.echo("Login Succeeded")


@click.command("logout")
@click.argument("server", required=False)
@click.pass_obj
def logout(ctx, server):
    """Its saved credentials are removed."""
    from rs_docker.registry.login import logout as do_logout

    domain = do_logout(ctx, server)
    click.echo(f"Removing login credentials for {domain}")


@click.command("save")
@click.argument("names", nargs=-1, required=True, metavar="IMAGE...")
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Write to a file, instead of STDOUT.")
@click.pass_obj
def save(ctx, names, output):
    """An OCI image layout plus Docker's manifest.json, as Docker 25+
    writes it."""
    from rs_docker.errors import UsageError
    from rs_docker.image import archive

    if output:
        archive.save(ctx, names, output)
        return
    if sys.stdout.isatty():
        # Docker's words (cli/command/image/save.go).
        raise UsageError("cowardly refusing to save to a terminal. Use the -o flag or redirect")
    sys.stdout.flush()
    archive.write_archive(ctx, names, sys.stdout.buffer)
    sys.stdout.buffer.flush()


@click.command("load")
@click.option("-i", "--input", "input_", type=click.Path(dir_okay=False),
              help="Read from tar archive file, instead of STDIN.")
@click.option("-q", "--quiet", is_flag=True, help="Suppress the load output.")
@click.pass_obj
def load(ctx, input_, quiet):
    """The archive: what docker save writes, or an OCI image layout."""
    from rs_docker.cli.progress import renderer
    from rs_docker.errors import UsageError
    from rs_docker.image.load import load as load_archive

    if input_ is None and sys.stdin.isatty():
        raise UsageError("requested load from stdin, but stdin is empty")
    # Docker shows per-layer progress only on a terminal.
    render = renderer(quiet or not sys.stdout.isatty())
    try:
        if input_ is None:
            loaded = load_archive(ctx, sys.stdin.buffer, render)
        else:
            try:
                f = open(input_, "rb")
            except OSError as e:
                raise UsageError(f"open {input_}: {(e.strerror or str(e)).lower()}") from None
            with f:
                loaded = load_archive(ctx, f, render)
    finally:
        render.close()
    for image in loaded:
        if image.reference is None:
            click.echo(f"Loaded image ID: {image.image_id}")
        else:
            from rs_docker.image.catalog import familiar

            click.echo(f"Loaded image: {familiar(image.reference)}")
