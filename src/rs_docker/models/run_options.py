"""The flags of `rs-docker run`, declared once (RUN_FLAGS), and RunOptions,
the value they fill.

RUN_FLAGS is the one source: cli/run.py builds the click command from it,
cli/fast.py parses a plain run with it, and RunOptions has one field per
entry. Adding a flag is one entry here plus its effect (models.spec,
container/...).

Values stay close to what the user typed (strings for sizes and mount
specs); models.spec and models.mount_flags turn them into the OCI config. Both
classes are records (rs_docker.values).
"""

from __future__ import annotations

from rs_docker.values import record

PULL_POLICIES = ("missing", "always", "never")
NETWORK_MODES = ("none", "host")

# The kinds of value a Flag takes (see Flag; cli/options.py maps each to click).
KINDS = ("flag", "str", "int", "choice", "dir")

# What a boolean flag takes as `--rm=VALUE`: pflag's strconv.ParseBool.
BOOLS = {"1": True, "t": True, "T": True, "TRUE": True, "true": True, "True": True,
         "0": False, "f": False, "F": False, "FALSE": False, "false": False, "False": False}


@record
class Flag:
    """One option of a command, as data.

    names: its spellings ("-e", "--env"); dest: the parameter it fills;
    kind: "flag" (boolean, takes no value), "str", "int", "choice" (one of
    `choices`) or "dir" (a path that must not be a file: click.Path with
    file_okay=False); multiple: repeatable, the values collected in order
    as a tuple (else the last one given wins); default: its value when not
    given; envvar: the environment variable read when it is not given (a
    non-empty value only, as click reads it); in_options: False for a
    `run` flag that fills no RunOptions field of its own (its effect is
    folded into another one by cli/run_exec.build_options)."""

    names: tuple[str, ...]
    dest: str
    kind: str = "str"
    multiple: bool = False
    default: object = None
    help: str = ""
    metavar: str | None = None
    choices: tuple[str, ...] | None = None
    envvar: str | None = None
    in_options: bool = True

    @property
    def shown_default(self) -> bool:
        """Whether help shows the default: only a value worth reading (not
        None, False or nothing)."""
        return self.default is not None and self.default is not False and self.default != ()

    # Every run builds the tables below, mostly by keyword: a signature the
    # interpreter binds rather than the record's generic binder (see
    # rs_docker.values). tests/unit/test_run_fast_parse.py keeps it in step
    # with the fields.
    def __new__(cls, names, dest, kind="str", multiple=False, default=None, help="",
                metavar=None, choices=None, envvar=None, in_options=True):
        return tuple.__new__(cls, (names, dest, kind, multiple, default, help, metavar,
                                   choices, envvar, in_options))


# Docker's names and meanings.
RUN_FLAGS = (
    Flag(("--entrypoint",), "entrypoint", help="Overwrite the default ENTRYPOINT of the image."),
    Flag(("-e", "--env"), "env", multiple=True, default=(), metavar="KEY[=VALUE]",
         help="Set environment variables (a bare KEY takes this shell's value)."),
    Flag(("--env-file",), "env_file", multiple=True, default=(), metavar="FILE",
         help="Read in a file of KEY=VALUE lines.", in_options=False),
    Flag(("-w", "--workdir"), "workdir", help="Working directory inside the container."),
    Flag(("-u", "--user"), "user", metavar="NAME|UID[:GROUP|GID]",
         help="Username or UID (format: <name|uid>[:<group|gid>])."),
    Flag(("-h", "--hostname"), "hostname", help="Container host name (default: short id)."),
    Flag(("--name",), "name", help="Assign a name to the container."),
    Flag(("--rm",), "remove", "flag", default=False,
         help="Remove the container when it exits."),
    Flag(("-d", "--detach"), "detach", "flag", default=False,
         help="Run container in background and print container ID."),
    Flag(("-i", "--interactive"), "interactive", "flag", default=False,
         help="Keep STDIN open and pass it in."),
    Flag(("-t", "--tty"), "tty", "flag", default=False, help="Allocate a pseudo-TTY."),
    Flag(("--pull",), "pull", "choice", default="missing", choices=PULL_POLICIES,
         help="Pull image before running."),
    Flag(("--platform",), "platform", metavar="OS/ARCH[/VARIANT]",
         help="Set platform if server is multi-platform capable."),
    Flag(("-v", "--volume"), "volumes", multiple=True, default=(),
         metavar="[HOST|NAME:]/CTR[:ro|rw|nocopy]",
         help="Bind mount a host path (absolute, or ./ ../ relative; created if missing), "
              "mount a named volume, or an anonymous one (/CTR alone)."),
    Flag(("--volumes-from",), "volumes_from", multiple=True, default=(),
         metavar="CONTAINER[:ro|rw]", help="Mount volumes from the specified container(s)."),
    Flag(("--mount",), "mounts", multiple=True, default=(),
         metavar="type=volume|bind|tmpfs,source=,target=,readonly",
         help="Attach a filesystem mount to the container."),
    Flag(("--tmpfs",), "tmpfs", multiple=True, default=(), metavar="/PATH[:OPTS]",
         help="Mount a tmpfs directory."),
    Flag(("--read-only",), "read_only", "flag", default=False,
         help="Mount the container's root filesystem read-only."),
    Flag(("--network", "--net"), "network", default="bridge",
         help="Connect a container to a network: bridge, a user network's name, none "
              "(only lo), host, or container:NAME."),
    # Issue 12, root networking (effect: network/attach.py, network/files.py).
    Flag(("--ip",), "ip", help="IPv4 address (e.g., 172.30.100.104)."),
    Flag(("--ip6",), "ip6", help="IPv6 address (networks with IPv6 only)."),
    Flag(("--mac-address",), "mac_address", help="Container MAC address (e.g., 92:d0:c6:0a:29:33)."),
    Flag(("--add-host",), "add_host", multiple=True, default=(), metavar="HOST:IP",
         help="Add a custom host-to-IP mapping (host:ip; ip may be host-gateway)."),
    Flag(("--dns",), "dns", multiple=True, default=(), help="Set custom DNS servers."),
    Flag(("--dns-search",), "dns_search", multiple=True, default=(),
         help="Set custom DNS search domains."),
    Flag(("--dns-option",), "dns_option", multiple=True, default=(), help="Set DNS options."),
    Flag(("--network-alias", "--net-alias"), "network_alias", multiple=True, default=(),
         help="Add network-scoped alias for the container."),
    Flag(("--link",), "link", multiple=True, default=(), metavar="NAME[:ALIAS]",
         help="Add link to another container (legacy: an alias on its network)."),
    Flag(("-p", "--publish"), "publish", multiple=True, default=(),
         metavar="[IP:][HOST_PORT:]CONTAINER_PORT[/PROTO]",
         help="Publish a container's port(s) to the host."),
    Flag(("-P", "--publish-all"), "publish_all", "flag", default=False,
         help="Publish all exposed ports to random ports."),
    Flag(("--expose",), "expose", multiple=True, default=(), metavar="PORT[/PROTO]",
         help="Expose a port or a range of ports."),
    Flag(("--init",), "init", "flag", default=False,
         help="Run an init inside the container that forwards signals and reaps processes."),
    Flag(("--cap-add",), "cap_add", multiple=True, default=(), help="Add Linux capabilities."),
    Flag(("--cap-drop",), "cap_drop", multiple=True, default=(), help="Drop Linux capabilities."),
    Flag(("--privileged",), "privileged", "flag", default=False,
         help="Give extended privileges to this container."),
    Flag(("--security-opt",), "security_opt", multiple=True, default=(),
         help="Security options (seccomp=, no-new-privileges)."),
    Flag(("-m", "--memory"), "memory", help="Memory limit (e.g. 64m)."),
    Flag(("--memory-swap",), "memory_swap", help="Memory plus swap limit; -1: unlimited swap."),
    Flag(("--cpus",), "cpus", help="Number of CPUs (e.g. 1.5)."),
    Flag(("-c", "--cpu-shares"), "cpu_shares", "int", help="CPU shares (relative weight)."),
    Flag(("--pids-limit",), "pids_limit", "int",
         help="Tune container pids limit (-1 for unlimited)."),
    Flag(("--ulimit",), "ulimits", multiple=True, default=(), metavar="NAME=SOFT[:HARD]",
         help="Ulimit options."),
    # The everyday flags of issue 15 (checks: models.run_flags; effect: models.spec).
    Flag(("-l", "--label"), "labels", multiple=True, default=(), metavar="KEY[=VALUE]",
         help="Set meta data on a container."),
    Flag(("--label-file",), "label_file", multiple=True, default=(), metavar="FILE",
         help="Read in a line delimited file of labels.", in_options=False),
    Flag(("--annotation",), "annotations", multiple=True, default=(), metavar="KEY=VALUE",
         help="Add an annotation to the container (passed through to the OCI runtime)."),
    Flag(("--domainname",), "domainname", help="Container NIS domain name."),
    Flag(("--cidfile",), "cidfile", help="Write the container ID to the file."),
    Flag(("--shm-size",), "shm_size", metavar="BYTES", help="Size of /dev/shm (default 64m)."),
    Flag(("--sysctl",), "sysctls", multiple=True, default=(), metavar="KEY=VALUE",
         help="Sysctl options (namespaced ones only)."),
    Flag(("--group-add",), "group_add", multiple=True, default=(), metavar="GROUP",
         help="Add additional groups to join."),
    Flag(("--ipc",), "ipc", metavar="MODE",
         help="IPC mode: private, shareable, host, none or container:NAME."),
    Flag(("--pid",), "pid", metavar="MODE", help="PID namespace: host or container:NAME."),
    Flag(("--uts",), "uts", metavar="MODE", help="UTS namespace: host."),
    Flag(("--userns",), "userns", metavar="MODE", help="User namespace: host."),
    Flag(("--cgroupns",), "cgroupns", metavar="MODE",
         help="Cgroup namespace: private (the default) or host."),
    Flag(("--device",), "devices", multiple=True, default=(),
         metavar="HOST[:CONTAINER[:rwm]]", help="Add a host device to the container."),
    Flag(("--device-cgroup-rule",), "device_cgroup_rules", multiple=True, default=(),
         metavar="'TYPE MAJOR:MINOR ACCESS'", help="Add a rule to the cgroup allowed devices list."),
    Flag(("--gpus",), "gpus", metavar="all|N|device=ID[,ID...]",
         help="GPU devices to add to the container, through CDI specs (/etc/cdi, /var/run/cdi)."),
    Flag(("--cpuset-cpus",), "cpuset_cpus", help="CPUs in which to allow execution (0-3, 0,1)."),
    Flag(("--cpuset-mems",), "cpuset_mems", help="MEMs in which to allow execution (0-3, 0,1)."),
    Flag(("--cpu-period",), "cpu_period", "int", help="Limit CPU CFS (Completely Fair Scheduler) period."),
    Flag(("--cpu-quota",), "cpu_quota", "int", help="Limit CPU CFS (Completely Fair Scheduler) quota."),
    Flag(("--memory-reservation",), "memory_reservation", help="Memory soft limit."),
    Flag(("--oom-kill-disable",), "oom_kill_disable", "flag", default=False,
         help="Disable OOM Killer."),
    Flag(("--oom-score-adj",), "oom_score_adj", "int",
         help="Tune host's OOM preferences (-1000 to 1000)."),
    Flag(("--blkio-weight",), "blkio_weight", "int",
         help="Block IO (relative weight), between 10 and 1000, or 0 to disable."),
    Flag(("--cgroup-parent",), "cgroup_parent", help="Optional parent cgroup for the container."),
    Flag(("--runtime",), "runtime", help="Runtime to use for this container."),
    Flag(("--stop-signal",), "stop_signal", help="Signal to stop the container."),
    Flag(("--stop-timeout",), "stop_timeout", "int",
         help="Timeout (in seconds) to stop a container."),
    # Issue 14, the monitor's part (checks and effect: container/restart.py).
    Flag(("--restart",), "restart", default="no", metavar="POLICY",
         help="Restart policy to apply when a container exits: no, on-failure[:N], always, "
              "unless-stopped."),
    Flag(("--health-cmd",), "health_cmd", metavar="STRING",
         help="Command to run to check health."),
    Flag(("--health-interval",), "health_interval", metavar="DURATION",
         help="Time between running the check (ms|s|m|h) (default 0s)."),
    Flag(("--health-timeout",), "health_timeout", metavar="DURATION",
         help="Maximum time to allow one check to run (ms|s|m|h) (default 0s)."),
    Flag(("--health-retries",), "health_retries", "int",
         help="Consecutive failures needed to report unhealthy."),
    Flag(("--health-start-period",), "health_start_period", metavar="DURATION",
         help="Start period for the container to initialize before starting health-retries "
              "countdown (ms|s|m|h) (default 0s)."),
    Flag(("--health-start-interval",), "health_start_interval", metavar="DURATION",
         help="Time between running the check during the start period (ms|s|m|h) "
              "(default 0s)."),
    Flag(("--no-healthcheck",), "no_healthcheck", "flag", default=False,
         help="Disable any container-specified HEALTHCHECK."),
    Flag(("-a", "--attach"), "attach", multiple=True, default=(), metavar="STDIN|STDOUT|STDERR",
         help="Attach to STDIN, STDOUT or STDERR (default: STDOUT and STDERR, STDIN with -i)."),
    Flag(("--sig-proxy",), "sig_proxy", metavar="BOOL",
         help="Proxy received signals to the process (default true)."),
    Flag(("--log-driver",), "log_driver", default="json-file", metavar="DRIVER",
         help="Logging driver for the container: json-file, local or none."),
    Flag(("--log-opt",), "log_opts", multiple=True, default=(), metavar="KEY=VALUE",
         help="Log driver options: max-size (e.g. 10m), max-file."),
)

def index(flags) -> tuple[dict, dict]:
    """A flag table by long name (`--env`) and by short name (`-e`)."""
    long, short = {}, {}
    for flag in flags:
        for name in flag.names:
            (short if len(name) == 2 else long)[name] = flag
    return long, short


_ANNOTATIONS = {"flag": "bool", "str": "str | None", "int": "int | None", "choice": "str",
                "dir": "str | None"}


def _annotation(flag: Flag) -> str:
    return "tuple[str, ...]" if flag.multiple else _ANNOTATIONS[flag.kind]


def _options_class() -> type:
    """RunOptions: image, command, then one field per RUN_FLAGS entry that
    has one (its dest, its default), in the table's order."""
    namespace = {
        "__module__": __name__,
        "__annotations__": {"image": "str", "command": "tuple[str, ...]"},
        "command": (),
        "__doc__": """The options of one `run`: the image, the command, and one
    field per entry of RUN_FLAGS (named by its dest, defaulting to its
    default). `env` holds KEY=VALUE entries already merged from
    --env-file and -e (a bare KEY means "unset it": the host had none,
    see models.env.resolve_cli_env). `entrypoint` None keeps the image's;
    "" resets it (and the image's Cmd), as `docker run --entrypoint ""`
    does. A program using rs-docker as a library builds it directly.""",
    }
    for flag in RUN_FLAGS:
        if flag.in_options:
            namespace["__annotations__"][flag.dest] = _annotation(flag)
            namespace[flag.dest] = flag.default
    return record(type("RunOptions", (), namespace))


RunOptions = _options_class()
