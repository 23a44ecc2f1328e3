"""FileBody, the streamed upload body: a byte range of a file, re-readable,
with progress; and the scope a push asks for."""

from __future__ import annotations

import pytest

from rs_docker.errors import RegistryError
from rs_docker.registry import upload
from rs_docker.registry.auth import push_scope
from rs_docker.registry.upload import FileBody


def test_a_range_in_pieces_with_progress(tmp_path, monkeypatch):
    monkeypatch.setattr(upload, "PIECE", 4)
    path = tmp_path / "blob"
    path.write_bytes(b"0123456789abcdef")
    sent = []
    body = FileBody(path, 3, 10, sent.append)
    assert len(body) == 10
    assert list(body) == [b"3456", b"789a", b"bc"]
    assert sent == [4, 8, 10]
    assert b"".join(body) == b"3456789abc"     # a retry reads it again


def test_a_file_shorter_than_promised_fails(tmp_path):
    path = tmp_path / "blob"
    path.write_bytes(b"abc")
    with pytest.raises(RegistryError, match="shrank"):
        list(FileBody(path, 0, 5))


def test_push_scope():
    assert push_scope("team/app") == "repository:team/app:pull,push"
