"""The isolation engine: runs an OCI runtime-spec bundle (a directory with
config.json and a root filesystem). It knows nothing of images.

    run(bundle, *, stdin=0, stdout=1, stderr=2, on_start=None,
        forward_signals=True, state_dir=None, container_id=None) -> RunResult
    spawn(bundle, *, stdin=0, stdout=1, stderr=2, on_start=None,
          state_dir=None, container_id=None) -> Container  (.pid, .wait(), .kill(sig), .console)
    exec_in(pid, process, config, *, stdin=0, stdout=1, stderr=2,
            forward_signals=True) -> RunResult

Mount conventions: a config.mounts entry whose destination is "/" is the
root filesystem (mounted onto root.path, e.g. the overlay); /proc, /dev,
/dev/pts, /dev/shm, /dev/mqueue and /sys are mounted by default, and a
config.mounts entry with one of those destinations replaces the default.

Errors: RuntimeFailure (125) for any failed step, CommandNotFound (127),
CommandNotExecutable (126) for the command itself.
"""

from __future__ import annotations

from rs_docker.runtime.execproc import exec_in
from rs_docker.runtime.process import Container, RunResult, run, spawn

__all__ = ["Container", "RunResult", "exec_in", "run", "spawn"]
