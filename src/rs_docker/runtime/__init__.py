"""The isolation engine: runs an OCI runtime-spec bundle (a directory with
config.json and a root filesystem). It knows nothing of images.

    run(bundle, *, stdin=0, stdout=1, stderr=2, on_start=None,
        forward_signals=True, state_dir=None, container_id=None,
        preforked=None) -> RunResult
    spawn(bundle, *, stdin=0, stdout=1, stderr=2, on_start=None,
          state_dir=None, container_id=None, preforked=None)
          -> Container  (.pid, .wait(), .kill(sig), .console)
    exec_in(pid, process, config, *, stdin=0, stdout=1, stderr=2,
            forward_signals=True) -> RunResult
    warm_up() -> None    a container start follows: begin paying the kernel's
                         cgroup-migration latency now (cgroups/warmup.py)
    prefork() -> Preforked | None   fork the next container's PID 1 now, while
                         the caller still imports and creates the container;
                         run/spawn(..., preforked=it) hand it the bundle, an
                         unused one is close()d (preforked.py)

Mount conventions: a config.mounts entry whose destination is "/" is the
root filesystem (mounted onto root.path, e.g. the overlay); /proc, /dev,
/dev/pts, /dev/shm, /dev/mqueue and /sys are mounted by default, and a
config.mounts entry with one of those destinations replaces the default.

Errors: RuntimeFailure (125) for any failed step, CommandNotFound (127),
CommandNotExecutable (126) for the command itself.

The names are loaded on first use (PEP 562 module __getattr__): `run`
does not import what `exec_in` needs, and code that imports one runtime
submodule (the monitor, container.create) does not pay for the rest.
"""

from __future__ import annotations

__all__ = ["Container", "Preforked", "RunResult", "exec_in", "prefork", "run", "spawn",
           "warm_up"]

_HOME = {"Container": "process", "RunResult": "process", "run": "process", "spawn": "process",
         "exec_in": "execproc", "warm_up": "cgroups.warmup", "prefork": "preforked",
         "Preforked": "preforked"}


def __getattr__(name: str):
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if home == "execproc":
        from rs_docker.runtime import execproc as module
    elif home == "cgroups.warmup":
        from rs_docker.runtime.cgroups import warmup as module
    elif home == "preforked":
        from rs_docker.runtime import preforked as module
    else:
        from rs_docker.runtime import process as module
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
