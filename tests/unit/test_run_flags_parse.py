"""models.run_flags (the everyday run flags' checks and OCI config) and
cli.options.pflag_bools, as pure functions: Docker's parse and its words."""

from __future__ import annotations

import pytest

from rs_docker.cli.options import pflag_bools
from rs_docker.errors import UsageError
from rs_docker.models import run_flags, spec
from rs_docker.models.run_options import RUN_FLAGS, RunOptions


def opts(**kw) -> RunOptions:
    return RunOptions(image="busybox", **kw)


@pytest.mark.parametrize(("args", "expected"), [
    (["--rm=true", "img"], ["--rm", "img"]),
    (["--rm=false", "img"], ["img"]),
    (["--rm", "--rm=0", "img"], ["img"]),          # the last value wins
    (["--rm=F", "--rm", "img"], ["--rm", "--rm", "img"]),
    (["-it=false", "img"], ["--interactive", "img"]),
    (["-d=1", "-e", "--rm=false", "img"], ["--detach", "-e", "--rm=false", "img"]),
    (["-eA=1", "img", "--rm=false"], ["-eA=1", "img", "--rm=false"]),  # the command's own
    (["--bogus=1", "--rm=false"], ["--bogus=1", "--rm=false"]),        # click's to report
    (["--", "--rm=false"], ["--", "--rm=false"]),
])
def test_pflag_bools(args, expected):
    assert pflag_bools(args, RUN_FLAGS) == expected


def test_a_bad_boolean_is_pflag_s_error():
    with pytest.raises(UsageError, match=r'^invalid argument "yes" for "-d, --detach" flag: '
                                         r'strconv.ParseBool: parsing "yes": invalid syntax$'):
        pflag_bools(["-d=yes", "img"], RUN_FLAGS)


@pytest.mark.parametrize(("entries", "host_net", "error"), [
    (["net.ipv4.ip_forward=1", "kernel.shmmax=1", "fs.mqueue.msg_max=9", "kernel.sem=1 2 3 4"],
     False, None),
    (["kernel.hostname=x"], False, "sysctl 'kernel.hostname=x' is not allowed"),
    (["kernel.domainname=x"], False, "is not allowed"),
    (["vm.overcommit_memory=1"], False, "is not allowed"),
    (["net.ipv4.ip_forward"], False, "is not allowed"),  # no value
    (["net.core.somaxconn=1"], True, "not allowed in host network namespace"),
    (["net.ipv4/../../kernel/hostname=x"], False, "is not allowed"),
    (["net..x=1"], False, "is not allowed"),
])
def test_sysctls(entries, host_net, error):
    if error is None:
        assert run_flags.sysctls(entries, host_net) == dict(e.split("=", 1) for e in entries)
    else:
        with pytest.raises(UsageError, match=error):
            run_flags.sysctls(entries, host_net)


@pytest.mark.parametrize(("text", "expected"), [
    ("/dev/null", ("/dev/null", "/dev/null", "rwm")),
    ("/dev/null:/dev/x", ("/dev/null", "/dev/x", "rwm")),
    ("/dev/null:r", ("/dev/null", "/dev/null", "r")),
    ("/dev/null:/dev/x:mw", ("/dev/null", "/dev/x", "mw")),
    ("/dev/null:/dev/x:rwx", "bad mode specified: rwx"),
    ("null", "null is not an absolute path"),
    ("/a:/b:r:w", "bad format for path"),
])
def test_parse_device(text, expected):
    if isinstance(expected, tuple):
        assert run_flags.parse_device(text) == expected
    else:
        with pytest.raises(UsageError, match=expected):
            run_flags.parse_device(text)


@pytest.mark.parametrize(("text", "rule"), [
    ("c 1:3 mr", {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "mr"}),
    ("b *:* rwm", {"allow": True, "type": "b", "access": "rwm"}),
    ("a 7:* w", {"allow": True, "type": "a", "major": 7, "access": "w"}),
    ("c 1:3", None), ("c 1 rwm", None), ("x 1:3 r", None), ("c 1:3 rwmx", None),
    ("c a:3 r", None), ("c  1:3 r", None),
])
def test_device_cgroup_rule(text, rule):
    if rule is None:
        with pytest.raises(UsageError, match=f"invalid device cgroup format '{text}'"):
            run_flags.device_cgroup_rule(text)
    else:
        assert run_flags.device_cgroup_rule(text) == rule


@pytest.mark.parametrize(("text", "names"), [
    ("all", ("nvidia.com/gpu=all",)),
    ("2", ("nvidia.com/gpu=0", "nvidia.com/gpu=1")),
    ('"device=1,3"', ("nvidia.com/gpu=1", "nvidia.com/gpu=3")),
    ("count=all,capabilities=utility", ("nvidia.com/gpu=all",)),
    ("driver=nvidia", ("nvidia.com/gpu=all",)),
    ("bogus", None), ("count=x", None), ('"device=0",count=1', None),
])
def test_parse_gpus(text, names):
    if names is None:
        with pytest.raises(UsageError, match='for "--gpus" flag'):
            run_flags.parse_gpus(text)
    else:
        assert run_flags.parse_gpus(text) == names


@pytest.mark.parametrize(("kw", "error"), [
    ({"ipc": "shareable"}, None), ({"ipc": "container:x"}, None), ({"ipc": "none"}, None),
    ({"pid": "host"}, None), ({"cgroupns": "private"}, None), ({"userns": "host"}, None),
    ({"ipc": "container:"}, "--ipc: invalid IPC mode"),
    ({"pid": "container:"}, "--pid: invalid PID mode"),
    ({"uts": "container:x"}, "--uts: invalid UTS mode"),
    ({"uts": "host", "hostname": "h"}, "conflicting options: hostname and the UTS mode"),
    ({"cpu_period": 999}, "CPU cfs period can not be less than 1ms"),
    ({"cpu_period": 1_000_001}, "or larger than 1s"),
    ({"cpu_quota": 999}, "CPU cfs quota can not be less than 1ms"),
    ({"cpu_quota": -1}, None),
    ({"cpus": "1", "cpu_quota": 50000}, "Nano CPUs and CPU Quota cannot both be set"),
    ({"memory_reservation": "5m"}, "Minimum memory reservation allowed is 6MB"),
    ({"memory_reservation": "x"}, 'invalid argument "x" for "--memory-reservation"'),
    ({"memory": "10m", "memory_reservation": "20m"}, "can not be less than memory reservation"),
    ({"oom_score_adj": -1001}, r"range for oom score adj is \[-1000, 1000\]"),
    ({"blkio_weight": 1001}, "Range of blkio weight is from 10 to 1000"),
    ({"blkio_weight": 0}, None),
    ({"cgroup_parent": "a/../../b"}, "must not contain '..'"),
    ({"shm_size": "-1"}, "--shm-size"),
    ({"security_opt": ("label=level:s0:c1",)}, None),
    ({"security_opt": ("label=disable",)}, None),
    ({"security_opt": ("label:foo",)}, "invalid --security-opt 2"),
    ({"security_opt": ("apparmor=",)}, "invalid --security-opt 1"),
    ({"runtime": "crun"}, "unknown or invalid runtime name: crun"),
    ({"annotations": ("=v",)}, "empty key"),
    ({"cpuset_cpus": "0-1,3"}, "Requested CPUs are not available - requested 0-1,3, "
                               "available: 0-1"),
    ({"cpuset_cpus": "1-0"}, "Invalid value 1-0 for cpuset cpus"),
])
def test_check(kw, error):
    o = opts(**kw)
    if error is None:
        run_flags.check(o, ncpu=[0, 1])
        spec.check_flags(o)
    else:
        with pytest.raises(UsageError, match=error):
            run_flags.check(o, ncpu=[0, 1])


def _config(**kw) -> dict:
    base = opts(**kw)
    return {"process": {"user": {"additionalGids": [0]}, "env": ["A=1"]},
            "hostname": "abc", "mounts": [],
            "linux": {"namespaces": [{"type": t} for t in
                                     ("mount", "network", "uts", "pid", "ipc", "cgroup")],
                      "resources": spec.resources(base), "cgroupsPath": "/rs-docker/ID"}}, base


def test_apply_builds_the_oci_fields():
    config, o = _config(
        ipc="host", pid="container:x", uts="host", cgroupns="host", shm_size="1m",
        sysctls=("net.ipv4.ip_forward=1",), oom_score_adj=5, domainname="d",
        cpuset_cpus="0", cpu_period=50000, cpu_quota=20000, memory_reservation="8m",
        oom_kill_disable=True, blkio_weight=300, cgroup_parent="/p",
        device_cgroup_rules=("c 10:237 r",), annotations=("a=b",))
    run_flags.apply(config, o, {"group_gids": [5, 0], "joins": {"pid": "/proc/9/ns/pid"},
                                "devices": [{"path": "/dev/x", "type": "c", "major": 1,
                                             "minor": 3, "fileMode": 0o666, "uid": 0,
                                             "gid": 0, "access": "r"}]})
    assert [ns for ns in config["linux"]["namespaces"]] == \
        [{"type": "mount"}, {"type": "network"}, {"type": "pid", "path": "/proc/9/ns/pid"}]
    assert "hostname" not in config and config["domainname"] == "d"
    assert config["process"]["user"]["additionalGids"] == [0, 5]
    assert config["process"]["oomScoreAdj"] == 5
    assert config["linux"]["sysctl"] == {"net.ipv4.ip_forward": "1"}
    assert config["linux"]["cgroupsPath"] == "/p/ID"
    assert run_flags.cgroups_path("relative/parent/", "/rs-docker/ID") == "/relative/parent/ID"
    res = config["linux"]["resources"]
    assert res["cpu"] == {"cpus": "0", "period": 50000, "quota": 20000}
    assert res["memory"] == {"reservation": 8 << 20, "disableOOMKiller": True}
    assert res["blockIO"] == {"weight": 300}
    assert res["devices"][-2:] == [
        {"allow": True, "type": "c", "major": 10, "minor": 237, "access": "r"},
        {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "r"}]
    assert config["linux"]["devices"] == [{"path": "/dev/x", "type": "c", "major": 1,
                                           "minor": 3, "fileMode": 0o666, "uid": 0, "gid": 0}]
    assert config["mounts"] == [{"destination": "/dev/shm", "type": "bind",
                                 "source": "/dev/shm", "options": ["rbind", "rprivate"]}]
    assert config["annotations"] == {"a": "b"}


def test_shm_size_mount():
    config, o = _config(shm_size="2m")
    run_flags.apply(config, o, None)
    assert config["mounts"][0]["options"][-1] == f"size={2 << 20}"


def test_a_plain_run_uses_none_of_them():
    assert not spec.uses_everyday_flags(opts())
    assert spec.uses_everyday_flags(opts(oom_kill_disable=True))


def test_labels_merge_the_image_s():
    assert spec.labels({"Labels": {"a": "1", "b": "2", "bad": 3}}, ("b=x", "c")) == \
        {"a": "1", "b": "x", "c": ""}
    assert spec.labels({"Labels": ["not", "a", "map"]}, ()) == {}
    assert run_flags.label_file_lines("# c\n\n  k=v\nx\n") == ["k=v", "x"]
