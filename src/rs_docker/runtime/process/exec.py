"""`exec`: run another process inside a running container
(runtime-spec "exec"-like, what runc exec does).

A process forked here (A) joins the container's namespaces with setns(2)
— user first, pid last; joining a PID namespace applies to children only
(pid_namespaces(7)) — and is moved into the container's cgroups by us. A
stays in the host's PID namespace, invisible to the container, while it
does every step: the console, cwd, rlimits, capabilities, user,
no_new_privs, seccomp. Then it execs the trampoline (trampoline/), which
clone()s the exec'd process as our child (CLONE_PARENT) in the
container's PID namespace, reports its PID and exits; the child execs the
finalize. No fork of the host's Python is ever inside the container's PID
namespace, where a container process could open its /proc/PID/exe
(CVE-2019-5736).
"""

from __future__ import annotations

import os

from rs_docker.cpython import signal as _signal
from rs_docker.errors import RuntimeFailure
from rs_docker.linux import syscalls
from rs_docker.linux.procstat import start_ticks
from rs_docker.runtime import bundle as bundle_mod
from rs_docker.runtime import namespaces, tty
from rs_docker.runtime.cgroups import join
from rs_docker.runtime.process import finalize, sync, trampoline
from rs_docker.runtime.process.foreground import foreground
from rs_docker.runtime.process.handshake import (
    SUBREAPER,
    Container,
    RunResult,
    receive_console,
    translate,
    wait_for_exec,
)
from rs_docker.runtime.process.init import Steps, child_main, install_stdio
from rs_docker.runtime.process.sync import Channel, ChildError, ChildGone, check
from rs_docker.runtime.security import steps


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
    prepared = steps.prepare(merged)
    terminal = bool(process.get("terminal"))
    stdio = (None, None, None) if terminal else (stdin, stdout, stderr)

    def launch():
        return start_exec(pid, (paths, stdio, merged, prepared), terminal,
                          stdin if terminal else None)

    return foreground(launch, forward_signals, stdin, stdout)


def start_exec(target: int, args: tuple, terminal: bool, winsize_from: int | None) -> Container:
    """Fork A (exec_first_child), answer it, and return the exec'd process
    once its command runs: our child, spawned by A's trampoline."""
    parent, child = Channel.pair()
    # The subreaper is for an architecture without a trampoline only, where
    # A forks the process itself (trampoline.execute): it is then ours once
    # A exits.
    with SUBREAPER:
        first = os.fork()
        if first == 0:
            child_main(exec_first_child, child, *args)
        child.close()
        live = [first]  # ours to kill and reap should the start fail
        try:
            return _handshake(parent, live, target, terminal, winsize_from)
        except ChildError as e:
            _abort(live)
            raise translate(e) from None
        except ChildGone:
            _abort(live)
            raise RuntimeFailure("exec: the process exited before starting the command") \
                from None
        except BaseException:
            _abort(live)
            raise
        finally:
            parent.close()


def _handshake(chan: Channel, live: list[int], target: int, terminal: bool,
               winsize_from: int | None) -> Container:
    first = live[0]
    check(chan.recv()[0], sync.READY)
    join.join(target, first)
    chan.send(sync.GO)
    console = receive_console(chan, winsize_from) if terminal else None
    pid = int(check(chan.recv()[0], sync.PID)["pid"])
    live.append(pid)
    pidfd = os.pidfd_open(pid)
    start_time = start_ticks(pid)
    os.waitpid(first, 0)
    live.remove(first)
    wait_for_exec(chan)
    return Container(pid, pidfd, console, None, start_time)


def _abort(live: list[int]) -> None:
    """Kill and reap A and the process it spawned, whichever are still ours."""
    for pid in live:
        try:
            os.kill(pid, _signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass


def exec_first_child(run: Steps, chan: Channel, paths, stdio, config, prepared) -> int:
    """Process A, in the host's PID namespace to its end (module doc)."""
    run("stdio", install_stdio, stdio, chan.fileno())
    run("signals", finalize.reset_signals)
    run("setsid", os.setsid)
    # Nothing in the container can see A (another PID namespace); still, a
    # process that joined a container's namespaces keeps its memory, fds
    # and /proc/PID/exe to itself (runc's nsexec does the same).
    run("dumpable", syscalls.set_dumpable, False)
    run("join namespaces", namespaces.join, paths)
    run("ready", chan.send, sync.READY)
    run("wait for parent", chan.expect, sync.GO)  # in the container's cgroups from here
    process = config["process"]
    mode = trampoline.MODE_SPAWN
    if process.get("terminal"):
        master, slave, _path = run("open pty", tty.open_pty, "/dev/pts")
        run("send pty", chan.send, sync.PTY, master)
        os.close(master)
        run("wait for parent", chan.expect, sync.CONSOLE)
        run("console", tty.as_stdio, slave)
        mode = trampoline.MODE_SPAWN_TTY
    run("cwd", os.chdir, process.get("cwd") or "/")
    finalize.finish(run, config, prepared, chan.fileno(), mode=mode)
    return 125
