"""The parent side: fork the init processes (or hand the bundle to the
start-up slot's preforked PID 1: runtime/startup.py, preforked.py), answer
their requests over the sync socket (id maps, cgroup, "go", the pty:
handshake.py), then wait and report (foreground.py: signals forwarded, the
pty relayed).

See init.py for the children's side and sync.py for the protocol.
"""

from __future__ import annotations

import os

from rs_docker import jsonio
from rs_docker.cpython import signal as _signal
from rs_docker.linux import constants as C
from rs_docker.linux import syscalls
from rs_docker.runtime.process.handshake import SUBREAPER, Container, Handshake, RunResult
from rs_docker.runtime.process.sync import Channel

# bundle (its plan: mounts, devices, namespaces), init, command and security
# are imported where a fork is made here (_start_forked, start): with a
# preforked PID 1 (preforked.py) only it imports them, in parallel with us,
# off a run's critical path.


def start(body, args: tuple, *, idmaps=None, on_pid=None, terminal: bool = False,
          winsize_from: int | None = None, cgroup=None, direct: bool = False,
          new_pid: bool = False) -> Container:
    """Start the container's PID 1 and take it through the handshake until
    the container command has exec'd.

    direct=False: fork process A running init.child_main(body, chan, *args);
    A creates the namespaces (the user namespace first, the parent writing
    its id maps) and forks B, PID 1, then exits; B is then our child (see
    handshake.Subreaper). direct=True (no user namespace involved): fork PID 1
    ourselves, our pid_ns_for_children switched to a new PID namespace
    around the fork when `new_pid` (unshare(2) CLONE_NEWPID applies to the
    caller's next children only), which saves A: a fork of this Python
    process and its steps, on every run."""
    from rs_docker.runtime.process import init

    parent, child = Channel.pair()
    if direct:
        try:
            pid = _fork_in_new_pid_ns(body, child, args) if new_pid else os.fork()
            if pid == 0:
                init.child_main(body, child, *args)
        except BaseException:
            parent.close()
            child.close()
            raise
        child.close()
        launch = Handshake(parent, None)
        try:
            launch.pidfd = os.pidfd_open(pid)
            return launch.handshake(idmaps, on_pid, terminal, winsize_from, cgroup, pid)
        except BaseException:
            launch.abort(pid)
            raise
        finally:
            parent.close()
    with SUBREAPER:
        first = os.fork()
        if first == 0:
            init.child_main(body, child, *args)
        child.close()
        launch = Handshake(parent, first)
        try:
            return launch.handshake(idmaps, on_pid, terminal, winsize_from, cgroup)
        except BaseException:
            launch.abort()
            raise
        finally:
            parent.close()
            if launch.first_fd is not None:
                os.close(launch.first_fd)


def _fork_in_new_pid_ns(body, chan: Channel, args: tuple) -> int:
    """os.fork() with the child as PID 1 of a new PID namespace; our own
    pid_ns_for_children is set back to our PID namespace right after (setns
    on /proc/self/ns/pid, which names the namespace we are in)."""
    from rs_docker.runtime.process import init

    own = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
    try:
        syscalls.unshare(C.CLONE_NEWPID)
        try:
            pid = os.fork()
            if pid == 0:
                init.child_main(body, chan, *args)
        finally:
            syscalls.setns(own, C.CLONE_NEWPID, path="/proc/self/ns/pid")
    finally:
        os.close(own)
    return pid


def spawn(bundle: str, *, stdin=0, stdout=1, stderr=2, on_start=None,
          state_dir: str | None = None, container_id: str | None = None,
          startup=None) -> Container:
    """Start the container of `bundle` and return once its command runs.
    stdin/stdout/stderr: fds given to the container (None: /dev/null);
    ignored with process.terminal, where the Container's `console` is the
    pty master to relay. startup: the caller's start-up slot
    (runtime/startup.StartUp): its preforked PID 1 runs the bundle if it
    can, and it is told done() once the command runs."""
    cgroup_id = container_id or f"{os.path.basename(os.path.abspath(bundle))}-" \
                                f"{os.urandom(4).hex()}"
    stdio = (stdin, stdout, stderr)
    c = startup.start(bundle, cgroup_id, stdio) if startup is not None else None
    if c is None:
        from rs_docker.runtime import bundle as bundle_mod

        config = bundle_mod.load(bundle)
        c = _start_forked(bundle, config, cgroup_id, stdio)
    try:
        if state_dir is not None:
            write_state(state_dir, c.pid, c.start_time)
        if on_start is not None:
            on_start(c.pid)
    except BaseException:
        c.kill(_signal.SIGKILL)
        c.wait()
        raise
    if startup is not None:
        startup.done()
    return c


def _start_forked(bundle: str, config: dict, cgroup_id: str, stdio: tuple) -> Container:
    """Plan the bundle, fork its PID 1 (start) and join it to its cgroup."""
    stdin = stdio[0]
    made = []

    def join(pid: int):
        """The cgroup, made once PID 1 exists: its directories (a
        mkdir per v1 hierarchy) are created while PID 1 does its first
        mounts, which need no cgroup, instead of before the fork."""
        from rs_docker.runtime.cgroups import container_cgroup

        cgroup = container_cgroup(cgroup_id, config)
        if cgroup is not None:
            made.append(cgroup)
            cgroup.add(pid)
        # A rootless container's network (network/pasta.py): connected while
        # PID 1 waits for "go", so its command starts with eth0 configured.
        rootless_net = (config.get("annotations") or {}).get("io.rs-docker.rootless-network")
        if rootless_net:
            from rs_docker.network import pasta

            pasta.attach(pid, rootless_net, bundle)
        return cgroup

    from rs_docker.runtime import bundle as bundle_mod
    from rs_docker.runtime.process import init
    from rs_docker.runtime.security import steps

    try:
        launch = bundle_mod.plan(bundle, config)
        prepared = steps.prepare(config)
        stdio = (None, None, None) if launch.terminal else stdio
        if launch.terminal:
            from rs_docker.runtime import tty  # noqa: F401 - here, not between fork and exec
        ns = launch.namespaces
        c = start(init.direct_child if ns.direct else init.first_child,
                  (launch, stdio, prepared), idmaps=launch.idmap, on_pid=join,
                  terminal=launch.terminal, winsize_from=stdin if launch.terminal else None,
                  direct=ns.direct, new_pid="pid" in ns.new)
    except BaseException:
        for cgroup in made:
            cgroup.destroy()
        raise
    return c


def run(bundle: str, *, stdin=0, stdout=1, stderr=2, on_start=None, forward_signals=True,
        state_dir: str | None = None, container_id: str | None = None,
        startup=None) -> RunResult:
    """Run the container of `bundle` in the foreground; see runtime/__init__."""
    def launch():
        return spawn(bundle, stdin=stdin, stdout=stdout, stderr=stderr, on_start=on_start,
                     state_dir=state_dir, container_id=container_id, startup=startup)

    from rs_docker.runtime.process.foreground import foreground

    return foreground(launch, forward_signals, stdin, stdout)


def write_state(state_dir: str, pid: int, start_time: int | None) -> None:
    """state_dir/runtime.json: {"pid", "start_time"} — start_time is field 22
    of /proc/PID/stat (clock ticks after boot), which tells a reused PID apart.
    It was read while the process could not have exited yet."""
    import time

    os.makedirs(state_dir, exist_ok=True)
    tmp = os.path.join(state_dir, f".runtime.json.{os.getpid()}")
    with open(tmp, "w") as f:
        f.write(jsonio.dumps({"pid": pid, "start_time": start_time, "started_at": time.time()},
                             compact=False))
    os.replace(tmp, os.path.join(state_dir, "runtime.json"))
