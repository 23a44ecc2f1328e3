"""`exec`: run another process inside a running container
(runtime-spec "exec"-like, what runc exec does).

The first child joins the container's namespaces with setns(2) — user
first, pid last — and forks, since joining a PID namespace only applies
to children (pid_namespaces(7)); that child joins the container's cgroups
(moved by the parent), then the same final steps as `run`: cwd, console,
rlimits, capabilities, user, no_new_privs, seccomp, execve.
"""

from __future__ import annotations

import os

from rs_docker.errors import RuntimeFailure
from rs_docker.linux import syscalls
from rs_docker.runtime import bundle as bundle_mod
from rs_docker.runtime import cgroup_join, command, namespaces, tty
from rs_docker.runtime.foreground import foreground
from rs_docker.runtime.init import Steps, child_main, install_stdio
from rs_docker.runtime.process import RunResult, start
from rs_docker.runtime.sync import Channel


def exec_in(pid: int, process: dict, config: dict, *, stdin=0, stdout=1, stderr=2,
            forward_signals: bool = True) -> RunResult:
    """Run `process` (an OCI process object) in the container whose PID 1
    is host PID `pid`; `config` is the container's config.json. Returns when
    the process exits, with Docker's exit code encoding."""
    bundle_mod.check_process(process, "exec")
    merged = {**config, "process": process}
    types = {ns.get("type") for ns in (config.get("linux") or {}).get("namespaces") or []}
    try:
        os.close(os.pidfd_open(pid))
        paths = namespaces.paths_of(pid, types)
    except (ProcessLookupError, FileNotFoundError):
        raise RuntimeFailure(f"container process {pid} is not running") from None
    prepared = command.security.prepare(merged) if command.security is not None else None
    terminal = bool(process.get("terminal"))
    stdio = (None, None, None) if terminal else (stdin, stdout, stderr)

    def launch():
        return start(exec_first_child, (paths, stdio, merged, prepared),
                     on_pid=lambda p: cgroup_join.join(pid, p), terminal=terminal,
                     winsize_from=stdin if terminal else None)

    return foreground(launch, forward_signals, stdin, stdout)


def exec_first_child(run: Steps, chan: Channel, paths, stdio, config, prepared) -> int:
    run("stdio", install_stdio, stdio, chan.fileno())
    run("signals", command.reset_signals)
    run("setsid", os.setsid)
    # CVE-2019-5736: the process forked below is in the container's PID
    # namespace yet still the host interpreter until it execs; a container
    # process must not open its /proc/PID/exe (nor fds, memory) meanwhile.
    # Non-dumpable closes them (runc's nsexec does the same); execve
    # makes the command dumpable again.
    run("dumpable", syscalls.set_dumpable, False)
    run("join namespaces", namespaces.join, paths)
    pid = run("fork", os.fork)
    if pid == 0:
        child_main(exec_init, chan, config, prepared)
    chan.send("pid", pid=pid)
    chan.close()
    return 0  # done: the process is reparented to the runtime, which waits for it


def exec_init(run: Steps, chan: Channel, config: dict, prepared) -> int:
    """The exec'd process up to execve; like container_init, it exits at EOF
    where it waits for "go" should the runtime die first."""
    run("setsid", os.setsid)
    run("wait for parent", chan.expect, "go")
    process = config["process"]
    slave = None
    if process.get("terminal"):
        master, slave, _path = run("open pty", tty.open_pty, "/dev/pts")
        run("send pty", chan.send, "pty", master)
        os.close(master)
        run("wait for parent", chan.expect, "console")
    run("cwd", os.chdir, process.get("cwd") or "/")
    if slave is not None:
        run("console", tty.make_controlling, slave)
    command.finish(run, config, prepared)
    return 125
