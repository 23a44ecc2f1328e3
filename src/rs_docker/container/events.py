"""The event log: what `rs-docker events` prints, without a daemon to keep
it in memory.

Each command that changes a container or an image appends one event to
`<root>/events.jsonl`, one JSON object a line in Docker's shape (API 1.43
`/events`): `Type`, `Action`, `Actor` {`ID`, `Attributes`}, `scope`,
`time`, `timeNano`, and for containers and images the older `status`,
`id` (and `from`, a container's image). An event is one `write(2)` on an
`O_APPEND` descriptor, so events of concurrent commands never interleave
inside a line. Past MAX_BYTES the log is renamed to `events.jsonl.1`
(the one older generation kept; a reader reads both).

Recording is best effort: a command never fails because its event could
not be written (a full or read-only store). emit() is on every `run`'s
path, so this module imports only os, time and rs_docker.jsonio (no json:
docs/ARCHITECTURE.md, Start-up rules); reading and filtering are in the
functions `events` calls.
"""

from __future__ import annotations

import os
import time

from rs_docker import jsonio

LOG = "events.jsonl"
OLD = LOG + ".1"
MAX_BYTES = 4 * 1024 * 1024   # then rotated: about 15000 container events kept per generation
_APPEND = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
_fd: dict[str, int] = {}       # log path -> descriptor open in this process


def _root(ctx) -> str:
    return ctx if isinstance(ctx, str) else str(ctx.root)


def container_attributes(record: dict, **extra) -> dict:
    """A container event's Attributes as Docker gives them: its labels,
    `image` (as the user named it) and `name`, plus `extra` (exitCode,
    signal, newName...)."""
    config = record.get("Config") or {}
    attrs = {str(k): str(v) for k, v in (config.get("Labels") or {}).items()}
    attrs["image"] = str(config.get("Image") or record.get("Image") or "")
    attrs["name"] = str(record.get("Name") or "").removeprefix("/")
    attrs.update({k: str(v) for k, v in extra.items()})
    return attrs


def event(type_: str, action: str, actor_id: str, attributes: dict | None = None,
          ns: int | None = None) -> dict:
    """One event in Docker's shape (events.Message)."""
    ns = time.time_ns() if ns is None else ns
    attrs = dict(attributes or {})
    message: dict = {}
    if type_ in ("container", "image"):
        message["status"] = action
        message["id"] = actor_id
        if type_ == "container" and "image" in attrs:
            message["from"] = attrs["image"]
    message.update({"Type": type_, "Action": action,
                    "Actor": {"ID": actor_id, "Attributes": attrs},
                    "scope": "local", "time": ns // 1_000_000_000, "timeNano": ns})
    return message


def emit(ctx, type_: str, action: str, actor_id: str, attributes: dict | None = None) -> None:
    """Append one event (ctx: a Context or the store root). Never raises
    for the log's sake: the command's own result matters more."""
    root = _root(ctx)
    line = jsonio.dumps(event(type_, action, actor_id, attributes)) + "\n"
    try:
        fd = _open(os.path.join(root, LOG))
        os.write(fd, line.encode())
        if os.fstat(fd).st_size > MAX_BYTES:
            _rotate(root, fd)
    except (OSError, ValueError):
        pass


def _open(path: str) -> int:
    fd = _fd.get(path)
    if fd is None:
        fd = _fd[path] = os.open(path, _APPEND, 0o600)
    return fd


def _rotate(root: str, fd: int) -> None:
    """Rename a full log to OLD, once: under an flock on it, and only if the
    name still points at the file this process wrote (another may have
    rotated it meanwhile)."""
    import fcntl

    path = os.path.join(root, LOG)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return  # another process is rotating it
    try:
        st = os.fstat(fd)
        if os.stat(path).st_ino == st.st_ino:
            os.rename(path, os.path.join(root, OLD))
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(_fd.pop(path))


# -- reading ---------------------------------------------------------------------

def parse_lines(data: bytes) -> list[dict]:
    """Events from whole lines of the log (a torn or foreign line skipped)."""
    out = []
    for line in data.split(b"\n"):
        if not line.strip():
            continue
        try:
            value = jsonio.loads(line, max_depth=8)
        except (ValueError, UnicodeDecodeError):
            continue
        if isinstance(value, dict) and isinstance(value.get("timeNano"), int):
            out.append(value)
    return out


def read_old(ctx) -> list[dict]:
    """The events of the older generation (OLD), oldest first; the current
    file is read by a Follower."""
    try:
        with open(os.path.join(_root(ctx), OLD), "rb") as f:
            return parse_lines(f.read())
    except FileNotFoundError:
        return []


class Follower:
    """The events of the current log, then those appended to it, across
    rotations: the file read so far is drained before the new one is
    opened. Each `poll()` returns what arrived since the last call (the
    first: the whole current file)."""

    def __init__(self, ctx):
        self.path = os.path.join(_root(ctx), LOG)
        self.file = None
        self.pending = b""
        self._reopen()

    def _reopen(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None
        try:
            self.file = open(self.path, "rb")  # noqa: SIM115 - kept open while following
        except FileNotFoundError:
            pass

    def _read(self) -> list[dict]:
        data = self.pending + (self.file.read() if self.file is not None else b"")
        whole, _, self.pending = data.rpartition(b"\n")
        return parse_lines(whole)

    def poll(self) -> list[dict]:
        out = self._read()
        try:
            current = os.stat(self.path).st_ino
        except FileNotFoundError:
            return out
        if self.file is None or current != os.fstat(self.file.fileno()).st_ino:
            self.pending = b""
            self._reopen()
            out += self._read()
        return out

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None


# -- filters ---------------------------------------------------------------------

FILTER_KEYS = ("container", "event", "image", "label", "type", "scope")


def parse_filters(items) -> dict[str, list[str]]:
    """--filter KEY=VALUE values by key (Docker's events filters we keep)."""
    from rs_docker.models import filters as filter_args

    return filter_args.parse(items, FILTER_KEYS)


def _label_matches(attrs: dict, wanted: str) -> bool:
    key, sep, value = wanted.partition("=")
    return key in attrs and (not sep or attrs[key] == value)


def _strip_tag(name: str) -> str:
    name = name.split("@")[0]
    head, sep, tail = name.rpartition(":")
    return head if sep and "/" not in tail else name


def matches(message: dict, filters: dict[str, list[str]]) -> bool:
    """Docker's rule (daemon/events/filter.go): values of one key are
    alternatives, different keys must all match."""
    actor = message.get("Actor") or {}
    attrs = actor.get("Attributes") or {}
    kind = message.get("Type", "")
    actor_id = str(actor.get("ID", ""))

    def any_of(key: str, test) -> bool:
        values = filters.get(key)
        return not values or any(test(v) for v in values)

    def image_ok(v: str) -> bool:
        # daemon/events/filter.go matchImage: the name as given or without its tag
        names = (actor_id, attrs.get("name", "")) if kind == "image" else (attrs.get("image", ""),)
        return any(n and (n == v or _strip_tag(n) == v) for n in names)

    def container_ok(v: str) -> bool:
        # FuzzyMatch: the id or the name, or a prefix of either
        v = v.removeprefix("/")
        return kind == "container" and bool(v) and (
            actor_id.startswith(v) or str(attrs.get("name", "")).startswith(v))

    return (any_of("type", lambda v: v == kind)
            and any_of("event", lambda v: v == message.get("Action")
                       or v == str(message.get("Action", "")).split(":")[0])
            and any_of("scope", lambda v: v == message.get("scope"))
            and any_of("container", container_ok)
            and any_of("image", image_ok)
            and any_of("label", lambda v: _label_matches(attrs, v)))


# -- text --------------------------------------------------------------------------

def timestamp(ns: int) -> str:
    """RFC 3339 with nine digits in local time, as the docker CLI prints an
    event's time (jsonmessage.RFC3339NanoFixed)."""
    seconds, fraction = divmod(ns, 1_000_000_000)
    tm = time.localtime(seconds)
    off = tm.tm_gmtoff or 0
    zone = "Z" if off == 0 else f"{'+' if off > 0 else '-'}{abs(off) // 3600:02d}:" \
        f"{abs(off) % 3600 // 60:02d}"
    return time.strftime("%Y-%m-%dT%H:%M:%S", tm) + f".{fraction:09d}" + zone


def text_line(message: dict) -> str:
    """`docker events`' default line: time, type, action, actor id, then the
    attributes sorted by key (docker/cli command/system/events.go)."""
    actor = message.get("Actor") or {}
    attrs = actor.get("Attributes") or {}
    line = (f"{timestamp(message['timeNano'])} {message.get('Type', '')} "
            f"{message.get('Action', '')} {actor.get('ID', '')}")
    if attrs:
        line += " (" + ", ".join(f"{k}={attrs[k]}" for k in sorted(attrs)) + ")"
    return line
