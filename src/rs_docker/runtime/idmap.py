"""uid/gid maps of a new user namespace, written by the parent
(user_namespaces(7) "User and group ID mappings: uid_map and gid_map").

Plan as data, then apply: a privileged parent (CAP_SETUID/CAP_SETGID in
its own namespace, i.e. root) writes any mapping straight into
/proc/PID/{uid,gid}_map. An unprivileged one may only map its own id, once,
and must first write "deny" to /proc/PID/setgroups (Linux 3.19,
CVE-2014-8989); anything else goes through the setuid helpers
newuidmap(1)/newgidmap(1), which check /etc/subuid and /etc/subgid.
"""

from __future__ import annotations

from rs_docker.errors import RuntimeFailure
from rs_docker.values import record

Mapping = tuple[int, int, int]  # (containerID, hostID, size)


@record
class IdMapPlan:
    uid_maps: tuple[Mapping, ...]
    gid_maps: tuple[Mapping, ...]
    method: str  # "write" (privileged), "self" (own id, setgroups deny), "helper"

    @property
    def setgroups_deny(self) -> bool:
        return self.method == "self"


def parse(entries) -> tuple[Mapping, ...]:
    """runtime-spec uidMappings/gidMappings -> validated (container, host, size)."""
    out = []
    for e in entries or []:
        try:
            m = (int(e["containerID"]), int(e["hostID"]), int(e["size"]))
        except (KeyError, TypeError, ValueError):
            raise RuntimeFailure(f"config: invalid id mapping {e!r}") from None
        if min(m) < 0 or m[2] == 0 or max(m[0] + m[2], m[1] + m[2]) > 2**32:
            raise RuntimeFailure(f"config: invalid id mapping {e!r}")
        out.append(m)
    return tuple(out)


def plan(config: dict, euid: int, egid: int) -> IdMapPlan:
    linux = config.get("linux") or {}
    uids, gids = parse(linux.get("uidMappings")), parse(linux.get("gidMappings"))
    if not uids or not gids:
        raise RuntimeFailure("config: a user namespace needs uidMappings and gidMappings")
    if euid == 0:
        method = "write"
    elif _only_self(uids, euid) and _only_self(gids, egid):
        method = "self"
    else:
        method = "helper"
    return IdMapPlan(uids, gids, method)


def _only_self(maps: tuple[Mapping, ...], own: int) -> bool:
    return len(maps) == 1 and maps[0][1] == own and maps[0][2] == 1


def map_text(maps: tuple[Mapping, ...]) -> str:
    return "".join(f"{c} {h} {s}\n" for c, h, s in maps)


def helper_args(tool: str, pid: int, maps: tuple[Mapping, ...]) -> list[str]:
    """newuidmap PID ID LOWERID COUNT [...] (newuidmap(1))."""
    return [tool, str(pid)] + [str(n) for m in maps for n in m]


def maps_root(maps: tuple[Mapping, ...]) -> bool:
    """True when container id 0 is mapped (so the child can become root)."""
    return any(c == 0 for c, _h, _s in maps)


def apply(p: IdMapPlan, pid: int) -> None:
    """Write the maps of process `pid` (which has just unshared CLONE_NEWUSER)."""
    if p.method == "helper":
        _run_helper("newuidmap", pid, p.uid_maps)
        _run_helper("newgidmap", pid, p.gid_maps)
        return
    if p.setgroups_deny:
        _write(f"/proc/{pid}/setgroups", "deny")
    _write(f"/proc/{pid}/gid_map", map_text(p.gid_maps))
    _write(f"/proc/{pid}/uid_map", map_text(p.uid_maps))


def _write(path: str, text: str) -> None:
    try:
        with open(path, "w") as f:
            f.write(text)
    except OSError as e:
        raise RuntimeFailure(f"write {path}: {(e.strerror or str(e)).lower()}") from None


def _run_helper(tool: str, pid: int, maps: tuple[Mapping, ...]) -> None:
    import shutil
    import subprocess

    exe = shutil.which(tool)
    if exe is None:
        raise RuntimeFailure(f"{tool}: not found (install the uidmap package)",
                             hint="or map only your own uid and gid")
    res = subprocess.run(helper_args(exe, pid, maps), capture_output=True, text=True)
    if res.returncode != 0:
        why = (res.stderr.strip().splitlines() or ["failed"])[-1]
        raise RuntimeFailure(f"{tool} {pid}: {why}")
