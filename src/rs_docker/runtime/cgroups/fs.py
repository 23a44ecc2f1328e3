"""File operations on a cgroup tree, each failure a one-line RuntimeFailure
naming the file. Paths are str (os.path, not pathlib: pathlib imports re,
urllib.parse, ipaddress and fnmatch, kept off the run path:
docs/ARCHITECTURE.md, Start-up rules); a
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


def remove(path: str, timeout: float = 10.0) -> None:
    """rmdir a cgroup and everything below it. One rmdir(2) when it is an
    empty leaf (a container whose PID 1 was reaped); on EBUSY the slow path
    (empty_and_remove): processes still in it, or cgroups the container
    made below its own."""
    if _rmdir_leaf_first([path]) is not None:
        empty_and_remove(path, timeout)


def empty_and_remove(path: str, timeout: float) -> None:
    """Kill every process in the cgroup at `path` and below it, then rmdir
    its directories leaf-first (rmdir(2) of a cgroup with children or tasks
    fails with EBUSY), until it is gone or `timeout` passes: killed tasks
    leave the cgroup only once the kernel has torn them down. runc destroys
    the same way (libcontainer/cgroups: RemovePaths retries, leaf-first;
    signalAllProcesses before)."""
    import time

    if not os.path.exists(os.path.join(os.path.dirname(os.path.normpath(path)),
                                       "cgroup.procs")):
        # a hierarchy's root (its parent is no cgroup): never kill all its tasks
        raise RuntimeFailure(f"cgroups: removing {path}: not a child cgroup")
    deadline = time.monotonic() + timeout
    while True:
        dirs = _subtree(path)
        if not dirs:
            return
        for d in dirs:
            _kill_tasks(d)
        busy = _rmdir_leaf_first(dirs)
        if busy is None:
            return
        if time.monotonic() > deadline:
            raise RuntimeFailure(f"cgroups: removing {busy}: "
                                 f"{os.strerror(errno.EBUSY).lower()}")
        time.sleep(0.01)


def _subtree(path: str) -> list[str]:
    """`path` and every cgroup below it, deepest first ([] if it is gone)."""
    if not os.path.isdir(path):
        return []
    return [top for top, _dirs, _files in os.walk(path, topdown=False)]


def _kill_tasks(d: str) -> None:
    """SIGKILL every process in cgroup `d`. A frozen cgroup is thawed first
    (v1 freezer.state, v2 cgroup.freeze): a frozen task dies only once thawed.
    On v2, cgroup.kill (Linux 5.14) kills the whole subtree at once, with no
    window for a fork between reading cgroup.procs and the kill."""
    for name, thawed in (("freezer.state", "THAWED"), ("cgroup.freeze", "0")):
        state = os.path.join(d, name)
        if os.path.exists(state):
            try:
                write(state, thawed)
            except RuntimeFailure:
                pass  # the root of a hierarchy has none to write; nothing frozen then
    if os.path.exists(os.path.join(d, "cgroup.kill")):
        try:
            write(os.path.join(d, "cgroup.kill"), "1")
            return
        except RuntimeFailure:
            pass  # fall back to signalling each process
    try:
        pids = read(os.path.join(d, "cgroup.procs")).split()
    except RuntimeFailure:
        return  # removed meanwhile
    for pid in pids:
        try:
            os.kill(int(pid), 9)  # SIGKILL: signal.py stays off the run path (enums)
        except (ProcessLookupError, ValueError):
            pass


def _rmdir_leaf_first(dirs: list[str]) -> str | None:
    """rmdir each of `dirs` (deepest first); the first still busy, or None."""
    for d in dirs:
        try:
            os.rmdir(d)
        except FileNotFoundError:
            continue
        except OSError as e:
            if e.errno != errno.EBUSY:
                raise RuntimeFailure(
                    f"cgroups: removing {d}: {os.strerror(e.errno).lower()}") from None
            return d
    return None
