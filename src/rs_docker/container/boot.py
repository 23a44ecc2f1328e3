"""Our own programs in a fresh interpreter: the monitor of a detached
container (monitor.py, started by launch_monitor) and the lean waiter it
becomes (waiter.py).

Each runs as `python -S -c CODE ARGS...`: -S skips site (no .pth files,
no sitecustomize, no user site: nothing of the environment runs in the
process that holds a container), and CODE puts this source tree first on
sys.path, so the program is the code of the rs-docker that started it.
"""

from __future__ import annotations

import os
import sys

from rs_docker import jsonio

# The directory that holds the rs_docker package.
_PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def boot_code(module: str) -> str:
    """`python -S -c` code that runs `module`.main(sys.argv[1:]) from this source tree."""
    return (f"import sys; sys.path.insert(0, {_PACKAGE_PARENT!r}); "
            f"from {module} import main; main(sys.argv[1:])")


def python_argv(module: str, args: list[str]) -> list[str]:
    """The argv that runs `module`.main(args) in a fresh `python -S`."""
    return [sys.executable, "-S", "-c", boot_code(module), *args]


def launch_monitor(root: str, container_id: str) -> dict:
    """Start a monitor for the container (monitor.py, whose docstring says
    how); its start report."""
    r, w = os.pipe()
    argv = python_argv("rs_docker.container.monitor", [root, container_id, str(w)])
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            os.close(r)
            os.setsid()
            if os.fork() == 0:
                _exec_monitor(argv, w)
        finally:
            os._exit(0)
    os.close(w)
    os.waitpid(pid, 0)
    with os.fdopen(r, "rb") as f:
        data = f.read()
    try:
        return jsonio.loads(data)
    except ValueError:
        return {"error": "container monitor exited before starting the container", "code": 125}


def _exec_monitor(argv: list[str], status_fd: int) -> None:  # pragma: no cover - child
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.closerange(3, status_fd)
    os.closerange(status_fd + 1, 1 << 16)
    os.set_inheritable(status_fd, True)
    os.chdir("/")
    os.execv(argv[0], argv)
