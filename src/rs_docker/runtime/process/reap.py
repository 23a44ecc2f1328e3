"""Reaping the container's PID 1, which is the runtime's child once process
A has exited (start.py). Its own module so that the monitor's waiting
program (container/waiter.py) can reap without importing the runtime."""

from __future__ import annotations

import os


def exit_code(pidfd: int) -> int:
    """Reap our child `pidfd`; Docker's encoding: exit N -> N, killed by S -> 128+S."""
    info = os.waitid(os.P_PIDFD, pidfd, os.WEXITED)
    return info.si_status if info.si_code == os.CLD_EXITED else 128 + info.si_status
