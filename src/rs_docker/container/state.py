"""Container records: containers/<id>/container.json, shaped like the
output of `docker inspect` (Id, Name, Created, Path, Args, State, Image,
Config, HostConfig...), names/<name> -> id, and the random names Docker
gives a container run without --name.

Every change to a record goes through `update()`, which holds an flock on
the directory containers/<id> itself (the record is replaced atomically, so
it cannot carry the lock; a lock file there would cost every `run` an
inode made after the fork, and its removal). Names are reserved under one
store-wide lock so that two `run --name x` cannot both win.

This module is on every `run`'s path, so it imports neither re, datetime,
contextlib, json nor pathlib (docs/ARCHITECTURE.md, Start-up rules): ids
and names are checked by hand, times come from time.time_ns(), records go
through rs_docker.jsonio, paths are strings.
"""

from __future__ import annotations

import fcntl
import os
import time

from rs_docker import jsonio
from rs_docker.context import Context
from rs_docker.errors import Conflict, ContainerNotFound, StoreError, UsageError
from rs_docker.models.digest import is_hex
from rs_docker.store.atomic import read_file, read_json, replace_file

TYPE_CHECKING = False  # not typing's: typing stays off the run path (docs/ARCHITECTURE.md)
if TYPE_CHECKING:
    from collections.abc import Callable

RECORD = "container.json"
_FILE_LOCK = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC
_DIR_LOCK = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
# moby daemon/names: RestrictedNameChars [a-zA-Z0-9][a-zA-Z0-9_.-]+ (ASCII)
_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_NAME_CHARS = _ALNUM | frozenset("_.-")

# Docker's State.Status values used so far.
CREATED, RUNNING, EXITED = "created", "running", "exited"


def is_id(text: str) -> bool:
    """A full container id: 64 lowercase hex digits."""
    return len(text) == 64 and is_hex(text)


def is_name(text: str) -> bool:
    """Docker's container name rule, [a-zA-Z0-9][a-zA-Z0-9_.-]+ (which also
    makes it a safe file name)."""
    return len(text) >= 2 and text[0] in _ALNUM and _NAME_CHARS.issuperset(text)


def now() -> str:
    """RFC 3339 with nanoseconds, UTC, as Docker writes times
    (2024-05-01T10:20:30.123456789Z)."""
    ns = time.time_ns()
    seconds, fraction = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{fraction:09d}Z"


def container_dir(ctx: Context, container_id: str) -> str:
    if not is_id(container_id):
        raise ContainerNotFound(f"no such container: {container_id}")
    return os.path.join(ctx.containers_dir, container_id)


def names_dir(ctx: Context) -> str:
    return os.path.join(ctx.root, "names")


def _durable(record: dict) -> bool:
    # An --rm container's record is removed with it when it exits: after a
    # crash there is nothing it should still say, so it is not fsync()ed
    # (it is written three times per `run --rm`: created, running, exited).
    return not (record.get("HostConfig") or {}).get("AutoRemove")


def read(ctx: Context, container_id: str) -> dict:
    path = os.path.join(container_dir(ctx, container_id), RECORD)
    try:
        return read_json(path)
    except FileNotFoundError:
        raise ContainerNotFound(f"no such container: {container_id}") from None
    except ValueError:
        raise StoreError(f"container record {path}: not valid JSON") from None


def write(ctx: Context, container_id: str, record: dict, exists: bool = False) -> None:
    """Replace the record. `exists`: the caller read it under the lock."""
    # Compact JSON (the C encoder does not indent): any JSON reader, and
    # `docker inspect`-style output, read it as before.
    replace_file(os.path.join(container_dir(ctx, container_id), RECORD),
                 jsonio.dumps(record), _durable(record), exists)


class _Flock:
    """`with`: hold an exclusive flock on a lock file (created 0600), or on
    a directory (`flags` _DIR_LOCK)."""

    __slots__ = ("path", "missing", "fd", "flags")

    def __init__(self, path: str, missing: Exception | None = None, flags: int = _FILE_LOCK):
        self.path, self.missing, self.fd, self.flags = path, missing, -1, flags

    def __enter__(self) -> None:
        try:
            self.fd = os.open(self.path, self.flags, 0o600)
        except FileNotFoundError:
            if self.missing is None:
                raise
            raise self.missing from None
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        except BaseException:
            os.close(self.fd)
            raise

    def __exit__(self, *_exc) -> None:
        os.close(self.fd)


def locked(ctx: Context, container_id: str) -> _Flock:
    """`with locked(ctx, id):` holds the container's lock (exclusive flock)."""
    return _Flock(container_dir(ctx, container_id),
                  ContainerNotFound(f"no such container: {container_id}"), _DIR_LOCK)


def update(ctx: Context, container_id: str, change: Callable[[dict], None]) -> dict:
    """Read, change in place, write — under the container's lock."""
    with locked(ctx, container_id):
        record = read(ctx, container_id)
        change(record)
        write(ctx, container_id, record, exists=True)
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
        return sorted(n for n in os.listdir(ctx.containers_dir) if is_id(n))
    except FileNotFoundError:
        return []


# -- names --------------------------------------------------------------------

# Docker-style random names, adjective_surname, as moby's pkg/namesgenerator
# makes them (a shorter list of the same kind). Here rather than in a module
# of their own: every `run` without --name needs them, and each module is
# one more import on the run path.
NAME_LEFT = (
    "admiring adoring affectionate agitated amazing angry awesome beautiful blissful bold "
    "boring brave busy charming clever compassionate competent condescending confident "
    "cool cranky crazy dazzling determined distracted dreamy eager ecstatic elastic elated "
    "elegant eloquent epic exciting fervent festive flamboyant focused friendly frosty "
    "funny gallant gifted goofy gracious great happy hardcore heuristic hopeful hungry "
    "infallible inspiring intelligent interesting jolly jovial keen kind laughing loving "
    "lucid magical modest musing mystifying naughty nervous nice nifty nostalgic objective "
    "optimistic peaceful pedantic pensive practical priceless quirky quizzical recursing "
    "relaxed reverent romantic sad serene sharp silly sleepy stoic strange stupefied "
    "suspicious sweet tender thirsty trusting unruffled upbeat vibrant vigilant vigorous "
    "wizardly wonderful xenodochial youthful zealous zen"
).split()

NAME_RIGHT = (
    "agnesi albattani allen almeida antonelli archimedes ardinghelli aryabhata austin "
    "babbage banach banzai bardeen bartik bassi beaver bell benz bhabha bhaskara black "
    "blackburn blackwell bohr booth borg bose bouman boyd brahmagupta brattain brown "
    "buck burnell cannon carson cartwright carver cerf chandrasekhar chaplygin chatelet "
    "chatterjee chaum chebyshev clarke cohen colden cori cray curie curran darwin davinci "
    "dewdney dhawan diffie dijkstra dirac driscoll dubinsky easley edison einstein elbakyan "
    "elgamal elion ellis engelbart euclid euler faraday feistel fermat fermi feynman "
    "franklin gagarin galileo galois ganguly gates gauss germain goldberg goldstine "
    "goldwasser golick goodall gould greider grothendieck haibt hamilton haslett hawking "
    "heisenberg hellman hermann herschel hertz heyrovsky hodgkin hofstadter hoover hopper "
    "hugle hypatia ishizaka jackson jang jemison jennings jepsen johnson joliot jones "
    "kalam kapitsa kare keldysh keller kepler khayyam khorana kilby kirch knuth "
    "kowalevski lalande lamarr lamport leakey leavitt lederberg lehmann lewin lichterman "
    "liskov lovelace lumiere mahavira margulis matsumoto maxwell mayer mccarthy mcclintock "
    "mclaren mclean mcnulty meitner mendel mendeleev meninsky merkle mestorf mirzakhani "
    "montalcini moore morse moser murdock napier nash neumann newton nightingale nobel "
    "noether northcutt noyce panini pare pascal pasteur payne perlman pike poincare "
    "poitras proskuriakova ptolemy raman ramanujan rhodes ride ritchie robinson roentgen "
    "rosalind rubin saha sammet sanderson satoshi shamir shannon shaw shirley shockley "
    "shtern sinoussi snyder solomon spence stonebraker sutherland swanson swartz swirles "
    "taussig tesla tharp thompson torvalds tu turing varahamihira vaughan villani "
    "visvesvaraya volhard wescoff wilbur wiles williams williamson wilson wing wozniak "
    "wright wu yalow yonath zhukovsky"
).split()


def _choice(items):
    # os.urandom, not `secrets`/`random`: their imports cost more than a run's
    # whole name generation, and this is the run hot path.
    return items[int.from_bytes(os.urandom(4), "little") % len(items)]


def random_name(retry: int = 0) -> str:
    """adjective_surname; after a collision, a digit is appended as Docker does
    (and "boring_wozniak" is never generated: "Steve Wozniak is not boring")."""
    while True:
        name = f"{_choice(NAME_LEFT)}_{_choice(NAME_RIGHT)}"
        if name != "boring_wozniak":
            break
    return f"{name}{_choice('0123456789')}" if retry else name


def check_name(name: str) -> str:
    """--name as Docker takes it: an optional leading "/" then
    [a-zA-Z0-9][a-zA-Z0-9_.-]+ (which also makes it a safe file name)."""
    bare = name.removeprefix("/")
    if not is_name(bare):
        raise UsageError(f"Invalid container name ({name}), only "
                         f"[a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
    return bare


class _NamesLock(_Flock):
    """The store-wide names lock; makes names/ on first use (not with a
    makedirs per `run`: three syscalls where one open does)."""

    __slots__ = ()

    def __enter__(self) -> None:
        try:
            super().__enter__()
        except FileNotFoundError:
            os.makedirs(os.path.dirname(self.path), 0o700, exist_ok=True)
            super().__enter__()


def _names_lock(ctx: Context) -> _Flock:
    return _NamesLock(os.path.join(names_dir(ctx), ".lock"))


def _read_text(path: str) -> str:
    return read_file(path).decode()


def name_owner(ctx: Context, name: str) -> str | None:
    """The id holding `name`, None if free. A name whose container directory
    is gone (a crash between reserve and create) counts as free."""
    try:
        owner = _read_text(os.path.join(names_dir(ctx), name)).strip()
    except FileNotFoundError:
        return None
    if not is_id(owner) or not os.path.isdir(os.path.join(ctx.containers_dir, owner)):
        return None
    return owner


def reserve_name(ctx: Context, name: str, container_id: str) -> None:
    """Claim `name` for the container; Conflict (Docker's words) if taken."""
    with _names_lock(ctx):
        owner = name_owner(ctx, name)
        if owner is not None and owner != container_id:
            raise Conflict(f'Conflict. The container name "/{name}" is already in use by '
                           f'container "{owner}". You have to remove (or rename) that '
                           f'container to be able to reuse that name.')
        replace_file(os.path.join(names_dir(ctx), name), container_id + "\n", durable=False)


def release_name(ctx: Context, name: str, container_id: str) -> None:
    """Drop `name` if the container still holds it."""
    with _names_lock(ctx):
        path = os.path.join(names_dir(ctx), name)
        try:
            if _read_text(path).strip() == container_id:
                os.unlink(path)
        except FileNotFoundError:
            pass


def resolve(ctx: Context, name_or_id: str) -> str:
    """A container id from a name, a full id or a unique id prefix (Docker's
    lookup order: exact id, exact name, id prefix)."""
    text = name_or_id.removeprefix("/")
    ids = list_ids(ctx)
    if text in ids:
        return text
    if is_name(text) and (owner := name_owner(ctx, text)):
        return owner
    matches = [i for i in ids if text and i.startswith(text)]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise UsageError(f"multiple containers match prefix {text}")
    raise ContainerNotFound(f"No such container: {name_or_id}")
