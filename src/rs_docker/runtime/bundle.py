"""Read a bundle's config.json and turn it into a Launch: everything the
init processes need, decided before fork() so that the children only act.
"""

from __future__ import annotations

import os

from rs_docker import jsonio
from rs_docker.errors import RuntimeFailure
from rs_docker.runtime import namespaces
from rs_docker.runtime.cgroups import mount
from rs_docker.runtime.rootfs import devices, mounts


class Launch:
    """What the init processes need, decided before fork(). A plain class,
    not a dataclass: dataclasses stays off the run path (docs/ARCHITECTURE.md,
    Start-up rules)."""

    __slots__ = ("bundle", "config", "rootfs", "namespaces", "idmap", "root_mount", "mounts",
                 "go_at", "devices")

    def __init__(self, *, bundle: str, config: dict, rootfs: str,
                 namespaces: namespaces.NamespacePlan, idmap,
                 root_mount: dict | None, mounts: list[dict], devices: list[dict],
                 go_at: int | None = None):
        self.bundle = bundle                # absolute path of the bundle directory
        self.config = config
        self.rootfs = rootfs                # absolute root.path
        self.namespaces = namespaces
        self.idmap = idmap                  # idmap.IdMapPlan, set when a new user namespace is created
        self.root_mount = root_mount        # the "/" entry (overlay convention), if any
        self.mounts = mounts                # every other mount, defaults first
        # mounts[go_at:] wait until PID 1 is in its cgroup (mounts.cgroup_last)
        self.go_at = len(mounts) if go_at is None else go_at
        self.devices = devices

    @property
    def process(self) -> dict:
        return self.config["process"]

    @property
    def terminal(self) -> bool:
        return bool(self.process.get("terminal"))

    @property
    def userns(self) -> bool:
        return "user" in self.namespaces.types


def load(bundle: str) -> dict:
    """config.json of `bundle`, with the fields the runtime relies on checked."""
    path = os.path.join(bundle, "config.json")
    try:
        with open(path, "rb") as f:
            config = jsonio.loads(f.read())
    except FileNotFoundError:
        raise RuntimeFailure(f"bundle {bundle}: no config.json") from None
    except (OSError, ValueError) as e:  # UnicodeDecodeError is a ValueError
        raise RuntimeFailure(f"read {path}: {e}") from None
    check_process(config.get("process") if isinstance(config, dict) else None, path)
    if not isinstance((config.get("root") or {}).get("path"), str):
        raise RuntimeFailure(f"{path}: root.path is required")
    return config


def check_process(process, where) -> None:
    if not isinstance(process, dict):
        raise RuntimeFailure(f"{where}: process is required")
    args = process.get("args")
    if not isinstance(args, list) or not args or not all(isinstance(a, str) for a in args):
        raise RuntimeFailure(f"{where}: process.args must be a non-empty list of strings")
    if not isinstance(process.get("cwd", "/"), str) or not process.get("cwd", "/").startswith("/"):
        raise RuntimeFailure(f"{where}: process.cwd must be an absolute path")


def plan(bundle: str, config: dict, euid: int | None = None,
         egid: int | None = None) -> Launch:
    bundle = os.path.abspath(bundle)
    ns = namespaces.plan(config)
    if (config.get("hostname") or config.get("domainname")) and "uts" not in ns.types:
        raise RuntimeFailure("config: hostname needs a uts namespace")
    ids = None
    if "user" in ns.new:
        from rs_docker.runtime import idmap  # user namespaces only

        ids = idmap.plan(config, os.geteuid() if euid is None else euid,
                         os.getegid() if egid is None else egid)
    rootfs = os.path.join(bundle, config["root"]["path"])
    if not os.path.isdir(rootfs):
        raise RuntimeFailure(f"rootfs {rootfs}: not a directory")
    root_mount, rest = mounts.plan(config, "user" in ns.types, "network" in ns.new,
                                   "cgroup" in ns.new)
    rest, go_at = mounts.cgroup_last(rest)
    if any(m.get("type") == "cgroup" for m in rest[go_at:]):
        mount.learn_host()
    return Launch(bundle=bundle, config=config, rootfs=os.path.normpath(rootfs), namespaces=ns,
                  idmap=ids, root_mount=root_mount, mounts=rest, go_at=go_at,
                  devices=devices.device_list(config))
