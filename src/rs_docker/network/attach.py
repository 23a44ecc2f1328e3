"""A container on bridge networks: planned at create, set up at start, torn
down at stop, released at rm.

`plan` (create) leases an address on each network (network/hostnet.py: the
host-wide IPAM, freed on rm), derives the MAC from it as Docker does
(02:42 + the four address bytes) unless --mac-address names one, and
keeps the container's endpoints in `<container dir>/network.json`. So a
container keeps its address across stop and start, and `inspect` shows it.

`up` (start) creates the namespace file and hands netavark the options
JSON built from network.json and the definitions; the published ports are
chosen there (network/ports.py, owned by the ports work) and passed as
netavark's port_mappings. `down` (the container stopped: its monitor, a
foreground run's end, `rm`, a reconcile after the monitor was killed)
tears it down and removes the namespace file; each step tolerates what an
earlier, interrupted one already removed. `release` (rm) is `down` plus
the leases and the ports.
"""

from __future__ import annotations

import os

from rs_docker import jsonio
from rs_docker.errors import Conflict, RsDockerError, UsageError
from rs_docker.network import defs, hostnet
from rs_docker.network import netavark as nv
from rs_docker.store import atomic

TYPE_CHECKING = False
if TYPE_CHECKING:
    from rs_docker.context import Context

FILE = "network.json"


def mac_for(ip: str) -> str:
    """Docker's generated MAC: 02:42 then the IPv4 address's bytes."""
    v = hostnet.ip_int(ip)
    return "02:42:" + ":".join(f"{v >> s & 255:02x}" for s in (24, 16, 8, 0))


def check_mac(text: str) -> str:
    parts = text.split(":")
    if len(parts) != 6 or not all(len(p) == 2 and all(c in "0123456789abcdefABCDEF" for c in p)
                                  for p in parts):
        raise UsageError(f"{text} is not a valid mac address")
    return text.lower()


def _path(d: str) -> str:
    return os.path.join(d, FILE)


def load(d: str) -> dict | None:
    try:
        return atomic.read_json(_path(d))
    except FileNotFoundError:
        return None


def _save(d: str, data: dict) -> None:
    atomic.write_file(_path(d), jsonio.dumps(data))


def endpoint(ctx: Context, d: str, cid: str, net: dict, ip: str | None = None,
             mac: str | None = None, aliases=(), ifname: str = "eth0") -> dict:
    """Lease an address on `net` for the container; its endpoint entry."""
    subnet = net["subnets"][0]
    rng = subnet.get("lease_range")
    lease_range = None
    if rng:
        lo, hi = hostnet.ip_int(rng["start_ip"]), hostnet.ip_int(rng["end_ip"])
        lease_range = f"{rng['start_ip']}/{32 - (hi - lo + 1).bit_length() + 1}"
    if ip is not None:
        try:
            ip = hostnet.ip_text(hostnet.ip_int(ip))
        except ValueError:
            raise UsageError(f"invalid IPv4 address: {ip}") from None
        if net["name"] == defs.DEFAULT_NETWORK:
            raise UsageError("user specified IP address is supported only when connecting "
                             "to networks with user configured subnets")
    with hostnet.Host() as host:
        leased = host.lease(net["network_interface"], subnet["subnet"], subnet["gateway"],
                            ctx.root, cid, ip, lease_range)
    return {"NetworkID": net["id"], "Name": net["name"], "Interface": net["network_interface"],
            "IPAddress": leased, "IPPrefixLen": hostnet.parse_cidr(subnet["subnet"])[1],
            "Gateway": subnet["gateway"], "MacAddress": mac or mac_for(leased),
            "Aliases": list(aliases), "EndpointID": os.urandom(32).hex(),
            "IPAMConfig": {"IPv4Address": ip} if ip else None,
            "DNS": bool(net.get("dns_enabled")), "Ifname": ifname}


def plan(ctx: Context, d: str, cid: str, name: str, network: str, opts) -> dict:
    """At create: the container's first network (`network`: bridge, default
    or a user network's name or id) leased and written to network.json."""
    net = defs.find(ctx, network)
    if getattr(opts, "ip6", None):
        raise UsageError(f"invalid IPv6 address: {opts.ip6}: network {net['name']} "
                         f"has no IPv6")
    mac = check_mac(opts.mac_address) if getattr(opts, "mac_address", None) else None
    aliases = []
    if net["name"] != defs.DEFAULT_NETWORK:
        aliases = [name, cid[:12], *getattr(opts, "network_alias", ())]
    elif getattr(opts, "network_alias", ()):
        raise UsageError("network-scoped alias is supported only for containers in user "
                         "defined networks")
    links = _links(ctx, net, getattr(opts, "link", ()))
    ep = endpoint(ctx, d, cid, net, getattr(opts, "ip", None), mac, aliases)
    ep["Links"] = links
    data = {"Netns": nv.netns_path(cid), "Networks": {net["name"]: ep}, "Ports": None}
    _save(d, data)
    return data


def _links(ctx: Context, net: dict, links) -> list[list[str]]:
    """--link NAME[:ALIAS] (legacy): [address, ALIAS, NAME] of each linked
    container on `net`, for /etc/hosts; Docker's error if it is not there."""
    out = []
    for text in links:
        other, _, alias = text.partition(":")
        from rs_docker.container import state

        try:
            oid = state.resolve(ctx, other)
        except RsDockerError:
            raise UsageError(f"could not get container for {other}") from None
        theirs = load(state.container_dir(ctx, oid)) or {}
        ep = (theirs.get("Networks") or {}).get(net["name"])
        if ep is None:
            raise UsageError(f"container {other} is not connected to network {net['name']}")
        out.append([ep["IPAddress"], alias or other, other.lstrip("/")])
    return out


def first(data: dict | None) -> dict | None:
    if not data or not data.get("Networks"):
        return None
    return next(iter(data["Networks"].values()))


def _options(ctx: Context, cid: str, name: str, data: dict, port_mappings=()) -> dict:
    networks, info = {}, {}
    for ep in data["Networks"].values():
        net = defs.find(ctx, ep["NetworkID"])
        key = net["network_interface"]  # unique on the host, unlike names across stores
        info[key] = {**net, "name": key}
        networks[key] = {"static_ips": [ep["IPAddress"]], "static_mac": ep["MacAddress"],
                         "aliases": ep["Aliases"], "interface_name": _ifname(data, ep)}
    return {"container_id": cid, "container_name": name, "networks": networks,
            "network_info": info, "port_mappings": [
                {"host_ip": m.host_ip, "container_port": m.container_port,
                 "host_port": m.host_port, "range": 1, "protocol": m.protocol}
                for m in port_mappings]}


def _ifname(data: dict, ep: dict) -> str:
    return ep.get("Ifname") or "eth0"


def _free_ifname(data: dict) -> str:
    used = {ep.get("Ifname") for ep in data["Networks"].values()}
    n = 0
    while f"eth{n}" in used:
        n += 1
    return f"eth{n}"


def _port_mappings(ctx: Context, cid: str, record: dict):
    """The published ports: HostConfig.PortBindings (-p), PublishAllPorts
    (-P with Config.ExposedPorts), each with a host port (network/ports.py)."""
    host = record.get("HostConfig") or {}
    bindings = host.get("PortBindings") or {}
    if not bindings and not host.get("PublishAllPorts"):
        return (), ()
    from rs_docker.models.ports import PortMapping, PortPlan
    from rs_docker.network import ports

    requested = []
    for key, entries in bindings.items():
        port, _, proto = key.partition("/")
        for b in entries or []:
            text = b.get("HostPort") or ""
            lo, _, hi = text.partition("-")
            requested.append(PortMapping(b.get("HostIp") or "", int(lo or 0), int(port),
                                         proto or "tcp", int(hi or 0)))
    exposed = tuple((record.get("Config") or {}).get("ExposedPorts") or {})
    plan = PortPlan(exposed, tuple(requested), bool(host.get("PublishAllPorts")))
    chosen = ports.allocate(ctx, cid, plan.to_publish,
                            f"{record.get('Name', '').lstrip('/')} ({cid})")
    return exposed, chosen


def up(ctx: Context, d: str, cid: str, record: dict) -> dict | None:
    """Start: the namespace file and netavark's setup; the NetworkSettings
    to record. None when the container has no bridge network."""
    data = load(d)
    if not data or not data.get("Networks"):
        return None
    name = str(record.get("Name", "")).lstrip("/")
    netns = data["Netns"]
    _down(ctx, cid, name, data)  # what a killed earlier run left
    exposed, chosen = _port_mappings(ctx, cid, record)
    try:
        nv.create_netns(netns)
        if not chosen and _plain(data) and hostnet.interface_exists(KEEPER):
            answer = _plain_setup(netns, first(data))
        else:
            answer = nv.setup(netns, _options(ctx, cid, name, data, chosen))
    except BaseException:
        _down(ctx, cid, name, data)
        if chosen:
            from rs_docker.network import ports

            ports.release(ctx, cid)
        raise
    if any(ep["Name"] == defs.DEFAULT_NETWORK for ep in data["Networks"].values()):
        keep_default_bridge()
    for ep in data["Networks"].values():
        got = (answer.get(ep["Interface"]) or {}).get("interfaces") or {}
        iface = got.get(_ifname(data, ep)) or {}
        ep["MacAddress"] = iface.get("mac_address") or ep["MacAddress"]
    if exposed or chosen:
        from rs_docker.network import ports

        data["Ports"] = ports.network_settings_ports(exposed, chosen)
        data["Published"] = [[m.host_ip, m.host_port, m.container_port, m.protocol]
                             for m in chosen]
    data["Up"] = True
    _save(d, data)
    return settings(data)


KEEPER = defs.DEFAULT_INTERFACE + "k"


def keep_default_bridge() -> None:
    """Keep the default bridge up between containers, as Docker keeps
    docker0: one end of a veth pair (KEEPER) enslaved to it, so netavark's
    teardown of the last container leaves the bridge and its NAT rules
    (removing and re-making them costs every `run` ~150 ms of iptables
    calls). Made once per boot; best effort."""
    if hostnet.interface_exists(KEEPER) or not hostnet.interface_exists(
            defs.DEFAULT_INTERFACE):
        return
    for argv in (["ip", "link", "add", KEEPER, "type", "veth", "peer", "name", KEEPER + "p"],
                 ["ip", "link", "set", KEEPER, "master", defs.DEFAULT_INTERFACE, "up"]):
        path = _ip_binary()
        if path is None:
            return
        code, _out, _err = nv.spawn([path, *argv[1:]], b"")
        if code != 0:
            return


def _plain(data: dict) -> bool:
    """Only the default bridge, which has no DNS server."""
    return all(ep["Name"] == defs.DEFAULT_NETWORK and not ep.get("DNS")
               for ep in data["Networks"].values())


def _ip_binary() -> str | None:
    return next((p for p in ("/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip")
                 if os.access(p, os.X_OK)), None)


def _plain_setup(netns: str, ep: dict) -> dict:
    """A container on the kept default bridge, without published ports:
    what netavark's setup does for it once the bridge and its rules exist
    (netavark made them for the first container; they stay with the
    bridge): a veth pair, eth0 in the namespace with its MAC, address and
    default route, the host end on the bridge. Two `ip -batch` calls
    instead of netavark's, which re-checks the network's firewall rules
    with ~18 iptables calls on every setup."""
    ip = _ip_binary()
    nsenter = next((p for p in ("/usr/bin/nsenter", "/bin/nsenter") if os.access(p, os.X_OK)),
                   None)
    if ip is None or nsenter is None:
        raise RsDockerError("bridge networking needs iproute2 and util-linux (ip, nsenter)")
    host_end = "rsdv" + os.urandom(5).hex()
    steps = (
        ([ip, "-batch", "-"], f"link add {host_end} type veth peer name eth0 netns {netns}\n"
                              f"link set {host_end} master {ep['Interface']} up\n"),
        ([nsenter, f"--net={netns}", ip, "-batch", "-"],
         f"link set eth0 address {ep['MacAddress']}\n"
         f"addr add {ep['IPAddress']}/{ep['IPPrefixLen']} dev eth0\n"
         "link set eth0 up\nlink set lo up\n"
         f"route add default via {ep['Gateway']}\n"),
    )
    for argv, script in steps:
        code, out, err = nv.spawn(argv, script.encode())
        if code != 0:
            from rs_docker.errors import RuntimeFailure

            raise RuntimeFailure("set up eth0: " + (err or out).decode("utf-8", "replace")
                                 .strip().splitlines()[-1:][0] if (err or out) else
                                 f"set up eth0: exit status {code}")
    return {}


def _down(ctx: Context, cid: str, name: str, data: dict, published=()) -> None:
    netns = data["Netns"]
    # On the default bridge without published ports, netavark made nothing
    # outside the namespace but the veth (its network's rules stay with
    # the kept bridge, and it has no DNS entries): removing the namespace
    # file frees the namespace, and the kernel deletes both veth ends with
    # it. netavark's teardown is skipped then: it would only check firewall
    # rules that stay, on every container's exit path.
    plain = not published and _plain(data)
    if os.path.exists(netns) and not (plain and hostnet.interface_exists(KEEPER)):
        from rs_docker.models.ports import PortMapping

        mappings = [PortMapping(*m) for m in published]
        try:
            nv.teardown(netns, _options(ctx, cid, name, data, mappings))
        except RsDockerError:
            pass  # nothing set up (a failed start), or half: the namespace goes anyway
    nv.remove_netns(netns)


def down(ctx: Context, d: str, cid: str, name: str = "") -> None:
    """Stop: netavark's teardown and the namespace file removed; the
    published ports given back. Nothing to do when nothing is up."""
    data = load(d)
    if not data or not data.get("Networks"):
        return
    if data.get("Up") or os.path.exists(data["Netns"]):
        _down(ctx, cid, name, data, data.get("Published") or ())
    if data.get("Published"):
        from rs_docker.network import ports

        ports.release(ctx, cid)
    if data.get("Up") or data.get("Published"):
        data.update(Up=False, Published=[])
        _save(d, data)


def release(ctx: Context, d: str, cid: str, name: str = "") -> None:
    """rm: down, then the address leases freed."""
    data = load(d)
    if not data:
        return
    down(ctx, d, cid, name)
    with hostnet.Host() as host:
        for ep in (data.get("Networks") or {}).values():
            host.release(ep["Interface"], ctx.root, cid)


def settings(data: dict | None, running: bool = True) -> dict:
    """NetworkSettings in Docker's shape: Networks.<name> and, for the
    default bridge, the legacy top-level fields."""
    nets = {}
    top = {"IPAddress": "", "IPPrefixLen": 0, "Gateway": "", "MacAddress": "",
           "EndpointID": ""}
    for name, ep in ((data or {}).get("Networks") or {}).items():
        shown = {"IPAMConfig": ep.get("IPAMConfig"), "Links": None,
                 "Aliases": ep.get("Aliases") or None, "MacAddress": ep["MacAddress"],
                 "NetworkID": ep["NetworkID"], "EndpointID": ep["EndpointID"],
                 "Gateway": ep["Gateway"], "IPAddress": ep["IPAddress"],
                 "IPPrefixLen": ep["IPPrefixLen"], "IPv6Gateway": "",
                 "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "DriverOpts": None,
                 "DNSNames": ep.get("Aliases") or None}
        if not (data or {}).get("Up"):
            # Docker shows a stopped container's endpoint without address.
            shown.update(IPAddress="", IPPrefixLen=0, Gateway="", EndpointID="")
        nets[name] = shown
        if name == defs.DEFAULT_NETWORK:
            top = {k: shown[k] for k in top}
    out = {"Bridge": "", "SandboxID": "", "SandboxKey": (data or {}).get("Netns", ""),
           "Ports": (data or {}).get("Ports") or {}, **top, "GlobalIPv6Address": "",
           "GlobalIPv6PrefixLen": 0, "IPv6Gateway": "", "Networks": nets}
    return out


def in_use(ctx: Context, net: dict) -> list[str]:
    """Ids of this store's containers attached to `net`."""
    from rs_docker.container import state

    out = []
    for cid in state.list_ids(ctx):
        data = load(state.container_dir(ctx, cid))
        if data and any(ep["NetworkID"] == net["id"] for ep in data["Networks"].values()):
            out.append(cid)
    return out


def connect(ctx: Context, d: str, cid: str, name: str, net: dict, running: bool,
            ip: str | None = None, aliases=()) -> None:
    """`network connect`: lease an endpoint on `net`; set it up now if the
    container runs (netavark setup of that network alone)."""
    data = load(d)
    if data is None:
        raise UsageError("container cannot be connected to a network: it does not use "
                         "bridge networking")
    if net["name"] in data["Networks"]:
        raise Conflict(f"endpoint with name {name} already exists in network {net['name']}")
    all_aliases = [name, cid[:12], *aliases] if net["name"] != defs.DEFAULT_NETWORK else []
    ep = endpoint(ctx, d, cid, net, ip, None, all_aliases, _free_ifname(data))
    data["Networks"][net["name"]] = ep
    _save(d, data)
    if ep["DNS"]:
        _add_nameserver(d, ep["Gateway"])
    if running and data.get("Up"):
        one = {**data, "Networks": {net["name"]: ep}}
        try:
            opts = _options(ctx, cid, name, one)
            key = net["network_interface"]
            opts["networks"][key]["interface_name"] = _ifname(data, ep)
            nv.setup(data["Netns"], opts)
        except BaseException:
            del data["Networks"][net["name"]]
            _save(d, data)
            with hostnet.Host() as host:
                host.release(ep["Interface"], ctx.root, cid)
            raise


def _add_nameserver(d: str, server: str) -> None:
    """The network's DNS server first in the container's resolv.conf,
    written in place: the file is bind-mounted, a rename would not show."""
    path = os.path.join(d, "resolv.conf")
    try:
        with open(path) as f:
            text = f.read()
    except FileNotFoundError:
        return
    line = f"nameserver {server}"
    if line in text.splitlines():
        return
    with open(path, "r+") as f:
        f.write(f"{line}\n{text}")


def disconnect(ctx: Context, d: str, cid: str, name: str, net: dict, running: bool) -> None:
    data = load(d)
    if not data or net["name"] not in data["Networks"]:
        raise UsageError(f"container {cid} is not connected to network {net['name']}")
    ep = data["Networks"][net["name"]]
    if running and data.get("Up"):
        one = {**data, "Networks": {net["name"]: ep}}
        opts = _options(ctx, cid, name, one)
        opts["networks"][net["network_interface"]]["interface_name"] = _ifname(data, ep)
        try:
            nv.teardown(data["Netns"], opts)
        except RsDockerError:
            pass
    del data["Networks"][net["name"]]
    _save(d, data)
    with hostnet.Host() as host:
        host.release(ep["Interface"], ctx.root, cid)


def prepare(ctx: Context, d: str, cid: str, name: str, mode, opts) -> tuple[str, dict | None]:
    """At create: (the namespace file config.json joins, the first
    endpoint or None). A managed mode leases its network (plan);
    container:NAME joins that running container's namespace."""
    if mode.joined:
        return _joined_netns(ctx, mode.joined), None
    data = plan(ctx, d, cid, name, mode.name, opts)
    return data["Netns"], first(data)


def _joined_netns(ctx: Context, other: str) -> str:
    from rs_docker.container import lifecycle, state

    oid = state.resolve(ctx, other)
    record = lifecycle.refresh(ctx, oid)
    if not lifecycle.is_running(record):
        raise Conflict(f"cannot join network of a non running container: {oid}")
    data = load(state.container_dir(ctx, oid))
    if data and data.get("Up"):
        return data["Netns"]
    return f"/proc/{record['State']['Pid']}/ns/net"


def etc_texts(hostname: str, opts, net: dict | None, host_resolv: str) -> tuple[str, str]:
    """(/etc/hosts, /etc/resolv.conf) of a container with a private network
    namespace: its address and --add-host entries (host-gateway: the
    network's gateway, the host's address on the bridge), the host's
    resolvers (loopback ones dropped) or, on a user network, its DNS
    server first; --dns, --dns-search, --dns-option as Docker applies them."""
    from rs_docker.network import files

    extra = []
    for text in opts.add_host:
        host, ip = files.parse_add_host(text)
        extra.append((host, (net["Gateway"] if net else "127.0.0.1") if ip == "host-gateway"
                      else ip))
    for text in opts.dns:
        try:
            hostnet.ip_int(text)
        except ValueError:
            import ipaddress

            try:
                ipaddress.ip_address(text)
            except ValueError:
                raise UsageError(f"{text} is not an ip address") from None
    for ip, alias, other in (net or {}).get("Links") or ():
        extra.append((alias if alias == other else f"{alias} {other}", ip))
    hosts = files.hosts_file(hostname, net["IPAddress"] if net else None, extra,
                             opts.domainname or "")
    if net and net.get("DNS"):
        # A user network's DNS server (aardvark-dns on the gateway) answers
        # for its containers and forwards the rest to the host's resolvers:
        # what Docker's 127.0.0.11 does. --dns servers come after it.
        resolv = files.resolv_with(host_resolv, (net["Gateway"], *opts.dns))
    elif opts.dns:
        resolv = files.resolv_with(host_resolv, opts.dns)
    else:
        resolv = files.container_resolv_conf(host_resolv)
    return hosts, files.resolv_with(resolv, (), opts.dns_search, opts.dns_option)
