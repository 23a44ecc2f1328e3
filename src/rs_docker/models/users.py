"""Resolve `-u name|uid[:group|gid]` against an image's /etc/passwd and
/etc/group text, the way runc and Docker do (moby/sys/user GetExecUser):

- no user: uid 0 and the passwd entry of uid 0 (or gid 0, HOME /);
- a numeric uid need not exist in passwd; a name must;
- an explicit group sets the gid (a name must exist in /etc/group);
- without an explicit group, the supplementary groups are the groups of
  /etc/group that list the matched user name as a member.
"""

from __future__ import annotations

from rs_docker.errors import UsageError
from rs_docker.values import record

MAX_ID = 2**31 - 1  # moby/sys/user: ids must be within [0, MaxInt32]


class UserNotFound(UsageError):
    """-u names a user or group the image does not have."""


@record
class PasswdEntry:
    name: str
    uid: int
    gid: int
    home: str


@record
class GroupEntry:
    name: str
    gid: int
    members: tuple[str, ...]


@record
class ExecUser:
    """Who the container process runs as."""

    uid: int = 0
    gid: int = 0
    additional_gids: tuple[int, ...] = ()
    home: str = "/"


def _int(text: str) -> int | None:
    return int(text) if text.isdigit() else None


def parse_passwd(text: str) -> list[PasswdEntry]:
    """name:password:uid:gid:gecos:home:shell; malformed lines are skipped."""
    out = []
    for line in text.splitlines():
        fields = line.strip().split(":")
        if len(fields) < 4 or line.startswith("#"):
            continue
        uid, gid = _int(fields[2]), _int(fields[3])
        if uid is None or gid is None:
            continue
        home = fields[5] if len(fields) > 5 else ""
        out.append(PasswdEntry(fields[0], uid, gid, home))
    return out


def parse_group(text: str) -> list[GroupEntry]:
    """name:password:gid:member,member; malformed lines are skipped."""
    out = []
    for line in text.splitlines():
        fields = line.strip().split(":")
        if len(fields) < 3 or line.startswith("#"):
            continue
        gid = _int(fields[2])
        if gid is None:
            continue
        members = tuple(m for m in (fields[3].split(",") if len(fields) > 3 else ()) if m)
        out.append(GroupEntry(fields[0], gid, members))
    return out


def _check_range(value: int, what: str) -> int:
    if value > MAX_ID:
        raise UsageError(f"{what} {value} is out of range")
    return value


def resolve_user(spec: str | None, passwd: str | None, group: str | None) -> ExecUser:
    """The ExecUser for `spec` (None or "" means the image default, root).
    `passwd`/`group` are the files' text, None when the image has none.
    Raises UserNotFound with Docker's wording."""
    user_arg, _, group_arg = (spec or "").partition(":")
    users = parse_passwd(passwd or "")
    uid_num = _int(user_arg)
    if not user_arg:
        match = next((u for u in users if u.uid == 0), None)
    elif uid_num is not None:
        match = next((u for u in users if u.uid == uid_num), None)
    else:
        match = next((u for u in users if u.name == user_arg), None)
        if match is None:
            raise UserNotFound(f"unable to find user {user_arg}: "
                               f"no matching entries in passwd file")
    uid, gid, home = (match.uid, match.gid, match.home) if match else (0, 0, "/")
    if match is None and uid_num is not None:
        uid = _check_range(uid_num, "uid")
    extra: tuple[int, ...] = ()
    if group_arg:
        gid = _explicit_group(group_arg, parse_group(group or ""))
    elif match is not None:
        extra = tuple(g.gid for g in parse_group(group or "") if match.name in g.members)
    return ExecUser(uid, gid, extra, home or "/")


def _explicit_group(group_arg: str, groups: list[GroupEntry]) -> int:
    gid_num = _int(group_arg)
    if gid_num is not None:
        found = next((g for g in groups if g.gid == gid_num), None)
        return found.gid if found else _check_range(gid_num, "gid")
    found = next((g for g in groups if g.name == group_arg), None)
    if found is None:
        raise UserNotFound(f"unable to find group {group_arg}: no matching entries in group file")
    return found.gid
