"""ContentStore: blobs by digest, verified on the way in and on the way out."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rs_docker.context import Context
from rs_docker.errors import DigestMismatch, StoreError
from rs_docker.models.digest import Digest
from rs_docker.store.content import ContentStore

DATA = b"layer bytes\n" * 1000
D = Digest.sha256_of(DATA)


@pytest.fixture
def store(tmp_path) -> ContentStore:
    return ContentStore(Context(root=tmp_path / "root"))


def leftovers(store: ContentStore) -> list[str]:
    tmp = Path(store.ctx.tmp_dir)
    return os.listdir(tmp) if tmp.exists() else []


def test_put_read_has_delete(store):
    assert not store.has(D)
    assert store.put(DATA) == D
    assert store.has(D)
    assert store.path(D) == os.path.join(store.ctx.root, "blobs", "sha256", D.hex)
    assert store.read(D) == DATA
    assert list(store.digests()) == [D]
    store.delete(D)
    assert not store.has(D) and list(store.digests()) == []
    store.delete(D)  # deleting a missing blob is fine


def test_ingest_in_chunks(store):
    with store.ingest(D, len(DATA)) as w:
        for i in range(0, len(DATA), 1000):
            w.write(DATA[i:i + 1000])
        assert w.offset == len(DATA)
    assert store.read(D) == DATA
    assert leftovers(store) == []
    assert oct(os.stat(store.path(D)).st_mode & 0o777) == "0o600"  # store.modes


def test_wrong_digest_keeps_nothing(store):
    other = Digest.sha256_of(b"something else")
    with pytest.raises(DigestMismatch, match=f"expected {other}, got {D}"):
        with store.ingest(other, len(DATA)) as w:
            w.write(DATA)
    assert not store.has(other) and not store.has(D)
    assert leftovers(store) == []


def test_put_with_wrong_expected_digest(store):
    other = Digest.sha256_of(b"x")
    with pytest.raises(DigestMismatch, match="expected"):
        store.put(DATA, expected=other)
    assert list(store.digests()) == []


def test_short_blob_is_refused(store):
    with pytest.raises(DigestMismatch, match=f"size {len(DATA) - 1} does not match"):
        with store.ingest(D, len(DATA)) as w:
            w.write(DATA[:-1])
    assert not store.has(D) and leftovers(store) == []


def test_long_blob_is_refused_at_the_first_extra_byte(store):
    with pytest.raises(DigestMismatch, match=f"more than the expected {len(DATA) - 10} bytes"):
        with store.ingest(D, len(DATA) - 10) as w:
            w.write(DATA)
    assert not store.has(D) and leftovers(store) == []


def test_exception_in_body_discards(store):
    with pytest.raises(RuntimeError):
        with store.ingest(D, None) as w:
            w.write(DATA[:10])
            raise RuntimeError("network dropped")
    assert not store.has(D) and leftovers(store) == []


def test_ingest_of_existing_blob_is_a_noop(store):
    store.put(DATA)
    inode = os.stat(store.path(D)).st_ino
    with store.ingest(D, len(DATA)) as w:
        w.write(DATA)
    assert os.stat(store.path(D)).st_ino == inode
    assert leftovers(store) == []


def test_read_checks_content(store):
    store.put(DATA)
    os.chmod(store.path(D), 0o644)
    with open(store.path(D), "r+b") as f:
        f.write(b"X")
    with pytest.raises(DigestMismatch, match="corrupt in the store"):
        store.read(D)


def test_read_limits(store):
    store.put(DATA)
    with pytest.raises(StoreError, match=f"is {len(DATA)} bytes, more than the 100 allowed"):
        store.read(D, max_size=100)
    missing = Digest.sha256_of(b"missing")
    with pytest.raises(StoreError, match="not found in the store"):
        store.read(missing)


def test_digests_skip_foreign_names(store):
    store.put(DATA)
    (Path(store.ctx.blobs_dir) / "not-a-digest").write_text("x")
    assert list(store.digests()) == [D]


def test_sha512(store):
    d = Digest("sha512", __import__("hashlib").sha512(DATA).hexdigest())
    assert store.put(DATA, expected=d) == d
    assert os.path.basename(os.path.dirname(store.path(d))) == "sha512"
    assert store.read(d) == DATA
