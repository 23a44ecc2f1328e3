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
    rootless.py, tty.py

The public API, each imported from the module that defines it (this
package's __init__ imports nothing, so importing one submodule costs only
that submodule):

    process.start.run(bundle, *, stdin=0, stdout=1, stderr=2, on_start=None,
        forward_signals=True, state_dir=None, container_id=None,
        preforked=None) -> RunResult
    process.start.spawn(bundle, *, stdin=0, stdout=1, stderr=2, on_start=None,
          state_dir=None, container_id=None, preforked=None)
          -> Container  (.pid, .wait(), .kill(sig), .console)
    process.exec.exec_in(pid, process, config, *, stdin=0, stdout=1, stderr=2,
            forward_signals=True) -> RunResult
    cgroups.warmup.warm_up() -> None   a container start follows: begin
                         paying the kernel's cgroup-migration latency now
    process.preforked.prefork() -> Preforked | None   fork the next
                         container's PID 1 now, while the caller still
                         imports and creates the container; run/spawn(...,
                         preforked=it) hand it the bundle, an unused one is
                         close()d
    (Container and RunResult live in process.handshake.)

Mount conventions: a config.mounts entry whose destination is "/" is the
root filesystem (mounted onto root.path, e.g. the overlay); /proc, /dev,
/dev/pts, /dev/shm, /dev/mqueue and /sys are mounted by default, and a
config.mounts entry with one of those destinations replaces the default.

Errors: RuntimeFailure (125) for any failed step, CommandNotFound (127),
CommandNotExecutable (126) for the command itself.
"""
