"""runtime.exec_in: a second process inside a running container."""

from __future__ import annotations

import json
import os
import signal
import tempfile

import pytest

from rs_docker.errors import CommandNotFound, RuntimeFailure
from rs_docker.runtime.process.exec import exec_in
from rs_docker.runtime.process.start import spawn
from tests.fixtures.bundle import make_bundle

pytestmark = pytest.mark.root


@pytest.fixture
def container(tmp_path):
    bundle = make_bundle(tmp_path, ["sh", "-c", "echo marker > /tmp/inside; sleep 1000"],
                         hostname="exec-box")
    config = json.loads((bundle / "config.json").read_text())
    c = spawn(bundle)
    yield c, config
    c.kill(signal.SIGKILL)
    c.wait()


def do_exec(c, config, args, **process):
    proc = {"args": args, "cwd": "/", "env": ["PATH=/bin:/usr/bin"], **process}
    with tempfile.TemporaryFile() as out:
        result = exec_in(c.pid, proc, config, stdin=None, stdout=out.fileno(),
                         stderr=out.fileno())
        out.seek(0)
        return result, out.read().decode()


def test_exec_joins_every_namespace_and_the_root(container):
    c, config = container
    kinds = ["pid", "net", "ipc", "uts", "mnt", "cgroup"]
    result, out = do_exec(c, config, ["sh", "-c", "cat /tmp/inside; hostname; " +
                                      "; ".join(f"readlink /proc/self/ns/{k}" for k in kinds)])
    assert result.exit_code == 0, out
    lines = out.splitlines()
    assert lines[:2] == ["marker", "exec-box"]
    assert lines[2:] == [os.readlink(f"/proc/{c.pid}/ns/{k}") for k in kinds]


def test_exec_is_in_the_pid_namespace_and_cgroup(container):
    c, config = container
    result, out = do_exec(c, config, ["sh", "-c", "echo $$; ps -o pid,comm | grep -c sleep; "
                                                  "cat /proc/self/cgroup; echo; cat /proc/1/cgroup"])
    assert result.exit_code == 0, out
    pid_inside, sleeps, cgroups = out.split("\n", 2)
    assert int(pid_inside) > 1 and sleeps == "1"
    # Outside the container's cgroup, paths would read "/../..." in its cgroup namespace.
    mine, init = cgroups.split("\n\n")
    assert mine.strip() == init.strip() and ".." not in mine


def test_exec_cwd_user_env_and_exit_code(container):
    c, config = container
    result, out = do_exec(c, config, ["sh", "-c", 'pwd; id -u; echo "$X"; exit 5'],
                          cwd="/etc", user={"uid": 1000, "gid": 1000},
                          env=["PATH=/bin", "X=y"])
    assert result.exit_code == 5
    assert out == "/etc\n1000\ny\n"


def test_exec_command_not_found(container):
    c, config = container
    with pytest.raises(CommandNotFound, match='exec: "nope": executable file not found'):
        do_exec(c, config, ["nope"])


def test_exec_in_a_stopped_container(tmp_path):
    bundle = make_bundle(tmp_path, ["true"])
    config = json.loads((bundle / "config.json").read_text())
    c = spawn(bundle)
    c.wait()
    with pytest.raises(RuntimeFailure, match="not running"):
        exec_in(c.pid, {"args": ["true"], "cwd": "/"}, config)
