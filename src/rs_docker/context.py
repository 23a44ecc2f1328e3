"""The one value that carries configuration down through the layers.

No module reads environment variables or global paths on its own: the CLI
builds a Context (from flags and the environment) and passes it down; tests
build their own.

Paths are plain strings (os.path), not pathlib: pathlib imports re,
urllib.parse and ipaddress, kept off the run path (docs/ARCHITECTURE.md,
Start-up rules).
"""

from __future__ import annotations

import os

from rs_docker.values import record

SYSTEM_ROOT = "/var/lib/rs-docker"
STORE_MODE = 0o700  # the store root's mode (store.modes), checked by every command

# A registry transfer (headers or body) that moves fewer than PULL_MIN_RATE
# bytes/s averaged over PULL_STALL_SECONDS is aborted, as curl's
# --speed-limit/--speed-time do (registry/stall.py). 1 KiB/s would take over
# an hour for a 5 MB layer: slower is a stall, not a transfer. 30 s rides out
# TCP's retransmission backoff (1+2+4+8+16 s, RFC 6298) and a registry busy
# for a moment. containerd's CRI `image_pull_progress_timeout` (5 min, "reset
# whenever a new byte has been read") and kubelet's
# `--image-pull-progress-deadline` (1 min) catch only silence, which one byte
# every few seconds defeats. Overridden by RS_DOCKER_PULL_STALL_SECONDS and
# RS_DOCKER_PULL_MIN_RATE, read in Context.from_env only.
PULL_STALL_SECONDS = 30.0
PULL_MIN_RATE = 1024
MAX_STALL_SECONDS = 86400.0          # a socket timeout must fit a timeval


def default_root(env: dict[str, str] | None = None, euid: int | None = None) -> str:
    """Store root: RS_DOCKER_ROOT, else /var/lib/rs-docker for root, else
    $XDG_DATA_HOME/rs-docker (~/.local/share/rs-docker)."""
    env = os.environ if env is None else env
    euid = os.geteuid() if euid is None else euid
    if env.get("RS_DOCKER_ROOT"):
        return env["RS_DOCKER_ROOT"]
    if euid == 0:
        return SYSTEM_ROOT
    data = env.get("XDG_DATA_HOME") or os.path.join(env.get("HOME", "/"), ".local", "share")
    return os.path.join(data, "rs-docker")


def secure_store(root: str) -> None:
    """Make sure the store at `root` is closed to other users (store.modes:
    CVE-2021-41091): created private when missing, migrated when an older
    rs-docker left it open. One stat(2) when it is already private, as it is
    on every command but the first. Best effort: a store we cannot fix (not
    ours, read-only) is left for the command's own access to report."""
    try:
        if os.stat(root).st_mode & 0o7777 == STORE_MODE:
            return
    except FileNotFoundError:
        pass
    except OSError:
        return
    from rs_docker.store import modes  # only on a new or an old store

    try:
        modes.secure(root)
    except OSError:
        pass


def default_docker_config(env: dict[str, str] | None = None) -> str:
    """Docker's client config: $DOCKER_CONFIG/config.json or ~/.docker/config.json."""
    env = os.environ if env is None else env
    base = env.get("DOCKER_CONFIG") or os.path.join(env.get("HOME", "/"), ".docker")
    return os.path.join(base, "config.json")


def _stall_seconds(text: str) -> float | None:
    """A finite number of seconds above 0 (nan fails every comparison)."""
    try:
        value = float(text) if text.isascii() else None
    except ValueError:
        return None
    return value if value is not None and 0 < value <= MAX_STALL_SECONDS else None


def _min_rate(text: str) -> int | None:
    """Bytes per second, ASCII digits (0 keeps only the silence check)."""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 15 else None


def _env_setting(name: str, default, parse, want: str):
    """The environment variable `name` parsed, `default` when unset or empty;
    a UsageError naming the variable when `parse` refuses it (None)."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    value = parse(text)
    if value is None:
        from rs_docker.errors import UsageError

        raise UsageError(f"invalid {name} {text!r}: {want}")
    return value


@record
class Context:
    """Where the store lives, who we are, and how to reach registries: a
    value (rs_docker.values). `root` and `docker_config` are kept as str
    (a PathLike is converted); `docker_config` defaults to Docker's client
    config (default_docker_config)."""

    # The defaults are __new__'s.
    root: str
    rootless: bool
    debug: bool
    docker_config: str
    insecure_registries: frozenset[str]
    pull_stall_seconds: float
    pull_min_rate: int

    def __new__(cls, root: str | os.PathLike, rootless: bool = False, debug: bool = False,
                docker_config: str | os.PathLike | None = None,
                insecure_registries: frozenset[str] = frozenset(),
                pull_stall_seconds: float = PULL_STALL_SECONDS,
                pull_min_rate: int = PULL_MIN_RATE) -> Context:
        if docker_config is None:
            docker_config = default_docker_config()
        return tuple.__new__(cls, (os.fspath(root), rootless, debug, os.fspath(docker_config),
                                   insecure_registries, pull_stall_seconds, pull_min_rate))

    @classmethod
    def from_env(cls, root: str | os.PathLike | None = None, debug: bool = False,
                 insecure_registries: tuple[str, ...] = ()) -> Context:
        env_insecure = os.environ.get("RS_DOCKER_INSECURE_REGISTRIES", "")
        insecure = {r for r in env_insecure.split(",") if r} | set(insecure_registries)
        ctx = cls(
            root=os.fspath(root) if root else default_root(),
            rootless=os.geteuid() != 0,
            debug=debug,
            insecure_registries=frozenset(insecure),
            pull_stall_seconds=_env_setting("RS_DOCKER_PULL_STALL_SECONDS", PULL_STALL_SECONDS,
                                            _stall_seconds, "want seconds above 0, "
                                            f"at most {MAX_STALL_SECONDS:.0f}"),
            pull_min_rate=_env_setting("RS_DOCKER_PULL_MIN_RATE", PULL_MIN_RATE, _min_rate,
                                       "want a whole number of bytes per second"),
        )
        secure_store(ctx.root)
        return ctx

    # Store layout (DESIGN.md "Storage").
    @property
    def blobs_dir(self) -> str:
        return f"{self.root}/blobs/sha256"

    @property
    def layers_dir(self) -> str:
        return f"{self.root}/layers"

    @property
    def images_file(self) -> str:
        return f"{self.root}/images.json"

    @property
    def containers_dir(self) -> str:
        return f"{self.root}/containers"

    @property
    def tmp_dir(self) -> str:
        return f"{self.root}/tmp"

    @property
    def locks_dir(self) -> str:
        return f"{self.root}/locks"
