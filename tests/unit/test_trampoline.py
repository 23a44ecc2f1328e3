"""The exec trampoline (runtime/process/trampoline/) run for real from its sealed
memfd, with a socketpair as its report fd, as the runtime runs it."""

from __future__ import annotations

import errno
import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from rs_docker.runtime.process import trampoline
from rs_docker.runtime.process.sync import trampoline_record

pytestmark = pytest.mark.skipif(not trampoline.supported(),
                                reason=f"no trampoline for {os.uname().machine}")

SCRIPT = Path(__file__).parents[2] / "scripts" / "trampoline.sh"


def start(mode: str, path: str, args: list[str], report: socket.socket | None,
          stdout: int | None = None) -> int:
    """Fork a child that execs the trampoline as command.finish does."""
    memfd = trampoline.load()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            if stdout is not None:
                os.dup2(stdout, 1)
            if report is None:
                high = os.dup2(memfd, 64)
                os.closerange(3, 64)
                os.execve(high, [mode, path, *args], {})
            trampoline.execute(memfd, mode, path, args, {"K": "v"}, report.fileno())
        finally:
            os._exit(99)
    os.close(memfd)
    return pid


def status(pid: int) -> int:
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def records(sock: socket.socket) -> list[dict]:
    sock.setblocking(False)
    out = []
    while True:
        try:
            data = sock.recv(4096)
        except BlockingIOError:
            return out
        if not data:
            return out
        out.append(trampoline_record(data))


@pytest.fixture
def pair():
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    yield a, b
    a.close()
    b.close()


@pytest.mark.parametrize("arch", sorted(trampoline.CODE))
def test_the_machine_code_is_its_source(arch):
    prefix = "" if arch == os.uname().machine else f"{arch}-linux-gnu-"
    if shutil.which(prefix + "as") is None or shutil.which(prefix + "objcopy") is None:
        pytest.skip(f"needs {prefix}as and {prefix}objcopy (package binutils"
                    f"{'-' + arch + '-linux-gnu' if prefix else ''})")
    hexcode = subprocess.run([str(SCRIPT), arch], capture_output=True, text=True,
                             check=True).stdout
    assert bytes.fromhex(hexcode.strip()) == trampoline.CODE[arch]


def test_the_memfd_is_sealed_against_writes():
    fd = trampoline.load()
    try:
        with pytest.raises(PermissionError):
            os.write(fd, b"x")
        with pytest.raises(PermissionError):
            os.ftruncate(fd, 0)
        again = os.open(f"/proc/self/fd/{fd}", os.O_WRONLY)  # a new open file, same seals
        try:
            with pytest.raises(PermissionError):
                os.write(again, b"x")
        finally:
            os.close(again)
        assert os.pread(fd, 4, 0) == b"\x7fELF"
    finally:
        os.close(fd)


def test_exec_mode_runs_the_command_with_its_argv_and_env(pair, tmp_path):
    a, b = pair
    out = os.open(tmp_path / "out", os.O_WRONLY | os.O_CREAT, 0o600)
    pid = start("x", "/bin/sh", ["sh", "-c", 'echo "$0 $1 $K"', "zero", "one"], b, out)
    os.close(out)
    b.close()
    assert status(pid) == 0
    assert (tmp_path / "out").read_text() == "zero one v\n"
    assert a.recv(64) == b""  # EOF: the command's exec closed the report fd


def test_a_failed_exec_is_reported_with_docker_codes(pair, tmp_path):
    a, b = pair
    (tmp_path / "plain").write_text("data\n")
    (tmp_path / "garbage").write_bytes(b"\0\1\2\3")
    (tmp_path / "garbage").chmod(0o755)
    codes = [status(start("x", path, ["cmd"], b)) for path in
             ("/nonexistent/cmd", str(tmp_path / "plain"), str(tmp_path / "garbage"))]
    b.close()
    assert codes == [127, 126, 126]
    assert records(a) == [
        {"type": "error", "step": "exec", "errno": errno.ENOENT,
         "message": 'exec: "/nonexistent/cmd": no such file or directory'},
        {"type": "error", "step": "exec", "errno": errno.EACCES,
         "message": f'exec: "{tmp_path}/plain": permission denied'},
        {"type": "error", "step": "exec", "errno": errno.ENOEXEC,
         "message": f'exec: "{tmp_path}/garbage": exec format error'}]


def test_without_its_report_fd_it_runs_nothing(tmp_path):
    """Re-entered through /proc/self/exe, fd 3 is closed: exit 126."""
    marker = tmp_path / "ran"
    pid = start("x", "/bin/touch", ["touch", str(marker)], None)
    assert status(pid) == 126
    assert not marker.exists()


def test_a_script_whose_interpreter_is_proc_self_exe_runs_nothing(pair, tmp_path):
    a, b = pair
    script = tmp_path / "selfexe"
    script.write_text("#!/proc/self/exe\n")
    script.chmod(0o755)
    pid = start("x", str(script), [str(script)], b)
    b.close()
    assert status(pid) == 126
    assert records(a) == []


def test_spawn_mode_makes_the_command_our_child_in_its_own_session(pair, tmp_path):
    a, b = pair
    out = os.open(tmp_path / "out", os.O_WRONLY | os.O_CREAT, 0o600)
    pid = start("s", "/bin/sh", ["sh", "-c", "echo $PPID $(cut -d' ' -f6 /proc/$$/stat); "
                                             "exit 7"], b, out)
    os.close(out)
    b.close()
    assert status(pid) == 0  # the trampoline itself, once it reported
    (report,) = [r for r in records(a) if r]
    assert report["type"] == "pid"
    child = report["pid"]
    assert status(child) == 7  # ours to reap: CLONE_PARENT
    ppid, session = (tmp_path / "out").read_text().split()
    assert int(ppid) == os.getpid() and int(session) == child


def test_without_a_trampoline_python_takes_its_steps(pair, tmp_path):
    """An architecture without machine code (load() gives -1): the same
    modes, done by Python; the spawned process is its parent's child once
    the forking one exits (the runtime is a subreaper then, as here)."""
    from rs_docker.linux import syscalls

    a, b = pair
    was = syscalls.child_subreaper()
    syscalls.set_child_subreaper(True)
    try:
        out = os.open(tmp_path / "out", os.O_WRONLY | os.O_CREAT, 0o600)
        pid = os.fork()
        if pid == 0:  # pragma: no cover - child
            try:
                os.dup2(out, 1)
                trampoline.execute(-1, "s", "/bin/sh", ["sh", "-c", "echo ran; exit 5"], {},
                                   b.fileno())
            finally:
                os._exit(99)
        os.close(out)
        b.close()
        assert status(pid) == 0
        (report,) = records(a)
        assert report["type"] == "pid"
        assert status(report["pid"]) == 5
    finally:
        syscalls.set_child_subreaper(was)
    assert (tmp_path / "out").read_text() == "ran\n"
