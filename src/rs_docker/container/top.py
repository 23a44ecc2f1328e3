"""`top`: the processes of a running container, as the host's `ps` shows
them, keeping the rows whose PID is in the container's cgroup (moby
daemon/top_unix.go: ps run with the user's options, default -ef, the PID
column found by its title, the last column taking the rest of the line).
PIDs are the host's, as Docker prints them."""

from __future__ import annotations

from rs_docker.container import lifecycle, pause
from rs_docker.context import Context
from rs_docker.errors import Conflict, RuntimeFailure


class TopRefused(Conflict):
    exit_code = 1


def parse_ps(output: str, pids: set[int]) -> tuple[list[str], list[list[str]]]:
    """Titles and the rows of `pids` from ps output (moby parsePSOutput)."""
    lines = output.splitlines()
    if not lines:
        raise RuntimeFailure("ps printed nothing")
    titles = lines[0].split()
    if "PID" not in titles:
        raise RuntimeFailure("Couldn't find PID field in ps output")
    at = titles.index("PID")
    rows = []
    for line in lines[1:]:
        fields = line.split()
        if len(fields) < len(titles):
            continue
        try:
            pid = int(fields[at])
        except ValueError:
            continue
        if pid in pids:
            rows.append(fields[:len(titles) - 1] + [" ".join(fields[len(titles) - 1:])])
    return titles, rows


def top(ctx: Context, container_id: str, ps_args: list[str]) -> tuple[list[str], list[list[str]]]:
    """(titles, rows) of the container's processes."""
    import subprocess

    from rs_docker.runtime.cgroups import stat

    record = lifecycle.refresh(ctx, container_id)
    if not lifecycle.is_running(record):
        raise TopRefused(f"Container {container_id} is not running")
    paths, _version = pause.cgroup_paths(ctx, container_id)
    pids = set(stat.tasks(paths))
    try:
        proc = subprocess.run(["ps", *(ps_args or ["-ef"])], capture_output=True, text=True,
                              timeout=30)
    except FileNotFoundError:
        raise RuntimeFailure("ps: not found: install the procps package") from None
    if proc.returncode != 0:
        raise TopRefused(f"ps: {proc.stderr.strip() or 'exit status ' + str(proc.returncode)}")
    return parse_ps(proc.stdout, pids)
