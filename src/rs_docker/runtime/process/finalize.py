"""The last steps before the container command runs, shared by `run` and
`exec`: security hooks and the user switch in runc's order, PATH lookup
inside the container, fd hygiene, then execve(2).

Order (runc libcontainer/init_linux.go finalizeNamespace, standard_init):
rlimits, capability bounding set (needs CAP_SETPCAP, so before the uid
change), PR_SET_KEEPCAPS, groups/gid/uid, the remaining capability sets,
no_new_privs, and seccomp last so its filter does not have to allow the
runtime's own system calls.
"""

from __future__ import annotations

import errno
import os

from rs_docker.cpython import signal as _signal
from rs_docker.linux import syscalls
from rs_docker.runtime.process import trampoline
from rs_docker.runtime.security import steps

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class ExecError(OSError):
    """An exec failure with Docker's wording (`exec: "x": ...`)."""


def env_dict(env: list[str] | None) -> dict[str, str]:
    out = {}
    for item in env or []:
        key, sep, value = item.partition("=")
        if sep and key:
            out[key] = value
    return out


def resolve(name: str, env: dict[str, str]) -> str:
    """The file to execve for args[0], like Go's exec.LookPath (what runc
    uses): a name with a slash is used as is, else each $PATH entry is tried
    for an executable regular file."""
    if "/" in name:
        _check_executable(name, name)
        return name
    for d in (env.get("PATH") or DEFAULT_PATH).split(":"):
        candidate = os.path.join(d or ".", name)
        try:
            _check_executable(candidate, name)
            return candidate
        except ExecError:
            continue
    raise ExecError(errno.ENOENT, f'exec: "{name}": executable file not found in $PATH')


def _check_executable(path: str, name: str) -> None:
    try:
        st = os.stat(path)
    except OSError as e:
        raise ExecError(e.errno, f'exec: "{name}": stat {path}: '
                                 f'{os.strerror(e.errno).lower()}') from None
    if (st.st_mode & 0o170000) == 0o040000 or not st.st_mode & 0o111:
        raise ExecError(errno.EACCES, f'exec: "{name}": permission denied')


def switch_user(user: dict) -> None:
    """setgroups, setgid, setuid (in that order: dropping uid 0 first would
    forbid the rest). setgroups is skipped where the kernel forbids it
    (/proc/self/setgroups is "deny" in an unprivileged user namespace)."""
    uid, gid = int(user.get("uid", 0)), int(user.get("gid", 0))
    if _setgroups_allowed():
        os.setgroups([int(g) for g in user.get("additionalGids") or []])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)


def _setgroups_allowed() -> bool:
    # os.open, not open(): a forked child's first text-mode open() copies
    # the io stack's objects on write; os.open and os.read touch none.
    try:
        fd = os.open("/proc/self/setgroups", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return True
    try:
        return os.read(fd, 64).strip() != b"deny"
    except OSError:
        return True
    finally:
        os.close(fd)


def reset_signals() -> None:
    """Default dispositions and an empty mask: execve keeps ignored signals
    ignored, and Python ignores SIGPIPE and SIGXFSZ (signal(7), execve(2)).
    runc and crun reset every signal; Python's table (getsignal) already
    knows each disposition, read from the kernel at start-up or set since,
    so only the ones that are not SIG_DFL cost a sigaction(2): SIGPIPE,
    SIGXFSZ, SIGINT, the forwarder's handlers and whatever the caller
    inherited or set (nohup's SIGHUP)."""
    dfl = _signal.SIG_DFL
    for sig in range(1, _signal.NSIG):
        if sig in (_signal.SIGKILL, _signal.SIGSTOP):
            continue
        if _signal.SIGSYS < sig < _signal.SIGRTMIN:
            # glibc's own (32, 33): its wrapper refuses them, Python's table
            # does not know them, and `make` hands them down ignored.
            try:
                syscalls.default_signal(sig)
            except OSError:
                pass
            continue
        try:
            if _signal.getsignal(sig) != dfl:
                _signal.signal(sig, dfl)
        except (OSError, ValueError):
            pass
    _signal.pthread_sigmask(_signal.SIG_SETMASK, [])


def finish(run, config: dict, prepared, report_fd: int, *, bounded: bool = False,
           after_user=None, mode: str = trampoline.MODE_EXEC) -> None:
    """Become the container command (mode "x"), or spawn it as our parent's
    child (modes "s", "t": exec), through the trampoline. Never returns:
    execve or an exception. report_fd: the sync socket, for the
    trampoline's report; bounded: the caller has dropped the bounding set
    already; after_user: called once the user is switched (what the switch
    reset, re-armed)."""
    process = config["process"]
    user = process.get("user") or {}
    run("rlimits", steps.apply_rlimits, config)
    if not bounded:
        run("bounding set", steps.drop_bounding, config, prepared)
    run("keep caps", steps.keep_caps)
    run("user", switch_user, user)
    if after_user is not None:
        run("parent death signal", after_user)
    run("capabilities", steps.apply_caps, config, prepared)
    run("no_new_privs", steps.set_no_new_privs, config)
    run("umask", os.umask, int(user.get("umask", 0o022)))
    env = env_dict(process.get("env"))
    path = run("exec", resolve, process["args"][0], env)
    memfd = run("trampoline", trampoline.load)
    run("signals", reset_signals)
    run("close fds", syscalls.cloexec_from, 3)
    run("seccomp", steps.load_seccomp, prepared)
    run.current = "exec"
    try:
        trampoline.execute(memfd, mode, path, process["args"], env, report_fd)
    except OSError as e:
        raise ExecError(e.errno, f'exec: "{process["args"][0]}": '
                                 f"{os.strerror(e.errno).lower()}") from None
