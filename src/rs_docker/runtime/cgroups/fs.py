"""File operations on a cgroup tree, each failure a one-line RuntimeFailure
naming the file."""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path

from rs_docker.errors import RuntimeFailure


def write(path: Path, value: str) -> None:
    try:
        with open(path, "w") as f:
            f.write(value)
    except OSError as e:
        why = os.strerror(e.errno).lower() if e.errno else str(e)
        raise RuntimeFailure(f"cgroups: writing {value} to {path}: {why}") from None


def read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError as e:
        raise RuntimeFailure(f"cgroups: reading {path}: {os.strerror(e.errno).lower()}") from None


def make_dirs(path: Path) -> list[Path]:
    """mkdir -p; returns the directories it created, top first."""
    created = []
    for p in reversed([path, *path.parents]):
        if p.is_dir():
            continue
        try:
            p.mkdir()
            created.append(p)
        except FileExistsError:
            pass
        except OSError as e:
            raise RuntimeFailure(f"cgroups: creating {p}: {os.strerror(e.errno).lower()}") \
                from None
    return created


def counter(path: Path, key: str) -> int:
    """`key N` from a flat-keyed file (memory.events, memory.oom_control)."""
    try:
        text = path.read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name == key and value.strip().isdigit():
            return int(value)
    return 0


def remove(path: Path, timeout: float = 2.0) -> None:
    """rmdir a cgroup; EBUSY while its exited tasks are still being torn down
    by the kernel, so retry until `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            path.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError as e:
            if e.errno != errno.EBUSY or time.monotonic() > deadline:
                raise RuntimeFailure(
                    f"cgroups: removing {path}: {os.strerror(e.errno).lower()}") from None
            time.sleep(0.01)
