"""File operations on a cgroup tree, each failure a one-line RuntimeFailure
naming the file. Paths are str (os.path, not pathlib: pathlib imports re,
urllib.parse, ipaddress and fnmatch, ~8 ms of every run: issue 6); a
os.PathLike works too."""

from __future__ import annotations

import errno
import os

from rs_docker.errors import RuntimeFailure


def write(path: str, value: str) -> None:
    try:
        with open(path, "w") as f:
            f.write(value)
    except OSError as e:
        why = os.strerror(e.errno).lower() if e.errno else str(e)
        raise RuntimeFailure(f"cgroups: writing {value} to {path}: {why}") from None


def read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except OSError as e:
        raise RuntimeFailure(f"cgroups: reading {path}: {os.strerror(e.errno).lower()}") from None


def make_dirs(path: str) -> list[str]:
    """mkdir -p; returns the directories it created, top first. mkdir(2)
    first, ancestors only on ENOENT: one system call per hierarchy when the
    rs-docker parent exists (the cgroup's warm-up helper waits for these)."""
    path = os.path.normpath(path)
    try:
        os.mkdir(path)
        return [path]
    except FileExistsError:
        return []
    except FileNotFoundError:
        parent = os.path.dirname(path)
        if parent == path:
            raise RuntimeFailure(f"cgroups: creating {path}: no such file or directory") \
                from None
        created = make_dirs(parent)
    except OSError as e:
        raise RuntimeFailure(f"cgroups: creating {path}: {os.strerror(e.errno).lower()}") \
            from None
    try:
        os.mkdir(path)
        created.append(path)
    except FileExistsError:
        pass
    except OSError as e:
        raise RuntimeFailure(f"cgroups: creating {path}: {os.strerror(e.errno).lower()}") \
            from None
    return created


def counter(path: str, key: str) -> int:
    """`key N` from a flat-keyed file (memory.events, memory.oom_control)."""
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return 0
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name == key and value.strip().isdigit():
            return int(value)
    return 0


def remove(path: str, timeout: float = 2.0) -> None:
    """rmdir a cgroup; EBUSY while its exited tasks are still being torn down
    by the kernel, so retry until `timeout`."""
    deadline = None
    while True:
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError as e:
            import time  # only on EBUSY

            deadline = time.monotonic() + timeout if deadline is None else deadline
            if e.errno != errno.EBUSY or time.monotonic() > deadline:
                raise RuntimeFailure(
                    f"cgroups: removing {path}: {os.strerror(e.errno).lower()}") from None
            time.sleep(0.01)
