"""One conformance suite over cgroup v1, v2 and hybrid fake trees (files
under tmp_path described by a mountinfo text)."""

from pathlib import Path

import pytest

from rs_docker.errors import RuntimeFailure
from rs_docker.runtime.cgroups import create_cgroup
from rs_docker.runtime.cgroups.resources import shares_to_weight, v1_writes, v2_writes

RES = {"memory": {"limit": 32 << 20, "swap": 64 << 20}, "pids": {"limit": 20},
       "cpu": {"quota": 150000, "period": 100000, "shares": 512}}
V1_CTRLS = ("cpu", "cpuacct", "cpuset", "memory", "pids")
OWN = "4:memory:/job/1\n1:cpu:/\n0::/\n"


def _mountinfo(mode: str, root: Path) -> str:
    lines = []
    if mode == "v2":
        lines.append(f"29 25 0:25 / {root} rw - cgroup2 cgroup2 rw")
    else:
        for i, c in enumerate(V1_CTRLS):
            lines.append(f"{40 + i} 31 0:{40 + i} / {root / c} rw - cgroup cgroup rw,{c}")
        if mode == "hybrid":
            lines.append(f"50 31 0:50 / {root / 'unified'} rw - cgroup2 cgroup2 rw")
    return "\n".join(lines) + "\n"


class Tree:
    def __init__(self, mode, root):
        self.mode, self.root = mode, root
        if mode == "v2":
            (root / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
            (root / "cgroup.subtree_control").write_text("")
        else:
            for c in V1_CTRLS:
                (root / c).mkdir()
            (root / "cpuset" / "cpuset.cpus").write_text("0-1\n")
            if mode == "hybrid":
                (root / "unified").mkdir()

    def create(self, resources=RES, path=None):
        return create_cgroup("c1", resources, path, root=self.root,
                             mountinfo=_mountinfo(self.mode, self.root), proc_cgroup=OWN)

    def file(self, cg, controller, name):
        key = "" if self.mode == "v2" else controller
        return (Path(cg.paths[key]) / name).read_text()


@pytest.fixture(params=["v1", "v2", "hybrid"])
def tree(request, tmp_path):
    return Tree(request.param, tmp_path)


def test_default_path_is_rs_docker_id_below_our_own_cgroup(tree):
    cg = tree.create()
    if tree.mode == "v2":
        assert cg.paths == {"": str(tree.root / "rs-docker/c1")}
    else:
        assert cg.paths["cpu"] == str(tree.root / "cpu/rs-docker/c1")
        assert cg.paths["memory"] == str(tree.root / "memory/job/1/rs-docker/c1")
    if tree.mode == "hybrid":
        assert cg.paths[""] == str(tree.root / "unified/rs-docker/c1")
    assert all(p.is_dir() for p in map(Path, cg.paths.values()))


def test_limits_are_written(tree):
    cg = tree.create()
    if tree.mode == "v2":
        assert tree.file(cg, "memory", "memory.max") == str(32 << 20)
        assert tree.file(cg, "memory", "memory.swap.max") == str(32 << 20)  # swap only
        assert tree.file(cg, "cpu", "cpu.max") == "150000 100000"
        assert tree.file(cg, "cpu", "cpu.weight") == str(shares_to_weight(512))
        assert (tree.root / "cgroup.subtree_control").read_text() == "+cpu +memory +pids"
        assert (tree.root / "rs-docker/cgroup.subtree_control").read_text() == \
            "+cpu +memory +pids"
    else:
        assert tree.file(cg, "memory", "memory.limit_in_bytes") == str(32 << 20)
        assert tree.file(cg, "cpu", "cpu.cfs_quota_us") == "150000"
        assert tree.file(cg, "cpu", "cpu.cfs_period_us") == "100000"
        assert tree.file(cg, "cpu", "cpu.shares") == "512"
        # no swap accounting in this tree: memsw skipped, as on kernels without it
        assert not (Path(cg.paths["memory"]) / "memory.memsw.limit_in_bytes").exists()
        # a new v1 cpuset inherits its parent's cpus (else it refuses tasks)
        assert tree.file(cg, "cpuset", "cpuset.cpus") == "0-1"
    assert tree.file(cg, "pids", "pids.max") == "20"


def test_add_writes_the_pid_everywhere(tree):
    cg = tree.create(resources=None)
    cg.add(4242)
    for path in set(map(Path, cg.paths.values())):
        assert (path / "cgroup.procs").read_text() == "4242"


def test_oom_killed_reads_the_kernel_counter(tree):
    cg = tree.create()
    assert cg.oom_killed() is False
    if tree.mode == "v2":
        (Path(cg.paths[""]) / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
    else:
        (Path(cg.paths["memory"]) / "memory.oom_control").write_text(
            "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n")
    assert cg.oom_killed() is True


def test_destroy_removes_every_directory(tree):
    cg = tree.create()
    for path in set(map(Path, cg.paths.values())):  # a real cgroupfs has no files to unlink
        for f in path.iterdir():
            f.unlink()
    cg.destroy()
    assert not any(p.exists() for p in map(Path, cg.paths.values()))
    cg.destroy()  # already gone: no error


def test_absolute_cgroups_path(tree):
    cg = tree.create(path="/custom/x")
    key = "" if tree.mode == "v2" else "memory"
    assert cg.paths[key] == str(tree.root / ("" if tree.mode == "v2" else "memory") / "custom/x")


def test_a_write_the_kernel_refuses_is_one_line_and_cleans_up(tree):
    target = "" if tree.mode == "v2" else "pids"
    leaf = (tree.root / target / "rs-docker/c1")
    leaf.mkdir(parents=True)
    (leaf / "pids.max").mkdir()  # writing it fails with EISDIR
    with pytest.raises(RuntimeFailure, match=r"cgroups: writing 20 to .*pids.max: is a dir"):
        tree.create()


def test_memsw_written_when_swap_accounting_exists(tmp_path):
    tree = Tree("v1", tmp_path)
    leaf = tmp_path / "memory/job/1/rs-docker/c1"
    leaf.mkdir(parents=True)
    (leaf / "memory.memsw.limit_in_bytes").write_text("")
    cg = tree.create()
    assert tree.file(cg, "memory", "memory.memsw.limit_in_bytes") == str(64 << 20)


@pytest.mark.parametrize("shares, weight", [(2, 1), (1024, 39), (262144, 10000)])
def test_shares_to_weight(shares, weight):
    assert shares_to_weight(shares) == weight


def test_unlimited_values():
    res = {"memory": {"limit": -1, "swap": -1}, "pids": {"limit": 0},
           "cpu": {"quota": -1, "period": 100000}}
    assert ("memory", "memory.max", "max") in v2_writes(res)
    assert ("memory", "memory.swap.max", "max") in v2_writes(res)
    assert ("cpu", "cpu.max", "max 100000") in v2_writes(res)
    assert ("pids", "pids.max", "max") in v1_writes(res)
    assert ("memory", "memory.memsw.limit_in_bytes", "-1") in v1_writes(res)


def test_v2_swap_below_memory_is_refused():
    with pytest.raises(RuntimeFailure, match="below the memory limit"):
        v2_writes({"memory": {"limit": 64, "swap": 32}})


def test_device_rules_become_devices_allow_and_deny_lines_in_order():
    from rs_docker.models.security import device_rules
    from rs_docker.runtime.cgroups.resources import device_writes, v1_writes

    lines = device_writes(device_rules())
    assert lines[0] == ("devices", "devices.deny", "a rwm")
    assert ("devices", "devices.allow", "c *:* m") in lines
    assert ("devices", "devices.allow", "c 1:3 rwm") in lines
    assert ("devices", "devices.allow", "c 136:* rwm") in lines
    assert all(name == "devices.allow" for _, name, _ in lines[1:])
    assert device_writes(device_rules(privileged=True)) == [("devices", "devices.allow", "a rwm")]
    assert v1_writes({"devices": device_rules()})[-1] == ("devices", "devices.allow", "c 10:200 rwm")
    with pytest.raises(RuntimeFailure):
        device_writes([{"allow": True, "type": "x"}])
    with pytest.raises(RuntimeFailure):
        device_writes([{"allow": True, "type": "c", "access": "rwx"}])


def test_v2_relative_path_starts_from_the_parent_of_a_cgroup_holding_us(tmp_path):
    """The caller sits in a non-root cgroup that holds processes (a session
    scope, a CI job): controllers cannot be enabled for its children, so a
    relative path goes below its parent, as runc's fs2 does; an absolute one
    stays where it says."""
    tree = Tree("v2", tmp_path)
    mountinfo = _mountinfo("v2", tmp_path)
    for n, (own, expected) in enumerate((("0::/ci.scope\n", "rs-docker/c0"),
                                         ("0::/user.slice/u.service/s.scope\n",
                                          "user.slice/u.service/rs-docker/c1"),
                                         ("0::/\n", "rs-docker/c2"))):
        cg = create_cgroup(f"c{n}", RES, None, root=tree.root, mountinfo=mountinfo,
                           proc_cgroup=own)
        assert cg.paths == {"": str(tmp_path / expected)}
    cg = create_cgroup("c1", RES, "/pods/c1", root=tree.root, mountinfo=mountinfo,
                       proc_cgroup="0::/ci.scope\n")
    assert cg.paths == {"": str(tmp_path / "pods/c1")}
