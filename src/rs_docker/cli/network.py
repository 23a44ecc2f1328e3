"""`rs-docker network ...`: create, ls, inspect, rm, prune, connect,
disconnect, with Docker's output (network/defs.py, network/attach.py do
the work)."""

from __future__ import annotations

import json
import sys

import click

from rs_docker.errors import Conflict, RsDockerError, UsageError

COLUMNS = ["NETWORK ID", "NAME", "DRIVER", "SCOPE"]


def _labels(values) -> dict:
    out = {}
    for text in values:
        key, _, value = text.partition("=")
        out[key] = value
    return out


def docker_shape(ctx, net: dict) -> dict:
    """`docker network inspect`'s object for a definition."""
    from rs_docker.container import state
    from rs_docker.network import attach

    containers = {}
    for cid in attach.in_use(ctx, net):
        data = attach.load(state.container_dir(ctx, cid)) or {}
        ep = (data.get("Networks") or {}).get(net["name"])
        if ep is None or not data.get("Up"):
            continue
        try:
            name = state.read(ctx, cid).get("Name", "").lstrip("/")
        except RsDockerError:
            continue
        containers[cid] = {"Name": name, "EndpointID": ep["EndpointID"],
                           "MacAddress": ep["MacAddress"],
                           "IPv4Address": f"{ep['IPAddress']}/{ep['IPPrefixLen']}",
                           "IPv6Address": ""}
    config = []
    for s in net["subnets"]:
        entry = {"Subnet": s["subnet"], "Gateway": s["gateway"]}
        if s.get("lease_range"):
            from rs_docker.network import hostnet

            lo = hostnet.ip_int(s["lease_range"]["start_ip"])
            hi = hostnet.ip_int(s["lease_range"]["end_ip"])
            entry["IPRange"] = f"{s['lease_range']['start_ip']}/{33 - (hi - lo + 1).bit_length()}"
        config.append(entry)
    return {"Name": net["name"], "Id": net["id"], "Created": net["created"], "Scope": "local",
            "Driver": net["driver"], "EnableIPv6": net["ipv6_enabled"],
            "IPAM": {"Driver": "default", "Options": {}, "Config": config},
            "Internal": net["internal"], "Attachable": False, "Ingress": False,
            "ConfigFrom": {"Network": ""}, "ConfigOnly": False, "Containers": containers,
            "Options": {"com.docker.network.bridge.name": net["network_interface"],
                        **(net.get("options") or {})},
            "Labels": net.get("labels") or {}}


@click.command("create")
@click.option("-d", "--driver", default="bridge", show_default=True,
              help="Driver to manage the Network.")
@click.option("--subnet", help="Subnet in CIDR format that represents a network segment.")
@click.option("--gateway", help="IPv4 Gateway for the master subnet.")
@click.option("--ip-range", help="Allocate container ip from a sub-range.")
@click.option("--internal", is_flag=True, help="Restrict external access to the network.")
@click.option("--label", multiple=True, help="Set metadata on a network.")
@click.argument("name")
@click.pass_obj
def create(ctx, driver, subnet, gateway, ip_range, internal, label, name):
    from rs_docker.network import defs

    net = defs.create(ctx, name, subnet, gateway, ip_range, internal, _labels(label), driver)
    click.echo(net["id"])


def _matches(net: dict, filters: list[tuple[str, str]]) -> bool:
    by = {}
    for key, value in filters:
        by.setdefault(key, []).append(value)
    for key, values in by.items():
        if key == "name" and not any(v in net["name"] for v in values):
            return False
        if key == "id" and not any(net["id"].startswith(v) for v in values):
            return False
        if key == "driver" and net["driver"] not in values:
            return False
        if key == "type":
            kind = "builtin" if net["name"] == "bridge" else "custom"
            if kind not in values:
                return False
        if key == "label":
            labels = net.get("labels") or {}
            for v in values:
                k, eq, want = v.partition("=")
                if k not in labels or (eq and labels[k] != want):
                    return False
    return True


def _filters(values) -> list[tuple[str, str]]:
    out = []
    for text in values:
        key, eq, value = text.partition("=")
        if not eq or key not in ("name", "id", "driver", "type", "label", "scope"):
            raise UsageError(f"invalid filter '{text}'")
        out.append((key, value))
    return out


@click.command("ls")
@click.option("-q", "--quiet", is_flag=True, help="Only display network IDs.")
@click.option("--no-trunc", is_flag=True, help="Do not truncate the output.")
@click.option("-f", "--filter", "filters", multiple=True, help="Provide filter values.")
@click.option("--format", "fmt", help="Pretty-print networks using a Go template.")
@click.pass_obj
def ls(ctx, quiet, no_trunc, filters, fmt):
    from rs_docker.cli import format as fmt_mod
    from rs_docker.cli import templates
    from rs_docker.network import defs

    wanted = _filters(filters)
    nets = [n for n in defs.all_networks(ctx) if _matches(n, wanted)]
    # Docker lists the predefined host and none networks too.
    builtin = [{"name": n, "id": _builtin_id(ctx, n), "driver": n, "labels": {}}
               for n in ("host", "none") if _matches({"name": n, "id": _builtin_id(ctx, n),
                                                       "driver": n, "labels": {}}, wanted)]
    rows = sorted(nets + builtin, key=lambda n: n["name"])
    objects = [{"ID": n["id"] if no_trunc else n["id"][:12], "Name": n["name"],
                "Driver": n["driver"], "Scope": "local", "IPv6": "false",
                "Internal": str(bool(n.get("internal"))).lower(), "Labels": ",".join(
                    f"{k}={v}" for k, v in (n.get("labels") or {}).items()),
                "CreatedAt": n.get("created", "")} for n in rows]
    if quiet:
        for o in objects:
            click.echo(o["ID"])
        return
    if fmt and fmt != "table":
        if fmt == "json":
            for o in objects:
                click.echo(json.dumps(o))
            return
        if templates.is_table(fmt):
            body = templates.table_body(fmt)
            keys = ("ID", "Name", "Driver", "Scope", "IPv6", "Internal", "Labels", "CreatedAt")
            header = templates.render(body, {k: k.upper() for k in keys}).split("\t")
            fmt_mod.echo_table(header, [templates.render(body, o).split("\t") for o in objects])
            return
        for o in objects:
            click.echo(templates.render(fmt, o))
        return
    fmt_mod.echo_table(COLUMNS, [[o["ID"], o["Name"], o["Driver"], o["Scope"]]
                                 for o in objects])


def _builtin_id(ctx, name: str) -> str:
    import hashlib

    return hashlib.sha256(f"{ctx.root}\0{name}".encode()).hexdigest()


@click.command("inspect")
@click.option("-f", "--format", "fmt", help="Format the output using a Go template.")
@click.argument("names", nargs=-1, required=True)
@click.pass_obj
def inspect(ctx, fmt, names):
    from rs_docker.network import defs

    found, missing = [], []
    for name in names:
        try:
            found.append(docker_shape(ctx, defs.find(ctx, name)))
        except UsageError:
            missing.append(name)
    if fmt:
        from rs_docker.cli import templates

        for obj in found:
            click.echo(templates.render(fmt, obj))
    else:
        click.echo(json.dumps(found, indent=4))
    for name in missing:
        click.echo(f"rs-docker: Error: No such network: {name}", err=True)
    if missing:
        sys.exit(1)


def _remove(ctx, net: dict) -> None:
    from rs_docker.network import attach, defs

    if net["name"] in defs.PREDEFINED:
        raise Conflict(f"{net['name']} is a pre-defined network and cannot be removed")
    if attach.in_use(ctx, net):
        raise Conflict(f"error while removing network: network {net['name']} id "
                       f"{net['id']} has active endpoints")
    defs.remove(ctx, net)


@click.command("rm")
@click.option("-f", "--force", is_flag=True, help="Do not error if the network does not exist.")
@click.argument("names", nargs=-1, required=True)
@click.pass_obj
def rm(ctx, force, names):
    from rs_docker.network import defs

    failed = False
    for name in names:
        try:
            _remove(ctx, defs.find(ctx, name))
            click.echo(name)
        except UsageError as e:
            if force and "not found" in str(e):
                continue
            click.echo(f"rs-docker: {e}", err=True)
            failed = True
        except RsDockerError as e:
            click.echo(f"rs-docker: {e}", err=True)
            failed = True
    if failed:
        sys.exit(1)


@click.command("prune")
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation.")
@click.pass_obj
def prune(ctx, force):
    from rs_docker.cli import prune as prune_out
    from rs_docker.network import attach, defs

    if not prune_out.confirm(force, "This will remove all custom networks not used by at "
                                    "least one container."):
        return
    removed = []
    for net in defs.all_networks(ctx):
        if net["name"] in defs.PREDEFINED or attach.in_use(ctx, net):
            continue
        defs.remove(ctx, net)
        removed.append(net["name"])
    if removed:
        click.echo("Deleted Networks:")
        for name in removed:
            click.echo(name)


def _container(ctx, name: str):
    from rs_docker.container import lifecycle, state

    cid = state.resolve(ctx, name)
    record = lifecycle.refresh(ctx, cid)
    return cid, state.container_dir(ctx, cid), record["Name"].lstrip("/"), \
        lifecycle.is_running(record)


@click.command("connect")
@click.option("--ip", help="IPv4 address (e.g., 172.30.100.104).")
@click.option("--alias", multiple=True, help="Add network-scoped alias for the container.")
@click.argument("network")
@click.argument("container")
@click.pass_obj
def connect(ctx, ip, alias, network, container):
    from rs_docker.container import state
    from rs_docker.network import attach, defs

    net = defs.find(ctx, network)
    cid, d, name, running = _container(ctx, container)
    with state.locked(ctx, cid):
        attach.connect(ctx, d, cid, name, net, running, ip, alias)


@click.command("disconnect")
@click.option("-f", "--force", is_flag=True, help="Force the container to disconnect.")
@click.argument("network")
@click.argument("container")
@click.pass_obj
def disconnect(ctx, force, network, container):
    from rs_docker.container import state
    from rs_docker.network import attach, defs

    net = defs.find(ctx, network)
    cid, d, name, running = _container(ctx, container)
    with state.locked(ctx, cid):
        attach.disconnect(ctx, d, cid, name, net, running)
