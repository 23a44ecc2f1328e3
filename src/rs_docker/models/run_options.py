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


# Docker's names and meanings. The network default is "none" (only `lo`)
# until bridge networking exists; Docker's is "bridge".
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
    Flag(("-v", "--volume"), "volumes", multiple=True, default=(), metavar="/HOST:/CTR[:ro|rw]",
         help="Bind mount a host path (absolute; created if missing)."),
    Flag(("--mount",), "mounts", multiple=True, default=(),
         metavar="type=bind|tmpfs,source=,target=,readonly",
         help="Attach a filesystem mount to the container."),
    Flag(("--tmpfs",), "tmpfs", multiple=True, default=(), metavar="/PATH[:OPTS]",
         help="Mount a tmpfs directory."),
    Flag(("--read-only",), "read_only", "flag", default=False,
         help="Mount the container's root filesystem read-only."),
    Flag(("--network", "--net"), "network", default="none",
         help="none (only lo) or host. Bridge networking is not available yet, "
              "so the default is none, not Docker's bridge."),
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
    Flag(("--stop-signal",), "stop_signal", help="Signal to stop the container."),
    Flag(("--stop-timeout",), "stop_timeout", "int",
         help="Timeout (in seconds) to stop a container."),
)

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
