"""ImageIndex: references to records, found the way Docker finds images."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rs_docker.context import Context
from rs_docker.errors import Conflict, StoreError
from rs_docker.models.digest import Digest
from rs_docker.store.images import ImageIndex, ImageRecord


def dg(text: str) -> Digest:
    return Digest.sha256_of(text.encode())


def record(ref: str, config: str = "cfg", manifest: str = "man", repo: str | None = "idx"
           ) -> ImageRecord:
    return ImageRecord(reference=ref, manifest=dg(manifest), config=dg(config),
                       repo_digest=dg(repo) if repo else None, chain_ids=[dg("l1"), dg("l2")],
                       created="2024-01-01T00:00:00Z", platform="linux/amd64")


@pytest.fixture
def index(tmp_path) -> ImageIndex:
    return ImageIndex(Context(root=tmp_path / "root"))


def test_missing_file_reads_as_empty(index):
    assert index.all() == [] and index.get("docker.io/library/x:latest") is None


def test_put_get_roundtrip(index):
    r = record("docker.io/library/ubuntu:latest")
    index.put(r)
    assert index.get("docker.io/library/ubuntu:latest") == r
    assert index.all() == [r]
    data = json.loads(Path(index.ctx.images_file).read_text())
    assert data["images"]["docker.io/library/ubuntu:latest"]["config"] == str(dg("cfg"))


def test_put_replaces_and_remove(index):
    index.put(record("docker.io/library/a:1", config="old"))
    index.put(record("docker.io/library/a:1", config="new"))
    assert index.get("docker.io/library/a:1").config == dg("new")
    removed = index.remove("docker.io/library/a:1")
    assert removed.config == dg("new")
    assert index.remove("docker.io/library/a:1") is None
    assert index.all() == []


def test_corrupt_file_is_an_error(index):
    Path(index.ctx.root).mkdir(parents=True)
    Path(index.ctx.images_file).write_text("{not json")
    with pytest.raises(StoreError, match="image index .* is corrupt"):
        index.all()
    Path(index.ctx.images_file).write_text('{"images": {"x": {"reference": "x", "manifest": "bad"}}}')
    with pytest.raises(StoreError, match="corrupt"):
        index.get("x")


def test_find_by_reference(index):
    ubuntu = record("docker.io/library/ubuntu:latest")
    jammy = record("docker.io/library/ubuntu:22.04", config="other")
    index.put(ubuntu), index.put(jammy)
    assert index.find("ubuntu") == [ubuntu]
    assert index.find("docker.io/library/ubuntu") == [ubuntu]
    assert index.find("ubuntu:22.04") == [jammy]
    assert index.find("ubuntu:20.04") == []
    assert index.find("Not A Reference!") == []


def test_find_by_digest_reference(index):
    tagged = record("docker.io/library/ubuntu:latest", repo="idx")
    pinned = record(f"docker.io/library/ubuntu@{dg('pin')}", manifest="pin", repo="pin")
    index.put(tagged), index.put(pinned)
    assert index.find(f"ubuntu@{dg('idx')}") == [tagged]
    assert index.find(f"ubuntu@{dg('pin')}") == [pinned]
    assert index.find(f"debian@{dg('idx')}") == []  # same digest, other repository


def test_find_by_image_id(index):
    a = record("docker.io/library/a:latest", config="A")
    a2 = record("docker.io/library/a2:latest", config="A")
    b = record("docker.io/library/b:latest", config="B")
    for r in (a, a2, b):
        index.put(r)
    full = dg("A")
    assert sorted(r.reference for r in index.find(str(full))) == sorted([a.reference, a2.reference])
    assert len(index.find(full.hex)) == 2
    assert len(index.find(full.hex[:12])) == 2
    assert len(index.find("sha256:" + full.hex[:5])) == 2
    assert index.find(dg("B").hex[:12]) == [b]
    assert index.find("f" * 64) == []


def test_ambiguous_id_prefix(index):
    # two configs whose ids share a first hex digit (16 candidates suffice)
    configs = [f"c{i}" for i in range(17)]
    by_first: dict[str, list[str]] = {}
    for c in configs:
        by_first.setdefault(dg(c).hex[0], []).append(c)
    first, pair = next((k, v) for k, v in by_first.items() if len(v) > 1)
    index.put(record("docker.io/library/x:1", config=pair[0]))
    index.put(record("docker.io/library/x:2", config=pair[1]))
    with pytest.raises(Conflict, match="ambiguous"):
        index.find(first)


def test_name_wins_over_id_prefix(index):
    # "abc" is both a valid repository name and a hex prefix: the name wins.
    named = record("docker.io/library/abc:latest", config="named")
    index.put(named)
    assert index.find("abc") == [named]


def test_index_file_as_written_by_earlier_versions_loads(index):
    """images.json is written with json.dumps(indent=1); the reader (jsonio,
    no `json` import on `run`'s path) takes that layout and compact JSON."""
    r = record("docker.io/library/ubuntu:latest")
    data = {"version": 1, "images": {r.reference: r.to_json()}}
    Path(index.ctx.root).mkdir(parents=True)
    for text in (json.dumps(data, indent=1) + "\n", json.dumps(data, separators=(",", ":"))):
        Path(index.ctx.images_file).write_text(text)
        assert index.get(r.reference) == r
    index.put(record("docker.io/library/alpine:latest"))
    text = Path(index.ctx.images_file).read_text()
    assert text.startswith('{\n "version": 1,\n "images": {\n') and text.endswith("}\n")


def test_image_id_argument_agrees_with_its_regex(index):
    """An image ID argument is checked by hand; the grammar it replaced,
    matched whole, is the oracle."""
    import random
    import re

    from rs_docker.store.images import _id_prefix

    oracle = re.compile(r"(?:sha256:)?([a-f0-9]{1,64})")
    rng = random.Random(7)
    texts = ["", "sha256:", "sha256:a", "a", "A", "sha256:" + "a" * 64, "a" * 64, "a" * 65,
             "sha256:" + "a" * 65, "sha256:sha256:ab", "sha512:ab", "ab\n", " ab", "abg"]
    texts += ["".join(rng.choice(["sha256:", "a", "f", "0", "9", "g", ":", "F", "\n", "a" * 30])
                      for _ in range(rng.randint(0, 5))) for _ in range(400)]
    for text in texts:
        m = oracle.fullmatch(text)
        assert _id_prefix(text) == (m.group(1) if m else None), text
