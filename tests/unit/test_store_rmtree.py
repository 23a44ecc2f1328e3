"""store.rmtree, the one tree remover: removes a tree through dir fds, never
follows a symlink, and makes the directories its caller owns listable and
writable on the way (what an unprivileged caller needs; root never does)."""

import os

import pytest

from rs_docker.store.rmtree import rmtree

NOBODY = 65534


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
    rmtree(tmp_path / "nope", missing_ok=True)


def rmtree_as_nobody(base, name: str) -> int:
    """Exit status of a child that opens `base` as root, becomes nobody and
    removes `name` in it through the fd (0; 13: PermissionError)."""
    fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.setresgid(NOBODY, NOBODY, NOBODY)
            os.setgroups([])
            os.setresuid(NOBODY, NOBODY, NOBODY)
            rmtree(name, dir_fd=fd)
            code = 0
        except PermissionError:
            code = 13
        finally:
            os._exit(code)
    os.close(fd)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def chown_tree(top, uid: int) -> None:
    for d, dirs, files in os.walk(top):
        for name in [*dirs, *files]:
            os.lchown(os.path.join(d, name), uid, uid)
    os.lchown(top, uid, uid)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to become nobody")
def test_an_owner_removes_its_unlistable_and_read_only_dirs(tmp_path):
    # overlayfs leaves work/work mode 000; a rootless unpack keeps 0555 dirs.
    base = tmp_path / "base"
    top = base / "tree"
    (top / "work" / "work" / "inner").mkdir(parents=True)
    (top / "ro" / "deep").mkdir(parents=True)
    (top / "ro" / "deep" / "f").write_text("x")
    (top / "noexec").mkdir()
    (top / "noexec" / "f").write_text("x")
    chown_tree(base, NOBODY)
    os.chmod(top / "work" / "work", 0)
    os.chmod(top / "ro" / "deep", 0o555)
    os.chmod(top / "ro", 0o555)
    os.chmod(top / "noexec", 0o600)
    os.chmod(top, 0o555)
    assert rmtree_as_nobody(base, "tree") == 0
    assert os.listdir(base) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to become nobody")
def test_what_another_id_owns_raises_permission_error(tmp_path, outside):
    # The caller (container.create.remove_dir) retries in a user namespace.
    base = tmp_path / "base"
    (base / "tree" / "roots").mkdir(parents=True)
    (base / "tree" / "roots" / "f").write_text("x")
    os.symlink(outside, base / "tree" / "link")
    chown_tree(base, NOBODY)
    os.lchown(base / "tree" / "roots", 0, 0)
    os.chmod(base / "tree" / "roots", 0o555)
    os.chmod(outside, 0o555)
    assert rmtree_as_nobody(base, "tree") == 13
    assert (base / "tree" / "roots" / "f").exists()
    assert os.stat(base / "tree" / "roots").st_mode & 0o777 == 0o555
    assert os.stat(outside).st_mode & 0o777 == 0o555  # never chmod through a link
