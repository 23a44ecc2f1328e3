"""`rs-docker port CONTAINER [PRIVATE_PORT[/PROTO]]`: the published ports
of a container, as docker-cli's `port` prints them (models.ports.port_lines)."""

from __future__ import annotations

import click


@click.command("port")
@click.argument("container")
@click.argument("private_port", required=False, metavar="[PRIVATE_PORT[/PROTO]]")
@click.pass_obj
def port(ctx, container, private_port):
    """List port mappings or a specific mapping for the container."""
    from rs_docker.container import ps, state
    from rs_docker.models.ports import port_lines

    record = ps.inspect(ctx, state.resolve(ctx, container))
    lines = port_lines((record.get("NetworkSettings") or {}).get("Ports") or {}, container,
                       private_port)
    if lines:
        click.echo("\n".join(lines))
