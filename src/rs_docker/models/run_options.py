"""Everything the flags of `rs-docker run` say, as one value.

The CLI fills it from click; a program using rs-docker as a library builds it
directly. Value classes of the `run` path are NamedTuples, not dataclasses:
a dataclass generates and compiles its methods when defined (~1 ms for this
one's 38 fields, ~0.3 ms for a small one), on every start of the CLI. Values stay close to what the user typed (strings for sizes and
mount specs); models.spec and models.mounts turn them into the OCI config.
"""

from __future__ import annotations

from rs_docker.models.record import record

PULL_POLICIES = ("missing", "always", "never")
NETWORK_MODES = ("none", "host")


@record
class RunOptions:
    """The options of one `run`. `env` holds KEY=VALUE entries already merged
    from --env-file and -e (a bare KEY means "unset it": the host had none,
    see models.env.resolve_cli_env). `entrypoint` None keeps the image's;
    "" resets it (and the image's Cmd), as `docker run --entrypoint ""` does."""

    image: str
    command: tuple[str, ...] = ()
    entrypoint: str | None = None
    env: tuple[str, ...] = ()
    workdir: str | None = None
    user: str | None = None
    hostname: str | None = None
    name: str | None = None
    remove: bool = False
    detach: bool = False
    interactive: bool = False
    tty: bool = False
    pull: str = "missing"
    platform: str | None = None
    # -v host:ctr[:opts], --mount k=v,..., --tmpfs /path[:opts] as typed
    volumes: tuple[str, ...] = ()
    mounts: tuple[str, ...] = ()
    tmpfs: tuple[str, ...] = ()
    read_only: bool = False
    network: str = "none"
    init: bool = False
    # security (models.security turns these into the OCI sections)
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    privileged: bool = False
    security_opt: tuple[str, ...] = ()
    # resources, as typed: "64m", "1.5", ...
    memory: str | None = None
    memory_swap: str | None = None
    cpus: str | None = None
    cpu_shares: int | None = None
    pids_limit: int | None = None
    ulimits: tuple[str, ...] = ()
    # `stop`: --stop-signal (name or number) and --stop-timeout (seconds)
    stop_signal: str | None = None
    stop_timeout: int | None = None
