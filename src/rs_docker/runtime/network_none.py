"""A new network namespace starts with only `lo`, and down
(network_namespaces(7)); Docker's --network none brings it up. One ioctl
pair, SIOCGIFFLAGS/SIOCSIFFLAGS on a socket (netdevice(7)): no `ip` binary,
no netlink.
"""

from __future__ import annotations

import _socket  # not socket.py: ~2.5 ms of enum conversions on every run
import fcntl
import struct

from rs_docker.linux import constants as C

_IFREQ = "16sH22x"  # struct ifreq: ifr_name[IFNAMSIZ], ifr_flags (short), padding


def bring_up(name: str = "lo") -> None:
    """Set IFF_UP on interface `name`; OSError names the call and interface."""
    s = _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM | _socket.SOCK_CLOEXEC)
    try:
        try:
            req = fcntl.ioctl(s, C.SIOCGIFFLAGS, struct.pack(_IFREQ, name.encode(), 0))
            flags = struct.unpack(_IFREQ, req)[1]
            if not flags & C.IFF_UP:
                fcntl.ioctl(s, C.SIOCSIFFLAGS, struct.pack(_IFREQ, name.encode(),
                                                           flags | C.IFF_UP))
        except OSError as e:
            raise OSError(e.errno, f"ioctl SIOCSIFFLAGS {name}: {e.strerror.lower()}") from None
    finally:
        s.close()
