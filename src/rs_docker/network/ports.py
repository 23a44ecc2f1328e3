"""Host ports for published container ports: chosen, checked, recorded.

`allocate(ctx, cid, mappings)` turns the requests of models.ports (host
port 0 = to be chosen, or a range to choose from) into mappings with a
host port each, and refuses a port that is taken with Docker's texts
(exit 125, nothing recorded):

- taken by another container of this store:
  `Bind for 0.0.0.0:8080 failed: port is already allocated`;
- taken by some other program on the host (a bind test fails):
  `driver failed programming external connectivity on endpoint NAME (ID):
  Error starting userland proxy: listen tcp4 0.0.0.0:8080: bind: address
  already in use`.

What this store's containers hold is recorded in <root>/network/ports.json
({"tcp/0.0.0.0/8080": container id, ...}, replaced atomically under the
flock <root>/locks/ports.lock), because a forwarding made by firewall rules
(netavark's DNAT) binds no socket a bind test could see. `release(ctx, cid)`
gives a container's ports back (stop, rm, a failed start); an entry whose
container no longer exists or is not running or being started is stale and
taken back by the next allocate (a crash leaves nothing held for good).

Ports to be chosen come from the kernel's ephemeral range
(/proc/sys/net/ipv4/ip_local_port_range), as Docker's port allocator
takes them, starting at a random point of the range so that concurrent
stores rarely race for the same one.
"""

from __future__ import annotations

import errno
import os
import random
import socket

from rs_docker.context import Context
from rs_docker.errors import RsDockerError
from rs_docker.models.ports import PortMapping

# Docker's fallback when the kernel's range cannot be read.
DEFAULT_RANGE = (49153, 60999)
RANGE_FILE = "/proc/sys/net/ipv4/ip_local_port_range"
# Statuses whose container holds (or is about to hold) its ports.
_HOLDING = ("created", "running", "restarting", "paused")

_SOCKET_TYPES = {"tcp": socket.SOCK_STREAM, "udp": socket.SOCK_DGRAM}


class PortAllocated(RsDockerError):
    """A host port asked for is already taken (exit 125)."""


def ephemeral_range(path: str = RANGE_FILE) -> tuple[int, int]:
    """(first, last) of the kernel's ephemeral port range, else Docker's
    default range."""
    try:
        with open(path) as f:
            first, last = (int(x) for x in f.read().split())
    except (OSError, ValueError):
        return DEFAULT_RANGE
    if not 0 < first <= last <= 65535:
        return DEFAULT_RANGE
    return first, last


def shown_ip(host_ip: str) -> str:
    """The host address as Docker's messages write it: "" is 0.0.0.0."""
    return host_ip or "0.0.0.0"


def _key(protocol: str, host_ip: str, port: int) -> str:
    return f"{protocol}/{shown_ip(host_ip)}/{port}"


def _clashes(held: dict, protocol: str, host_ip: str, port: int) -> bool:
    """Whether (protocol, host_ip, port) overlaps a held entry: the same
    address, or either side listening on every address."""
    any4, any6 = _key(protocol, "0.0.0.0", port), _key(protocol, "::", port)
    if _key(protocol, host_ip, port) in held or any4 in held or any6 in held:
        return True
    if host_ip in ("", "0.0.0.0", "::"):
        prefix, suffix = f"{protocol}/", f"/{port}"
        return any(k.startswith(prefix) and k.endswith(suffix) for k in held)
    return False


def _family(host_ip: str) -> int:
    return socket.AF_INET6 if ":" in host_ip else socket.AF_INET


def bind_test(protocol: str, host_ip: str, port: int) -> int:
    """0 if a socket of `protocol` can bind host_ip:port now (host_ip ""
    means every IPv4 address), else the errno. SCTP, which Python's socket
    module may not offer, is not tested."""
    kind = _SOCKET_TYPES.get(protocol)
    if kind is None:
        return 0
    s = socket.socket(_family(host_ip), kind)
    try:
        if kind == socket.SOCK_STREAM:
            # A connection in TIME_WAIT must not count as taken; a listener
            # still does (Linux refuses a second bind to a listening port).
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host_ip or "0.0.0.0", port))
    except OSError as error:
        return error.errno or errno.EADDRINUSE
    finally:
        s.close()
    return 0


def _registry_path(ctx: Context) -> str:
    return os.path.join(ctx.root, "network", "ports.json")


def _read(ctx: Context) -> dict:
    from rs_docker.store.atomic import read_json

    try:
        held = read_json(_registry_path(ctx))
    except (FileNotFoundError, ValueError):
        return {}
    return held if isinstance(held, dict) else {}


def _write(ctx: Context, held: dict) -> None:
    from rs_docker import jsonio
    from rs_docker.store.atomic import replace_file

    os.makedirs(os.path.dirname(_registry_path(ctx)), mode=0o700, exist_ok=True)
    replace_file(_registry_path(ctx), jsonio.dumps(held), durable=False)


def _live(ctx: Context, held: dict, cid: str) -> dict:
    """held without the entries of cid and of containers that hold no ports
    any more (gone, exited)."""
    from rs_docker.container import state

    status: dict[str, bool] = {}
    out = {}
    for key, owner in held.items():
        if owner == cid:
            continue
        if owner not in status:
            try:
                record = state.read(ctx, owner)
                status[owner] = (record.get("State") or {}).get("Status") in _HOLDING
            except RsDockerError:
                status[owner] = False
        if status[owner]:
            out[key] = owner
    return out


def _lock(ctx: Context):
    from rs_docker.store.locks import file_lock

    os.makedirs(ctx.locks_dir, mode=0o700, exist_ok=True)
    return file_lock(os.path.join(ctx.locks_dir, "ports.lock"))


def _in_use(protocol: str, host_ip: str, port: int, endpoint: str) -> PortAllocated:
    family = "6" if ":" in host_ip else "4"
    return PortAllocated(
        f"driver failed programming external connectivity on endpoint {endpoint}: "
        f"Error starting userland proxy: listen {protocol}{family} "
        f"{shown_ip(host_ip)}:{port}: bind: address already in use")


def _allocated(host_ip: str, port: int) -> PortAllocated:
    return PortAllocated(f"Bind for {shown_ip(host_ip)}:{port} failed: port is already allocated")


def _choose(held: dict, mapping: PortMapping, first: int, last: int,
            taken: set) -> int | None:
    """A free port of first..last for mapping (neither held, nor chosen in
    this call, nor bound on the host), starting at a random point; None
    when every one is taken."""
    count = last - first + 1
    start = random.randrange(count)
    for i in range(count):
        port = first + (start + i) % count
        if (mapping.protocol, port) in taken:
            continue
        if _clashes(held, mapping.protocol, mapping.host_ip, port):
            continue
        if bind_test(mapping.protocol, mapping.host_ip, port) == 0:
            return port
    return None


def allocate(ctx: Context, cid: str, mappings, endpoint: str = "") -> tuple[PortMapping, ...]:
    """The mappings with a host port each, recorded as held by cid (its
    earlier entries dropped first); PortAllocated if one is taken, and then
    nothing is recorded. endpoint: how the "address already in use" error
    names the container ("NAME (ID)")."""
    mappings = tuple(mappings)
    with _lock(ctx):
        old = _read(ctx)
        held = _live(ctx, old, cid)
        chosen: list[PortMapping] = []
        taken: set[tuple[str, int]] = set()
        new = dict(held)
        for m in mappings:
            if m.host_port and not m.host_port_end:
                if _clashes(new, m.protocol, m.host_ip, m.host_port):
                    raise _allocated(m.host_ip, m.host_port)
                if bind_test(m.protocol, m.host_ip, m.host_port):
                    raise _in_use(m.protocol, m.host_ip, m.host_port, endpoint)
                port = m.host_port
            else:
                first, last = ((m.host_port, m.host_port_end) if m.host_port_end
                               else ephemeral_range())
                port = _choose(new, m, first, last, taken)
                if port is None:
                    if m.host_port_end:
                        raise _allocated(m.host_ip, m.host_port)
                    raise PortAllocated("no host port available in the ephemeral range "
                                        f"{first}-{last}")
            taken.add((m.protocol, port))
            new[_key(m.protocol, m.host_ip, port)] = cid
            chosen.append(PortMapping(m.host_ip, port, m.container_port, m.protocol))
        if new != old:
            _write(ctx, new)
    return tuple(chosen)


def release(ctx: Context, cid: str) -> None:
    """Give back every host port cid holds (and drop stale entries)."""
    path = _registry_path(ctx)
    if not os.path.exists(path):
        return
    with _lock(ctx):
        held = _read(ctx)
        live = _live(ctx, held, cid)
        if live != held:
            _write(ctx, live)


def network_settings_ports(exposed, published) -> dict:
    """NetworkSettings.Ports as Docker shows it for a running container:
    every exposed port key, null when not published, else its bindings
    ({"HostIp", "HostPort"}; a binding on every address is shown as
    0.0.0.0, plus :: when IPv6 listens too). Keys in Go's JSON order."""
    out: dict[str, list | None] = {key: None for key in exposed}
    for m in published:
        bindings = out.get(m.key) or []
        bindings.append({"HostIp": shown_ip(m.host_ip), "HostPort": str(m.host_port)})
        out[m.key] = bindings
    return {key: out[key] for key in sorted(out)}
