"""Our own programs in a fresh interpreter: the monitor of a detached
container (monitor.py) and the lean waiter it becomes (waiter.py).

Each runs as `python -S -c CODE ARGS...`: -S skips site (no .pth files,
no sitecustomize, no user site: nothing of the environment runs in the
process that holds a container), and CODE puts this source tree first on
sys.path, so the program is the code of the rs-docker that started it.
"""

from __future__ import annotations

import os
import sys

# The directory that holds the rs_docker package.
_PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def boot_code(module: str) -> str:
    """`python -S -c` code that runs `module`.main(sys.argv[1:]) from this source tree."""
    return (f"import sys; sys.path.insert(0, {_PACKAGE_PARENT!r}); "
            f"from {module} import main; main(sys.argv[1:])")


def python_argv(module: str, args: list[str]) -> list[str]:
    """The argv that runs `module`.main(args) in a fresh `python -S`."""
    return [sys.executable, "-S", "-c", boot_code(module), *args]
