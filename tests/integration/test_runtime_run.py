"""runtime.run on real namespaces: output, exit codes, errors, PID 1,
stdin, live stdout, signals, fd hygiene, concurrency and start-up cost."""

from __future__ import annotations

import os
import select
import signal
import threading
import time

import pytest

from rs_docker.errors import CommandNotExecutable, CommandNotFound, RuntimeFailure
from rs_docker.runtime.process.start import run, spawn
from tests.fixtures.bundle import DEFAULT_NAMESPACES, make_bundle, run_captured

pytestmark = pytest.mark.root


def sh(tmp_path, script, **overrides):
    return make_bundle(tmp_path, ["sh", "-c", script], **overrides)


def test_output_and_exit_status(tmp_path):
    result, out, err = run_captured(sh(tmp_path, "echo hello; echo oops >&2; exit 3"))
    assert (result.exit_code, out, err) == (3, "hello\n", "oops\n")
    assert result.pid > 0 and result.oom_killed is False


def test_command_found_through_path_and_args_kept(tmp_path):
    result, out, _ = run_captured(make_bundle(tmp_path, ["echo", "a b", "c"]))
    assert (result.exit_code, out) == (0, "a b c\n")


def test_command_not_found_is_127_with_dockers_message(tmp_path):
    with pytest.raises(CommandNotFound) as e:
        run_captured(make_bundle(tmp_path, ["nope"]))
    assert e.value.exit_code == 127
    assert str(e.value) == 'exec: "nope": executable file not found in $PATH'


def test_missing_absolute_path_is_127(tmp_path):
    with pytest.raises(CommandNotFound, match=r'exec: "/nope": stat /nope: no such file'):
        run_captured(make_bundle(tmp_path, ["/nope"]))


def test_directory_is_126_permission_denied(tmp_path):
    with pytest.raises(CommandNotExecutable) as e:
        run_captured(make_bundle(tmp_path, ["/etc"]))
    assert e.value.exit_code == 126
    assert str(e.value) == 'exec: "/etc": permission denied'


def test_non_executable_file_is_126(tmp_path):
    with pytest.raises(CommandNotExecutable):
        run_captured(make_bundle(tmp_path, ["/etc/passwd"]))


def test_missing_cwd_is_a_runtime_failure_naming_it(tmp_path):
    with pytest.raises(RuntimeFailure, match="/nowhere") as e:
        run_captured(sh(tmp_path, "true", process={"cwd": "/nowhere"}))
    assert e.value.exit_code == 125


def test_cwd_is_set(tmp_path):
    _, out, _ = run_captured(sh(tmp_path, "pwd", process={"cwd": "/etc"}))
    assert out == "/etc\n"


def test_failed_bind_mount_reports_the_step_and_leaves_nothing(tmp_path):
    before = _mountinfo()
    bundle = sh(tmp_path, "true", mounts=[{"destination": "/data", "type": "bind",
                                           "source": str(tmp_path / "missing"),
                                           "options": ["rbind"]}])
    with pytest.raises(RuntimeFailure, match=r"^mount .*missing on .*/rootfs/data: no such file"):
        run_captured(bundle)
    assert _mountinfo() == before


def test_env_and_user(tmp_path):
    bundle = sh(tmp_path, 'echo "$FOO"; id -u; id -g; id -G',
                process={"env": ["PATH=/bin", "FOO=bar baz"],
                         "user": {"uid": 1000, "gid": 1000, "additionalGids": [29, 44]}})
    result, out, err = run_captured(bundle)
    assert result.exit_code == 0, err
    assert out.split("\n")[:3] == ["bar baz", "1000", "1000"]
    assert set(out.split("\n")[3].split()) == {"1000", "29", "44"}


def test_pid_1_and_only_the_containers_processes(tmp_path):
    _, out, _ = run_captured(sh(tmp_path, "echo $$; ps -o pid,comm; true"))
    lines = out.splitlines()
    assert lines[0] == "1"
    assert [line.split() for line in lines[2:]] == [["1", "sh"], [lines[3].split()[0], "ps"]]


def test_hostname_from_config(tmp_path):
    _, out, _ = run_captured(sh(tmp_path, "hostname", hostname="box-1"))
    assert out == "box-1\n"
    assert os.uname().nodename != "box-1"


def test_stdin_is_passed_through(tmp_path):
    _, out, _ = run_captured(make_bundle(tmp_path, ["cat"]), stdin=b"line 1\nline 2\n")
    assert out == "line 1\nline 2\n"


def test_stdout_is_streamed_live(tmp_path):
    """The first line arrives while the container still runs (blocked on stdin)."""
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    c = spawn(sh(tmp_path, "echo first; read x; echo second $x"), stdin=in_r, stdout=out_w)
    os.close(in_r)
    os.close(out_w)
    assert select.select([out_r], [], [], 10)[0], "no output while the container runs"
    assert os.read(out_r, 100) == b"first\n"
    os.write(in_w, b"go\n")
    os.close(in_w)
    assert c.wait().exit_code == 0
    assert os.read(out_r, 100) == b"second go\n"
    os.close(out_r)


def test_kill_with_sigkill_is_137(tmp_path):
    c = spawn(make_bundle(tmp_path, ["sleep", "100"]))
    c.kill(signal.SIGKILL)
    assert c.wait().exit_code == 137


def test_killed_by_sigterm_is_143(tmp_path):
    # PID 1 of a PID namespace ignores SIGTERM without a handler
    # (pid_namespaces(7)): share the host's PID namespace to see 128+15.
    ns = [{"type": t} for t in DEFAULT_NAMESPACES if t != "pid"]
    c = spawn(make_bundle(tmp_path, ["sleep", "100"], linux={"namespaces": ns}))
    c.kill(signal.SIGTERM)
    assert c.wait().exit_code == 143


def test_signals_to_the_runtime_are_forwarded(tmp_path):
    out = tmp_path / "out"
    bundle = sh(tmp_path, 'trap "echo got TERM; exit 7" TERM; echo ready; '
                          'while true; do sleep 0.05; done')

    def send_when_ready():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "ready" not in out.read_text():
            time.sleep(0.01)
        os.kill(os.getpid(), signal.SIGTERM)

    with open(out, "w") as f:
        threading.Thread(target=send_when_ready, daemon=True).start()
        result = run(bundle, stdout=f.fileno())
    assert result.exit_code == 7
    assert out.read_text() == "ready\ngot TERM\n"


def test_command_starts_with_default_dispositions_and_an_empty_mask(tmp_path):
    """Whatever the caller ignores or blocks (nohup's SIGHUP, Python's
    SIGPIPE and SIGXFSZ) and the handlers the runtime installs to forward
    signals: none of it reaches the container (execve keeps SIG_IGN and
    the mask, signal(7))."""
    old_hup = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    old_usr2 = signal.signal(signal.SIGUSR2, signal.SIG_IGN)
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1, signal.SIGRTMIN + 2])
    try:
        # grep itself: busybox sh would ignore SIGQUIT on its own
        _, out, _ = run_captured(make_bundle(tmp_path, ["grep", "-E", "^Sig(Ign|Blk)",
                                                        "/proc/self/status"]))
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
        signal.signal(signal.SIGUSR2, old_usr2)
        signal.signal(signal.SIGHUP, old_hup)
    fields = dict(line.split(":\t") for line in out.splitlines())
    assert int(fields["SigIgn"], 16) == 0
    assert int(fields["SigBlk"], 16) == 0


def test_glibc_reserved_signals_the_caller_ignores_are_reset_too(tmp_path):
    """GNU make hands 32 and 33 down ignored; glibc's sigaction() refuses
    to touch them, so they are set here (and reset by the runtime) with
    the raw system call."""
    import ctypes

    from rs_docker.linux import syscalls

    libc = ctypes.CDLL(None, use_errno=True)
    nr = syscalls._SYS_RT_SIGACTION[os.uname().machine]
    saved = {}
    for sig in (32, 33):
        ign, old = ctypes.create_string_buffer(64), ctypes.create_string_buffer(64)
        ign[0] = 1  # SIG_IGN
        assert libc.syscall(nr, sig, ign, old, 8) == 0
        saved[sig] = old
    try:
        _, out, _ = run_captured(make_bundle(tmp_path, ["grep", "^SigIgn", "/proc/self/status"]))
    finally:
        for sig, old in saved.items():
            libc.syscall(nr, sig, old, None, 8)
    assert int(out.split(":\t")[1], 16) == 0


def test_no_fd_of_the_runtime_leaks_in(tmp_path):
    leak = os.open("/etc/hostname", os.O_RDONLY)
    os.set_inheritable(leak, True)
    try:
        _, out, _ = run_captured(sh(tmp_path, "ls /proc/self/fd"))
    finally:
        os.close(leak)
    assert out.split() == ["0", "1", "2", "3"]  # 3: the directory ls reads


def test_cwd_and_root_of_the_host_do_not_leak(tmp_path):
    _, out, _ = run_captured(sh(tmp_path, "readlink /proc/self/cwd; readlink /proc/self/root; "
                                          f"test -e {tmp_path} && echo visible || echo gone"))
    assert out.split() == ["/", "/", "gone"]


def test_ten_concurrent_runs(tmp_path):
    bundles = [sh(tmp_path, f"echo run {i}; hostname", hostname=f"h{i}") for i in range(10)]
    results: dict[int, tuple] = {}

    def one(i):
        try:
            results[i] = run_captured(bundles[i])
        except Exception as e:  # surfaced by the assertion below
            results[i] = (e, "", "")

    threads = [threading.Thread(target=one, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for i in range(10):
        result, out, err = results[i]
        assert not isinstance(result, Exception), result
        assert (result.exit_code, out) == (0, f"run {i}\nh{i}\n"), err


def test_state_dir_and_on_start(tmp_path):
    import json

    seen = []
    result, _, _ = run_captured(sh(tmp_path, "true"), on_start=seen.append,
                                state_dir=tmp_path / "state")
    state = json.loads((tmp_path / "state" / "runtime.json").read_text())
    assert seen == [result.pid] == [state["pid"]]
    assert state["start_time"] > 0


def _mountinfo() -> list[str]:
    with open("/proc/self/mountinfo") as f:
        return f.read().splitlines()
