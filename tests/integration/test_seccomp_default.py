"""Docker's current default seccomp profile, tried for real through the
console script: a static probe (tests/fixtures/seccomp_probe.c, compiled
here with `cc -static`; busybox cannot make raw syscalls) runs in a
container and prints the errno of each call. Every refusal is also shown to
fail open under `--security-opt seccomp=unconfined`, so it cannot pass by
accident (an io_uring disabled by the host's sysctl, say).
"""

from __future__ import annotations

import errno
import subprocess
from pathlib import Path

import pytest

from tests.conftest import module_rsd

pytestmark = pytest.mark.root

SOURCE = Path(__file__).parent.parent / "fixtures" / "seccomp_probe.c"
IO_URING = ("io_uring_setup", "io_uring_enter", "io_uring_register")


@pytest.fixture(scope="module")
def probe_dir(tmp_path_factory) -> Path:
    """A directory holding the compiled probe as `probe`."""
    out = tmp_path_factory.mktemp("seccomp-probe")
    # gcc and the static libc (libc6-dev) come with `make deps`
    built = subprocess.run(["gcc", "-static", "-O2", "-o", str(out / "probe"), str(SOURCE)],
                           capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    return out


@pytest.fixture(scope="module")
def rs(images, tmp_path_factory):
    return module_rsd(tmp_path_factory, "seccomp-default", images.busybox.ref)


@pytest.fixture(scope="module")
def errnos(rs, images, probe_dir):
    """errnos(*run_flags) -> {call: errno} as seen by the probe in a container."""
    def run(*flags: str) -> dict[str, int]:
        proc = rs("run", "--rm", *flags, "-v", f"{probe_dir}:/probe:ro", images.busybox.ref,
                  "/probe/probe")
        assert proc.returncode == 0, proc.stderr + proc.stdout
        return {name: int(code) for name, code in
                (line.split() for line in proc.stdout.splitlines())}
    return run


@pytest.fixture(scope="module")
def unconfined(errnos):
    return errnos("--security-opt", "seccomp=unconfined")


def test_io_uring_is_refused_with_eperm(errnos, unconfined):
    """moby PR 46762 (Docker 25): io_uring has been the source of many
    kernel exploits and bypasses seccomp's view of the calls it performs."""
    if unconfined["io_uring_setup"] != 0:
        pytest.skip(f"io_uring_setup fails here even unconfined: "
                    f"{errno.errorcode[unconfined['io_uring_setup']]}")
    assert all(unconfined[c] != errno.EPERM for c in IO_URING), unconfined
    default = errnos()
    assert {c: default[c] for c in IO_URING} == dict.fromkeys(IO_URING, errno.EPERM), default


def test_io_uring_stays_refused_with_every_capability(errnos, unconfined):
    """No capability group of Docker's profile lists io_uring: only
    --privileged or seccomp=unconfined lift it."""
    if unconfined["io_uring_setup"] != 0:
        pytest.skip("io_uring_setup fails here even unconfined")
    every = errnos("--cap-add", "ALL")
    assert {c: every[c] for c in IO_URING} == dict.fromkeys(IO_URING, errno.EPERM), every
    assert errnos("--privileged")["io_uring_setup"] == 0


def test_af_alg_and_af_vsock_sockets_are_refused(errnos, unconfined):
    """moby/profiles seccomp v0.2.3 (commit dec315c): socket(2) for every
    family but AF_ALG (the kernel crypto API, https://copy.fail/) and AF_VSOCK."""
    assert unconfined["socket_af_alg"] != errno.EPERM, unconfined
    assert unconfined["socket_af_vsock"] != errno.EPERM, unconfined
    default = errnos()
    assert default["socket_af_alg"] == default["socket_af_vsock"] == errno.EPERM, default
    assert default["socket_af_unix"] == 0, default


def test_fchmodat2_is_allowed(errnos, unconfined):
    """Linux 6.6's fchmodat2, which glibc 2.39's fchmodat(AT_SYMLINK_NOFOLLOW)
    calls, is in Docker's allowlist (where libseccomp knows its number)."""
    from rs_docker.linux import seccomp as scmp

    if unconfined["fchmodat2"] != 0:
        pytest.skip(f"no fchmodat2 on this kernel: {errno.errorcode[unconfined['fchmodat2']]}")
    if scmp.syscall_number("fchmodat2") < 0:
        pytest.skip(f"libseccomp {scmp.version()} does not know fchmodat2")
    assert errnos()["fchmodat2"] == 0
