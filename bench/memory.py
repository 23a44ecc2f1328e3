"""Memory cost of idle detached containers: start N with --start (a command
line that prints the new container's id and whose container runs
`sleep SECONDS`), find each container's init process by that unique command
line, and measure the processes that keep it company outside the container
(rs-docker's monitor, podman's conmon): every ancestor of the init that lives
in the host's PID namespace, up to (not including) PID 1 and this script.

usage: memory.py --label NAME --n 20 --start CMD --remove CMD --out FILE.json

RSS comes from /proc/PID/status (VmRSS); PSS from /proc/PID/smaps_rollup, which
splits shared pages (libpython, libc) among the processes mapping them
(proc(5)). Afterwards the containers are removed with `--remove ID...`; if
that fails, the processes this script found are killed by PID.
Exit status 1 with one line on stderr when the tool cannot start containers.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import statistics
import subprocess
import sys
import time

HOST_PIDNS = os.readlink("/proc/self/ns/pid")


def read(path: str) -> str:
    with open(path) as f:
        return f.read()


def ppid_of(pid: int) -> int:
    # Field 4 of /proc/PID/stat, after the parenthesised comm (which may hold spaces).
    return int(read(f"/proc/{pid}/stat").rsplit(")", 1)[1].split()[1])


def kib(pid: int, path: str, key: str) -> int:
    for line in read(f"/proc/{pid}/{path}").splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def container_inits(argv: list[str]) -> list[int]:
    """PIDs (host view) whose command line is `argv`, in another PID namespace."""
    want = "\0".join(argv) + "\0"
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            if read(f"/proc/{name}/cmdline") == want and \
                    os.readlink(f"/proc/{name}/ns/pid") != HOST_PIDNS:
                found.append(int(name))
        except OSError:
            continue  # exited meanwhile
    return found


def companions(init: int) -> list[int]:
    """Ancestors of a container's init in the host PID namespace (its monitor)."""
    stop = {0, 1, os.getpid(), os.getppid()}
    chain, pid = [], ppid_of(init)
    while pid not in stop:
        if os.readlink(f"/proc/{pid}/ns/pid") == HOST_PIDNS:
            chain.append(pid)
        pid = ppid_of(pid)
    return chain


def measure(pids: list[int]) -> dict:
    return {
        "pids": pids,
        "comm": [read(f"/proc/{p}/comm").strip() for p in pids],
        "rss_kib": sum(kib(p, "status", "VmRSS") for p in pids),
        "pss_kib": sum(kib(p, "smaps_rollup", "Pss") for p in pids),
    }


def start(cmd: str, n: int) -> tuple[list[str], float]:
    ids, t0 = [], time.monotonic()
    for _ in range(n):
        r = subprocess.run(shlex.split(cmd), capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            lines = [ln for ln in r.stderr.splitlines() if ln.strip()] or [f"exit {r.returncode}"]
            raise RuntimeError(f"{cmd}: {lines[-1]}")
        ids.append(r.stdout.strip().splitlines()[-1])
    return ids, time.monotonic() - t0


def wait_for_inits(argv: list[str], n: int, timeout: float = 10.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while True:
        inits = container_inits(argv)
        if len(inits) >= n or time.monotonic() > deadline:
            return inits
        time.sleep(0.1)


def cleanup(remove: str, ids: list[str], pids: list[int]) -> None:
    r = subprocess.run(shlex.split(remove) + ids, capture_output=True, timeout=120) if ids else None
    if r is None or r.returncode != 0:
        for pid in pids:  # only the processes found above
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--label", required=True)
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--start", required=True, help="command line ending in `sleep SECONDS`")
    ap.add_argument("--remove", required=True, help="command line; container ids are appended")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    argv = shlex.split(a.start)[-2:]  # ["sleep", "SECONDS"]: unique per tool
    if container_inits(argv):
        print(f"{a.label}: containers running `{' '.join(argv)}` already exist", file=sys.stderr)
        return 1
    ids: list[str] = []
    inits: list[int] = []
    per: list[dict] = []
    try:
        ids, took = start(a.start, a.n)
        inits = wait_for_inits(argv, a.n)
        if len(inits) != a.n:
            raise RuntimeError(f"{len(inits)} of {a.n} containers running `{' '.join(argv)}`")
        time.sleep(1.0)  # let monitors settle (lazy imports, freed start-up memory)
        per = [measure(companions(p)) for p in inits]
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        print(f"{a.label}: {e}", file=sys.stderr)
        return 1
    finally:
        found = inits + [p for m in per for p in m["pids"]]
        cleanup(a.remove, ids, found)
    rss = [m["rss_kib"] for m in per]
    pss = [m["pss_kib"] for m in per]
    result = {
        "label": a.label, "n": a.n, "start_seconds": took,
        "processes_per_container": statistics.median(len(m["pids"]) for m in per),
        "comm": sorted({c for m in per for c in m["comm"]}),
        "rss_kib_sum": sum(rss), "rss_kib_median": statistics.median(rss),
        "pss_kib_sum": sum(pss), "pss_kib_median": statistics.median(pss),
        "per_container": per,
    }
    with open(a.out, "w") as f:
        json.dump(result, f, indent=1)
    print(f"{a.label}: {a.n} containers, monitor RSS sum {sum(rss) / 1024:.1f} MiB, "
          f"median {statistics.median(rss) / 1024:.2f} MiB ({', '.join(result['comm'])})",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
