"""Docker's device rules on a real cgroup v2 directory, through the BPF
program the v2 backend attaches: a process in the cgroup opens /dev/null
and /dev/urandom, may mknod any node, but cannot open one the rules do not
allow (EPERM, from the kernel's BPF_CGROUP_DEVICE hook); --privileged's
rules attach nothing. On this host (v1 controllers plus an empty cgroup2
mount) the cgroup is made in the cgroup2 mount, described to
create_cgroup as a v2 layout: the run path itself leaves that mount alone,
since v1's devices controller filters there."""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest

from rs_docker.errors import RuntimeFailure
from rs_docker.models.security import device_rules
from rs_docker.runtime.cgroups import create_cgroup
from rs_docker.runtime.cgroups.v2 import V2
from tests.fixtures.procs import in_child

pytestmark = pytest.mark.root

NOBODY = 65534
CPU_DMA_LATENCY = (10, 259)  # a misc device Docker's rules do not allow


def _cgroup2_mount() -> str | None:
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            sep = fields.index("-")
            if fields[sep + 1] == "cgroup2":
                return fields[4]
    return None


@pytest.fixture
def v2_cgroup():
    """create_cgroup(resources) on the host's cgroup2 mount, read as a v2
    layout; every cgroup removed after the test."""
    mount = _cgroup2_mount()
    if mount is None:
        pytest.skip("no cgroup2 mount on this host")
    made = []

    def make(resources):
        cg = create_cgroup("t-" + uuid.uuid4().hex[:12], resources, None, root=mount,
                           mountinfo=f"29 25 0:25 / {mount} rw - cgroup2 cgroup2 rw\n",
                           proc_cgroup="0::/\n")
        made.append(cg)
        return cg
    yield make
    for cg in made:
        cg.destroy()
        assert not os.path.exists(cg.paths[""])


def _try(fn) -> str:
    try:
        fn()
        return "ok"
    except OSError as e:
        return errno.errorcode[e.errno]


def _open(path: str, flags: int) -> None:
    os.close(os.open(path, flags))


def _probe_in(cg, node_dir: str) -> dict:
    """In a forked child that joins `cg`: open devices and make a node; what
    each step did."""
    node = os.path.join(node_dir, "dma")

    def probe():
        cg.add(os.getpid())
        return {
            "null": _try(lambda: _open("/dev/null", os.O_RDWR)),
            "mknod": _try(lambda: os.mknod(node, 0o600 | 0o020000,
                                           os.makedev(*CPU_DMA_LATENCY))),
            "node": _try(lambda: _open(node, os.O_RDONLY)),
            "urandom": _try(lambda: _open("/dev/urandom", os.O_RDONLY)),
        }

    return in_child(probe)


def test_dockers_rules_refuse_opening_a_node_they_do_not_allow(v2_cgroup, tmp_path):
    if not os.path.exists("/dev/cpu_dma_latency"):
        pytest.skip("no /dev/cpu_dma_latency (10:259) on this host")
    cg = v2_cgroup({"devices": device_rules()})
    assert _probe_in(cg, str(tmp_path)) == {
        "null": "ok", "mknod": "ok", "node": "EPERM", "urandom": "ok"}


def test_privileged_rules_attach_nothing(v2_cgroup, tmp_path):
    if not os.path.exists("/dev/cpu_dma_latency"):
        pytest.skip("no /dev/cpu_dma_latency (10:259) on this host")
    cg = v2_cgroup({"devices": device_rules(privileged=True)})
    assert _probe_in(cg, str(tmp_path)) == {
        "null": "ok", "mknod": "ok", "node": "ok", "urandom": "ok"}


def test_a_refused_attach_fails_in_one_line_as_root(tmp_path):
    """Not a cgroup directory: the kernel refuses BPF_PROG_ATTACH."""
    cg = V2(str(tmp_path / "cg"), str(tmp_path), device_rules())
    with pytest.raises(RuntimeFailure) as err:
        cg.create()
    message = str(err.value)
    assert message.startswith(f"cgroups: device filter: bpf BPF_PROG_ATTACH {tmp_path}/cg: ")
    assert "\n" not in message


@pytest.fixture
def nobodys_dir():
    """A directory of NOBODY's, under /tmp (pytest's tmp_path is root's, 0700)."""
    path = tempfile.mkdtemp(prefix="rsd-nobody-")
    os.chown(path, NOBODY, NOBODY)
    yield Path(path)
    shutil.rmtree(path)


def test_without_root_a_refused_program_is_skipped(nobodys_dir):
    """bpf(2) needs CAP_SYS_ADMIN: a run without root goes on without the
    filter (runc's canSkipEBPFError), its cgroup made all the same."""
    home = nobodys_dir

    def create_as_nobody():
        os.setgroups([])
        os.setresgid(NOBODY, NOBODY, NOBODY)
        os.setresuid(NOBODY, NOBODY, NOBODY)
        try:
            V2(str(home / "cg"), str(home), device_rules()).create()
            return "created"
        except RuntimeFailure as e:
            return str(e)

    assert in_child(create_as_nobody) == "created"
    assert (home / "cg").is_dir()


def test_a_program_the_verifier_refuses_fails_with_its_complaint():
    """`exit` with r0 never written: the error carries the verifier's reason."""
    from rs_docker.linux import ebpf
    from rs_docker.runtime.cgroups.device_filter import encode

    with pytest.raises(OSError) as err:
        ebpf.prog_load(encode([(0x95, 0, 0, 0, 0)]))
    assert err.value.errno == errno.EACCES
    message = err.value.strerror
    assert message.startswith("bpf BPF_PROG_LOAD: permission denied: R0 ")  # "R0 !read_ok"
