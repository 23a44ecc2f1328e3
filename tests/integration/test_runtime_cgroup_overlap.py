"""The container's PID 1 mounts what does not need its cgroup while the
runtime moves it into that cgroup, and waits for "go" only before the
cgroup namespace and /sys/fs/cgroup: a failure in that early part is still
reported with its step, and leaves no process and no cgroup behind; the
command still runs inside its cgroup, with the namespace rooted there."""

from __future__ import annotations

import os

import pytest

from rs_docker.errors import RuntimeFailure
from rs_docker.runtime.cgroups import join
from rs_docker.runtime.process.start import spawn
from tests.fixtures.bundle import make_bundle, run_captured
from tests.fixtures.procs import children

pytestmark = pytest.mark.root


def cgroup_dirs(container_id: str) -> list[str]:
    """Where the runtime creates the container's cgroup (below ours)."""
    return [os.path.join(os.path.dirname(f), "rs-docker", container_id)
            for f in join.cgroup_procs_files(os.getpid())]


def test_a_failure_before_go_is_reported_and_leaves_nothing(tmp_path):
    # A /proc entry replaces the default one, so it is mounted before the
    # cgroup mount, i.e. while the runtime is still joining PID 1.
    # (A procfs the kernel refuses: no other kind may be mounted there.)
    bundle = make_bundle(tmp_path, ["true"], mounts=[
        {"destination": "/proc", "type": "proc", "source": "proc",
         "options": ["no-such-proc-option"]}])
    before = children()
    with pytest.raises(RuntimeFailure, match=r"^mount proc on .*/rootfs/proc: invalid argument"):
        spawn(bundle, stdin=None, stdout=None, stderr=None, container_id="early-fail-test")
    assert children() == before
    assert not [d for d in cgroup_dirs("early-fail-test") if os.path.exists(d)]


def test_the_command_runs_in_its_cgroup_with_the_namespace_rooted_there(tmp_path):
    script = "cat /proc/self/cgroup; cat /proc/1/cgroup"
    bundle = make_bundle(tmp_path, ["sh", "-c", script])
    result, out, err = run_captured(bundle)
    assert result.exit_code == 0, err
    lines = out.splitlines()
    assert lines and all(line.endswith(":/") for line in lines), out


def test_a_cgroup_that_cannot_be_made_after_the_fork_leaves_no_process(tmp_path):
    # The cgroup is made once PID 1 exists (while it mounts): failing there
    # must still kill and reap it.
    bundle = make_bundle(tmp_path, ["true"], linux={"cgroupsPath": "rs-docker/../../escape"})
    before = children()
    with pytest.raises(RuntimeFailure, match="invalid cgroups path"):
        spawn(bundle, stdin=None, stdout=None, stderr=None, container_id="late-cgroup-test")
    assert children() == before
