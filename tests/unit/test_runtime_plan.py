"""Pure parts of the runtime: namespace plan, id maps, PATH lookup, env,
the sync protocol's messages and error translation."""

from __future__ import annotations

import errno
import os

import pytest

from rs_docker.errors import CommandNotExecutable, CommandNotFound, RuntimeFailure
from rs_docker.linux import constants as C
from rs_docker.runtime import idmap, namespaces
from rs_docker.runtime.process.finalize import ExecError, env_dict, resolve
from rs_docker.runtime.process.handshake import translate
from rs_docker.runtime.process.sync import Channel, ChildError, describe


def ns_config(*entries):
    return {"linux": {"namespaces": list(entries)}}


def test_namespace_plan_new_and_joined():
    p = namespaces.plan(ns_config({"type": "mount"}, {"type": "pid"}, {"type": "cgroup"},
                                  {"type": "network", "path": "/run/netns/x"},
                                  {"type": "user", "path": "/proc/9/ns/user"}))
    assert p.new == {"mount", "pid", "cgroup"}
    assert p.joins == (("user", "/proc/9/ns/user"), ("network", "/run/netns/x"))
    assert p.unshare_flags == C.CLONE_NEWNS | C.CLONE_NEWPID  # cgroup: by PID 1, later


@pytest.mark.parametrize("entries, message", [
    (({"type": "mount"}, {"type": "bogus"}), "unknown namespace type"),
    (({"type": "mount"}, {"type": "mount"}), "listed twice"),
    (({"type": "pid"},), "mount namespace is required"),
])
def test_namespace_plan_rejects(entries, message):
    with pytest.raises(RuntimeFailure, match=message):
        namespaces.plan(ns_config(*entries))


def maps(uid, gid):
    return {"linux": {"uidMappings": [dict(zip(("containerID", "hostID", "size"), m, strict=True))
                                      for m in uid],
                      "gidMappings": [dict(zip(("containerID", "hostID", "size"), m, strict=True))
                                      for m in gid]}}


def test_idmap_methods():
    assert idmap.plan(maps([(0, 100000, 65536)], [(0, 100000, 65536)]), 0, 0).method == "write"
    own = idmap.plan(maps([(0, 1000, 1)], [(0, 1000, 1)]), 1000, 1000)
    assert own.method == "self" and own.setgroups_deny
    assert idmap.plan(maps([(0, 1000, 1), (1, 100000, 65536)], [(0, 1000, 1)]),
                      1000, 1000).method == "helper"


def test_idmap_text_and_helper_args():
    m = ((0, 1000, 1), (1, 100000, 65536))
    assert idmap.map_text(m) == "0 1000 1\n1 100000 65536\n"
    assert idmap.helper_args("newuidmap", 42, m) == ["newuidmap", "42", "0", "1000", "1", "1",
                                                     "100000", "65536"]


@pytest.mark.parametrize("bad", [[{"containerID": 0, "hostID": 0}],
                                 [{"containerID": -1, "hostID": 0, "size": 1}],
                                 [{"containerID": 0, "hostID": 0, "size": 0}]])
def test_idmap_rejects_bad_mappings(bad):
    with pytest.raises(RuntimeFailure, match="invalid id mapping"):
        idmap.parse(bad)


def test_resolve_walks_path(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "tool").write_text("not executable")
    exe = tmp_path / "b" / "tool"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    env = {"PATH": f"{tmp_path}/a:{tmp_path}/b"}
    assert resolve("tool", env) == str(exe)
    with pytest.raises(ExecError) as e:
        resolve("nope", env)
    assert e.value.errno == errno.ENOENT
    assert e.value.strerror == 'exec: "nope": executable file not found in $PATH'


def test_resolve_with_a_slash(tmp_path):
    with pytest.raises(ExecError, match=r'exec: "/etc": permission denied'):
        resolve("/etc", {})
    with pytest.raises(ExecError, match=r"stat /nope: no such file"):
        resolve("/nope", {})


def test_env_dict_last_wins_and_skips_junk():
    assert env_dict(["A=1", "B=x=y", "junk", "A=2", "=v"]) == {"A": "2", "B": "x=y"}


def test_translate_child_errors():
    assert isinstance(translate(ChildError("exec", errno.ENOENT, "m")), CommandNotFound)
    assert isinstance(translate(ChildError("exec", errno.EACCES, "m")), CommandNotExecutable)
    err = translate(ChildError("pivot_root", errno.EINVAL, "pivot_root /x: invalid argument"))
    assert type(err) is RuntimeFailure and str(err) == "pivot_root /x: invalid argument"


def test_describe_errors():
    assert describe("mount", OSError(22, "mount a on b: invalid argument")) == \
        "mount a on b: invalid argument"
    assert describe("cwd", FileNotFoundError(2, "No such file or directory", "/x")) == \
        "cwd /x: no such file or directory"


def test_channel_round_trip_with_fd():
    a, b = Channel.pair()
    r, w = os.pipe()
    try:
        a.send("pty", fd=r, extra=1)
        msg, fd = b.recv()
        assert msg == {"type": "pty", "extra": 1} and fd is not None and fd != r
        os.write(w, b"x")
        assert os.read(fd, 1) == b"x"
        os.close(fd)
        a.report("pivot_root", OSError(22, "pivot_root /x: invalid argument"))
        with pytest.raises(ChildError) as e:
            b.expect("go")
        assert (e.value.step, e.value.errno) == ("pivot_root", 22)
        a.close()
        assert b.recv() == (None, None)
    finally:
        b.close()
        os.close(r)
        os.close(w)
