"""The child side of `run`: the ordered steps from fork to execve.

Process model (runc/crun style), with a user namespace (rootless) or a PID
namespace to join:
  runtime (parent) --fork--> A: stdio, setsid, user namespace (the parent
  writes the id maps), joins, unshare of the other namespaces, fork B,
  report B's host PID and exit: the runtime is a child subreaper, so B is
  reparented to it and it waits for B itself (start.py).
  A --fork--> B: PID 1 of the new PID namespace: hostname, loopback, the
  bounding set and the mounts that do not need the cgroup while the parent
  moves it into the container's cgroup; then waits for the parent's "go" (it
  is in the cgroup by then), creates the cgroup namespace, mounts the cgroup
  filesystem and the rest, pivot_root, then finalize.finish() execs.
Without either (a root run), the runtime forks B itself, its own
pid_ns_for_children switched to the new PID namespace around the fork
(crun does the same with clone flags): direct_child does A's steps, then
B's, in one process. `rs-docker run` forks that B early (preforked.py),
before the container exists: it waits for the bundle, plans it itself,
then goes on as direct_child.

Nothing here raises across fork(): every failure is reported over the sync
socket with the step that failed, and the process os._exit()s.
"""

from __future__ import annotations

import errno
import fcntl
import os

from rs_docker.cpython import signal as _signal
from rs_docker.linux import constants as C
from rs_docker.linux import syscalls
from rs_docker.runtime import namespaces
from rs_docker.runtime.bundle import Launch
from rs_docker.runtime.process import finalize, sync
from rs_docker.runtime.process.sync import Channel
from rs_docker.runtime.rootfs import devices, mounts
from rs_docker.runtime.security import steps

# Imported where needed, not here (docs/ARCHITECTURE.md, Start-up rules):
# tty with process.terminal, idmap with a new user namespace.

EXIT_FAILED = 125


class Steps:
    """Ordered steps in a child process: `run(name, fn, *args)` calls fn and
    remembers `name`, so a failure can be reported as {"step": name, ...}
    over the sync socket."""

    def __init__(self):
        self.current = "start"
        self.done: list[str] = []

    def __call__(self, name: str, fn, *args):
        self.current = name
        result = fn(*args)
        self.done.append(name)
        return result


def child_main(body, chan: Channel, *args) -> None:
    """Run body(run, chan, *args) in a forked child; never return. A failure
    is sent to the parent, then os._exit: no exception crosses fork()."""
    run = Steps()
    code = EXIT_FAILED
    try:
        code = body(run, chan, *args)
    except BaseException as e:  # noqa: B036 - nothing may unwind into the parent's code
        chan.report(run.current, e)
        if isinstance(e, finalize.ExecError):
            code = 127 if e.errno == errno.ENOENT else 126
    finally:
        os._exit(code)


def install_stdio(stdio: tuple[int | None, int | None, int | None], keep: int) -> None:
    """Make the caller's fds our 0, 1, 2 (None: /dev/null), close the rest
    but `keep`: no fd of the runtime, or of a concurrent run, leaks in."""
    high = []
    for fd in stdio:
        if fd is None:
            fd = os.open("/dev/null", os.O_RDWR | os.O_CLOEXEC)
        high.append(fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 3))
    for target, fd in enumerate(high):
        os.dup2(fd, target)
    syscalls.close_from(3, keep=(keep,))


def first_child(run: Steps, chan: Channel, launch: Launch, stdio, prepared) -> int:
    """Process A. Returns the exit code for child_main."""
    run("stdio", install_stdio, stdio, chan.fileno())
    run("signals", finalize.reset_signals)
    run("setsid", os.setsid)
    ns = launch.namespaces
    user_join = [(t, p) for t, p in ns.joins if t == "user"]
    if "user" in ns.new:
        run("unshare user", syscalls.unshare, C.CLONE_NEWUSER)
        chan.send(sync.USERNS)
        run("id maps", chan.expect, sync.MAPPED)
        run("become root", _become_root, launch)
    elif user_join:
        run("join user", namespaces.join, user_join)
    run("join namespaces", namespaces.join, [j for j in ns.joins if j[0] != "user"])
    run("unshare", syscalls.unshare, ns.unshare_flags)
    pid = run("fork", os.fork)
    if pid == 0:
        child_main(container_init, chan, launch, prepared)
    chan.send(sync.PID, pid=pid)
    chan.close()
    return 0  # done: B is reparented to the runtime, which waits for it


def direct_child(run: Steps, chan: Channel, launch: Launch, stdio, prepared) -> int:
    """The container's PID 1 forked by the runtime itself (start.start
    with direct=True: no user namespace to create or join, no PID namespace
    to join, and the runtime's pid_ns_for_children already the new PID
    namespace): A's steps, then B's, in one process."""
    run("stdio", install_stdio, stdio, chan.fileno())
    run("signals", finalize.reset_signals)
    run("join namespaces", namespaces.join, list(launch.namespaces.joins))
    run("unshare", syscalls.unshare, launch.namespaces.unshare_flags & ~C.CLONE_NEWPID)
    return container_init(run, chan, launch, prepared)


def _become_root(launch: Launch) -> None:
    """In the new user namespace, become its root (when mapped) so files we
    create are owned by a mapped id (runc nsexec: setresuid(0, 0, 0))."""
    from rs_docker.runtime.idmap import maps_root

    if maps_root(launch.idmap.gid_maps):
        # Drop the host's supplementary groups (they would show up unmapped,
        # as nogroup); impossible only where setgroups is denied ("self").
        if launch.idmap.method != "self":
            os.setgroups([])
        os.setresgid(0, 0, 0)
    if maps_root(launch.idmap.uid_maps):
        os.setresuid(0, 0, 0)


def container_init(run: Steps, chan: Channel, launch: Launch, prepared) -> int:
    """Process B, the container's PID 1, up to execve. Should the runtime
    die first, B reads EOF where it waits for "go" and exits; from "go" on
    it dies with its supervisor (die_with_parent)."""
    run("setsid", os.setsid)
    config, process = launch.config, launch.process
    joined = Joined(run, chan, launch)
    try:
        # Up to "go" the parent is moving us into the container's cgroup
        # (its first cgroup.procs write may wait for an RCU grace period):
        # work that does not depend on the cgroup overlaps with it.
        if config.get("hostname"):
            run("sethostname", syscalls.sethostname, config["hostname"])
        if config.get("domainname"):
            run("setdomainname", syscalls.setdomainname, config["domainname"])
        if "network" in launch.namespaces.new:
            run("loopback", syscalls.interface_up, "lo")
        # Before the mounts rather than just before the user switch (runc's
        # place): the bounding set only limits what exec and capset may
        # grant, nothing the mounts use, and its prctl calls (one per
        # capability) then overlap with the join instead of delaying the exec.
        run("bounding set", steps.drop_bounding, config, prepared)
        slave = build_rootfs(run, chan, launch, joined)
    except BaseException as e:  # noqa: B036 - reported like child_main does
        if joined.done:
            raise
        joined.fail(e)
        return EXIT_FAILED
    run("pivot_root", mounts.pivot, launch.rootfs)
    if (config.get("root") or {}).get("readonly"):
        run("readonly root", mounts.readonly_root)
    run("sysctl", write_sysctls, (config.get("linux") or {}).get("sysctl") or {})
    run("masked paths", steps.apply_masks, config)
    run("cwd", os.chdir, process.get("cwd") or "/")
    if process.get("oomScoreAdj") is not None:
        run("oom_score_adj", _write, "/proc/self/oom_score_adj", str(process["oomScoreAdj"]))
    if slave is not None:
        from rs_docker.runtime import tty

        uid = int((process.get("user") or {}).get("uid", 0))
        run("console", _own_console, slave, uid)
        run("console", tty.make_controlling, slave)
    finalize.finish(run, config, prepared, chan.fileno(), bounded=True,
                   after_user=lambda: die_with_parent(chan))
    return EXIT_FAILED  # not reached: finish execs or raises


def die_with_parent(chan: Channel) -> None:
    """PR_SET_PDEATHSIG(SIGKILL): PID 1, and with it the container, dies
    with its supervisor (the `run` command, or the monitor of `run -d`)
    instead of running on with nobody to wait for it, relay its output or
    record its exit; runc's init does the same. Armed once the supervisor is
    our parent (A is gone by "go"), and again after the user switch, which
    clears it (commit_creds). A supervisor that died before we armed it has
    closed its end of the sync socket: then we stop here."""
    syscalls.set_pdeathsig(_signal.SIGKILL)
    if chan.hung_up():
        raise OSError(errno.ESRCH, "supervisor: the runtime exited before the container started")


class Joined:
    """B's wait for the parent's "go", sent once B is in the container's
    cgroup; then the cgroup namespace is created, rooted there
    (cgroup_namespaces(7): a new namespace's root is the creator's cgroup)."""

    def __init__(self, run: Steps, chan: Channel, launch: Launch):
        self.run, self.chan, self.launch = run, chan, launch
        self.done = False

    def __call__(self) -> None:
        if self.done:
            return
        self.run("wait for parent", self.chan.expect, sync.GO)
        self.done = True
        self.run("parent death signal", die_with_parent, self.chan)
        if "cgroup" in self.launch.namespaces.new:
            self.run("unshare cgroup", syscalls.unshare, C.CLONE_NEWCGROUP)

    def fail(self, e: BaseException) -> None:
        """Report a failure from before "go", then stay until the parent is
        done with us (its "go", or EOF): it may be writing our PID to
        cgroup.procs, which must not meet an exited process."""
        self.chan.report(self.run.current, e)
        try:
            self.chan.recv()
        except OSError:
            pass


def build_rootfs(run: Steps, chan: Channel, launch: Launch, joined: Joined) -> int | None:
    """Every mount before pivot_root; joined() before the first mount that
    needs the cgroup (launch.go_at, planned by mounts.cgroup_last), or after
    the last mount. Returns the pty slave fd (terminal)."""
    propagation = (launch.config.get("linux") or {}).get("rootfsPropagation")
    flags = mounts.parse_options([propagation]).propagation if propagation else 0
    flags = flags or C.MS_REC | C.MS_PRIVATE
    run("make / private", syscalls.mount, None, "/", None, flags)
    private_tree = flags == C.MS_REC | C.MS_PRIVATE
    run("mount rootfs", mounts.mount_rootfs, launch.rootfs, launch.root_mount)
    for i, m in enumerate(launch.mounts):
        if i == launch.go_at:
            joined()
        run(f"mount {m['destination']}", mount_with_fallback, launch.rootfs, m, launch.userns,
            private_tree)
        if os.path.normpath(m["destination"]) == "/dev":
            run("devices", devices.populate, launch.rootfs, launch.devices,
                launch.userns or os.geteuid() != 0)
    joined()
    if not launch.terminal:
        return None
    from rs_docker.runtime import tty

    master, slave, path = run("open pty", tty.open_pty,
                              mounts.secure_join(launch.rootfs, "/dev/pts"))
    run("console", devices.bind_console, launch.rootfs, path)
    run("send pty", chan.send, sync.PTY, master)
    os.close(master)
    # The parent sets the window size before the command can ask for it.
    run("wait for parent", chan.expect, sync.CONSOLE)
    return slave


def mount_with_fallback(rootfs: str, m: dict, userns: bool, private_tree: bool = False) -> None:
    """mount_entry, with what a user namespace refuses replaced as runc
    rootless does: devpts without gid= when gid 5 is not mapped (EINVAL),
    mqueue and sysfs bound from the host when the kernel says EPERM."""
    try:
        mounts.mount_entry(rootfs, m, userns, private_tree)
    except OSError as e:
        fallback = _fallback(m, e.errno) if userns else None
        if fallback is None:
            raise
        mounts.mount_entry(rootfs, fallback, userns, private_tree)


def _fallback(m: dict, err: int) -> dict | None:
    kind, opts = m.get("type"), list(m.get("options") or [])
    if kind == "devpts" and err == errno.EINVAL and any(o.startswith("gid=") for o in opts):
        return {**m, "options": [o for o in opts if not o.startswith("gid=")]}
    if kind in ("mqueue", "sysfs", "cgroup") and err == errno.EPERM:
        return {**m, "type": "bind", "source": m["destination"],
                "options": ["rbind", "nosuid", "noexec", "nodev"] +
                (["ro"] if kind != "mqueue" else [])}
    return None


def write_sysctls(sysctls: dict) -> None:
    """linux.sysctl: write each under /proc/sys (sysctl(8) names; a dot or a
    slash separates components)."""
    for key, value in sysctls.items():
        parts = key.replace(".", "/").split("/")
        if not key or any(p in ("", ".", "..") for p in parts):
            raise OSError(errno.EINVAL, f"sysctl {key}: invalid name")
        _write("/proc/sys/" + "/".join(parts), str(value))


def _write(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def _own_console(slave: int, uid: int) -> None:
    """The terminal belongs to the container's user (runc fchowns it too)."""
    if uid != 0:
        os.fchown(slave, uid, -1)
