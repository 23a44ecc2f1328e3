"""CVE-2019-5736 performed for real: a container file whose interpreter is
`#!/proc/self/exe`, run as the container's command (`run`), by `exec` into
a running container, and rootless.

The image carries the host interpreter's loader and libraries, so that if
the kernel ever ran the host's Python inside the container, it would load
them, and with them the probe's `-e LD_PRELOAD=/probe/stub.so`, whose
constructor logs what /proc/self/exe names (path and device:inode) and
whether it can be opened for writing. A dynamically linked control program
run the same way shows the stub does log inside the container. The
container's processes must never see a host file as /proc/self/exe.

A second test races every `exec` from inside a container that holds
CAP_SYS_PTRACE (which overrides non-dumpable): no /proc/PID/exe it can see
may be the host interpreter, at any moment.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import module_rsd
from tests.fixtures import oci
from tests.fixtures.images import ImageSpec, Layer, busybox_layer, default_config, push
from tests.integration.test_rootless import user  # noqa: F401 - the throw-away users

pytestmark = pytest.mark.root

STUB_C = r"""
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

__attribute__((constructor)) static void probe(void)
{
    char path[4096];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
    path[n < 0 ? 0 : n] = 0;
    struct stat st = {0};
    stat("/proc/self/exe", &st);
    int fd = open("/proc/self/exe", O_WRONLY);
    FILE *log = fopen("/probe/log", "a");
    if (log) {
        fprintf(log, "%s %lu:%lu write=%s\n", path, (unsigned long)st.st_dev,
                (unsigned long)st.st_ino, fd >= 0 ? "yes" : strerror(errno));
        fclose(log);
    }
    _exit(0);
}
"""
HELLO_C = "int main(void) { return 3; }\n"


def host_interpreter() -> str:
    st = os.stat(os.path.realpath(sys.executable))
    return f"{st.st_dev}:{st.st_ino}"


def interpreter_libraries() -> list[str]:
    """The loader and libraries the host interpreter needs (ldd)."""
    out = subprocess.run(["ldd", os.path.realpath(sys.executable)], capture_output=True,
                         text=True, check=True).stdout
    paths = []
    for line in out.splitlines():
        for word in line.split():
            if word.startswith("/"):
                paths.append(word)
    return paths


def libraries_layer() -> Layer:
    entries, dirs = [], set()
    for path in interpreter_libraries():
        parts = path.strip("/").split("/")
        for i in range(1, len(parts)):
            d = "/".join(parts[:i])
            if d not in dirs:
                dirs.add(d)
                entries.append(oci.directory(d))
        entries.append(oci.file(path.lstrip("/"), Path(path).read_bytes(), mode=0o755))
    return Layer.from_entries(entries)


@pytest.fixture(scope="module")
def pylibs(pusher):
    spec = ImageSpec([busybox_layer(), libraries_layer()], default_config())
    return push(pusher, "selfexe/pylibs", "latest", spec).ref


@pytest.fixture(scope="module")
def probe_dir(tmp_path_factory) -> Path:
    """selfexe.sh (#!/proc/self/exe), stub.so, hello (the control): mode 0777
    so a rootless container's root may write its log there too."""
    d = tmp_path_factory.mktemp("selfexe-probe")
    (d / "stub.c").write_text(STUB_C)
    (d / "hello.c").write_text(HELLO_C)
    subprocess.run(["cc", "-shared", "-fPIC", "-o", d / "stub.so", d / "stub.c"], check=True)
    subprocess.run(["cc", "-o", d / "hello", d / "hello.c"], check=True)
    script = d / "selfexe.sh"
    script.write_text("#!/proc/self/exe\n")
    script.chmod(0o755)
    d.chmod(0o777)
    for p in d.parent, d.parent.parent:
        p.chmod(p.stat().st_mode | 0o011)
    return d


@pytest.fixture
def log(probe_dir):
    path = probe_dir / "log"
    path.unlink(missing_ok=True)
    yield path
    path.unlink(missing_ok=True)


@pytest.fixture(scope="module")
def rs(tmp_path_factory, pylibs):
    return module_rsd(tmp_path_factory, "selfexe", pylibs)


def probe_args(probe_dir: Path) -> list[str]:
    return ["-v", f"{probe_dir}:/probe", "-e", "LD_PRELOAD=/probe/stub.so"]


def logged(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def assert_no_host_exe(lines: list[str]) -> None:
    for line in lines:
        path, ident, _write = line.split(" ", 2)
        assert ident != host_interpreter(), f"the host interpreter ran in the container: {line}"
        assert "python" not in path, line


def test_the_stub_logs_inside_a_container(rs, pylibs, probe_dir, log):
    """The control: a dynamic program of the container loads the stub."""
    proc = rs("run", "--rm", *probe_args(probe_dir), pylibs, "/probe/hello")
    assert proc.returncode == 0, proc.stderr  # the stub exits 0
    assert [line.split()[0] for line in logged(log)] == ["/probe/hello"]


def test_run_never_runs_the_host_interpreter(rs, pylibs, probe_dir, log):
    proc = rs("run", "--rm", *probe_args(probe_dir), pylibs, "/probe/selfexe.sh")
    assert_no_host_exe(logged(log))
    assert logged(log) == []  # the trampoline re-entered refuses: nothing ran
    assert proc.returncode == 126, (proc.returncode, proc.stderr)


def test_exec_never_runs_the_host_interpreter(rs, pylibs, probe_dir, log):
    name = f"selfexe-{os.getpid()}"
    started = rs("run", "-d", "--name", name, *probe_args(probe_dir), pylibs, "sleep", "300")
    assert started.returncode == 0, started.stderr
    try:
        proc = rs("exec", name, "/probe/selfexe.sh")
        assert proc.returncode == 126, (proc.returncode, proc.stderr)
        # The same through a command of the image replaced by the script.
        rs("exec", name, "cp", "/probe/selfexe.sh", "/bin/true2", check=True)
        proc = rs("exec", name, "true2")
        assert proc.returncode == 126, (proc.returncode, proc.stderr)
        assert_no_host_exe(logged(log))
        assert logged(log) == []
    finally:
        rs("rm", "-f", name)


RACE = ("end=$(($(date +%s) + 8)); while [ $(date +%s) -lt $end ] && [ ! -e /tmp/stop ]; do "
        "for f in /proc/[0-9]*/exe; do stat -L -c '%d:%i %N' $f; done 2>/dev/null; "
        "done > /tmp/seen; touch /tmp/done")


def test_exec_is_never_the_host_interpreter_to_a_ptrace_capable_container(rs, pylibs):
    """CAP_SYS_PTRACE overrides non-dumpable: only a process that is not the
    host interpreter, or not in the container's PID namespace, is safe."""
    name = f"selfexe-race-{os.getpid()}"
    started = rs("run", "-d", "--name", name, "--cap-add", "SYS_PTRACE", pylibs,
                 "sleep", "300")
    assert started.returncode == 0, started.stderr
    try:
        rs("exec", "-d", name, "sh", "-c", RACE, check=True)
        for _ in range(15):
            rs("exec", name, "true", check=True)
        rs("exec", name, "touch", "/tmp/stop", check=True)
        deadline = time.monotonic() + 60
        while rs("exec", name, "test", "-e", "/tmp/done").returncode != 0:
            assert time.monotonic() < deadline, "the watcher did not finish"
            time.sleep(0.1)
        seen = rs("exec", name, "cat", "/tmp/seen", check=True).stdout.splitlines()
    finally:
        rs("rm", "-f", name)
    assert seen, "the watcher saw no /proc/*/exe"
    assert all(host_interpreter() != line.split()[0] for line in seen), \
        [line for line in seen if line.split()[0] == host_interpreter()]


def test_rootless_run_never_runs_the_host_interpreter(user, pylibs, probe_dir, log):  # noqa: F811
    assert user.rsd("pull", pylibs).returncode == 0
    control = user.rsd("run", "--rm", *probe_args(probe_dir), pylibs, "/probe/hello")
    assert control.returncode == 0, control.stderr
    assert [line.split()[0] for line in logged(log)] == ["/probe/hello"]
    log.unlink()
    proc = user.rsd("run", "--rm", *probe_args(probe_dir), pylibs, "/probe/selfexe.sh")
    assert_no_host_exe(logged(log))
    assert logged(log) == []
    assert proc.returncode == 126, (proc.returncode, proc.stderr)
