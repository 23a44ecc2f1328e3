"""Rootless containers: the id maps of an unprivileged user's containers,
the host checks that say whether it can have any, and a way to act on
files the container's other ids own.

Id maps (podman's default, containers/storage pkg/idtools): container root
is the user itself; with a range for the user in /etc/subuid and
/etc/subgid (subuid(5)), container ids 1..N map onto that range through
the setuid helpers newuidmap(1)/newgidmap(1). Without one, the single
mapping "0 <uid> 1" is all an unprivileged process may write itself, after
"deny" in /proc/PID/setgroups (user_namespaces(7), CVE-2014-8989).

Image files: layers are unpacked as the user (no chown is possible to ids
we do not own), so inside the container every image file is owned by root;
image/unpack.py keeps each entry's tar owner in the xattr
user.rsdocker.override_stat for tools that want it (containers/storage
does the same with ignore_chown_errors; fuse-overlayfs keeps
user.fuseoverlayfs.override_stat). Running the whole unpack inside the
user namespace (podman) would keep real owners for the ids the range
covers, but ties every pull to a working newuidmap and a range.
"""

from __future__ import annotations

import os
import pwd
import shutil
from collections.abc import Callable

from rs_docker.errors import RuntimeFailure, UsageError

Mapping = dict  # runtime-spec {"containerID", "hostID", "size"}
SUBUID, SUBGID = "/etc/subuid", "/etc/subgid"


# -- host checks ----------------------------------------------------------------

def check_userns_allowed(proc_sys: str = "/proc/sys") -> None:
    """Raise a one-line RuntimeFailure when the host forbids unprivileged user
    namespaces: Debian's kernel.unprivileged_userns_clone = 0, or
    user.max_user_namespaces = 0 (namespaces(7) "/proc/sys/user")."""
    clone = _read_int(f"{proc_sys}/kernel/unprivileged_userns_clone")
    if clone == 0:
        raise RuntimeFailure("rootless: user namespaces are disabled on this host "
                             "(kernel.unprivileged_userns_clone = 0): run as root")
    if _read_int(f"{proc_sys}/user/max_user_namespaces") == 0:
        raise RuntimeFailure("rootless: user namespaces are disabled on this host "
                             "(user.max_user_namespaces = 0): run as root")


def _read_int(path: str) -> int | None:
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


# -- id maps ------------------------------------------------------------------------

def parse_subid(text: str, name: str, uid: int) -> list[tuple[int, int]]:
    """(start, count) ranges of subuid(5)/subgid(5) lines "owner:start:count"
    whose owner is the user's name or numeric id; malformed lines skipped."""
    out = []
    for line in text.splitlines():
        parts = line.strip().split(":")
        if len(parts) != 3 or parts[0] not in (name, str(uid)):
            continue
        try:
            start, count = int(parts[1]), int(parts[2])
        except ValueError:
            continue
        if start >= 0 and count > 0:
            out.append((start, count))
    return out


def id_mappings(own: int, ranges: list[tuple[int, int]]) -> list[Mapping]:
    """Container 0 -> `own`; container 1.. -> each range in turn."""
    maps = [{"containerID": 0, "hostID": own, "size": 1}]
    next_id = 1
    for start, count in ranges:
        maps.append({"containerID": next_id, "hostID": start, "size": count})
        next_id += count
    return maps


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def user_mappings(uid: int | None = None, gid: int | None = None,
                  subuid: str = SUBUID, subgid: str = SUBGID) -> tuple[list, list]:
    """(uidMappings, gidMappings) for the calling user. Ranges are used only
    when both files have one and newuidmap/newgidmap are installed."""
    uid = os.getuid() if uid is None else uid
    gid = os.getgid() if gid is None else gid
    try:
        name = pwd.getpwuid(uid).pw_name
    except KeyError:
        name = str(uid)
    uranges = parse_subid(_read(subuid), name, uid)
    granges = parse_subid(_read(subgid), name, uid)
    helpers = shutil.which("newuidmap") and shutil.which("newgidmap")
    if not (uranges and granges and helpers):
        uranges = granges = []
    return id_mappings(uid, uranges), id_mappings(gid, granges)


def check_mapped(user_uid: int, user_gid: int, uid_maps: list, gid_maps: list) -> None:
    """A container user outside the maps could never be switched to
    (setresuid(2): EINVAL): say so before starting."""
    for what, value, maps, file in (("uid", user_uid, uid_maps, SUBUID),
                                    ("gid", user_gid, gid_maps, SUBGID)):
        if not any(m["containerID"] <= value < m["containerID"] + m["size"] for m in maps):
            raise UsageError(f"rootless: container {what} {value} is not mapped: "
                             f"only root is, without a range in {file} for this user")


def spec_additions(uid_maps: list, gid_maps: list) -> dict:
    """What a rootless config.json adds to linux: the maps (the user
    namespace itself is listed with the others)."""
    return {"uidMappings": uid_maps, "gidMappings": gid_maps}


# -- acting as the container's ids ------------------------------------------------

def run_in_userns(uid_maps: list, gid_maps: list, fn: Callable[[], None]) -> None:
    """Run fn() in a forked child that is root of a new user namespace with
    these maps (e.g. to remove files a container's uid 1000 made, which the
    host user cannot). Raises RuntimeFailure when fn fails."""
    from rs_docker.runtime import idmap
    from rs_docker.runtime.process import sync
    from rs_docker.runtime.process.sync import Channel, ChildError, ChildGone, check

    plan = idmap.plan({"linux": {"uidMappings": uid_maps, "gidMappings": gid_maps}},
                      os.geteuid(), os.getegid())
    parent, child = Channel.pair()
    pid = os.fork()
    if pid == 0:
        from rs_docker.runtime.process.init import child_main

        child_main(_userns_body, child, plan, fn)
    child.close()
    try:
        msg, _ = parent.recv()
        check(msg, sync.USERNS)
        idmap.apply(plan, pid)
        parent.send(sync.MAPPED)
        msg, _ = parent.recv()
        if msg is not None:
            check(msg, sync.DONE)
    except ChildError as e:
        raise RuntimeFailure(e.message) from None
    except ChildGone:
        raise RuntimeFailure("rootless helper exited early") from None
    finally:
        parent.close()
        os.waitpid(pid, 0)


def _userns_body(run, chan, plan, fn) -> int:
    from rs_docker.linux import constants as C
    from rs_docker.linux import syscalls
    from rs_docker.runtime.process import sync  # loaded by run_in_userns before the fork

    run("unshare user", syscalls.unshare, C.CLONE_NEWUSER)
    chan.send(sync.USERNS)
    run("id maps", chan.expect, sync.MAPPED)
    if plan.method != "self":
        run("setgroups", os.setgroups, [])
    run("become root", os.setresgid, 0, 0, 0)
    run("become root", os.setresuid, 0, 0, 0)
    run("act", fn)
    chan.send(sync.DONE)
    return 0


def make_rootless(config: dict) -> None:
    """Turn a container's config.json into its rootless form, in place: a
    new user namespace first, with the caller's maps; the container user
    must be one of the mapped ids."""
    check_userns_allowed()
    linux = config.setdefault("linux", {})
    uid_maps, gid_maps = user_mappings()
    user = (config.get("process") or {}).get("user") or {}
    check_mapped(int(user.get("uid", 0)), int(user.get("gid", 0)), uid_maps, gid_maps)
    mapped_gids = [g for g in user.get("additionalGids") or []
                   if any(m["containerID"] <= g < m["containerID"] + m["size"]
                          for m in gid_maps)]
    user["additionalGids"] = mapped_gids  # setgroups(2) refuses unmapped gids
    namespaces = [n for n in linux.get("namespaces") or [] if n.get("type") != "user"]
    linux["namespaces"] = [{"type": "user"}, *namespaces]
    linux.update(spec_additions(uid_maps, gid_maps))
