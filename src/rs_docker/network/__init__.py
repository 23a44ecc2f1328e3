"""Networking of containers. Here, the modes: what `--network` means for
the namespaces and the files of a container (the files themselves:
network.files). The modes live in the package itself, not in a module of
their own, because every `run` needs them: one module fewer to import on
the run path (docs/ARCHITECTURE.md, Start-up rules). Bridge networking is
not built yet: the default is "none" (a private network namespace with
only `lo`), where Docker's is "bridge".

Sources: moby daemon/oci_linux.go WithNamespaces (host mode shares the
host's network namespace), daemon/container_operations.go (host mode copies
the host's /etc/hosts and resolv.conf and, with no -h, the host's hostname).
"""

from __future__ import annotations

from rs_docker.errors import UsageError
from rs_docker.values import record

DEFAULT_MODE = "bridge"


@record
class NetworkMode:
    name: str
    private_netns: bool     # a network namespace of its own vs the host's
    host_files: bool        # /etc/hosts and resolv.conf as the host has them
    managed: bool = False   # bridge or a user network: netavark sets it up
    joined: str = ""        # container:NAME: the container whose namespace it joins

    def namespaces(self, netns: str | None = None) -> list[dict]:
        """OCI linux.namespaces: mount, uts, pid, ipc and cgroup are always
        private (cgroup: Docker's default "private" cgroupns on cgroup v2);
        network only when the mode asks for it, joined by path when `netns`
        names a namespace file (bridge, container:NAME)."""
        kinds = ["mount", "uts", "pid", "ipc", "cgroup"]
        out = [{"type": k} for k in kinds]
        if self.private_netns:
            out.insert(1, {"type": "network", "path": netns} if netns else {"type": "network"})
        return out


_MODES = {
    "none": NetworkMode("none", private_netns=True, host_files=False),
    "host": NetworkMode("host", private_netns=False, host_files=True),
}


def network_mode(name: str | None) -> NetworkMode:
    """The mode for --network NAME: none, host, container:NAME, else a
    managed network (bridge, default, or a user network, looked up at
    create)."""
    name = name or DEFAULT_MODE
    mode = _MODES.get(name)
    if mode is not None:
        return mode
    if name.startswith("container:"):
        other = name.partition(":")[2]
        if not other:
            raise UsageError("invalid container format container:<name|id>")
        return NetworkMode(name, private_netns=True, host_files=False, joined=other)
    if not name:
        raise UsageError("network  not found")
    return NetworkMode("bridge" if name == "default" else name, private_netns=True,
                       host_files=False, managed=True)
