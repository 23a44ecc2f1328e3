"""What every prune command prints (docker/cli cli/command/*/prune.go): the
WARNING prompt unless -f, each kind of object removed under `Deleted
<Kind>:`, and the space reclaimed."""

from __future__ import annotations

import click


def confirm(force: bool, warning: str) -> bool:
    """True with -f, else the user's answer to Docker's prompt
    `WARNING! <warning>\\nAre you sure you want to continue? [y/N]` (no by default)."""
    return force or click.confirm(f"WARNING! {warning}\nAre you sure you want to continue?",
                                  default=False)


def echo_deleted(kind: str, lines) -> None:
    """`Deleted <kind>:`, one line per object, then a blank line; nothing
    when none was removed."""
    lines = list(lines)
    if lines:
        click.echo(f"Deleted {kind}:")
        for line in lines:
            click.echo(line)
        click.echo("")


def echo_reclaimed(freed: int) -> None:
    """`Total reclaimed space: <size>` in Docker's units."""
    from rs_docker.cli import humanize

    click.echo(f"Total reclaimed space: {humanize.size(freed)}")
