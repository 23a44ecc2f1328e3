"""A container's network namespace as a file, and netavark driving it.

As podman does: a fresh network namespace is bind-mounted on a file
(NETNS_DIR/<container id>, iproute2's `ip netns add`), `netavark --config
AARDVARK_DIR setup <file>` takes the options JSON on stdin (the container's
networks, each with its static address, MAC and aliases, and the network
definitions) and answers with what it configured; `teardown` undoes it.
The runtime joins the namespace by path (config.json's network namespace
has a `path`, runtime/namespaces.py), so the namespace outlives a stop,
a `start` joins it again, and teardown works after the container died.

netavark makes the bridge, the veth pair (eth0 inside), the address and
default route, the masquerade and port-forwarding rules (iptables), and
starts aardvark-dns for networks with DNS (AARDVARK_DIR holds its per-
network files). It is run with posix_spawn (subprocess stays off the run
path, docs/ARCHITECTURE.md, Start-up rules).
"""

from __future__ import annotations

import os

from rs_docker import jsonio
from rs_docker.errors import RuntimeFailure, UsageError
from rs_docker.linux import constants as C
from rs_docker.linux import syscalls

NETNS_DIR = "/run/rs-docker/netns"
AARDVARK_DIR = "/run/rs-docker/aardvark"
NETAVARK_PATHS = ("/usr/lib/podman/netavark", "/usr/libexec/podman/netavark",
                  "/usr/local/libexec/podman/netavark", "/usr/bin/netavark")
AARDVARK_PATHS = ("/usr/lib/podman/aardvark-dns", "/usr/libexec/podman/aardvark-dns",
                  "/usr/local/libexec/podman/aardvark-dns", "/usr/bin/aardvark-dns")
MS_BIND = 0x1000
LOCK = "rs-docker-netavark.lock"


def _find(paths: tuple[str, ...]) -> str | None:
    return next((p for p in paths if os.access(p, os.X_OK)), None)


def netavark_binary() -> str:
    path = _find(NETAVARK_PATHS)
    if path is None:
        raise UsageError("bridge networking needs netavark: install the netavark package "
                         "(apt-get install netavark aardvark-dns iptables)")
    return path


def netns_path(container_id: str) -> str:
    return os.path.join(NETNS_DIR, container_id)


def create_netns(path: str) -> None:
    """A fresh network namespace bind-mounted on `path` (kept if it is one
    already: `start` of a container whose namespace survived)."""
    if os.path.ismount(path):  # nsfs on the store's filesystem: a mount point
        return
    os.makedirs(NETNS_DIR, 0o711, exist_ok=True)
    fd = os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o444)
    os.close(fd)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        code = 1
        try:
            syscalls.unshare(C.CLONE_NEWNET)
            syscalls.mount("/proc/self/ns/net", path, None, MS_BIND)
            code = 0
        finally:
            os._exit(code)
    _pid, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        _unlink(path)
        raise RuntimeFailure(f"create network namespace {path}: failed")


def remove_netns(path: str) -> None:
    """Unmount and remove a namespace file (a missing one is not an error)."""
    try:
        syscalls.umount2(path, 2)  # MNT_DETACH
    except OSError:
        pass
    _unlink(path)


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def spawn(argv: list[str], data: bytes) -> tuple[int, bytes, bytes]:
    """Run argv with `data` on stdin; (exit status, stdout, stderr)."""
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    try:
        pid = os.posix_spawn(argv[0], argv, {"PATH": os.environ.get(
            "PATH", "/usr/sbin:/usr/bin:/sbin:/bin")}, file_actions=[
            (os.POSIX_SPAWN_DUP2, in_r, 0), (os.POSIX_SPAWN_DUP2, out_w, 1),
            (os.POSIX_SPAWN_DUP2, err_w, 2)])
    finally:
        for fd in (in_r, out_w, err_w):
            os.close(fd)
    try:
        with os.fdopen(in_w, "wb") as f:
            f.write(data)
    except BrokenPipeError:
        pass
    out = _read_all(out_r)
    err = _read_all(err_r)
    _pid, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), out, err


def _read_all(fd: int) -> bytes:
    chunks = []
    try:
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
    finally:
        os.close(fd)
    return b"".join(chunks)


def _argv(command: str, netns: str) -> list[str]:
    argv = [netavark_binary(), "--config", AARDVARK_DIR]
    aardvark = _find(AARDVARK_PATHS)
    if aardvark:
        argv += ["--aardvark-binary", aardvark]
    return argv + [command, netns]


def _error(command: str, code: int, out: bytes, err: bytes) -> RuntimeFailure:
    text = out.decode("utf-8", "replace").strip()
    try:
        text = jsonio.loads(text)["error"]
    except (ValueError, KeyError, TypeError):
        text = text or err.decode("utf-8", "replace").strip().splitlines()[-1:] or \
            f"exit status {code}"
        if isinstance(text, list):
            text = text[0]
    return RuntimeFailure(f"netavark {command}: {text}")


def _locked_run(command: str, netns: str, options: dict) -> tuple[int, bytes, bytes]:
    """netavark under LOCK (host-wide): netavark does not serialize itself,
    and a teardown removing a bridge's chains while a setup adds rules to
    them fails the setup (podman holds its network lock the same way)."""
    import fcntl

    os.makedirs(AARDVARK_DIR, 0o700, exist_ok=True)
    fd = os.open(os.path.join(AARDVARK_DIR, LOCK), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        return spawn(_argv(command, netns), jsonio.dumps(options).encode())
    finally:
        os.close(fd)


def setup(netns: str, options: dict) -> dict:
    """`netavark setup`: configure the namespace file `netns` with the
    options JSON; netavark's answer {network: {interfaces: {eth0:
    {mac_address, subnets: [{ipnet, gateway}]}}, dns_server_ips, ...}}."""
    code, out, err = _locked_run("setup", netns, options)
    if code != 0:
        raise _error("setup", code, out, err)
    try:
        return jsonio.loads(out)
    except ValueError:
        return {}


def teardown(netns: str, options: dict) -> None:
    """`netavark teardown`: remove what setup made (the veth, rules, DNS
    entries; the bridge and its rules once no container is left on it)."""
    code, out, err = _locked_run("teardown", netns, options)
    if code != 0:
        raise _error("teardown", code, out, err)
