"""The store under concurrent processes: real processes, real flock, real kill."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from rs_docker.context import Context
from rs_docker.models.digest import Digest
from rs_docker.store.content import ContentStore
from rs_docker.store.gc import collect, sweep_tmp
from rs_docker.store.images import ImageIndex, ImageRecord
from rs_docker.store.layers import LayerStore
from rs_docker.store.locks import store_lock

DATA = os.urandom(256 * 1024)
D = Digest.sha256_of(DATA)
FORK = mp.get_context("fork")


@pytest.fixture
def ctx(tmp_path) -> Context:
    return Context(root=tmp_path / "root")


def _ingest_at_barrier(root: Path, barrier) -> None:
    store = ContentStore(Context(root=root))
    with store.ingest(D, len(DATA)) as w:
        barrier.wait(timeout=60)
        for i in range(0, len(DATA), 4096):
            w.write(DATA[i:i + 4096])


def _run_all(target, args_list, timeout=30) -> list[int]:
    procs = [FORK.Process(target=target, args=args) for args in args_list]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout)
    return [p.exitcode for p in procs]


def test_two_processes_ingest_one_digest(ctx):
    barrier = FORK.Barrier(2)
    assert _run_all(_ingest_at_barrier, [(ctx.root, barrier)] * 2) == [0, 0]
    store = ContentStore(ctx)
    assert list(store.digests()) == [D] and store.read(D) == DATA
    assert os.listdir(ctx.tmp_dir) == []


def _download_once(root: Path, log: Path, barrier) -> None:
    store = ContentStore(Context(root=root))
    barrier.wait(timeout=60)
    with store.lock(D):
        if store.has(D):
            return
        with open(log, "a") as f:
            f.write(f"{os.getpid()}\n")
        time.sleep(0.05)  # a slow download: the others must wait, then find it
        store.put(DATA, expected=D)


def test_lock_makes_concurrent_pulls_download_once(ctx, tmp_path):
    log = tmp_path / "downloads"
    barrier = FORK.Barrier(4)
    assert _run_all(_download_once, [(ctx.root, log, barrier)] * 4) == [0] * 4
    assert len(log.read_text().split()) == 1
    assert ContentStore(ctx).read(D) == DATA


def _ingest_then_hang(root: Path, ready) -> None:
    store = ContentStore(Context(root=root))
    with store.ingest(D, len(DATA)) as w:
        w.write(DATA[: len(DATA) // 2])
        ready.set()
        time.sleep(60)


def _unpack_then_hang(root: Path, chain_id: Digest, ready) -> None:
    with LayerStore(Context(root=root)).create(chain_id) as tmp:
        (Path(tmp) / "half").write_text("x")
        ready.set()
        time.sleep(60)


def _kill_when_ready(target, args) -> None:
    ready = FORK.Event()
    p = FORK.Process(target=target, args=(*args, ready))
    p.start()
    assert ready.wait(10)
    os.kill(p.pid, signal.SIGKILL)
    p.join(10)
    assert p.exitcode == -signal.SIGKILL


def test_ingest_killed_mid_write_leaves_no_blob(ctx):
    _kill_when_ready(_ingest_then_hang, (ctx.root,))
    store = ContentStore(ctx)
    assert not store.has(D) and list(store.digests()) == []
    assert len(os.listdir(ctx.tmp_dir)) == 1  # the abandoned temp file
    with store.ingest(D, len(DATA)) as w:  # the next pull completes
        w.write(DATA)
    assert store.read(D) == DATA
    assert len(sweep_tmp(ctx)) == 1
    assert os.listdir(ctx.tmp_dir) == []


def test_unpack_killed_midway_leaves_no_layer(ctx):
    cid = Digest.sha256_of(b"chain")
    _kill_when_ready(_unpack_then_hang, (ctx.root, cid))
    layers = LayerStore(ctx)
    assert not layers.has(cid) and list(layers.chain_ids()) == []
    assert sweep_tmp(ctx) and os.listdir(ctx.tmp_dir) == []
    with layers.create(cid) as tmp:
        (Path(tmp) / "whole").write_text("x")
    assert os.listdir(layers.path(cid)) == ["whole"]


def _put_record(root: Path, i: int, barrier) -> None:
    index = ImageIndex(Context(root=root))
    barrier.wait(timeout=60)
    d = Digest.sha256_of(str(i).encode())
    index.put(ImageRecord(f"docker.io/library/img{i}:latest", d, d, None, [d], None,
                          "linux/amd64"))


def test_twenty_processes_update_the_index(ctx):
    barrier = FORK.Barrier(20)
    assert _run_all(_put_record, [(ctx.root, i, barrier) for i in range(20)]) == [0] * 20
    refs = {r.reference for r in ImageIndex(ctx).all()}
    assert refs == {f"docker.io/library/img{i}:latest" for i in range(20)}


def test_readers_never_see_a_partial_index(ctx):
    index = ImageIndex(ctx)
    index.put(ImageRecord("docker.io/library/seed:latest", D, D, None, [], None, ""))
    stop = threading.Event()
    errors: list[Exception] = []

    def read_loop():
        while not stop.is_set():
            try:
                assert index.get("docker.io/library/seed:latest") is not None
            except Exception as e:  # a partial file would raise StoreError here
                errors.append(e)

    reader = threading.Thread(target=read_loop)
    reader.start()
    for i in range(40):
        index.put(ImageRecord(f"docker.io/library/x{i}:latest", D, D, None, [], None, ""))
    stop.set()
    reader.join()
    assert errors == []


def test_gc_waits_for_a_pull_in_progress(ctx):
    """A pull holds the store lock shared from its first blob to its record;
    gc (exclusive) waits, then sees the record and keeps the blob."""
    store = ContentStore(ctx)
    done = threading.Event()
    result = []
    with store_lock(ctx, shared=True):
        store.put(DATA)  # pulled, not yet referenced by any record
        gc = threading.Thread(target=lambda: (result.append(collect(ctx)), done.set()))
        gc.start()
        assert not done.wait(0.3)  # blocked behind the pull
        ImageIndex(ctx).put(ImageRecord("docker.io/library/p:latest", D, D, None, [], None, ""))
    gc.join(10)
    assert result == [([], [])] and store.has(D)
