"""store.locks: transient per-item locks leave no file behind and still
exclude each other, across threads and processes, even when a holder removes
the file a waiter is blocked on. Real flock, real files."""

from __future__ import annotations

import fcntl
import multiprocessing as mp
import os
import stat
import threading

import pytest

from rs_docker.context import Context
from rs_docker.models.digest import Digest
from rs_docker.store.content import ContentStore
from rs_docker.store.gc import sweep_tmp
from rs_docker.store.layers import LayerStore
from rs_docker.store.locks import file_lock, sweep_transient

FORK = mp.get_context("fork")
D = Digest.sha256_of(b"x")


@pytest.fixture
def ctx(tmp_path) -> Context:
    return Context(root=tmp_path / "root")


def test_transient_lock_file_is_removed_on_release(ctx):
    with ContentStore(ctx).lock(D):
        held = os.listdir(ctx.locks_dir)
    with LayerStore(ctx).lock(D):
        pass
    assert held == [f"blob-sha256-{D.hex}.lock"]
    assert os.listdir(ctx.locks_dir) == []


def test_transient_lock_file_is_removed_when_the_block_raises(ctx):
    with pytest.raises(RuntimeError), ContentStore(ctx).lock(D):
        raise RuntimeError("boom")
    assert os.listdir(ctx.locks_dir) == []


def test_lock_files_are_private(ctx, tmp_path):
    old = os.umask(0)
    try:
        with file_lock(tmp_path / "new" / "x.lock") as fd:
            file_mode = stat.S_IMODE(os.fstat(fd).st_mode)
    finally:
        os.umask(old)
    assert file_mode == 0o600
    assert stat.S_IMODE(os.stat(tmp_path / "new").st_mode) == 0o700


def test_a_shared_lock_cannot_be_transient(tmp_path):
    with pytest.raises(ValueError):
        file_lock(tmp_path / "x.lock", shared=True, transient=True)


def test_store_wide_locks_stay(ctx):
    from rs_docker.store.locks import store_lock

    with store_lock(ctx):
        pass
    assert os.listdir(ctx.locks_dir) == ["store.lock"]


def _hammer(root: str, rounds: int, inside: str) -> None:
    """Take the blob lock `rounds` times; inside it, create `inside`
    exclusively (O_EXCL fails if another holder is inside too), then remove it."""
    store = ContentStore(Context(root=root))
    for _ in range(rounds):
        with store.lock(D):
            os.close(os.open(inside, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            os.sched_yield()
            os.unlink(inside)


def test_transient_locks_exclude_across_processes_and_threads(ctx, tmp_path):
    # Every release unlinks the file others block on: a waiter that then held
    # the unlinked inode would be inside with the next holder, and O_EXCL fails.
    inside = str(tmp_path / "inside")
    procs = [FORK.Process(target=_hammer, args=(ctx.root, 300, inside)) for _ in range(3)]
    for p in procs:
        p.start()
    errors = []

    def thread_body():
        try:
            _hammer(ctx.root, 300, inside)
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=thread_body) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0] and errors == []
    assert os.listdir(ctx.locks_dir) == []


def test_sweep_removes_free_lock_files_only(ctx):
    os.makedirs(ctx.locks_dir)
    for name in ("blob-sha256-aa.lock", "layer-bb.lock", "store.lock", "images.lock"):
        os.close(os.open(os.path.join(ctx.locks_dir, name), os.O_CREAT | os.O_WRONLY))
    held = os.open(os.path.join(ctx.locks_dir, "layer-bb.lock"), os.O_RDWR)
    fcntl.flock(held, fcntl.LOCK_EX)
    try:
        assert sweep_transient(ctx.locks_dir) == ["blob-sha256-aa.lock"]
    finally:
        os.close(held)
    sweep_tmp(ctx)
    assert sorted(os.listdir(ctx.locks_dir)) == ["images.lock", "store.lock"]
