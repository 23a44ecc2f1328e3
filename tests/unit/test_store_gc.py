"""Garbage collection and the sweep of abandoned temp entries."""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

import pytest

from rs_docker.context import Context
from rs_docker.models.digest import Digest
from rs_docker.store.atomic import temp_dir, temp_file
from rs_docker.store.content import ContentStore
from rs_docker.store.gc import collect, sweep_tmp
from rs_docker.store.images import ImageIndex, ImageRecord
from rs_docker.store.layers import LayerStore


@pytest.fixture
def ctx(tmp_path) -> Context:
    return Context(root=tmp_path / "root")


def add_image(ctx: Context, ref: str, layer_data: list[bytes], chain_ids: list[Digest],
              tag: bytes) -> ImageRecord:
    content = ContentStore(ctx)
    layer_digests = [content.put(d) for d in layer_data]
    config = content.put(b'{"config": "%s"}' % tag)
    manifest = content.put(json.dumps({
        "schemaVersion": 2, "config": {"digest": str(config)},
        "layers": [{"digest": str(d)} for d in layer_digests]}).encode())
    index = content.put(b'{"manifests": "%s"}' % tag)
    for c in chain_ids:
        with LayerStore(ctx).create(c) as tmp:
            (Path(tmp) / "f").write_bytes(c.hex.encode())
    rec = ImageRecord(ref, manifest, config, index, chain_ids, None, "linux/amd64")
    ImageIndex(ctx).put(rec)
    return rec


def test_gc_keeps_shared_layers_and_removes_the_rest(ctx):
    base, top_a, top_b = (Digest.sha256_of(x) for x in (b"base", b"a", b"b"))
    a = add_image(ctx, "docker.io/library/a:latest", [b"L0", b"LA"], [base, top_a], b"a")
    b = add_image(ctx, "docker.io/library/b:latest", [b"L0", b"LB"], [base, top_b], b"b")
    content, layers = ContentStore(ctx), LayerStore(ctx)
    stray = content.put(b"nobody uses me")
    assert collect(ctx) == ([stray], [])

    ImageIndex(ctx).remove(b.reference)
    blobs, removed_layers = collect(ctx)
    assert removed_layers == [top_b]
    assert set(blobs) == {b.manifest, b.config, b.repo_digest, Digest.sha256_of(b"LB")}
    assert layers.has(base) and layers.has(top_a) and not layers.has(top_b)
    for d in (a.manifest, a.config, a.repo_digest, Digest.sha256_of(b"L0"),
              Digest.sha256_of(b"LA")):
        assert content.has(d)


def test_gc_keeps_layers_containers_use(ctx):
    base = Digest.sha256_of(b"base")
    rec = add_image(ctx, "docker.io/library/a:latest", [b"L0"], [base], b"a")
    ImageIndex(ctx).remove(rec.reference)
    assert collect(ctx, keep_chain_ids=[base])[1] == []
    assert LayerStore(ctx).has(base)
    assert collect(ctx)[1] == [base]


def test_gc_keeps_blobs_when_a_manifest_is_unreadable(ctx):
    rec = add_image(ctx, "docker.io/library/a:latest", [b"L0"], [], b"a")
    os.chmod(ContentStore(ctx).path(rec.manifest), 0o644)
    Path(ContentStore(ctx).path(rec.manifest)).write_bytes(b"corrupted")
    stray = ContentStore(ctx).put(b"stray")
    assert collect(ctx) == ([], [])
    assert ContentStore(ctx).has(stray)


def test_sweep_removes_only_abandoned_entries(ctx):
    tmp = Path(ctx.tmp_dir)
    tmp.mkdir(parents=True)
    # abandoned: nobody holds a lock on them (their process was killed)
    (tmp / "ingest-dead").write_bytes(b"half a blob")
    (tmp / "layer-dead").mkdir()
    (tmp / "layer-dead" / "sub").mkdir()
    (tmp / "layer-dead" / "sub" / "f").write_text("x")
    os.symlink("/etc/passwd", tmp / "odd-link")
    with temp_file(tmp, "ingest") as (live_file, _), temp_dir(tmp, "layer") as (live_dir, _):
        removed = sweep_tmp(ctx)
        assert sorted(removed) == ["ingest-dead", "layer-dead", "odd-link"]
        assert sorted(os.listdir(tmp)) == sorted([os.path.basename(live_file), os.path.basename(live_dir)])
    assert os.listdir(tmp) == []
    assert os.path.exists("/etc/passwd")


def test_temp_entry_removed_by_a_sweep_before_locking_is_replaced(ctx, monkeypatch):
    """The window between creating a temp entry and locking it: a sweep that
    removes it then must not leave the creator writing into a deleted file."""
    from rs_docker.store import atomic

    real_flock = fcntl.flock
    swept: list[list[str]] = []

    def flock_after_sweep(fd, op):
        if not swept:  # only the creator's first lock; the sweep's own pass through
            swept.append([])
            swept[0].extend(sweep_tmp(ctx))
        return real_flock(fd, op)

    monkeypatch.setattr(atomic.fcntl, "flock", flock_after_sweep)
    with temp_file(ctx.tmp_dir, "ingest") as (path, fd):
        assert os.path.exists(path) and os.fstat(fd).st_ino == os.stat(path).st_ino
    assert len(swept[0]) == 1  # the first entry went; a second one was made
