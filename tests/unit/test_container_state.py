"""Container records and names on a temp store (no root needed)."""

import threading
from pathlib import Path

import pytest

from rs_docker.container import state
from rs_docker.context import Context
from rs_docker.errors import Conflict, ContainerNotFound, UsageError

A, B = "a" * 64, "b" * 64


@pytest.fixture
def ctx(tmp_path):
    c = Context(root=tmp_path)
    for cid in (A, B):
        (Path(c.containers_dir) / cid).mkdir(parents=True)
        state.write(c, cid, {"Id": cid, "State": {"Status": "created"}})
    return c


def test_names_are_unique_and_conflict_in_dockers_words(ctx):
    state.reserve_name(ctx, "web", A)
    with pytest.raises(Conflict, match=r'The container name "/web" is already in use by '
                                       r'container "a{64}"'):
        state.reserve_name(ctx, "web", B)
    state.release_name(ctx, "web", A)
    state.reserve_name(ctx, "web", B)
    assert state.resolve(ctx, "web") == B


def test_a_name_whose_container_is_gone_is_free(ctx):
    state.reserve_name(ctx, "stale", "c" * 64)  # no containers/ccc... dir
    state.reserve_name(ctx, "stale", A)
    assert state.resolve(ctx, "stale") == A


def test_name_rules():
    assert state.check_name("/ok_name.1-x") == "ok_name.1-x"
    for bad in ("a", "-x", "x/y", "x y", ""):
        with pytest.raises(UsageError, match="Invalid container name"):
            state.check_name(bad)
    assert state.check_name(state.random_name()) and state.check_name(state.random_name(1))[-1].isdigit()


def test_resolve_by_id_prefix_and_errors(ctx):
    assert state.resolve(ctx, "aaaa") == A
    with pytest.raises(ContainerNotFound, match="No such container: zzz"):
        state.resolve(ctx, "zzz")
    with pytest.raises(ContainerNotFound):
        state.container_dir(ctx, "../etc")


def test_concurrent_updates_are_not_lost(ctx):
    def bump():
        for _ in range(20):
            state.update(ctx, A, lambda r: r.__setitem__("n", r.get("n", 0) + 1))
    threads = [threading.Thread(target=bump) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert state.read(ctx, A)["n"] == 80


def test_the_lock_is_the_container_dir_and_excludes_other_processes(ctx):
    import fcntl
    import os

    d = state.container_dir(ctx, A)
    with state.locked(ctx, A):
        fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)  # another open file, as another process
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(fd)
    assert sorted(os.listdir(d)) == ["container.json"]  # no lock file left in it
    with pytest.raises(ContainerNotFound):
        with state.locked(ctx, B.replace("b", "c")):
            pass


def test_an_update_swaps_in_a_new_file_and_leaves_no_temp(ctx):
    """update() replaces the record by a new file (renameat2 RENAME_EXCHANGE,
    then the old one unlinked): never rewritten in place, nothing left over."""
    import os

    d = state.container_dir(ctx, A)
    before = os.stat(os.path.join(d, "container.json")).st_ino
    state.set_state(ctx, A, Status=state.RUNNING, Pid=9)
    assert os.stat(os.path.join(d, "container.json")).st_ino != before
    assert state.read(ctx, A)["State"] == {"Status": "running", "Running": True, "Pid": 9}
    assert sorted(os.listdir(d)) == ["container.json"]


def test_set_state_keeps_running_in_step(ctx):
    rec = state.set_state(ctx, A, Status=state.RUNNING, Pid=42)
    assert rec["State"]["Running"] is True and rec["State"]["Pid"] == 42
    rec = state.set_state(ctx, A, Status=state.EXITED, ExitCode=3)
    assert rec["State"]["Running"] is False and rec["State"]["ExitCode"] == 3


def test_record_of_an_rm_container_is_replaced_without_fsync(ctx, monkeypatch):
    """--rm records are removed with their container: atomic replace, no fsync;
    every other record is fsync()ed before the rename."""
    synced = []
    real_fsync = state.os.fsync
    monkeypatch.setattr(state.os, "fsync", lambda fd: synced.append(fd) or real_fsync(fd))
    state.write(ctx, A, {"Id": A, "State": {"Status": "created"},
                         "HostConfig": {"AutoRemove": True}})
    state.set_state(ctx, A, Status="running", Pid=7)
    assert synced == []
    assert state.read(ctx, A)["State"] == {"Status": "running", "Running": True, "Pid": 7}
    state.set_state(ctx, B, Status="exited")
    assert len(synced) == 1
    leftovers = [p.name for p in (Path(ctx.containers_dir) / A).iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_times_are_rfc3339_utc_with_nanoseconds_as_docker_writes_them():
    import time

    from rs_docker.cli.humanize import parse_time

    before = time.time()
    text = state.now()
    assert len(text) == len("2024-05-01T10:20:30.123456789Z") and text[10] == "T"
    assert text.endswith("Z") and text[19] == "." and text[20:29].isdigit()
    assert abs(parse_time(text).timestamp() - before) < 5


def test_ids_and_names_are_checked_character_by_character():
    assert state.is_id(A) and not state.is_id(A.upper()) and not state.is_id(A[:63])
    assert not state.is_id(A + "\n") and not state.is_id("g" * 64)
    for bad in ("ok\n", "é1", "a\u0661"):
        with pytest.raises(UsageError, match="Invalid container name"):
            state.check_name(bad)
    assert state.check_name("A1") == "A1"


def test_records_are_json_any_reader_takes(ctx):
    import json

    state.write(ctx, A, {"Id": A, "Name": "/é", "State": {"Pid": 1}})
    text = (Path(ctx.containers_dir) / A / "container.json").read_text()
    assert json.loads(text) == state.read(ctx, A) == {"Id": A, "Name": "/é", "State": {"Pid": 1}}
