"""Fork the container's PID 1 early, before the caller knows the bundle.

Otherwise a foreground `rs-docker run` forks PID 1 once the container is
created: a fork of a ~30 MB Python process, its after-fork work and
copy-on-write faults, plus the import of the modules only PID 1 runs
(init, mounts, devices, security, seccomp_cache...) and the bundle's plan
and steps.prepare, all on the critical path (figures: docs/ARCHITECTURE.md,
Start-up rules). prefork() forks it right after the CLI
has parsed a plain run, while the process is still small: the child (P1)
imports what PID 1 needs while the parent imports, finds the image and
creates the container on the other core, then waits on the sync socket.

    prefork() -> Preforked | None   None where it does not apply (not root)
    start(handle, bundle, ...)      hand the bundle to P1 (the parent's side)
    handle.close()                  the run never came: P1 exits

Only the start-up slot (runtime/startup.StartUp) holds a handle: it
preforks on entering, hands the bundle over when process.start.spawn asks
it to, and closes an unused one on leaving.

P1 is forked with our pid_ns_for_children switched to a new PID namespace
(as start._fork_in_new_pid_ns), so it is PID 1 there, our child. It holds
nothing of the parent's later state: it only has what existed at the fork,
and once told the bundle its first step (install_stdio) closes every fd but
the sync socket, as a PID 1 forked later does. It gets one message (sync.py):
{"type": "bundle", "bundle": path, "stdio": [3 x bool]} with the stdio fds
given (SCM_RIGHTS; false: /dev/null). It loads and plans the bundle and
prepares its security itself, in parallel with the parent's cgroup
creation, answers "ready" and goes on as init.direct_child; or, when the
bundle needs another process model (a user namespace, a PID namespace to
join) or its preparation fails, answers "fallback" and exits: the parent
then starts the container the usual way, and reports any error from its
own plan. At EOF (no run: an error, a failed pull) P1 exits quietly.

A run gains less than what P1 takes off the parent: the container's
cgroup mkdir often comes while the warm-up keeper's first cgroup.procs
write still waits for its RCU grace period holding cgroup_mutex
(cgroups/warmup.py), and waits with it.
"""

from __future__ import annotations

import os
import select

from rs_docker import jsonio
from rs_docker.cpython import signal as _signal
from rs_docker.linux import constants as C
from rs_docker.linux import syscalls
from rs_docker.runtime.process import sync
from rs_docker.runtime.process.sync import Channel, check

# How long close() lets an unused P1 see EOF and exit before it is killed:
# it may be importing (a few ms).
CLOSE_GRACE = 1.0


class Preforked:
    """The parent's handle on a preforked PID 1: its host PID, a pidfd
    (opened at once: it is our child, its PID cannot be reused before we
    reap it) and our end of the sync socket. A run takes it (take()); an
    unused one must be close()d, which also reaps P1. Our end of the socket
    is O_CLOEXEC, but a child we fork and that does not exec holds it too:
    P1 then sees EOF only once that child is gone as well."""

    def __init__(self, pid: int, pidfd: int, chan: Channel):
        self.pid = pid
        self._pidfd: int | None = pidfd
        self._chan: Channel | None = chan

    def take(self) -> tuple[int, int, Channel]:
        """(pid, pidfd, channel), now the caller's to close and reap."""
        if self._chan is None or self._pidfd is None:
            raise ValueError("preforked PID 1 already used or closed")
        taken = (self.pid, self._pidfd, self._chan)
        self._pidfd = self._chan = None
        return taken

    def close(self) -> None:
        """No run for P1: close the socket (it reads EOF and exits), reap it
        (killed if it takes longer than CLOSE_GRACE). Idempotent."""
        if self._chan is None or self._pidfd is None:
            return
        chan, pidfd = self._chan, self._pidfd
        self._chan = self._pidfd = None
        chan.close()
        try:
            poller = select.poll()
            poller.register(pidfd, select.POLLIN)
            if not poller.poll(int(CLOSE_GRACE * 1000)):
                try:
                    _signal.pidfd_send_signal(pidfd, _signal.SIGKILL)
                except ProcessLookupError:
                    pass
            os.waitid(os.P_PIDFD, pidfd, os.WEXITED)
        except ChildProcessError:
            pass  # reaped elsewhere (a SIGCHLD handler of the caller's)
        finally:
            os.close(pidfd)


def prefork() -> Preforked | None:
    """Fork the next container's PID 1 now; None where the direct process
    model cannot apply (not root: a user namespace comes first) or the
    kernel refuses a new PID namespace."""
    if os.geteuid() != 0:
        return None
    parent, child = Channel.pair()
    own = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
    try:
        try:
            syscalls.unshare(C.CLONE_NEWPID)
        except OSError:
            parent.close()
            child.close()
            return None
        try:
            pid = os.fork()
            if pid == 0:
                _child(parent, child, own)
        except BaseException:
            parent.close()
            child.close()
            raise
        finally:
            # unshare(CLONE_NEWPID) only set where our next children go: back to ours.
            syscalls.setns(own, C.CLONE_NEWPID, path="/proc/self/ns/pid")
    finally:
        os.close(own)
    child.close()
    try:
        pidfd = os.pidfd_open(pid)
    except BaseException:
        parent.close()
        os.kill(pid, _signal.SIGKILL)
        os.waitpid(pid, 0)
        raise
    return Preforked(pid, pidfd, parent)


def _child(parent: Channel, chan: Channel, own: int) -> None:
    """P1: never returns; nothing unwinds into the caller's code."""
    code = 0
    try:
        os.close(own)
        parent.close()
        code = serve(chan)
    except BaseException:  # noqa: B036 - P1 ends here whatever happens (EOF, SIGINT...)
        code = 125
    finally:
        os._exit(code)


def serve(chan: Channel) -> int:
    """P1's life: import what PID 1 runs, wait for the bundle, then become
    the container's PID 1 (init.child_main: does not return) or exit."""
    # What PID 1 and its preparation use, imported while the parent works.
    from rs_docker.linux import seccomp_bpf  # noqa: F401 - seccomp: every default run has it
    from rs_docker.runtime import bundle as bundle_mod
    from rs_docker.runtime.process import init  # noqa: F401 - seccomp_cache: too
    from rs_docker.runtime.security import steps

    msg, fds = chan.recv_fds(3)
    if msg is None:
        return 0  # the run did not come
    try:
        check(msg, sync.BUNDLE)
        given = iter(fds)
        stdio = tuple(next(given) if passed else None for passed in msg["stdio"])
        config = bundle_mod.load(msg["bundle"])
        launch = bundle_mod.plan(msg["bundle"], config)
        ns = launch.namespaces
        if not (ns.direct and "pid" in ns.new):
            chan.send(sync.FALLBACK, reason="the bundle needs another process model")
            return 0
        prepared = steps.prepare(config)
        if launch.terminal:
            from rs_docker.runtime import tty  # noqa: F401 - here, not between steps
    except BaseException as e:  # noqa: B036 - the parent redoes the plan and reports it
        chan.send(sync.FALLBACK, reason=f"{type(e).__name__}: {e}")
        return 0
    chan.send(sync.READY)
    init.child_main(init.direct_child, chan, launch, stdio, prepared)
    return 125  # not reached


# ---- the parent's side of a run through P1 (StartUp.start) --------------

def read_config(bundle: str) -> dict | None:
    """config.json as the parent of a preforked PID 1 needs it (its cgroup
    resources, process.terminal), without bundle.py's imports; None when it
    is not what bundle.load accepts at a glance: the usual path then loads
    it and raises bundle.load's own error."""
    try:
        with open(os.path.join(bundle, "config.json"), "rb") as f:
            config = jsonio.loads(f.read())
    except (OSError, ValueError):
        return None
    if not isinstance(config, dict) or not isinstance(config.get("process"), dict):
        return None
    return config


class _Fallback(Exception):
    """The preforked PID 1 cannot run this bundle: start it the usual way."""


def start(preforked: Preforked, bundle: str, config: dict, cgroup_id: str,
          stdio: tuple):
    """Hand the bundle to the preforked PID 1 (preforked.py), make the cgroup
    while it plans, then the direct handshake (start(direct=True)'s); None:
    it cannot run the bundle (a user namespace, a plan that fails, it died
    before it got the bundle), and nothing is left of the attempt. Once it
    has the bundle, its errors are reported as PID 1's always were."""
    terminal = bool(config["process"].get("terminal"))
    winsize_from = stdio[0] if terminal else None
    if terminal:
        stdio = (None, None, None)
    # Here, not at the top: imported by spawn already, and prefork() forks
    # before the parent needs them.
    from rs_docker.runtime.cgroups import container_cgroup
    from rs_docker.runtime.process.handshake import Handshake

    pid, pidfd, chan = preforked.take()
    launch = Handshake(chan, None)
    launch.pidfd = pidfd
    made = []

    def join(pid: int):
        try:
            chan.send(sync.BUNDLE, fds=tuple(fd for fd in stdio if fd is not None),
                      bundle=os.path.abspath(bundle), stdio=[fd is not None for fd in stdio])
        except OSError as e:
            # P1 is gone (EPIPE), or a stdio fd is not open (EBADF): nothing
            # of the container exists yet, the usual start does what it did.
            raise _Fallback(str(e)) from None
        # P1 loads, plans and prepares the bundle meanwhile.
        cgroup = container_cgroup(cgroup_id, config)
        if cgroup is not None:
            made.append(cgroup)
        msg, _fd = chan.recv()
        if msg is not None and msg.get("type") == sync.FALLBACK:
            raise _Fallback(msg.get("reason"))
        check(msg, sync.READY)
        if cgroup is not None:
            cgroup.add(pid)
        return cgroup

    try:
        return launch.handshake(None, join, terminal, winsize_from, None, pid)
    except _Fallback:
        launch.abort()
        for cgroup in made:
            cgroup.destroy()
        return None
    except BaseException:
        launch.abort()
        for cgroup in made:
            cgroup.destroy()
        raise
    finally:
        chan.close()
