"""The three files Docker writes per container and bind-mounts over the
image's: /etc/hostname, /etc/hosts, /etc/resolv.conf (pure text builders).

Sources: moby libnetwork/etchosts (default hosts content),
libnetwork/resolvconf (FilterResolvDNS: loopback nameservers are unreachable
from a separate network namespace, so they are dropped, and Google's public
servers used when none is left; systemd-resolved's stub 127.0.0.53 is
replaced by the upstream list in /run/systemd/resolve/resolv.conf).
"""

from __future__ import annotations

# libnetwork/etchosts defaultContent
LOCALHOST_LINES = (
    "127.0.0.1\tlocalhost",
    "::1\tlocalhost ip6-localhost ip6-loopback",
    "fe00::0\tip6-localnet",
    "ff00::0\tip6-mcastprefix",
    "ff02::1\tip6-allnodes",
    "ff02::2\tip6-allrouters",
)
# libnetwork/resolvconf defaultIPv4Dns / defaultIPv6Dns
DEFAULT_DNS_V4 = ("8.8.8.8", "8.8.4.4")
DEFAULT_DNS_V6 = ("2001:4860:4860::8888", "2001:4860:4860::8844")
SYSTEMD_STUB = "127.0.0.53"
SYSTEMD_UPSTREAM = "/run/systemd/resolve/resolv.conf"


def hostname_file(hostname: str) -> str:
    return hostname + "\n"


def hosts_file(hostname: str, address: str | None = None, extra=(),
               domainname: str = "") -> str:
    """The localhost lines, the `--add-host` entries ((name, ip) pairs, in
    order), then `address hostname` (127.0.0.1 when the container has no
    address of its own, e.g. --network none); with a domain name,
    `address hostname.domain hostname` (libnetwork's etchosts.Build)."""
    names = f"{hostname}.{domainname} {hostname}" if domainname else hostname
    lines = LOCALHOST_LINES + tuple(f"{ip}\t{name}" for name, ip in extra)
    return "\n".join(lines + (f"{address or '127.0.0.1'}\t{names}",)) + "\n"


def parse_add_host(text: str) -> tuple[str, str]:
    """--add-host NAME:IP (or NAME=IP); IP may be `host-gateway`, replaced
    by the caller. Docker's error for anything else."""
    from rs_docker.errors import UsageError

    sep = "=" if "=" in text else ":"
    name, _, ip = text.partition(sep)
    if not name or not ip:
        raise UsageError(f"bad format for add-host: {text!r}")
    ip = ip.strip("[]")
    if ip != "host-gateway":
        import ipaddress

        try:
            ipaddress.ip_address(ip)
        except ValueError:
            raise UsageError(f"invalid IP address in add-host: {ip!r}") from None
    return name, ip


def resolv_with(base: str, dns=(), search=(), options=()) -> str:
    """resolv.conf with --dns (replacing every nameserver), --dns-search
    (replacing search/domain) and --dns-option (replacing options), as
    libnetwork's resolvconf.Build does ("." as a search domain: none)."""
    lines = base.splitlines()
    if dns:
        lines = [ln for ln in lines if ln.split()[:1] != ["nameserver"]]
        lines += [f"nameserver {ns}" for ns in dns]
    if search:
        lines = [ln for ln in lines if ln.split()[:1] not in (["search"], ["domain"])]
        kept = [s for s in search if s != "."]
        if kept:
            lines.append("search " + " ".join(kept))
    if options:
        lines = [ln for ln in lines if ln.split()[:1] != ["options"]]
        lines.append("options " + " ".join(options))
    return "\n".join(ln for ln in lines if ln.strip() or False) + "\n"


def _is_loopback(text: str) -> bool:
    address = text.split("%")[0]
    # A plain dotted quad (no leading zeros: ipaddress refuses those) is
    # decided here: ipaddress stays off the run path (docs/ARCHITECTURE.md).
    parts = address.split(".")
    if len(parts) == 4 and all(p.isdigit() and p.isascii() and len(p) <= 3
                               and (p == "0" or p[0] != "0") and int(p) <= 255
                               for p in parts):
        return parts[0] == "127"
    import ipaddress

    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def nameservers(text: str) -> list[str]:
    out = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[0] == "nameserver":
            out.append(fields[1])
    return out


def uses_systemd_stub(text: str) -> bool:
    return nameservers(text) == [SYSTEMD_STUB]


def container_resolv_conf(host_text: str, ipv6: bool = False) -> str:
    """The host's resolv.conf without loopback nameservers; the public default
    servers when nothing is left (FilterResolvDNS)."""
    kept = [line for line in host_text.splitlines()
            if not (line.split()[:1] == ["nameserver"] and len(line.split()) >= 2
                    and _is_loopback(line.split()[1]))]
    text = "\n".join(kept).strip("\n")
    if not nameservers(text):
        defaults = DEFAULT_DNS_V4 + (DEFAULT_DNS_V6 if ipv6 else ())
        text = "\n".join(([text] if text else []) + [f"nameserver {ns}" for ns in defaults])
    return text + "\n"
