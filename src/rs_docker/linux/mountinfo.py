"""/proc/[pid]/mountinfo, parsed once for everyone who reads it (cgroup
layout detection, `exec`'s cgroup join, the container's /sys/fs/cgroup).

proc(5): `id parent maj:min root mountpoint options [optional...] -
fstype source superoptions`, one mount a line; the optional fields end at
the lone "-". Paths escape space, tab, newline and backslash as \\ooo.
"""

from __future__ import annotations

from rs_docker.values import record


@record
class MountEntry:
    mount_point: str
    root: str          # the path of the mounted directory inside its filesystem
    fstype: str
    super_options: tuple[str, ...]


def parse(text: str) -> list[MountEntry]:
    """Every well-formed line of mountinfo `text`, in order; others are skipped."""
    entries = []
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        if not sep:
            continue
        fields, tail = left.split(), right.split()
        if len(fields) < 5 or len(tail) < 3:
            continue
        entries.append(MountEntry(_unescape(fields[4]), _unescape(fields[3]), tail[0],
                                  tuple(tail[2].split(","))))
    return entries


def read(pid: int | str = "self") -> list[MountEntry]:
    """The mounts process `pid` sees. OSError if it cannot be read."""
    with open(f"/proc/{pid}/mountinfo") as f:
        return parse(f.read())


def _unescape(field: str) -> str:
    """Undo the \\ooo octal escapes. Split on the backslashes rather than `re`
    (enum and functools with it), which the run path does not import."""
    if "\\" not in field:
        return field
    head, *rest = field.split("\\")
    out = [head]
    for part in rest:
        code = part[:3]
        if len(code) == 3 and all(c in "01234567" for c in code):
            out.append(chr(int(code, 8)) + part[3:])
        else:
            out.append("\\" + part)
    return "".join(out)
