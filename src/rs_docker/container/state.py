"""Container records: containers/<id>/container.json, shaped like the
output of `docker inspect` (Id, Name, Created, Path, Args, State, Image,
Config, HostConfig...), and names/<name> -> id.

Every change to a record goes through `update()`, which holds an flock on
containers/<id>/lock (the record itself is replaced atomically, so it cannot
carry the lock). Names are reserved under one store-wide lock so that two
`run --name x` cannot both win.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from rs_docker.context import Context
from rs_docker.errors import Conflict, ContainerNotFound, StoreError, UsageError

RECORD = "container.json"
LOCK = "lock"
_ID = re.compile(r"^[0-9a-f]{64}$")
# moby daemon/names: RestrictedNameChars
_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")

# Docker's State.Status values used so far.
CREATED, RUNNING, EXITED = "created", "running", "exited"


def now() -> str:
    """RFC 3339 with nanosecond digits, UTC, as Docker writes times."""
    t = datetime.now(UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond:06d}000Z"


def container_dir(ctx: Context, container_id: str) -> Path:
    if not _ID.match(container_id):
        raise ContainerNotFound(f"no such container: {container_id}")
    return Path(ctx.containers_dir) / container_id


def names_dir(ctx: Context) -> Path:
    return Path(ctx.root) / "names"


def _write_json(path: Path, value: dict, durable: bool = True) -> None:
    """Replace `path` atomically (temp file + rename(2)): a reader sees the
    old or the new record. `durable` adds the fsync that makes it survive a
    crash of the machine (~0.3-1 ms each)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w") as f:
        json.dump(value, f, indent=1)
        if durable:
            f.flush()
            os.fsync(f.fileno())
    os.replace(tmp, path)


def _durable(record: dict) -> bool:
    # An --rm container's record is removed with it when it exits: after a
    # crash there is nothing it should still say, so it is not fsync()ed
    # (it is written three times per `run --rm`: created, running, exited).
    return not (record.get("HostConfig") or {}).get("AutoRemove")


def read(ctx: Context, container_id: str) -> dict:
    path = container_dir(ctx, container_id) / RECORD
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise ContainerNotFound(f"no such container: {container_id}") from None
    except ValueError:
        raise StoreError(f"container record {path}: not valid JSON") from None


def write(ctx: Context, container_id: str, record: dict) -> None:
    _write_json(container_dir(ctx, container_id) / RECORD, record, _durable(record))


@contextlib.contextmanager
def locked(ctx: Context, container_id: str) -> Iterator[None]:
    """Hold the container's lock (exclusive flock)."""
    path = container_dir(ctx, container_id) / LOCK
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except FileNotFoundError:
        raise ContainerNotFound(f"no such container: {container_id}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def update(ctx: Context, container_id: str, change: Callable[[dict], None]) -> dict:
    """Read, change in place, write — under the container's lock."""
    with locked(ctx, container_id):
        record = read(ctx, container_id)
        change(record)
        write(ctx, container_id, record)
        return record


def set_state(ctx: Context, container_id: str, **fields) -> dict:
    """Update State fields (Status, Pid, ExitCode, ...); Running follows Status."""
    def change(record: dict) -> None:
        state = record.setdefault("State", {})
        state.update(fields)
        state["Running"] = state.get("Status") == RUNNING
    return update(ctx, container_id, change)


def list_ids(ctx: Context) -> list[str]:
    try:
        return sorted(n for n in os.listdir(ctx.containers_dir) if _ID.match(n))
    except FileNotFoundError:
        return []


# -- names --------------------------------------------------------------------

def check_name(name: str) -> str:
    """--name as Docker takes it: an optional leading "/" then
    [a-zA-Z0-9][a-zA-Z0-9_.-]+ (which also makes it a safe file name)."""
    bare = name.removeprefix("/")
    if not _NAME.match(bare):
        raise UsageError(f"Invalid container name ({name}), only "
                         f"[a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
    return bare


@contextlib.contextmanager
def _names_lock(ctx: Context) -> Iterator[Path]:
    d = names_dir(ctx)
    d.mkdir(parents=True, exist_ok=True)
    fd = os.open(d / ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield d
    finally:
        os.close(fd)


def name_owner(ctx: Context, name: str) -> str | None:
    """The id holding `name`, None if free. A name whose container directory
    is gone (a crash between reserve and create) counts as free."""
    try:
        owner = (names_dir(ctx) / name).read_text().strip()
    except FileNotFoundError:
        return None
    if not _ID.match(owner) or not os.path.isdir(os.path.join(ctx.containers_dir, owner)):
        return None
    return owner


def reserve_name(ctx: Context, name: str, container_id: str) -> None:
    """Claim `name` for the container; Conflict (Docker's words) if taken."""
    with _names_lock(ctx) as d:
        owner = name_owner(ctx, name)
        if owner is not None and owner != container_id:
            raise Conflict(f'Conflict. The container name "/{name}" is already in use by '
                           f'container "{owner}". You have to remove (or rename) that '
                           f'container to be able to reuse that name.')
        _write_text(d / name, container_id)


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text + "\n")
    os.replace(tmp, path)


def release_name(ctx: Context, name: str, container_id: str) -> None:
    """Drop `name` if the container still holds it."""
    with _names_lock(ctx) as d:
        try:
            if (d / name).read_text().strip() == container_id:
                os.unlink(d / name)
        except FileNotFoundError:
            pass


def resolve(ctx: Context, name_or_id: str) -> str:
    """A container id from a name, a full id or a unique id prefix (Docker's
    lookup order: exact id, exact name, id prefix)."""
    text = name_or_id.removeprefix("/")
    ids = list_ids(ctx)
    if text in ids:
        return text
    if _NAME.match(text) and (owner := name_owner(ctx, text)):
        return owner
    matches = [i for i in ids if text and i.startswith(text)]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise UsageError(f"multiple containers match prefix {text}")
    raise ContainerNotFound(f"No such container: {name_or_id}")
