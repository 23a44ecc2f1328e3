"""The one value that carries configuration down through the layers.

No module reads environment variables or global paths on its own: the CLI
builds a Context (from flags and the environment) and passes it down; tests
build their own.

Paths are plain strings (os.path), not pathlib: pathlib imports re,
urllib.parse and ipaddress, ~8 ms of every `rs-docker run` (issue 6).
"""

from __future__ import annotations

import os

SYSTEM_ROOT = "/var/lib/rs-docker"


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


def default_docker_config(env: dict[str, str] | None = None) -> str:
    """Docker's client config: $DOCKER_CONFIG/config.json or ~/.docker/config.json."""
    env = os.environ if env is None else env
    base = env.get("DOCKER_CONFIG") or os.path.join(env.get("HOME", "/"), ".docker")
    return os.path.join(base, "config.json")


class Context:
    """Where the store lives, who we are, and how to reach registries.

    Immutable and compared by value. A plain class with __slots__ rather than
    a dataclass: importing dataclasses (and inspect) cost ~10 ms on every
    `rs-docker run` (issue 6)."""

    __slots__ = ("root", "rootless", "debug", "docker_config", "insecure_registries")

    def __init__(self, root: str | os.PathLike, rootless: bool = False, debug: bool = False,
                 docker_config: str | os.PathLike | None = None,
                 insecure_registries: frozenset[str] = frozenset()) -> None:
        # object.__setattr__: our own __setattr__ refuses, to stay frozen.
        _set = object.__setattr__
        _set(self, "root", os.fspath(root))
        _set(self, "rootless", rootless)
        _set(self, "debug", debug)
        _set(self, "docker_config",
             default_docker_config() if docker_config is None else os.fspath(docker_config))
        _set(self, "insecure_registries", insecure_registries)

    def __setattr__(self, name: str, value) -> None:
        raise AttributeError(f"cannot assign to field {name!r}: Context is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}: Context is immutable")

    def __reduce__(self):  # pickle/copy rebuild through __init__, not setattr
        return (Context, self._fields())

    def _fields(self) -> tuple:
        return tuple(getattr(self, f) for f in self.__slots__)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        args = ", ".join(f"{f}={getattr(self, f)!r}" for f in self.__slots__)
        return f"Context({args})"

    @classmethod
    def from_env(cls, root: str | os.PathLike | None = None, debug: bool = False,
                 insecure_registries: tuple[str, ...] = ()) -> Context:
        env_insecure = os.environ.get("RS_DOCKER_INSECURE_REGISTRIES", "")
        insecure = {r for r in env_insecure.split(",") if r} | set(insecure_registries)
        return cls(
            root=os.fspath(root) if root else default_root(),
            rootless=os.geteuid() != 0,
            debug=debug,
            insecure_registries=frozenset(insecure),
        )

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
