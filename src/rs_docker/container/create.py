"""Create a container: containers/<id>/ with its rootfs plan, the files
Docker writes per container (hostname, hosts, resolv.conf), config.json
(the OCI bundle the runtime takes) and container.json (the record).

Nothing is mounted here: the runtime mounts the overlay in the container's
own mount namespace. Paths of the image (/etc/passwd, the workdir) are
read and created through container.layerfs, never through the host's view.

On every `run`'s path, so kept to what a run needs (docs/ARCHITECTURE.md,
Start-up rules): paths are strings (pathlib imports re, urllib.parse and
ipaddress), config.json is written by rs_docker.jsonio (json imports re),
and what only some runs need (-v/--mount parsing, the random names,
rootless) is imported where it is used.
"""

from __future__ import annotations

import os

from rs_docker import jsonio
from rs_docker.container import events, rootfs, state
from rs_docker.context import Context
from rs_docker.errors import Conflict, UsageError
from rs_docker.models import spec
from rs_docker.models.users import resolve_user
from rs_docker.network import NetworkMode, network_mode
from rs_docker.network import files as netfiles
from rs_docker.store import atomic
from rs_docker.values import record

TYPE_CHECKING = False  # not typing's: typing stays off the run path (docs/ARCHITECTURE.md)
if TYPE_CHECKING:
    from collections.abc import Callable

    from rs_docker.container.rootfs import RootfsPlan
    from rs_docker.models.run_options import RunOptions

# Static init binaries that work in any rootfs, bind-mounted for --init
# (Docker uses tini as /sbin/docker-init; Debian: catatonit, tini).
INIT_BINARIES = ("/usr/bin/catatonit", "/usr/bin/tini-static")
NAME_ATTEMPTS = 10
MAX_HOSTNAME = 64  # HOST_NAME_MAX, sethostname(2)


@record
class Image:
    """What create needs of an image: its ID, its config ("config" object of
    the image config JSON), and its layer dirs bottom-first."""

    id: str
    reference: str
    config: dict
    layers: tuple[str, ...]


@record
class Created:
    id: str
    name: str
    dir: str
    plan: RootfsPlan
    spec: dict
    anonymous_volumes: tuple[str, ...] = ()  # removed with it by --rm


def _new_id(ctx: Context) -> tuple[str, str]:
    while True:
        cid = os.urandom(32).hex()
        d = os.path.join(ctx.containers_dir, cid)
        try:
            os.mkdir(d, 0o711)
            return cid, d
        except FileExistsError:
            continue
        except FileNotFoundError:  # the store's first container
            os.makedirs(ctx.containers_dir, 0o700, exist_ok=True)


def _claim_name(ctx: Context, wanted: str | None, cid: str) -> str:
    if wanted is not None:
        name = state.check_name(wanted)
        state.reserve_name(ctx, name, cid)
        return name
    for attempt in range(NAME_ATTEMPTS):
        name = state.random_name(attempt)
        try:
            state.reserve_name(ctx, name, cid)
            return name
        except Conflict:
            continue
    raise Conflict("could not generate a unique container name")


def _hostname(opts: RunOptions, mode: NetworkMode, cid: str) -> str:
    host = mode.host_files or opts.uts == "host"
    name = opts.hostname or (os.uname().nodename if host else cid[:12])
    if len(name) > MAX_HOSTNAME or any(c.isspace() or c in "\0/" for c in name):
        raise UsageError(f"invalid hostname: {name!r}")
    return name


def _etc_files(d: str, hostname: str, mode: NetworkMode, opts=None,
               net=None) -> tuple[tuple[str, str], ...]:
    """Write hostname, hosts, resolv.conf into the container dir. `net`: the
    container's first bridge endpoint (network/attach.py), if any."""
    host_resolv = _read_host("/etc/resolv.conf")
    if mode.host_files:
        hosts = _read_host("/etc/hosts") or netfiles.hosts_file(hostname)
        resolv = host_resolv
    else:
        if netfiles.uses_systemd_stub(host_resolv):
            host_resolv = _read_host(netfiles.SYSTEMD_UPSTREAM) or host_resolv
        if opts is not None and (net or opts.add_host or opts.dns or opts.dns_search
                                 or opts.dns_option or opts.domainname):
            from rs_docker.network import attach  # flags of the network only

            hosts, resolv = attach.etc_texts(hostname, opts, net, host_resolv)
        else:
            hosts = netfiles.hosts_file(hostname)
            resolv = netfiles.container_resolv_conf(host_resolv)
    out = []
    for name, text in (("hostname", netfiles.hostname_file(hostname)), ("hosts", hosts),
                       ("resolv.conf", resolv)):
        path = os.path.join(d, name)
        atomic.write_file(path, text, mode=0o644)  # bind-mounted: the container's users read them
        out.append((f"/etc/{name}", path))
    return tuple(out)


def _read_host(path: str) -> str:
    try:
        data = atomic.read_file(path)
    except OSError:
        return ""
    # What open(path).read() gave: universal newlines.
    return data.decode().replace("\r\n", "\n").replace("\r", "\n")


def _bind_sources(opts: RunOptions) -> None:
    """-v creates a missing host directory (Docker does); --mount refuses."""
    if not (opts.volumes or opts.mounts):
        return
    from rs_docker.models import mount_flags

    for v in opts.volumes:
        m = mount_flags.parse_volume(v)
        if isinstance(m, mount_flags.BindMount) and not os.path.lexists(m.source):
            os.makedirs(m.source, mode=0o755, exist_ok=True)
    for text in opts.mounts:
        m = mount_flags.parse_mount(text)
        if isinstance(m, mount_flags.BindMount) and not os.path.exists(m.source):
            raise UsageError(f'invalid mount config for type "bind": '
                             f"bind source path does not exist: {m.source}")


def init_binary() -> str:
    for path in INIT_BINARIES:
        if os.access(path, os.X_OK):
            return path
    raise UsageError("--init: no init binary found: install catatonit or tini")


def create_container(ctx: Context, opts: RunOptions, image: Image,
                     on_debug: Callable[[str], None] | None = None) -> Created:
    """Allocate id and name, prepare the rootfs plan, write the bundle and
    the record. On failure nothing is left behind."""
    cid, d = _new_id(ctx)
    name = None
    made: list[str] = []  # volumes this container's creation made
    try:
        name = _claim_name(ctx, opts.name, cid)
        if not _may_use_volumes(opts, image):
            return _fill(ctx, opts, image, cid, name, d, on_debug)
        from rs_docker.store import volumes as volume_store

        # Shared until the record names them: `volume rm` cannot take a
        # volume this container is about to use (container/volumes.py).
        with volume_store.lock(ctx, shared=True):
            return _fill(ctx, opts, image, cid, name, d, on_debug, made)
    except BaseException:
        remove_dir(d)
        if name:
            state.release_name(ctx, name, cid)
        if made:
            from rs_docker.container import volumes

            volumes.discard(ctx, made)
        raise


def _may_use_volumes(opts: RunOptions, image: Image) -> bool:
    return bool(opts.volumes or opts.mounts or opts.volumes_from
                or (image.config or {}).get("Volumes"))


def _fill(ctx, opts, image, cid, name, d, on_debug, made=None) -> Created:
    defaults = spec.image_defaults(image.config)
    mode = network_mode(opts.network)
    plan = rootfs.plan(d, list(image.layers), rootfs.driver_for(ctx, on_debug),
                       rootless=ctx.rootless, volatile=opts.remove)
    rootfs.make_dirs(plan)
    rootfs.populate(plan)
    stack = plan.stack()
    user = resolve_user(spec.user_spec(defaults, opts), _text(stack, "/etc/passwd"),
                        _text(stack, "/etc/group"))
    cwd = spec.working_dir(defaults, opts)
    if cwd != "/":
        stack.makedirs(cwd)  # root-owned 0755, as Docker's SetupWorkingDirectory
    attached = None
    if made is not None:
        from rs_docker.container import volumes

        attached = volumes.attach(ctx, opts, image.config, stack, made)
    extra = None
    if spec.uses_everyday_flags(opts):  # before networking: a refusal leaves nothing to undo
        from rs_docker.container import flag_inputs

        extra = flag_inputs.resolve(ctx, opts, d, _text(stack, "/etc/group"))
    hostname = _hostname(opts, mode, cid)
    netns, endpoint = None, None
    if mode.managed and not ctx.rootless or mode.joined:
        from rs_docker.network import attach  # bridge networking only

        netns, endpoint = attach.prepare(ctx, d, cid, name, mode, opts)
    inputs = spec.Inputs(
        user=user, hostname=hostname, rootfs=plan.rootfs, root_mounts=tuple(plan.mounts()),
        etc_files=_etc_files(d, hostname, mode, opts, endpoint),
        init_binary=init_binary() if opts.init else None,
        namespaces=tuple(mode.namespaces(netns)), cgroups_path=f"/rs-docker/{cid}",
        volume_mounts=attached.oci if attached else ())
    if extra is not None:
        inputs = inputs._replace(extra=extra)
    config = spec.build_spec(defaults, opts, inputs)
    # Where the runtime caches compiled seccomp programs (runtime/security/steps.py).
    config.setdefault("annotations", {})["io.rs-docker.cache-dir"] = \
        os.path.join(ctx.root, "cache", "seccomp-bpf")
    if ctx.rootless:
        from rs_docker.runtime import rootless

        rootless.make_rootless(config)
        if mode.managed:
            from rs_docker.network import pasta  # rootless networking

            config["annotations"][pasta.ANNOTATION] = pasta.annotation(
                ctx.root, cid, name, mode.name, _port_plan(opts, image.config))
    _bind_sources(opts)
    # No indent: the C encoder does not indent (a 400-rule seccomp profile
    # makes that visible on the run hot path). Spaced separators, as
    # json.dumps writes by default.
    atomic.write_file(os.path.join(d, "config.json"), jsonio.dumps(config, compact=False))
    entry = _record(cid, name, opts, image, defaults, config, plan, d, attached)
    state.write(ctx, cid, entry)
    if opts.cidfile:
        from rs_docker.container import flag_inputs

        flag_inputs.write_cidfile(opts.cidfile, cid)
    events.emit(ctx, "container", "create", cid, events.container_attributes(entry))
    return Created(cid, name, d, plan, config, attached.anonymous if attached else ())


def _text(stack, path: str) -> str | None:
    data = stack.read_file(path)
    return None if data is None else data.decode("utf-8", "replace")


def _record(cid, name, opts, image, defaults, config, plan, d, attached=None) -> dict:
    """The Docker-shaped record (`docker inspect` field names)."""
    args = spec.process_args(defaults, opts._replace(init=False))
    never = "0001-01-01T00:00:00Z"
    return {
        "Id": cid, "Created": state.now(), "Path": args[0], "Args": args[1:],
        "State": {"Status": state.CREATED, "Running": False, "Paused": False,
                  "Restarting": False, "OOMKilled": False, "Dead": False, "Pid": 0,
                  "ExitCode": 0, "Error": "", "StartedAt": never, "FinishedAt": never},
        "Image": image.id, "ResolvConfPath": os.path.join(d, "resolv.conf"),
        "HostnamePath": os.path.join(d, "hostname"), "HostsPath": os.path.join(d, "hosts"),
        "Name": "/" + name, "RestartCount": 0, "Driver": plan.driver, "Platform": "linux",
        "Config": {
            "Hostname": config.get("hostname") or os.uname().nodename,  # none: --uts host
            "Domainname": opts.domainname or "", "User": opts.user or defaults.user,
            "AttachStdin": opts.interactive, "AttachStdout": not opts.detach,
            "AttachStderr": not opts.detach, "Tty": opts.tty, "OpenStdin": opts.interactive,
            "StdinOnce": opts.interactive, "Env": config["process"]["env"],
            "Cmd": list(opts.command or (defaults.cmd if opts.entrypoint is None else ())),
            "Image": opts.image, "WorkingDir": config["process"]["cwd"],
            "Entrypoint": _entrypoint(opts, defaults),
            "Labels": spec.labels(image.config, opts.labels),
            **_stop_fields(opts, image.config),
            **_healthcheck(opts, image.config),
            **_port_fields(opts, image.config)[0],
        },
        "HostConfig": {
            "Binds": list(opts.volumes), "NetworkMode": opts.network, "AutoRemove": opts.remove,
            "Privileged": opts.privileged, "ReadonlyRootfs": opts.read_only,
            "CapAdd": list(opts.cap_add), "CapDrop": list(opts.cap_drop),
            "SecurityOpt": list(opts.security_opt), "Init": opts.init,
            "Tmpfs": {t.partition(":")[0]: t.partition(":")[2] for t in opts.tmpfs},
            "Mounts": list(opts.mounts), "VolumesFrom": list(opts.volumes_from) or None,
            "Memory": opts.memory, "MemorySwap": opts.memory_swap,
            "Cpus": opts.cpus, "CpuShares": opts.cpu_shares, "PidsLimit": opts.pids_limit,
            "Ulimits": list(opts.ulimits), **spec.everyday_host_config(opts),
            "RestartPolicy": _restart_policy(opts.restart),
            "LogConfig": _log_config(opts),
            **_port_fields(opts, image.config)[1],
        },
        "Mounts": [_mount_record(m) for m in spec.user_mounts(opts)]
        + list(attached.records if attached else ()),
        # Docker's overlay2 shape; image.catalog.layers_in_use reads LowerDir.
        "GraphDriver": {"Name": "overlay2" if plan.driver != "copy" else "vfs", "Data": {
            "LowerDir": ":".join(plan.lowers), "UpperDir": plan.upper,
            "WorkDir": plan.work, "MergedDir": plan.rootfs}},
        "LogPath": "" if opts.log_driver == "none" else os.path.join(d, f"{cid}-json.log"),
        # What start needs to mount this root again (lifecycle: `start`).
        "RsDocker": {"ImageReference": image.reference, "RootfsDriver": plan.driver,
                     "Layers": [os.fspath(p) for p in image.layers],
                     # `rm -v` and --rm remove these (container/volumes.discard).
                     "AnonymousVolumes": list(attached.anonymous if attached else ())},
    }


def _port_plan(opts: RunOptions, image_config: dict):
    """The container's models.ports.PortPlan (-p, -P, --expose and the
    image's ExposedPorts; UsageError for a bad spec), None without any."""
    image_exposed = (image_config or {}).get("ExposedPorts") or {}
    if not (opts.publish or opts.expose or opts.publish_all or image_exposed):
        return None
    from rs_docker.models import ports

    return ports.plan(opts.publish, opts.expose, opts.publish_all, image_exposed)


def _port_fields(opts: RunOptions, image_config: dict) -> tuple[dict, dict]:
    """Config.ExposedPorts (only when there are some, as Docker's omitempty)
    and HostConfig.PortBindings/PublishAllPorts, as `docker inspect` shows them."""
    plan = _port_plan(opts, image_config)
    if plan is None:
        return {}, {"PortBindings": {}, "PublishAllPorts": False}
    config = {"ExposedPorts": plan.exposed_ports} if plan.exposed else {}
    return config, {"PortBindings": plan.port_bindings, "PublishAllPorts": plan.publish_all}


def _stop_fields(opts: RunOptions, image_config: dict) -> dict:
    """Config.StopSignal (--stop-signal, else the image's STOPSIGNAL) and
    Config.StopTimeout, as `docker inspect` shows them (omitted when unset)."""
    out = {}
    wanted = opts.stop_signal or (image_config or {}).get("StopSignal")
    if isinstance(wanted, str) and wanted:
        from rs_docker.models.signal_names import parse_signal

        parse_signal(wanted)  # refuse a bad signal now, not at `stop`
        out["StopSignal"] = wanted
    if opts.stop_timeout is not None:
        out["StopTimeout"] = opts.stop_timeout
    return out


def _healthcheck(opts: RunOptions, image_config: dict) -> dict:
    """Config.Healthcheck (the flags over the image's HEALTHCHECK), omitted
    when there is none; container/health.py only when either has one."""
    image_check = (image_config or {}).get("Healthcheck")
    if not image_check and not opts.no_healthcheck and opts.health_cmd is None \
            and opts.health_interval is None and opts.health_timeout is None \
            and opts.health_retries is None and opts.health_start_period is None \
            and opts.health_start_interval is None:
        return {}
    from rs_docker.container import health

    check = health.merged(health.from_flags(opts), image_check)
    return {"Healthcheck": check} if check else {}


def _log_config(opts: RunOptions) -> dict:
    """HostConfig.LogConfig; container/logs.py checks options only when given."""
    if opts.log_driver == "json-file" and not opts.log_opts:
        return {"Type": "json-file", "Config": {}}
    from rs_docker.container import logs

    return logs.log_config(opts.log_driver, opts.log_opts)


def _restart_policy(text: str) -> dict:
    """HostConfig.RestartPolicy; container/restart.py only when one is asked for."""
    if text in ("", "no"):
        return {"Name": "no", "MaximumRetryCount": 0}
    from rs_docker.container import restart

    return restart.parse(text)


def _mount_record(m: dict) -> dict:
    """One entry of inspect's Mounts (Docker: Type, Source, Destination, RW...)."""
    return {"Type": m["type"], "Source": m["source"] if m["type"] == "bind" else "",
            "Destination": m["destination"], "Mode": "", "RW": "ro" not in m["options"],
            "Propagation": next((o for o in m["options"] if o.endswith(("private", "shared",
                                "slave"))), "")}


def _entrypoint(opts: RunOptions, defaults) -> list[str]:
    if opts.entrypoint is not None:
        return [opts.entrypoint] if opts.entrypoint else []
    return list(defaults.entrypoint)


def remove_dir(d: str) -> None:
    """Remove a container dir (a missing one is not an error); refuses while
    its rootfs is still a mount point (removing through a mount would delete
    what it shows). Rootless, files of the container's other (subuid) ids
    are removed again as root of a user namespace with the same maps
    (podman unshare)."""
    from rs_docker.store.rmtree import rmtree

    if os.path.ismount(os.path.join(d, "rootfs")):
        raise Conflict(f"remove {d}: rootfs is still mounted")
    if os.path.ismount(os.path.join(d, "shm")):  # --ipc shareable
        from rs_docker.container.flag_inputs import unmount_shm

        unmount_shm(d)
    try:
        rmtree(d, missing_ok=True)
    except PermissionError:
        if os.geteuid() == 0:
            raise
        from rs_docker.runtime import rootless

        rootless.run_in_userns(*rootless.user_mappings(), lambda: rmtree(d, missing_ok=True))
