"""The isolation engine: runs an OCI runtime-spec bundle (a directory with
config.json and a root filesystem). It knows nothing of images.

Its rooms, each with its own docstring:

    process/    the processes by role: the parent's side (start, handshake,
                preforked, foreground), the children (init: PID 1; exec: a
                process joining a running container), the sync protocol
                between them, finalize (the last steps to execve), the
                exec trampoline
    rootfs/     the container's filesystem: mounts, devices, masks
    security/   capabilities, seccomp (+ its cache), rlimits, and the
                security steps in runc's order (steps.py)
    cgroups/    the container's cgroup (v1, v2, hybrid), the cgroup
                filesystem inside it (mount.py), joining one (join.py), the
                warm-up
    bundle.py (load and plan a bundle), namespaces.py, idmap.py,
    rootless.py, tty.py, startup.py (the start-up slot)

The public API, each imported from the module that defines it (this
package's __init__ imports nothing, so importing one submodule costs only
that submodule):

    process.start.run(bundle, *, stdin=0, stdout=1, stderr=2, on_start=None,
        forward_signals=True, state_dir=None, container_id=None,
        startup=None) -> RunResult
    process.start.spawn(bundle, *, stdin=0, stdout=1, stderr=2, on_start=None,
          state_dir=None, container_id=None, startup=None)
          -> Container  (.pid, .wait(), .kill(sig), .console)
    process.exec.exec_in(pid, process, config, *, stdin=0, stdout=1, stderr=2,
            forward_signals=True) -> RunResult
    startup.StartUp(prefork=True)   the start-up slot, a context manager:
                         entering it turns the collector off, starts the
                         cgroup warm-up (cgroups.warmup) and forks the next
                         container's PID 1 (process.preforked) while the
                         caller still imports and creates the container;
                         run/spawn(..., startup=it) use it; leaving it undoes
                         all of it
    (Container and RunResult live in process.handshake.)

Mount conventions: a config.mounts entry whose destination is "/" is the
root filesystem (mounted onto root.path, e.g. the overlay); /proc, /dev,
/dev/pts, /dev/shm, /dev/mqueue and /sys are mounted by default, and a
config.mounts entry with one of those destinations replaces the default.

Errors: RuntimeFailure (125) for any failed step, CommandNotFound (127),
CommandNotExecutable (126) for the command itself.
"""
