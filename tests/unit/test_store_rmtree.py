"""store.rmtree: removes a tree through dir fds and never follows a symlink."""

import os

import pytest

from rs_docker.store import atomic
from rs_docker.store.rmtree import rmtree


@pytest.fixture
def outside(tmp_path):
    d = tmp_path / "outside"
    (d / "sub").mkdir(parents=True)
    (d / "keep").write_text("mine")
    (d / "sub" / "keep2").write_text("mine too")
    return d


def test_removes_nested_dirs_files_fifos_and_dangling_links(tmp_path):
    top = tmp_path / "tree"
    (top / "a" / "b" / "c").mkdir(parents=True)
    (top / "a" / "f").write_text("x")
    (top / "a" / "b" / "c" / "g").write_bytes(b"\0" * 10)
    os.mkfifo(top / "a" / "fifo")
    os.symlink("/nonexistent", top / "a" / "b" / "dangling")
    (top / "empty").mkdir()
    rmtree(top)
    assert not os.path.lexists(top)


def test_symlinks_inside_are_removed_not_followed(tmp_path, outside):
    top = tmp_path / "tree"
    (top / "d").mkdir(parents=True)
    os.symlink(outside, top / "link-to-dir")
    os.symlink(outside / "keep", top / "d" / "link-to-file")
    rmtree(top)
    assert not os.path.lexists(top)
    assert (outside / "keep").read_text() == "mine"
    assert (outside / "sub" / "keep2").read_text() == "mine too"


def test_a_symlink_as_the_top_is_refused(tmp_path, outside):
    os.symlink(outside, tmp_path / "link")
    with pytest.raises(OSError):
        rmtree(tmp_path / "link")
    assert (outside / "keep").exists() and os.path.islink(tmp_path / "link")


def test_missing_tree(tmp_path):
    with pytest.raises(FileNotFoundError):
        rmtree(tmp_path / "nope")
    atomic.remove_tree(tmp_path / "nope")  # the store's wrapper: not an error


def test_store_remove_tree_handles_read_only_dirs(tmp_path):
    top = tmp_path / "layer"
    (top / "ro" / "deep").mkdir(parents=True)
    (top / "ro" / "deep" / "f").write_text("x")
    os.chmod(top / "ro" / "deep", 0o555)
    os.chmod(top / "ro", 0o555)
    atomic.remove_tree(top)
    assert not os.path.lexists(top)
