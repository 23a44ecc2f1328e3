"""A container's PID 1 forked early (process.preforked.prefork() through the
start-up slot, runtime/startup.StartUp, what a foreground `rs-docker run` as
root does): the same output, exit codes, isolation and
errors as one forked at the start; a bundle it cannot run falls back to the
usual start; a handle never used leaves no process; our own children go to
our PID namespace again."""

from __future__ import annotations

import os
import signal
import time

import pytest

from rs_docker.errors import CommandNotFound, RuntimeFailure
from rs_docker.runtime.cgroups import join
from rs_docker.runtime.process.preforked import prefork
from rs_docker.runtime.process.start import spawn
from rs_docker.runtime.startup import StartUp
from tests.fixtures.bundle import DEFAULT_NAMESPACES, make_bundle, run_captured
from tests.fixtures.procs import children
from tests.integration.security_probe import docker_config

pytestmark = pytest.mark.root

PROBE = ("echo $$; grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' "
         "/proc/self/status; cat /proc/self/cgroup; ls /proc/self/fd; hostname; "
         "wc -c < /proc/timer_list; exit 5")
DOCKER_CAPS = "00000000a80425fb"
NAMESPACES = ("pid", "net", "ipc", "uts", "mnt", "cgroup")


def cgroup_dirs(container_id: str) -> list[str]:
    """Where the runtime creates the container's cgroup (below ours)."""
    return [os.path.join(os.path.dirname(f), "rs-docker", container_id)
            for f in join.cgroup_procs_files(os.getpid())]


def ns(pid: int | str, kind: str) -> str:
    return os.readlink(f"/proc/{pid}/ns/{kind}")


@pytest.fixture
def handle():
    """A preforked PID 1; whatever the test did with it, nothing stays."""
    before = children()
    h = prefork()
    assert h is not None
    yield h
    h.close()
    assert children() == before


@pytest.fixture
def slot():
    """A start-up slot holding a preforked PID 1; left after the test, and
    nothing stays."""
    before = children()
    with StartUp() as s:
        assert s.preforked_pid is not None
        yield s
    assert children() == before


def test_a_preforked_pid_1_runs_the_container_as_one_forked_at_start_does(tmp_path, slot):
    bundle = make_bundle(tmp_path, ["sh", "-c", PROBE], **docker_config())
    usual, usual_out, usual_err = run_captured(bundle)
    pid1 = slot.preforked_pid
    result, out, err = run_captured(bundle, startup=slot)
    assert (result.exit_code, out, err) == (usual.exit_code, usual_out, usual_err) == (5, out, "")
    assert result.pid == pid1  # it was the preforked process that ran
    assert slot.preforked_pid is None  # used
    lines = out.splitlines()
    assert lines[0] == "1"
    status = dict(line.split(":\t") for line in lines[1:8])
    assert status["CapEff"] == status["CapPrm"] == status["CapBnd"] == DOCKER_CAPS
    assert status["CapInh"] == status["CapAmb"] == "0000000000000000"
    assert status["Seccomp"] == "2" and status["NoNewPrivs"] == "0"
    assert lines[-1] == "0"  # masked: /dev/null bound over it


def test_a_preforked_pid_1_has_its_own_namespaces_and_joins_its_cgroup(tmp_path, slot):
    ours = {kind: ns("self", kind) for kind in NAMESPACES}
    pid1 = slot.preforked_pid
    c = spawn(make_bundle(tmp_path, ["sleep", "1000"]), stdin=None, stdout=None, stderr=None,
              startup=slot, container_id="prefork-cgroup-test")
    try:
        assert c.pid == pid1
        for kind in NAMESPACES:
            assert ns(c.pid, kind) != ours[kind], kind
        with open(f"/proc/{c.pid}/status") as f:
            nspid = [line.split()[1:] for line in f if line.startswith("NSpid:")][0]
        assert nspid == [str(c.pid), "1"]
        with open(f"/proc/{c.pid}/cgroup") as f:
            assert "/rs-docker/prefork-cgroup-test" in f.read()
    finally:
        c.kill(signal.SIGKILL)
        assert c.wait().exit_code == 137
    assert not [d for d in cgroup_dirs("prefork-cgroup-test") if os.path.exists(d)]


def test_prefork_leaves_our_own_pid_namespace_for_our_children(handle):
    assert ns("self", "pid_for_children") == ns("self", "pid")
    assert ns(handle.pid, "pid") != ns("self", "pid")
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        os._exit(0 if ns("self", "pid") == ns(os.getppid(), "pid") else 1)
    assert os.waitpid(pid, 0)[1] == 0


def test_a_handle_never_used_exits_on_its_own_when_closed(handle):
    pid, pidfd, chan = handle.take()
    try:
        chan.close()  # what close() does first: P1 reads EOF
        t0 = time.monotonic()
        info = os.waitid(os.P_PIDFD, pidfd, os.WEXITED)
        assert (info.si_code, info.si_status) == (os.CLD_EXITED, 0)  # not killed
        assert time.monotonic() - t0 < 60   # a safety net: it exits by itself
    finally:
        os.close(pidfd)


def test_close_reaps_an_unused_handle_and_is_idempotent():
    before = children()
    h = prefork()
    assert h.pid in children()
    h.close()
    h.close()
    assert children() == before


def test_a_bundle_without_a_new_pid_namespace_falls_back_to_the_usual_start(tmp_path, slot):
    namespaces = [{"type": t} for t in DEFAULT_NAMESPACES if t != "pid"]
    bundle = make_bundle(tmp_path, ["sh", "-c", "echo $$"], linux={"namespaces": namespaces})
    pid1 = slot.preforked_pid
    result, out, err = run_captured(bundle, startup=slot)
    assert result.exit_code == 0, err
    assert out.strip() != "1"  # the host's PID namespace, as asked
    assert result.pid != pid1
    assert pid1 not in children()


def test_a_bundle_that_does_not_plan_fails_as_it_does_without_prefork(tmp_path, slot):
    namespaces = [{"type": t} for t in DEFAULT_NAMESPACES if t != "uts"]
    bundle = make_bundle(tmp_path, ["true"], hostname="box", linux={"namespaces": namespaces})
    with pytest.raises(RuntimeFailure) as usual:
        run_captured(bundle)
    with pytest.raises(RuntimeFailure) as preforked:
        run_captured(bundle, startup=slot)
    assert str(preforked.value) == str(usual.value) == "config: hostname needs a uts namespace"


def test_a_preforked_pid_1_that_died_before_the_run_is_replaced(tmp_path, slot):
    pid1 = slot.preforked_pid
    os.kill(pid1, signal.SIGKILL)
    result, out, _ = run_captured(make_bundle(tmp_path, ["sh", "-c", "echo $$"]),
                                  startup=slot)
    assert (result.exit_code, out) == (0, "1\n")
    assert result.pid != pid1


def test_command_not_found_through_a_preforked_pid_1_is_127(tmp_path, slot):
    with pytest.raises(CommandNotFound) as e:
        run_captured(make_bundle(tmp_path, ["nosuchcommand"]), startup=slot)
    assert e.value.exit_code == 127
    assert str(e.value) == 'exec: "nosuchcommand": executable file not found in $PATH'


def test_a_failing_mount_through_a_preforked_pid_1_is_125_and_leaves_nothing(tmp_path, slot):
    bundle = make_bundle(tmp_path, ["true"], mounts=[
        {"destination": "/data", "type": "bind", "source": str(tmp_path / "missing"),
         "options": ["rbind"]}])
    with pytest.raises(RuntimeFailure, match=r"^mount .*missing on .*/rootfs/data: no such file") \
            as e:
        spawn(bundle, stdin=None, stdout=None, stderr=None, startup=slot,
              container_id="prefork-mount-test")
    assert e.value.exit_code == 125
    assert not [d for d in cgroup_dirs("prefork-mount-test") if os.path.exists(d)]


def test_a_cli_run_that_fails_before_the_start_leaves_no_process(rsd):
    proc = rsd("run", "--rm", "--pull", "never", "127.0.0.1:9/no-such-image:latest", "true")
    assert proc.returncode == 125 and "Traceback" not in proc.stderr, proc.stderr
    marker = str(rsd.root).encode()
    left = []
    for name in os.listdir("/proc"):
        try:
            with open(f"/proc/{name}/cmdline", "rb") as f:
                if marker in f.read():
                    left.append(name)
        except OSError:
            continue
    assert left == []


def test_a_terminal_through_a_preforked_pid_1_gets_its_pty_and_window_size(tmp_path):
    from tests.integration.test_runtime_tty import run_in_pty

    bundle = make_bundle(tmp_path, ["sh", "-c", "tty; stty size; exit 3"],
                         process={"terminal": True})

    def target():
        from rs_docker.runtime.process.start import run

        with StartUp() as startup:
            return run(bundle, startup=startup)

    code, out = run_in_pty(bundle, rows=33, cols=77, target=target)
    assert code == 3, out
    assert out.split() == ["/dev/pts/0", "33", "77"], out


def test_concurrent_preforked_runs_each_get_their_own_pid_1(tmp_path):
    import contextlib
    import threading

    before = children()
    bundles = [make_bundle(tmp_path, ["sh", "-c", f"echo $$ {i}"]) for i in range(5)]
    outs: dict = {}

    def one(i, slot):
        result, out, _ = run_captured(bundles[i], startup=slot)
        outs[i] = (result.exit_code, out)

    # Entered and left in turn (nested): each restores what it found.
    with contextlib.ExitStack() as stack:
        slots = [stack.enter_context(StartUp()) for _ in range(5)]
        threads = [threading.Thread(target=one, args=(i, slots[i])) for i in range(5)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert outs == {i: (0, f"1 {i}\n") for i in range(5)}
    assert children() == before
