"""Network definitions, one file per network in the store:
`<root>/networks/<name>.json`, in netavark's network JSON shape (name, id,
driver, network_interface, created, subnets [{subnet, gateway,
lease_range}], ipv6_enabled, internal, dns_enabled, labels, options,
ipam_options), so it is handed to `netavark setup` as it is (network/
netavark.py renames it to its interface, unique on the host).

The default network `bridge` (Docker's `docker0`) is made on first use: its
interface is `rsd0`, its subnet RS_DOCKER_BRIDGE_SUBNET, else the one the
host already gave it (another store's), else the first of DEFAULT_POOLS
that overlaps no route of the host. It has no DNS server, as Docker's
default bridge has no name resolution. User networks get the next free
`rsdN` and a /24 of USER_POOLS, and a DNS server (aardvark-dns).
"""

from __future__ import annotations

import os

from rs_docker import jsonio
from rs_docker.errors import Conflict, UsageError
from rs_docker.network import hostnet
from rs_docker.store import atomic

TYPE_CHECKING = False
if TYPE_CHECKING:
    from rs_docker.context import Context

DEFAULT_NETWORK = "bridge"
DEFAULT_INTERFACE = "rsd0"
SUBNET_ENV = "RS_DOCKER_BRIDGE_SUBNET"
# Docker's default-address-pools start at 172.17.0.0/16 (docker0); 10.88 is
# podman's, left to it.
DEFAULT_POOLS = tuple(f"172.{n}.0.0/16" for n in range(17, 32)) + \
    tuple(f"10.{n}.0.0/16" for n in range(210, 250))
USER_POOLS = tuple(f"10.{a}.{b}.0/24" for a in range(90, 100) for b in range(256))
PREDEFINED = ("bridge", "host", "none")


def networks_dir(ctx: Context) -> str:
    return os.path.join(ctx.root, "networks")


def _path(ctx: Context, name: str) -> str:
    return os.path.join(networks_dir(ctx), name + ".json")


def _read(path: str) -> dict | None:
    try:
        return atomic.read_json(path)
    except FileNotFoundError:
        return None


def _new_id() -> str:
    return os.urandom(32).hex()


def _created() -> str:
    from rs_docker.container.state import now

    return now()


def all_networks(ctx: Context) -> list[dict]:
    """Every network of the store, the default bridge included (made now if
    missing), sorted by name."""
    out = [default_bridge(ctx)]
    try:
        names = sorted(os.listdir(networks_dir(ctx)))
    except FileNotFoundError:
        names = []
    for entry in names:
        if entry.endswith(".json") and entry != DEFAULT_NETWORK + ".json":
            net = _read(os.path.join(networks_dir(ctx), entry))
            if net is not None:
                out.append(net)
    return sorted(out, key=lambda n: n["name"])


def find(ctx: Context, ref: str) -> dict:
    """A network by name, full id or unique id prefix (Docker's order);
    UsageError "network REF not found" otherwise."""
    if ref in ("bridge", "default"):
        return default_bridge(ctx)
    if ref and "/" not in ref and not ref.startswith("."):
        net = _read(_path(ctx, ref))
        if net is not None:
            return net
    nets = all_networks(ctx)
    for net in nets:
        if net["id"] == ref:
            return net
    matches = [n for n in nets if ref and n["id"].startswith(ref)]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise UsageError(f"network {ref} is ambiguous ({len(matches)} matches found "
                         f"based on ID prefix)")
    raise UsageError(f"network {ref} not found")


def default_bridge(ctx: Context) -> dict:
    """The store's `bridge` network, made (and its interface and subnet
    claimed on the host) on first use."""
    path = _path(ctx, DEFAULT_NETWORK)
    net = _read(path)
    if net is not None:
        return net
    wanted = os.environ.get(SUBNET_ENV, "").strip() or None
    with hostnet.Host() as host:
        net = _read(path)
        if net is not None:
            return net
        if wanted is not None:
            subnet = _check_cidr(wanted, SUBNET_ENV)
        else:
            mine = host.claims().get(DEFAULT_INTERFACE)
            subnet = mine["subnet"] if mine else host.free_subnet(DEFAULT_POOLS)
        host.claim(DEFAULT_INTERFACE, subnet, ctx.root, DEFAULT_NETWORK, shared=True)
        net = _definition(DEFAULT_NETWORK, DEFAULT_INTERFACE, subnet, None, None,
                          internal=False, dns=False, labels={})
        net["options"] = {"com.docker.network.bridge.default_bridge": "true"}
        _write(ctx, net)
    return net


def _check_cidr(text: str, what: str) -> str:
    try:
        net, plen = hostnet.parse_cidr(text)
    except ValueError:
        raise UsageError(f"invalid {what} {text!r}: want an IPv4 CIDR such as "
                         f"10.1.0.0/16") from None
    if plen > 30:
        raise UsageError(f"invalid {what} {text!r}: the subnet is too small")
    return f"{hostnet.ip_text(net)}/{plen}"


def _definition(name: str, iface: str, subnet: str, gateway: str | None,
                ip_range: str | None, internal: bool, dns: bool, labels: dict) -> dict:
    net, _plen = hostnet.parse_cidr(subnet)
    entry = {"subnet": subnet, "gateway": gateway or hostnet.ip_text(net + 1)}
    if ip_range:
        rnet, rplen = hostnet.parse_cidr(ip_range)
        entry["lease_range"] = {"start_ip": hostnet.ip_text(rnet),
                                "end_ip": hostnet.ip_text(rnet + (1 << (32 - rplen)) - 1)}
    return {"name": name, "id": _new_id(), "driver": "bridge", "network_interface": iface,
            "created": _created(), "subnets": [entry], "ipv6_enabled": False,
            "internal": internal, "dns_enabled": dns, "labels": dict(labels), "options": {},
            "ipam_options": {"driver": "host-local"}}


def _write(ctx: Context, net: dict) -> None:
    os.makedirs(networks_dir(ctx), 0o700, exist_ok=True)
    atomic.write_file(_path(ctx, net["name"]), jsonio.dumps(net, compact=False))


def check_name(name: str) -> None:
    """Docker's network name rule: [a-zA-Z0-9][a-zA-Z0-9_.-]*."""
    ok = name[:1].isascii() and name[:1].isalnum() and all(
        c.isascii() and (c.isalnum() or c in "_.-") for c in name)
    if not ok:
        raise UsageError(f'invalid network name "{name}": must match '
                         f"[a-zA-Z0-9][a-zA-Z0-9_.-]*")


def create(ctx: Context, name: str, subnet: str | None = None, gateway: str | None = None,
           ip_range: str | None = None, internal: bool = False,
           labels: dict | None = None, driver: str = "bridge") -> dict:
    """Create a user network (driver bridge); Docker's errors for a name
    taken, a predefined name, a bad or overlapping subnet."""
    check_name(name)
    if driver != "bridge":
        raise UsageError(f"plugin \"{driver}\" not found: only the bridge driver is available")
    if name in PREDEFINED:
        raise UsageError(f"operation is not permitted on predefined {name} network")
    if subnet is None and (gateway or ip_range):
        raise UsageError("gateway or ip-range given without --subnet" if gateway
                         else "ip-range given without --subnet")
    if subnet is not None:
        subnet = _check_cidr(subnet, "subnet")
    if gateway is not None:
        try:
            gw = hostnet.ip_int(gateway)
        except ValueError:
            raise UsageError(f"invalid gateway address {gateway}") from None
        if not hostnet.overlaps(f"{gateway}/32", subnet):
            raise UsageError(f"no matching subnet for gateway {gateway}")
        gateway = hostnet.ip_text(gw)
    if ip_range is not None:
        ip_range = _check_cidr(ip_range, "ip-range")
        if not hostnet.overlaps(ip_range, subnet) or \
                hostnet.parse_cidr(ip_range)[1] < hostnet.parse_cidr(subnet)[1]:
            raise UsageError(f"no matching subnet for range {ip_range}")
    with hostnet.Host() as host:
        if _read(_path(ctx, name)) is not None:
            raise Conflict(f"network with name {name} already exists")
        iface = host.free_interface()
        if subnet is None:
            subnet = host.free_subnet(USER_POOLS)
        elif any(hostnet.overlaps(subnet, r) for r in hostnet.host_routes()):
            raise Conflict("Pool overlaps with other one on this address space")
        host.claim(iface, subnet, ctx.root, name)
        net = _definition(name, iface, subnet, gateway, ip_range, internal, dns=True,
                          labels=labels or {})
        _write(ctx, net)
    return net


def remove(ctx: Context, net: dict) -> None:
    """Remove a user network's definition and its host claim (the caller
    checked that no container uses it)."""
    if net["name"] in PREDEFINED:
        raise Conflict(f"{net['name']} is a pre-defined network and cannot be removed")
    with hostnet.Host() as host:
        try:
            os.unlink(_path(ctx, net["name"]))
        except FileNotFoundError:
            pass
        host.unclaim(net["network_interface"], ctx.root)
