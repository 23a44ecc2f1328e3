"""Freezing a container's cgroup (`pause`/`unpause`): every task stopped
where it runs, with no signal it could see or catch.

cgroup v1: `freezer.state` in the freezer hierarchy, written FROZEN and
read until it says FROZEN (FREEZING while tasks are still being stopped;
Documentation/admin-guide/cgroup-v1/freezer-subsystem.rst). cgroup v2:
`cgroup.freeze` written 1, then `cgroup.events` read until `frozen 1`
(Documentation/admin-guide/cgroup-v2.rst, Linux 5.2). A hybrid host has
the v1 freezer, which is used; the unified directory only tracks
processes. The functions take the container's cgroup directories
(`Cgroup.paths`: controller -> directory, "" the unified one), so tests
run them on a fake tree.
"""

from __future__ import annotations

import os
import time

from rs_docker.errors import RuntimeFailure
from rs_docker.runtime.cgroups import fs

TIMEOUT = 10.0   # seconds for the kernel to stop (or resume) every task
_STEP = 0.005


def _file(paths: dict[str, str]) -> tuple[str, int]:
    """The file that freezes this cgroup and the cgroup version it belongs to."""
    if "freezer" in paths:
        return os.path.join(paths["freezer"], "freezer.state"), 1
    if "" in paths and os.path.exists(os.path.join(paths[""], "cgroup.freeze")):
        return os.path.join(paths[""], "cgroup.freeze"), 2
    raise RuntimeFailure("cgroups: no freezer: neither the v1 freezer controller nor "
                         "cgroup.freeze (Linux 5.2) is available")


def is_frozen(paths: dict[str, str]) -> bool:
    """Whether the cgroup is frozen (or freezing) now."""
    path, version = _file(paths)
    if version == 1:
        return fs.read(path).strip() in ("FROZEN", "FREEZING")
    return fs.read(path).strip() == "1"


def freeze(paths: dict[str, str], timeout: float = TIMEOUT) -> None:
    """Stop every task of the cgroup; returns once the kernel says all are
    (RuntimeFailure after `timeout`, the cgroup thawed again)."""
    _set(paths, True, timeout)


def thaw(paths: dict[str, str], timeout: float = TIMEOUT) -> None:
    """Let every task of the cgroup run again."""
    _set(paths, False, timeout)


def _set(paths: dict[str, str], frozen: bool, timeout: float) -> None:
    path, version = _file(paths)
    deadline = time.monotonic() + timeout
    while True:
        if version == 1:
            # runc writes FROZEN again while it reads FREEZING: a task that
            # forked meanwhile may keep the state from settling.
            fs.write(path, "FROZEN" if frozen else "THAWED")
            done = fs.read(path).strip() == ("FROZEN" if frozen else "THAWED")
        else:
            fs.write(path, "1" if frozen else "0")
            events = os.path.join(os.path.dirname(path), "cgroup.events")
            done = fs.counter(events, "frozen") == (1 if frozen else 0) \
                if os.path.exists(events) else True
        if done:
            return
        if time.monotonic() > deadline:
            if frozen:
                _set(paths, False, timeout)
            raise RuntimeFailure(f"cgroups: {path}: the tasks did not "
                                 f"{'freeze' if frozen else 'thaw'} within {timeout:g} s")
        time.sleep(_STEP)
