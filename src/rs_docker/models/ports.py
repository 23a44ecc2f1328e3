"""Published and exposed ports, as the user writes them: `-p/--publish`,
`--expose`, `-P/--publish-all` and the image's ExposedPorts, parsed into
records, with Docker's error texts (UsageError: exit 125 for run/create).

Pure parsing: nothing here touches the host. network/ports.py chooses the
host ports still to be chosen (host_port 0) and checks that they are free.

The grammar is Docker's (docker-cli's run options, go-connections'
nat.ParsePortSpec):

    -p [ip:][hostPort:]containerPort[/tcp|udp|sctp]
    -p published=8080,target=80[,protocol=udp][,mode=host]   (long form)
    --expose port[-port][/proto]

`ip` may be an IPv6 address, bare (`::1:80:80`) or in brackets
(`[::1]:80:80`). A range of container ports takes a host range of the same
length (or none); one container port with a host range (`8000-8010:80`)
means "any free port of that range".

A port key is Docker's "80/tcp" string (the keys of Config.ExposedPorts,
HostConfig.PortBindings and NetworkSettings.Ports).
"""

from __future__ import annotations

from rs_docker.errors import UsageError
from rs_docker.values import record

PROTOCOLS = ("tcp", "udp", "sctp")


@record
class PortMapping:
    """One container port published on the host.

    host_ip: the host address to listen on, as given ("" = all addresses);
    host_port: the host port (0 = to be chosen); container_port; protocol
    ("tcp", "udp" or "sctp"); host_port_end: above host_port when the user
    gave a range to choose the host port from (`-p 8000-8010:80`), else 0."""

    host_ip: str
    host_port: int
    container_port: int
    protocol: str = "tcp"
    host_port_end: int = 0

    @property
    def key(self) -> str:
        """The container side as Docker keys it: "80/tcp"."""
        return f"{self.container_port}/{self.protocol}"

    @property
    def host_port_text(self) -> str:
        """HostPort as HostConfig.PortBindings records the request: "" (to
        be chosen), "8080", or "8000-8010" (a range to choose from)."""
        if self.host_port_end > self.host_port:
            return f"{self.host_port}-{self.host_port_end}"
        return str(self.host_port) if self.host_port else ""

    @property
    def binding(self) -> dict:
        """This request as one entry of HostConfig.PortBindings[key]."""
        return {"HostIp": self.host_ip, "HostPort": self.host_port_text}


def port_key(port: int, protocol: str = "tcp") -> str:
    """Docker's key of a container port: "80/tcp"."""
    return f"{port}/{protocol}"


def _uint16(text: str) -> int | None:
    """text as Go's strconv.ParseUint(text, 10, 16) reads it (ASCII digits
    only, at most 65535), else None."""
    if not text or not text.isascii() or not text.isdigit():
        return None
    value = int(text)
    return value if value <= 65535 else None


def _go_parse_error(text: str) -> str:
    """What strconv.ParseUint(text, 10, 16) says about a bad number."""
    if text and text.isascii() and text.isdigit():
        return f'strconv.ParseUint: parsing "{text}": value out of range'
    return f'strconv.ParseUint: parsing "{text}": invalid syntax'


def parse_range(text: str) -> tuple[int, int]:
    """A port or port range ("80", "8000-8010") as (start, end); ValueError
    with go-connections' nat.ParsePortRange reason when it is not one."""
    if text == "":
        raise ValueError("empty string specified for ports")
    if "-" not in text:
        value = _uint16(text)
        if value is None:
            raise ValueError(_go_parse_error(text))
        return value, value
    parts = text.split("-")
    start, end = _uint16(parts[0]), _uint16(parts[1])
    if start is None:
        raise ValueError(_go_parse_error(parts[0]))
    if end is None:
        raise ValueError(_go_parse_error(parts[1]))
    if end < start:
        raise ValueError(f"invalid range specified for port: {text}")
    return start, end


def _split_parts(raw: str) -> tuple[str, str, str]:
    """ip, host port, container port of a short-form spec (the last two
    colon-separated fields are the ports; everything before is the ip)."""
    parts = raw.split(":")
    if len(parts) == 1:
        return "", "", parts[0]
    if len(parts) == 2:
        return "", parts[0], parts[1]
    return ":".join(parts[:-2]), parts[-2], parts[-1]


def split_proto_port(raw: str) -> tuple[str, str]:
    """(protocol, port) of "80/udp" as nat.SplitProtoPort gives them: "tcp"
    when none is written; ("", "") for no port."""
    port, _, proto = raw.partition("/")
    if port == "":
        return "", ""
    return proto or "tcp", port


def _host_ip(ip: str) -> str:
    """The host address of a spec, brackets removed; UsageError unless it is
    an IPv4 or IPv6 address."""
    if ip.startswith("["):
        if "]" not in ip:
            raise UsageError(f"invalid IP address {ip}: address {ip}:: missing ']' in address")
        if not ip.endswith("]") or ip.count("[") > 1 or ip.count("]") > 1:
            raise UsageError(f"invalid IP address {ip}: address {ip}:: missing port in address")
        ip = ip[1:-1]
    if not ip:
        return ip
    import ipaddress

    # Go's net.ParseIP takes no IPv6 zone ("%eth0"); Python's would.
    try:
        if "%" in ip:
            raise ValueError(ip)
        ipaddress.ip_address(ip)
    except ValueError:
        raise UsageError(f"invalid IP address: {ip}") from None
    return ip


def _long_form(spec: str) -> str:
    """`published=8080,target=80,protocol=udp` in the short form
    ("8080:80/udp"), as docker-cli converts it."""
    params = {"protocol": "tcp"}
    for param in spec.split(","):
        key, sep, value = param.partition("=")
        if not sep or not key:
            raise UsageError(
                f"invalid publish opts format (should be name=value but got '{param}')")
        params[key] = value
    return f"{params.get('published', '')}:{params.get('target', '')}/{params['protocol']}"


def parse_publish(spec: str) -> tuple[PortMapping, ...]:
    """The mappings of one -p value, one per container port, in order;
    UsageError with Docker's text for a bad spec."""
    raw = _long_form(spec) if "=" in spec else spec
    ip, host_port, container_port = _split_parts(raw)
    proto, container_port = split_proto_port(container_port)
    proto = proto.lower()
    if proto not in PROTOCOLS:
        raise UsageError(f"invalid proto: {proto}")
    ip = _host_ip(ip)
    if container_port == "":
        raise UsageError(f"no port specified: {raw}<empty>")
    try:
        start, end = parse_range(container_port)
    except ValueError:
        raise UsageError(f"invalid containerPort: {container_port}") from None
    if start == 0:
        raise UsageError(f"invalid containerPort: {container_port}")
    host_start = host_end = 0
    if host_port:
        try:
            host_start, host_end = parse_range(host_port)
        except ValueError:
            raise UsageError(f"invalid hostPort: {host_port}") from None
        if end - start != host_end - host_start and end != start:
            raise UsageError("invalid ranges specified for container and host Ports: "
                             f"{container_port} and {host_port}")
    count = end - start + 1
    if count == 1 and host_end != host_start:
        return (PortMapping(ip, host_start, start, proto, host_end),)
    return tuple(PortMapping(ip, host_start + i if host_start else 0, start + i, proto)
                 for i in range(count))


def parse_expose(spec: str) -> tuple[str, ...]:
    """The port keys of one --expose value ("80", "8000-8002/udp"), in
    order; UsageError with docker-cli's text."""
    if ":" in spec:
        raise UsageError(f"invalid port format for --expose: {spec}")
    proto, port = split_proto_port(spec)
    try:
        start, end = parse_range(port)
    except ValueError as error:
        raise UsageError(f"invalid range format for --expose: {spec}, error: {error}") from None
    proto = proto.lower()
    if proto not in PROTOCOLS:
        raise UsageError(f"invalid proto: {proto}")
    return tuple(port_key(p, proto) for p in range(start, end + 1))


def parse_image_exposed(keys) -> tuple[str, ...]:
    """An image's ExposedPorts keys ("80/tcp", "53/udp", "8000-8001",
    "80") as port keys, one per port; keys that name no port are skipped
    (an image is data someone else wrote: a run does not fail on it)."""
    out: list[str] = []
    for key in keys:
        proto, port = split_proto_port(str(key))
        proto = proto.lower()
        try:
            start, end = parse_range(port)
        except ValueError:
            continue
        if proto in PROTOCOLS and start:
            out.extend(port_key(p, proto) for p in range(start, end + 1))
    return tuple(out)


def key_sort(key: str) -> tuple[int, str]:
    """Order of port keys for display: by port number, then protocol."""
    port, _, proto = key.partition("/")
    return (int(port) if port.isdigit() else 0, proto)


@record
class PortPlan:
    """The ports of one container as asked for.

    exposed: every exposed port key (the image's, --expose's and -p's), in
    Docker's JSON order; requested: the -p mappings as given; publish_all:
    -P (every exposed port without a -p binding gets one on a port chosen
    from the ephemeral range, on all addresses)."""

    exposed: tuple[str, ...] = ()
    requested: tuple[PortMapping, ...] = ()
    publish_all: bool = False

    @property
    def exposed_ports(self) -> dict:
        """Config.ExposedPorts: {"80/tcp": {}, ...}."""
        return {key: {} for key in self.exposed}

    @property
    def port_bindings(self) -> dict:
        """HostConfig.PortBindings: the -p requests by port key."""
        out: dict[str, list] = {}
        for mapping in self.requested:
            out.setdefault(mapping.key, []).append(mapping.binding)
        return {key: out[key] for key in sorted(out)}

    @property
    def to_publish(self) -> tuple[PortMapping, ...]:
        """The mappings to set up: the -p ones, then with -P one per exposed
        port no -p names (all addresses, host port to be chosen)."""
        if not self.publish_all:
            return self.requested
        bound = {mapping.key for mapping in self.requested}
        extra = []
        for key in sorted(self.exposed, key=key_sort):
            if key not in bound:
                port, _, proto = key.partition("/")
                extra.append(PortMapping("", 0, int(port), proto))
        return self.requested + tuple(extra)


def plan(publish=(), expose=(), publish_all=False, image_exposed=()) -> PortPlan:
    """The PortPlan of -p values, --expose values, -P and the image's
    ExposedPorts keys; UsageError for a bad -p or --expose value."""
    requested: list[PortMapping] = []
    for spec in publish:
        requested.extend(parse_publish(spec))
    keys = set(parse_image_exposed(image_exposed))
    for spec in expose:
        keys.update(parse_expose(spec))
    keys.update(mapping.key for mapping in requested)
    return PortPlan(tuple(sorted(keys)), tuple(requested), bool(publish_all))


def _join_host_port(host: str, port: str) -> str:
    """Go's net.JoinHostPort: an IPv6 host in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _listed(network_ports: dict) -> list[tuple[int, str, int, str]]:
    """NetworkSettings.Ports as the daemon lists a container's ports:
    (private port, host ip, public port, protocol); an exposed port not
    published has ip "" and public port 0."""
    out = []
    for key, bindings in (network_ports or {}).items():
        port, _, proto = key.partition("/")
        if not port.isdigit():
            continue
        if not bindings:
            out.append((int(port), "", 0, proto or "tcp"))
            continue
        for b in bindings:
            host_port = str(b.get("HostPort") or "")
            out.append((int(port), b.get("HostIp") or "",
                        int(host_port) if host_port.isdigit() else 0, proto or "tcp"))
    return out


def displayable_ports(network_ports: dict) -> str:
    """The PORTS column of `ps` from NetworkSettings.Ports, as docker-cli's
    DisplayablePorts writes it: sorted by private port, host ip, public
    port, protocol; runs of consecutive ports with the same address,
    protocol and equal public and private numbers collapsed to a range
    ("0.0.0.0:8000-8002->8000-8002/tcp", "7000-7001/udp"); other mappings
    one by one at the end ("0.0.0.0:8080->80/tcp"); ", " between."""
    groups: dict[str, list[int]] = {}
    order: list[str] = []
    result: list[str] = []
    mappings: list[str] = []
    for private, ip, public, proto in sorted(_listed(network_ports),
                                             key=lambda p: (p[0], p[1], p[2], p[3])):
        key = proto
        if ip:
            if public != private:
                mappings.append(f"{_join_host_port(ip, str(public))}->{private}/{proto}")
                continue
            key = f"{ip}/{proto}"
        group = groups.get(key)
        if group is None:
            groups[key] = [private, private]
            order.append(key)
        elif private == group[1] + 1:
            group[1] = private
        else:
            result.append(_form_group(key, *group))
            groups[key] = [private, private]
    result += [_form_group(key, *groups[key]) for key in order]
    return ", ".join(result + mappings)


def _form_group(key: str, first: int, last: int) -> str:
    ip, _, proto = key.rpartition("/")
    group = str(first) if first == last else f"{first}-{last}"
    if ip:
        group = f"{_join_host_port(ip, group)}->{group}"
    return f"{group}/{proto}"


def _natural(text: str) -> list:
    """A sort key in natural order (digit runs compared as numbers)."""
    out: list = []
    digits = ""
    for ch in text + "\0":
        if ch.isdigit():
            digits += ch
            continue
        if digits:
            out.append((0, int(digits), ""))
            digits = ""
        if ch != "\0":
            out.append((1, 0, ch))
    return out


def port_lines(network_ports: dict, container: str, private: str | None = None) -> list[str]:
    """What `docker port CONTAINER [PRIVATE_PORT[/PROTO]]` prints, one
    entry per line in natural order: "80/tcp -> 0.0.0.0:8080" for every
    published port, or the host addresses of one ("0.0.0.0:8080").
    UsageError with docker-cli's text for a bad or unpublished port."""
    if private is not None:
        port, _, proto = private.partition("/")
        if _uint16(port) is None:
            raise UsageError(f"Error: invalid port ({port}): {_go_parse_error(port)}")
        bindings = (network_ports or {}).get(f"{port}/{proto or 'tcp'}")
        if not bindings:
            raise UsageError(f"Error: No public port '{private}' published for {container}")
        out = [_join_host_port(b.get("HostIp") or "", str(b.get("HostPort") or ""))
               for b in bindings]
    else:
        out = [f"{key} -> {_join_host_port(b.get('HostIp') or '', str(b.get('HostPort') or ''))}"
               for key, bindings in (network_ports or {}).items() for b in bindings or ()]
    return sorted(out, key=_natural)
