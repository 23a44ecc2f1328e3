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

DEFAULT_MODE = "none"


@record
class NetworkMode:
    name: str
    private_netns: bool     # a new network namespace (only lo) vs the host's
    host_files: bool        # /etc/hosts and resolv.conf as the host has them

    def namespaces(self) -> list[dict]:
        """OCI linux.namespaces: mount, uts, pid, ipc and cgroup are always
        private (cgroup: Docker's default "private" cgroupns on cgroup v2);
        network only when the mode asks for it."""
        kinds = ["mount", "uts", "pid", "ipc", "cgroup"]
        if self.private_netns:
            kinds.insert(1, "network")
        return [{"type": k} for k in kinds]


_MODES = {
    "none": NetworkMode("none", private_netns=True, host_files=False),
    "host": NetworkMode("host", private_netns=False, host_files=True),
}


def network_mode(name: str | None) -> NetworkMode:
    """The mode for --network NAME; bridge and user networks are not built yet."""
    name = name or DEFAULT_MODE
    mode = _MODES.get(name)
    if mode is None:
        if name in ("bridge", "default"):
            raise UsageError("network mode \"bridge\" is not supported yet: "
                             "use --network none or --network host")
        raise UsageError(f"network {name} not found")
    return mode
