"""/proc/[pid]/stat, read for the two fields we use (proc(5)): the state
(field 3) and the start time (field 22, clock ticks after boot), which
tells a process apart from a later one with the same PID."""

from __future__ import annotations


def fields(pid: int) -> list[str]:
    """The fields from the state (field 3) on. The command name (field 2)
    may hold spaces and ")": the split is after the last ")". OSError
    (FileNotFoundError, ProcessLookupError) when there is no such process."""
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()


def start_ticks(pid: int) -> int:
    """Field 22: the start time in clock ticks after boot."""
    return int(fields(pid)[19])
