"""LayerStore: unpacked trees appear whole or not at all."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rs_docker.context import Context
from rs_docker.models.digest import Digest
from rs_docker.store.layers import LayerStore

C1 = Digest.sha256_of(b"chain 1")
C2 = Digest.sha256_of(b"chain 2")


@pytest.fixture
def layers(tmp_path) -> LayerStore:
    return LayerStore(Context(root=tmp_path / "root"))


def test_create_commits_on_clean_exit(layers):
    with layers.create(C1) as tmp:
        assert os.path.dirname(tmp) == layers.ctx.tmp_dir
        assert not layers.has(C1)  # nothing visible while unpacking
        (Path(tmp) / "etc").mkdir()
        (Path(tmp) / "etc" / "hostname").write_text("x")
    assert layers.has(C1)
    assert (Path(layers.path(C1)) / "etc" / "hostname").read_text() == "x"
    assert oct(os.stat(layers.path(C1)).st_mode & 0o777) == "0o755"
    assert os.listdir(layers.ctx.tmp_dir) == []
    assert list(layers.chain_ids()) == [C1]


def test_create_discards_on_error(layers):
    with pytest.raises(ValueError):
        with layers.create(C1) as tmp:
            (Path(tmp) / "half").write_text("x")
            raise ValueError("bad tar")
    assert not layers.has(C1)
    assert os.listdir(layers.ctx.tmp_dir) == []


def test_create_when_it_exists_is_a_noop(layers):
    with layers.create(C1) as tmp:
        (Path(tmp) / "first").write_text("1")
    with layers.create(C1) as tmp:
        (Path(tmp) / "second").write_text("2")
    assert os.listdir(layers.path(C1)) == ["first"]
    assert os.listdir(layers.ctx.tmp_dir) == []


def test_delete(layers):
    with layers.create(C1) as tmp:
        (Path(tmp) / "ro").mkdir()
        (Path(tmp) / "ro" / "f").write_text("x")
        os.chmod(Path(tmp) / "ro", 0o555)
    layers.delete(C1)
    assert not layers.has(C1)
    assert os.listdir(layers.ctx.tmp_dir) == []
    layers.delete(C1)  # already gone: fine


def test_size_counts_hardlinks_once(layers):
    with layers.create(C1) as tmp:
        (Path(tmp) / "a").write_bytes(b"x" * 1000)
        os.link(Path(tmp) / "a", Path(tmp) / "b")
        os.symlink("a", Path(tmp) / "c")
    with layers.create(C2) as tmp:
        (Path(tmp) / "d").mkdir()
        (Path(tmp) / "d" / "e").write_bytes(b"y" * 500)
    assert layers.size(C1) == 1000 + len("a")
    assert layers.size(C2) == 500
    assert layers.size() == 1001 + 500


def test_lock_excludes_a_second_holder(layers):
    import fcntl

    with layers.lock(C1):
        path = Path(layers.ctx.locks_dir) / f"layer-{C1.hex}.lock"
        fd = os.open(path, os.O_RDWR)
        with pytest.raises(BlockingIOError):
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.close(fd)


def test_lock_is_taken_on_entry_and_released_by_an_error(layers):
    import fcntl

    lock = layers.lock(C1)
    path = Path(layers.ctx.locks_dir) / f"layer-{C1.hex}.lock"
    assert not path.exists()  # nothing happens before the `with`
    with pytest.raises(RuntimeError), lock as fd:
        assert os.fstat(fd).st_ino == path.stat().st_ino
        raise RuntimeError("boom")
    assert not path.exists()  # released and removed (store.locks: transient)
    other = os.open(path, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free again
    finally:
        os.close(other)
