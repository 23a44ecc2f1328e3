"""Rootless networking: pasta (Debian `passt`), slirp4netns when pasta is
missing, as Podman 5 does it.

A rootless container's default network (`bridge`, Docker's name for the
default) is its own network namespace connected to the host by a user-mode
helper: pasta copies the host's address and routes into the namespace
(`eth0`), forwards the published ports (`-t`/`-u`, listening on the host as
the user; a TCP client's own source address is seen inside for connections
from other hosts, pasta's loopback path shows 127.0.0.1) and carries the
container's outbound traffic through the host's sockets. slirp4netns
(10.0.2.100/24 on `tap0`, gateway 10.0.2.2) is the fallback, its ports
added through its API socket; RS_DOCKER_ROOTLESS_NETWORK_CMD=pasta|slirp4netns
picks one (read at create, kept in the bundle).

How it is wired: `create` puts the plan in the bundle (the annotation
ANNOTATION: store root, container id and name, the exposed ports and the
mappings asked for) and the runtime calls `attach(pid, annotation)` once
the container's PID 1 exists in its namespaces and before it runs its
command (runtime/process/start.py). attach chooses the host ports
(network/ports.allocate, Docker's errors when one is taken), starts the
helper on PID 1's namespaces and waits until it has configured the
interface, then writes the published ports to the container dir
(PUBLISHED: NetworkSettings.Ports for inspect, ps and `port`).

The helper ends with the container: a watcher process, its parent, ends it
as soon as the container's PID 1 has exited (however the container ends:
its command exits, stop, rm -f, a killed monitor whose PID 1 dies with it). The host ports are taken
back by the next allocate once the container is not running
(network/ports.py), or by `release` at rm.

Loopback of the host is not reachable from the container (pasta
--no-map-gw, slirp4netns --disable-host-loopback), as with Docker's
rootless mode and Podman.
"""

from __future__ import annotations

import os
import shutil

from rs_docker import jsonio
from rs_docker.errors import RsDockerError, UsageError

ANNOTATION = "io.rs-docker.rootless-network"
PUBLISHED = "published.json"
LOG = "pasta.log"
HELPERS = ("pasta", "slirp4netns")
# Which helper to use instead of the first one installed (as Podman's
# containers.conf default_rootless_network_cmd); read at create.
HELPER_ENV = "RS_DOCKER_ROOTLESS_NETWORK_CMD"
# slirp4netns --configure's fixed layout.
SLIRP_GUEST = "10.0.2.100"


class NetworkHelperError(RsDockerError):
    """The rootless network helper could not be started (exit 125)."""


def helper() -> tuple[str, str]:
    """(name, path) of the helper to use: pasta, else slirp4netns, or the
    one HELPER_ENV names; a one-line UsageError naming the package when it
    is not installed."""
    wanted = os.environ.get(HELPER_ENV) or ""
    if wanted and wanted not in HELPERS:
        raise UsageError(f"{HELPER_ENV}={wanted}: not one of {', '.join(HELPERS)}")
    for name in (wanted,) if wanted else HELPERS:
        path = shutil.which(name) or next(
            (p for p in (f"/usr/bin/{name}", f"/usr/sbin/{name}") if os.access(p, os.X_OK)),
            None)
        if path:
            return name, path
    if wanted:
        package = "passt" if wanted == "pasta" else wanted
        raise UsageError(f"rootless networking: {wanted} not found: install the Debian "
                         f"package {package}")
    raise UsageError("rootless networking needs pasta or slirp4netns: "
                     "install the Debian package passt (or slirp4netns)")


def annotation(root: str, cid: str, cid_name: str, network: str, port_plan=None) -> str:
    """The ANNOTATION value create puts in config.json for a rootless
    container on `network` (a managed network's name); port_plan: its
    models.ports.PortPlan, if any. UsageError, before anything is made,
    for a user network (not built rootless yet), a missing helper or a port
    the helpers cannot forward."""
    if network != "bridge":
        raise UsageError(f"network {network}: user-defined networks are not supported "
                         "in rootless mode yet: use the default network, none or host")
    name, _path = helper()
    exposed = port_plan.exposed if port_plan is not None else ()
    mappings = port_plan.to_publish if port_plan is not None else ()
    check_mappings(mappings)
    return jsonio.dumps({
        "root": os.fspath(root), "id": cid, "name": cid_name, "helper": name,
        "exposed": list(exposed), "ports": [list(m) for m in mappings]})


def check_mappings(mappings) -> None:
    """UsageError for what neither helper can forward (SCTP)."""
    for m in mappings:
        if m.protocol not in ("tcp", "udp"):
            raise UsageError(f"rootless networking cannot publish {m.protocol} port "
                             f"{m.container_port}: only tcp and udp")


def pasta_argv(path: str, pid: int, mappings, log: str, pid_fd: int) -> list[str]:
    """pasta's command line: configure `eth0` in PID 1's namespaces, forward
    `mappings` (host address/host port:container port), nothing else
    (no automatic forwarding either way, no host loopback through the
    gateway), in the foreground, logging to `log`, its PID written to
    pid_fd once the interface is configured."""
    tcp = [_pasta_spec(m) for m in mappings if m.protocol == "tcp"]
    udp = [_pasta_spec(m) for m in mappings if m.protocol == "udp"]
    argv = [path, "--config-net", "--foreground", "--quiet", "--no-map-gw",
            "--ns-ifname", "eth0", "--log-file", log, "--pid", f"/proc/self/fd/{pid_fd}"]
    for flag, specs in (("-t", tcp), ("-u", udp)):
        if specs:
            for spec in specs:
                argv += [flag, spec]
        else:
            argv += [flag, "none"]
    return argv + ["-T", "none", "-U", "none", str(pid)]


def _pasta_spec(m) -> str:
    address = f"{m.host_ip}/" if m.host_ip else ""
    return f"{address}{m.host_port}:{m.container_port}"


def slirp_argv(path: str, pid: int, ready_fd: int, api_socket: str) -> list[str]:
    """slirp4netns's command line: tap0 configured in PID 1's network
    namespace (joining its user namespace), host loopback unreachable,
    readiness on ready_fd, port forwards through api_socket."""
    return [path, "--configure", "--mtu=65520", "--disable-host-loopback",
            f"--ready-fd={ready_fd}", f"--api-socket={api_socket}",
            f"--userns-path=/proc/{pid}/ns/user", str(pid), "tap0"]


def _spawn(argv: list[str], keep: int, container_pid: int) -> int:
    """Start argv as the helper of the container whose PID 1 is
    container_pid, with only stdio (/dev/null) and `keep` open; the PID of
    its watcher (our child). The watcher, a fork of ours holding nothing
    else, is the helper's parent: it ends the helper (SIGTERM) once PID 1
    has exited, and exits with it. (A parent-death signal cannot do this:
    pasta joins the container's user namespace, and the kernel clears the
    signal on that change of credentials.)"""
    import select
    import signal

    from rs_docker.linux import syscalls

    watch = os.pidfd_open(container_pid)
    pid = os.fork()
    if pid == 0:
        try:
            null = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            syscalls.close_from(3, keep=(keep, watch))
            helper = os.fork()
            if helper == 0:
                # What exec keeps of ours: pasta refuses to start with
                # SIGPIPE ignored (as Python leaves it) or signals blocked.
                for sig in (signal.SIGPIPE, signal.SIGXFSZ):
                    signal.signal(sig, signal.SIG_DFL)
                signal.pthread_sigmask(signal.SIG_SETMASK, ())
                os.close(watch)
                os.set_inheritable(keep, True)
                os.execv(argv[0], argv)
                os._exit(127)
            os.close(keep)
            helper_fd = os.pidfd_open(helper)
            poller = select.poll()
            poller.register(watch, select.POLLIN)
            poller.register(helper_fd, select.POLLIN)
            ready = {fd for fd, _ in poller.poll()}
            if helper_fd not in ready:
                os.kill(helper, signal.SIGTERM)
            os.waitpid(helper, 0)
        finally:
            os._exit(0)
    os.close(watch)
    return pid


def _read_line(fd: int) -> bytes:
    """What the helper writes on fd, up to a newline or until every copy of
    the other end is closed (it exited): blocking."""
    out = b""
    while not out.endswith(b"\n"):
        chunk = os.read(fd, 64)
        if not chunk:
            break
        out += chunk
    return out


def _reap_failed(watcher: int) -> None:
    """Reap the watcher of a helper that exited before it was ready (the
    watcher exits with it)."""
    try:
        os.waitpid(watcher, 0)
    except ChildProcessError:
        pass


def _log_error(log: str) -> str:
    """The last error pasta logged, without its timestamp."""
    try:
        with open(log, errors="replace") as f:
            lines = [ln.strip() for ln in f if ln.strip()]
    except OSError:
        return ""
    errors = [ln for ln in lines if "ERROR" in ln] or lines[-1:]
    return errors[-1].split("ERROR:", 1)[-1].strip() if errors else ""


def _start_pasta(path: str, pid: int, mappings, d: str) -> int:
    log = os.path.join(d, LOG)
    r, w = os.pipe()
    try:
        child = _spawn(pasta_argv(path, pid, mappings, log, w), w, pid)
    finally:
        os.close(w)
    try:
        written = _read_line(r)  # pasta writes its PID once eth0 is configured
    finally:
        os.close(r)
    if not written.strip():
        _reap_failed(child)
        reason = _log_error(log) or "exited before configuring the network"
        if "tun" in reason.lower():
            reason += " (/dev/net/tun must be readable and writable by the user)"
        raise NetworkHelperError(f"rootless networking: pasta: {reason}")
    return child


def _start_slirp(path: str, pid: int, mappings, d: str) -> int:
    import tempfile

    # A socket's path has at most 107 bytes: not under the container dir.
    api_dir = tempfile.mkdtemp(prefix="rsd-slirp-")
    try:
        api = os.path.join(api_dir, "api.sock")
        r, w = os.pipe()
        try:
            child = _spawn(slirp_argv(path, pid, w, api), w, pid)
        finally:
            os.close(w)
        try:
            ready = os.read(r, 1)  # "1" once tap0 is configured, EOF if it failed
        finally:
            os.close(r)
        if not ready.strip():
            _reap_failed(child)
            raise NetworkHelperError("rootless networking: slirp4netns exited before "
                                     "configuring the network")
        # A failure here fails the start: PID 1 is killed, and with it the helper.
        for m in mappings:
            _slirp_forward(api, m)
        return child
    finally:
        shutil.rmtree(api_dir, ignore_errors=True)


def _slirp_forward(api: str, m) -> None:
    import socket

    request = {"execute": "add_hostfwd", "arguments": {
        "proto": m.protocol, "host_addr": m.host_ip or "0.0.0.0", "host_port": m.host_port,
        "guest_addr": SLIRP_GUEST, "guest_port": m.container_port}}
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(api)
        s.sendall(jsonio.dumps(request).encode())
        s.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := s.recv(4096):
            answer += chunk
    reply = jsonio.loads(answer or b"{}")
    if "error" in reply or "return" not in reply:
        desc = (reply.get("error") or {}).get("desc") or "no answer"
        raise NetworkHelperError(f"rootless networking: slirp4netns: publishing "
                                 f"{m.host_port}:{m.container_port}/{m.protocol}: {desc}")


def attach(pid: int, text: str, bundle: str) -> int:
    """Connect the container whose PID 1 is `pid` (in its namespaces, not
    yet running its command): host ports chosen, the helper started and
    the interface configured, PUBLISHED written next to the bundle. The
    helper's PID (our child). PortAllocated / NetworkHelperError /
    UsageError on failure, with nothing left held."""
    from rs_docker.context import Context
    from rs_docker.models.ports import PortMapping
    from rs_docker.network import ports

    plan = jsonio.loads(text)
    requested = [PortMapping(*m) for m in plan.get("ports") or ()]
    ctx = Context(plan["root"], rootless=True)
    cid = plan["id"]
    name = plan.get("helper") or "pasta"
    path = shutil.which(name) or f"/usr/bin/{name}"
    chosen = ports.allocate(ctx, cid, requested, f"{plan.get('name', '')} ({cid})") \
        if requested else ()
    try:
        start = _start_pasta if name == "pasta" else _start_slirp
        child = start(path, pid, chosen, bundle)
        from rs_docker.store.atomic import write_file

        write_file(os.path.join(bundle, PUBLISHED), jsonio.dumps({
            "Helper": name,
            "Ports": ports.network_settings_ports(plan.get("exposed") or (), chosen)}))
    except BaseException:
        if chosen:
            ports.release(ctx, cid)
        raise
    return child


def published(d: str) -> dict | None:
    """NetworkSettings.Ports of the running rootless container in dir d
    (PUBLISHED), or None when it has none."""
    from rs_docker.store.atomic import read_json

    try:
        return (read_json(os.path.join(d, PUBLISHED)) or {}).get("Ports")
    except (OSError, ValueError):
        return None
