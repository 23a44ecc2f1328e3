"""`cp`: files between a container and the host, with Docker's path rules
(docker-cli cli/command/container/cp.go, moby pkg/archive/copy.go
PrepareArchiveCopy):

- the container path is taken from the container's "/" and resolved as if
  chrooted there (openat2 RESOLVE_IN_ROOT, container/rootview.py and
  treetar.py): no symlink in the container, not even one swapped in while
  the copy runs, makes `cp` read or write a host file (CVE-2019-14271,
  CVE-2018-15664);
- SRC ending in "/" must be a directory; SRC ending in "/." copies the
  directory's content rather than the directory;
- DEST an existing directory: SRC goes into it (under its own name);
  DEST an existing file: a file SRC replaces it, a directory SRC is an
  error; DEST missing: SRC is copied as DEST (its parent must exist), and
  a DEST ending in "/" must then exist;
- `-` reads a tar from stdin into a container directory, or writes SRC as
  a tar to stdout;
- `-L` follows SRC when it is a symlink; `-a` keeps the owners of what is
  copied in (else it belongs to the container's root, 0:0); what is copied
  out belongs to the caller.
"""

from __future__ import annotations

import os
import stat
import tarfile
import threading

from rs_docker.container import state
from rs_docker.container.rootview import RootView
from rs_docker.container.treetar import CopyError, Extractor, TreeWriter
from rs_docker.context import Context
from rs_docker.errors import RsDockerError
from rs_docker.linux.openat2 import O_PATH, openat2

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import BinaryIO


class PathNotFound(RsDockerError):
    """A path of the copy does not exist."""


def split_arg(arg: str) -> tuple[str | None, str]:
    """(container, path) of a `cp` argument; container None for a host path
    (absolute, or starting with ".", may hold a colon: Docker's splitCpArg)."""
    if arg.startswith(("/", ".")) or ":" not in arg:
        return None, arg
    container, path = arg.split(":", 1)
    return container, path


def _in_root(path: str) -> str:
    """A container path relative to its root ("." for the root)."""
    return path.strip("/") or "."


def _dot_form(path: str) -> bool:
    return path == "." or path.endswith("/.")


def _base(path: str) -> str:
    """The name SRC has in the archive: its last component ("." for "/")."""
    parts = [p for p in path.split("/") if p not in ("", ".")]
    return parts[-1] if parts else "."


def _dest_plan(src_is_dir: bool, src_path: str, dst_path: str, dst: os.stat_result | None,
               where: str) -> tuple[str, str | None]:
    """(directory to extract into, new name of SRC's top entry or None to
    keep it), by PrepareArchiveCopy's rules. `where` names DEST in errors."""
    parent = os.path.dirname(dst_path.rstrip("/")) or ("/" if dst_path.startswith("/") else ".")
    name = _base(dst_path)
    if dst is not None and stat.S_ISDIR(dst.st_mode):
        return dst_path, ("." if src_is_dir and _dot_form(src_path) else None)
    if dst is not None and src_is_dir:
        raise CopyError(f"cannot copy directory {src_path} to the file {where}")
    if dst is None and not src_is_dir and dst_path.endswith("/"):
        raise PathNotFound(f"destination directory {where} does not exist")
    return parent, name


def _check_src(path: str, st: os.stat_result) -> None:
    if path.endswith("/") and not stat.S_ISDIR(st.st_mode):
        raise CopyError(f"{path}: not a directory")


def _name(ctx: Context, cid: str) -> str:
    try:
        return str(state.read(ctx, cid).get("Name", "")).lstrip("/") or cid[:12]
    except RsDockerError:
        return cid[:12]


# -- container -> host ---------------------------------------------------------------

def copy_out(ctx: Context, cid: str, src: str, dest: str, follow: bool,
             stdout: BinaryIO | None = None) -> None:
    """Copy the container's `src` to the host path `dest`, or as a tar to
    `stdout` when dest is "-"."""
    with RootView(ctx, cid) as root:
        fd = _open_in_container(ctx, cid, root, src, follow or src.endswith(("/", "/.")))
        try:
            st = os.fstat(fd)
            _check_src(src, st)
            is_dir = stat.S_ISDIR(st.st_mode)
            top = "." if is_dir and _dot_form(src) else _base(src)
            if dest == "-":
                with tarfile.open(fileobj=stdout, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                    TreeWriter(tar).add_top(fd, top)
                return
            try:
                dst = os.stat(dest)
            except FileNotFoundError:
                dst = None
            into, rename = _dest_plan(is_dir, src, dest, dst, dest)
            try:
                host = os.open(into, O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
            except FileNotFoundError:
                raise PathNotFound(f"lstat {into}: no such file or directory") from None
            except NotADirectoryError:
                raise CopyError(f"{into}: not a directory") from None
            try:
                _pipe(lambda tar: TreeWriter(tar).add_top(fd, top),
                      Extractor(host, "", owner=None,
                                rebase=(top, rename) if rename else None))
            finally:
                os.close(host)
        finally:
            os.close(fd)


def _open_in_container(ctx: Context, cid: str, root: int, path: str, follow: bool) -> int:
    flags = O_PATH | (0 if follow else os.O_NOFOLLOW)
    try:
        return openat2(root, _in_root(path), flags)
    except (FileNotFoundError, NotADirectoryError):
        raise PathNotFound(f"Could not find the file {path} in container "
                           f"{_name(ctx, cid)}") from None


# -- host -> container ---------------------------------------------------------------

def copy_in(ctx: Context, cid: str, src: str, dest: str, follow: bool, keep_owners: bool,
            stdin: BinaryIO | None = None) -> None:
    """Copy the host's `src` (or a tar from `stdin` when src is "-") to the
    container's `dest`."""
    owner = "archive" if keep_owners else "root"
    with RootView(ctx, cid) as root:
        dst = _stat_in_container(root, dest)
        if src == "-":
            if dst is None:
                raise PathNotFound(f"Could not find the file {dest} in container "
                                   f"{_name(ctx, cid)}")
            if not stat.S_ISDIR(dst.st_mode):
                raise CopyError("extraction point is not a directory")
            Extractor(root, _in_root(dest), owner=owner).extract(stdin)
            return
        try:
            fd = os.open(src, O_PATH | os.O_CLOEXEC | (
                0 if follow or src.endswith(("/", "/.")) else os.O_NOFOLLOW))
        except FileNotFoundError:
            raise PathNotFound(f"lstat {src}: no such file or directory") from None
        try:
            st = os.fstat(fd)
            _check_src(src, st)
            is_dir = stat.S_ISDIR(st.st_mode)
            top = "." if is_dir and _dot_form(src) else _base(src)
            into, rename = _dest_plan(is_dir, src, "/" + _in_root(dest) + (
                "/" if dest.endswith("/") else ""), dst, dest)
            if _stat_in_container(root, into) is None:
                raise PathNotFound(f"Could not find the file {into} in container "
                                   f"{_name(ctx, cid)}")
            _pipe(lambda tar: TreeWriter(tar).add_top(fd, top),
                  Extractor(root, _in_root(into), owner=owner,
                            rebase=(top, rename) if rename else None))
        finally:
            os.close(fd)


def _stat_in_container(root: int, path: str) -> os.stat_result | None:
    try:
        fd = openat2(root, _in_root(path), O_PATH)
    except (FileNotFoundError, NotADirectoryError):
        return None
    try:
        return os.fstat(fd)
    finally:
        os.close(fd)


def _pipe(write, extractor: Extractor) -> None:
    """Run write(tar) in a thread into a pipe that `extractor` reads; the
    first error of either side is raised."""
    r, w = os.pipe()
    errors: list[BaseException] = []

    def produce():
        try:
            with os.fdopen(w, "wb") as out, tarfile.open(fileobj=out, mode="w|",
                                                         format=tarfile.PAX_FORMAT) as tar:
                write(tar)
        except BrokenPipeError:
            pass  # the reader failed: its error is the one to report
        except BaseException as e:  # noqa: BLE001 (re-raised below, in the caller)
            errors.append(e)

    thread = threading.Thread(target=produce, daemon=True)
    thread.start()
    try:
        with os.fdopen(r, "rb") as inp:
            extractor.extract(inp)
            while inp.read(1 << 16):
                pass  # the writer's tail (tar padding): let it finish
    finally:
        thread.join()
    if errors:
        raise errors[0]


# -- export ---------------------------------------------------------------------------

def export(ctx: Context, cid: str, out: BinaryIO) -> None:
    """The container's root filesystem (its image's layers and its changes,
    not what is mounted on it) as a tar to `out`, entries named from the
    root without a leading "/" or "./", as `docker export` writes them."""
    with RootView(ctx, cid, snapshot=True) as root, tarfile.open(
            fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        TreeWriter(tar, xattrs=True).add_top(root, "")
