"""`ps` as a service: the container records, reconciled with their
processes, filtered as `docker ps --filter` does, newest first.

Filters (docker/cli opts/filter, moby daemon/list.go): values of one key
are alternatives (OR), different keys must all match (AND). id= is an id
prefix, name= a regular expression searched in the name, status= one of
Docker's states, ancestor= an image reference or image id (prefix),
label=KEY[=VALUE], exited=CODE, before=/since= a container, network=,
publish= (host port) and expose= (container port) as PORT[-PORT][/PROTO],
volume= (name, source or destination), is-task= (never: no swarm here).
"""

from __future__ import annotations

import os
import re

from rs_docker.container import lifecycle, pause, state
from rs_docker.context import Context
from rs_docker.errors import ContainerNotFound, StoreError, UsageError
from rs_docker.models import filters as filter_args

FILTER_KEYS = ("id", "name", "status", "ancestor", "health", "label", "exited", "before",
               "since", "network", "publish", "expose", "volume", "is-task")
# health= (daemon/list.go): a healthcheck's status, or none without one.
HEALTH = ("starting", "healthy", "unhealthy", "none")
STATUSES = ("created", "restarting", "running", "removing", "paused", "exited", "dead")


def parse_filters(items: tuple[str, ...] | list[str]) -> dict[str, list[str]]:
    """["status=exited", "name=web"] -> {"status": ["exited"], "name": ["web"]}."""
    out = filter_args.parse(items, FILTER_KEYS)
    for key, value in ((k, v) for k, values in out.items() for v in values):
        if key == "status" and value not in STATUSES:
            raise UsageError(f"invalid filter 'status={value}'")
        if key == "health" and value not in HEALTH:
            raise UsageError(f"Unrecognised filter value for health: {value}")
        if key == "exited" and not value.lstrip("-").isdigit():
            raise UsageError(f"invalid filter 'exited={value}'")
        if key == "is-task":
            filter_args.bool_value(key, value)
        if key in ("publish", "expose"):
            _ports(key, value)
        if key == "name":
            try:
                re.compile(value)
            except re.error:
                raise UsageError(f"invalid filter 'name={value}': not a regular expression") \
                    from None
    return out


def _image_ids(ctx: Context, wanted: str) -> set[str]:
    """The IDs of the local images `wanted` names (moby resolves ancestor=
    through the image store: tags, digests, ID prefixes)."""
    from rs_docker.store.images import ImageIndex

    try:
        return {str(r.config) for r in ImageIndex(ctx).find(wanted)}
    except Exception:  # noqa: BLE001 - a value naming no image matches by name only
        return set()


def _ancestor_matches(record: dict, wanted: str) -> bool:
    from rs_docker.models.reference import parse

    image_id = str(record.get("Image") or "")
    bare = wanted.removeprefix("sha256:")
    if len(bare) >= 4 and image_id.removeprefix("sha256:").startswith(bare):
        return True
    given = (record.get("Config") or {}).get("Image") or ""
    try:
        return parse(given) == parse(wanted) or \
            (parse(wanted, default_tag=False).tag is None and parse(given).name ==
             parse(wanted).name)
    except Exception:  # noqa: BLE001 - an unparsable filter value matches nothing
        return given == wanted


def _ports(key: str, value: str) -> set[str]:
    """publish=/expose= values: "80", "80/udp", "8000-8080/tcp" -> {"80/tcp", ...}."""
    port, _, proto = value.partition("/")
    low, _, high = port.partition("-")
    if not low.isdigit() or (high and not high.isdigit()):
        raise UsageError(f"invalid filter '{key}={value}'")
    return {f"{p}/{proto or 'tcp'}" for p in range(int(low), int(high or low) + 1)}


def _published(record: dict) -> set[str]:
    """The host ports (Docker's PublicPort) as "PORT/PROTO"."""
    out = set()
    bindings = ((record.get("NetworkSettings") or {}).get("Ports") or
                (record.get("HostConfig") or {}).get("PortBindings") or {})
    for spec, binds in bindings.items():
        proto = spec.partition("/")[2] or "tcp"
        for b in binds or []:
            if str(b.get("HostPort") or "").isdigit():
                out.add(f"{b['HostPort']}/{proto}")
    return out


def _exposed(record: dict) -> set[str]:
    """The container's ports (Docker's PrivatePort): exposed or published."""
    ports = set((record.get("Config") or {}).get("ExposedPorts") or {})
    ports |= set((record.get("HostConfig") or {}).get("PortBindings") or {})
    return {p if "/" in p else p + "/tcp" for p in ports}


def _networks(record: dict) -> set[str]:
    nets = (record.get("NetworkSettings") or {}).get("Networks") or {}
    out = set(nets) | {n.get("NetworkID") for n in nets.values() if isinstance(n, dict)}
    mode = (record.get("HostConfig") or {}).get("NetworkMode")
    return out | ({mode} if mode else set())


def matches(record: dict, filters: dict[str, list[str]],
            ancestors: dict[str, set[str]] | None = None) -> bool:
    """Does `record` pass `filters`; `ancestors`: each ancestor= value's
    image IDs in the store (a tag, a digest or an ID names the image)."""
    name = str(record.get("Name", "")).removeprefix("/")
    config = record.get("Config") or {}
    ancestors = ancestors or {}
    tests = {
        "id": lambda v: str(record.get("Id", "")).startswith(v),
        "name": lambda v: re.search(v, name) is not None,
        "status": lambda v: pause.status_of(record) == v,
        "ancestor": lambda v: str(record.get("Image") or "") in ancestors.get(v, ()) or
        _ancestor_matches(record, v),
        "health": lambda v: ((record.get("State") or {}).get("Health") or {}).get(
            "Status", "none") == v,
        "label": lambda v: filter_args.label_matches(config.get("Labels"), v),
        "exited": lambda v: pause.status_of(record) == "exited" and
        int((record.get("State") or {}).get("ExitCode", 0)) == int(v),
        "network": lambda v: v in _networks(record),
        "publish": lambda v: bool(_ports("publish", v) & _published(record)),
        "expose": lambda v: bool(_ports("expose", v) & _exposed(record)),
        "volume": lambda v: any(v in (m.get("Name"), m.get("Source"), m.get("Destination"))
                                for m in record.get("Mounts") or []),
        "is-task": lambda v: filter_args.bool_value("is-task", v) ==
        ("com.docker.swarm.task" in (config.get("Labels") or {})),
        # before=/since= are applied by list_containers (they name another container)
        "before": lambda v: True, "since": lambda v: True,
    }
    return filter_args.match_all(filters, tests)


def list_containers(ctx: Context, all_: bool = False,
                    filters: dict[str, list[str]] | None = None) -> list[dict]:
    """Records of running containers (every container with all_), newest first.
    A status filter implies all_, as in Docker."""
    filters = filters or {}
    show_all = all_ or "status" in filters
    ancestors = {v: _image_ids(ctx, v) for v in filters.get("ancestor", [])}
    out = []
    for cid in state.list_ids(ctx):
        try:
            record = lifecycle.refresh(ctx, cid)
        except (ContainerNotFound, StoreError):
            continue  # removed while we listed, or being created
        if not record.get("State"):
            continue
        if (show_all or lifecycle.is_running(record)) and \
                matches(record, filters, ancestors):
            # For the PORTS column (cli/format.ps_fields).
            record["NetworkSettings"] = {**(record.get("NetworkSettings") or {}),
                                         "Ports": network_ports(ctx, record)}
            out.append(record)
    # before=/since= name a container: only those created before/after it.
    for key in ("before", "since"):
        for value in filters.get(key, []):
            created = lifecycle.refresh(ctx, state.resolve(ctx, value)).get("Created", "")
            out = [r for r in out if (r.get("Created", "") < created if key == "before"
                                      else r.get("Created", "") > created)]
    out.sort(key=lambda r: r.get("Created", ""), reverse=True)
    return out


def inspect(ctx: Context, container_id: str) -> dict:
    """`docker container inspect` of one container: the record (reconciled),
    without rs-docker's bookkeeping, with Docker's remaining top-level keys."""
    record = dict(lifecycle.refresh(ctx, container_id))
    record.pop("RsDocker", None)
    if pause.is_paused(record):
        record["State"] = {**record["State"], "Status": pause.PAUSED}
    record.setdefault("LogPath", "")
    record.update(
        RestartCount=record.get("RestartCount", 0), MountLabel="", ProcessLabel="",
        AppArmorProfile="", ExecIDs=None,
        NetworkSettings={"Bridge": "", "SandboxID": "", "SandboxKey": "", "Ports": {},
                         "HairpinMode": False, "LinkLocalIPv6Address": "",
                         "LinkLocalIPv6PrefixLen": 0, "SecondaryIPAddresses": None,
                         "SecondaryIPv6Addresses": None, "EndpointID": "", "Gateway": "",
                         "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "IPAddress": "",
                         "IPPrefixLen": 0, "IPv6Gateway": "", "MacAddress": "",
                         "Networks": {}})
    d = state.container_dir(ctx, container_id)
    if os.path.exists(os.path.join(d, "network.json")):
        from rs_docker.network import attach  # bridge networking only

        record["NetworkSettings"].update(attach.settings(attach.load(d)))
    record["NetworkSettings"]["Ports"] = network_ports(ctx, record)
    return record


def network_ports(ctx: Context, record: dict) -> dict:
    """NetworkSettings.Ports of a container: while it runs, its exposed
    ports (null) and published ones with their host addresses (the bridge's
    network.json, a rootless container's published.json); {} otherwise,
    as Docker shows a stopped container's."""
    if not lifecycle.is_running(record):
        return {}
    d = state.container_dir(ctx, str(record.get("Id", "")))
    if os.path.exists(os.path.join(d, "network.json")):
        from rs_docker.network import attach

        return (attach.load(d) or {}).get("Ports") or {}
    if os.path.exists(os.path.join(d, "published.json")):
        from rs_docker.network import pasta

        return pasta.published(d) or {}
    return {}
