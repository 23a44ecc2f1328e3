"""What every store on this host shares about bridge networks, kept under
one flock in HOST_DIR (a tmpfs: bridges, leases and network namespaces all
go at reboot together): which bridge interface and subnet each network
claims, and the address leases on each bridge (IPAM).

A bridge is a host-wide object, while network definitions live in each
store (network/defs.py): two stores on one host use the same `rsd0` for
their default `bridge`, so the leases of that bridge must be one table, or
two containers of two stores get one address. A lease names its store and
container; one whose container directory is gone (a store deleted, a
crash between create and rm) is free again. A claim whose network
definition is gone and whose interface no longer exists is free again.

IPv4 arithmetic is done on ints here (ipaddress stays off the run path,
docs/ARCHITECTURE.md, Start-up rules).
"""

from __future__ import annotations

import fcntl
import os

from rs_docker import jsonio
from rs_docker.errors import Conflict, UsageError
from rs_docker.store import atomic

HOST_DIR = "/run/rs-docker/net"
STATE = "state.json"


def ip_int(text: str) -> int:
    parts = text.split(".")
    if len(parts) != 4 or not all(p.isascii() and p.isdigit() and len(p) <= 3
                                  and int(p) <= 255 for p in parts):
        raise ValueError(text)
    return (int(parts[0]) << 24) | (int(parts[1]) << 16) | (int(parts[2]) << 8) | int(parts[3])


def ip_text(value: int) -> str:
    return f"{value >> 24 & 255}.{value >> 16 & 255}.{value >> 8 & 255}.{value & 255}"


def parse_cidr(text: str) -> tuple[int, int]:
    """(network address, prefix length) of "a.b.c.d/n", host bits cleared."""
    addr, _, plen = text.partition("/")
    if not plen.isascii() or not plen.isdigit() or int(plen) > 32:
        raise ValueError(text)
    n = int(plen)
    mask = (0xFFFFFFFF << (32 - n)) & 0xFFFFFFFF
    return ip_int(addr) & mask, n


def overlaps(a: str, b: str) -> bool:
    (na, pa), (nb, pb) = parse_cidr(a), parse_cidr(b)
    p = min(pa, pb)
    mask = (0xFFFFFFFF << (32 - p)) & 0xFFFFFFFF
    return na & mask == nb & mask


def host_routes() -> list[str]:
    """The IPv4 destinations the host routes (/proc/net/route), as CIDRs;
    the default route is left out (every private range is "under" it)."""
    out = []
    try:
        with open("/proc/net/route") as f:
            lines = f.read().splitlines()[1:]
    except OSError:
        return out
    for line in lines:
        fields = line.split()
        if len(fields) < 8:
            continue
        dest = int.from_bytes(bytes.fromhex(fields[1]), "little")
        mask = int.from_bytes(bytes.fromhex(fields[7]), "little")
        if mask == 0:
            continue
        out.append(f"{ip_text(dest)}/{bin(mask).count('1')}")
    return out


def interface_exists(name: str) -> bool:
    return os.path.exists(f"/sys/class/net/{name}")


class Host:
    """`with Host() as h:` the host-wide table under its flock; written back
    (atomically) on a clean exit when changed."""

    __slots__ = ("fd", "data", "changed")

    def __enter__(self) -> Host:
        os.makedirs(HOST_DIR, 0o700, exist_ok=True)
        self.fd = os.open(os.path.join(HOST_DIR, "lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC,
                          0o600)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX)
            try:
                self.data = atomic.read_json(os.path.join(HOST_DIR, STATE))
            except FileNotFoundError:
                self.data = {}
            except ValueError:
                self.data = {}  # a torn table is rebuilt from what claims again
        except BaseException:
            os.close(self.fd)
            raise
        self.data.setdefault("claims", {})
        self.data.setdefault("leases", {})
        self.changed = False
        return self

    def __exit__(self, exc_type, *_exc) -> None:
        try:
            if self.changed and exc_type is None:
                atomic.write_file(os.path.join(HOST_DIR, STATE), jsonio.dumps(self.data))
        finally:
            os.close(self.fd)

    # -- claims: which interface and subnet a network holds ------------------

    def claims(self) -> dict:
        """Live claims {interface: {"subnet", "root", "name"}}; stale ones dropped."""
        claims = self.data["claims"]
        for iface, c in list(claims.items()):
            if not os.path.exists(os.path.join(c["root"], "networks", c["name"] + ".json")) \
                    and c.get("shared") is not True and not interface_exists(iface):
                del claims[iface]
                self.data["leases"].pop(iface, None)
                self.changed = True
        return claims

    def claim(self, iface: str, subnet: str, root: str, name: str, shared: bool = False) -> None:
        """Record that `name` of store `root` uses `iface` and `subnet`.
        A shared claim (the default bridge) may be claimed by every store
        with the same subnet."""
        claims = self.claims()
        mine = claims.get(iface)
        if mine is not None:
            if shared and mine.get("shared") and mine["subnet"] == subnet:
                return
            if mine["root"] != root or mine["name"] != name:
                raise Conflict(f"interface {iface} is used by another network")
        for other, c in claims.items():
            if other != iface and overlaps(c["subnet"], subnet):
                raise Conflict("Pool overlaps with other one on this address space")
        claims[iface] = {"subnet": subnet, "root": root, "name": name, "shared": shared}
        self.changed = True

    def unclaim(self, iface: str, root: str) -> None:
        c = self.data["claims"].get(iface)
        if c is not None and c["root"] == root and not c.get("shared"):
            del self.data["claims"][iface]
            self.data["leases"].pop(iface, None)
            self.changed = True

    def free_interface(self, prefix: str = "rsd") -> str:
        claims = self.claims()
        n = 1
        while f"{prefix}{n}" in claims or interface_exists(f"{prefix}{n}"):
            n += 1
        return f"{prefix}{n}"

    def free_subnet(self, candidates) -> str:
        """The first candidate CIDR that overlaps no claim and no host route."""
        taken = [c["subnet"] for c in self.claims().values()] + host_routes()
        for cidr in candidates:
            if not any(overlaps(cidr, t) for t in taken):
                return cidr
        raise UsageError("could not find an available, non-overlapping IPv4 address pool "
                         "among the defaults to assign to the network")

    # -- leases: IPAM ------------------------------------------------------------

    def _live_leases(self, iface: str) -> dict:
        leases = self.data["leases"].setdefault(iface, {})
        for ip, owner in list(leases.items()):
            if not os.path.isdir(os.path.join(owner["root"], "containers", owner["id"])):
                del leases[ip]
                self.changed = True
        return leases

    def lease(self, iface: str, subnet: str, gateway: str, root: str, cid: str,
              wanted: str | None = None, lease_range: str | None = None) -> str:
        """An address of `subnet` for container `cid` of store `root`: `wanted`
        if free (Docker's error if not), else the first free one of
        `lease_range` (default: the subnet), never the network address, the
        gateway or the broadcast address. The same container asking again
        gets its own lease back."""
        leases = self._live_leases(iface)
        for ip, owner in leases.items():
            if owner["root"] == root and owner["id"] == cid and (wanted in (None, ip)):
                return ip
        net, plen = parse_cidr(subnet)
        size = 1 << (32 - plen)
        reserved = {net, net + size - 1, ip_int(gateway)}
        if wanted is not None:
            value = ip_int(wanted)
            if not net <= value < net + size:
                raise UsageError(f"no configured subnet or ip-range contain the IP address "
                                 f"{wanted}")
            if value in reserved or wanted in leases:
                raise Conflict(f"Address already in use: {wanted}")
            ip = wanted
        else:
            first, last = net + 1, net + size - 2
            if lease_range:
                rnet, rplen = parse_cidr(lease_range)
                first, last = max(first, rnet), min(last, rnet + (1 << (32 - rplen)) - 1)
            used = {ip_int(i) for i in leases} | reserved
            value = next((v for v in range(first, last + 1) if v not in used), None)
            if value is None:
                raise Conflict(f"no available IPv4 addresses on the network's pool {subnet}")
            ip = ip_text(value)
        leases[ip] = {"root": root, "id": cid}
        self.changed = True
        return ip

    def release(self, iface: str, root: str, cid: str) -> None:
        leases = self.data["leases"].get(iface) or {}
        for ip, owner in list(leases.items()):
            if owner["root"] == root and owner["id"] == cid:
                del leases[ip]
                self.changed = True

    def leases_of(self, iface: str) -> dict:
        return dict(self._live_leases(iface))
