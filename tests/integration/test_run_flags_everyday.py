"""The everyday `docker run` flags (issue 15, item 3) through the real CLI,
each probed from inside the container: what a process there sees (/proc,
/dev, id, df, hostname), what inspect shows, and Docker's refusals (125)."""

from __future__ import annotations

import json
import os
import socket

import pytest

from tests.fixtures.cli import busybox_store, ok, wait_for

pytestmark = pytest.mark.root


rs = busybox_store("flags")


def refused(proc, *words: str) -> str:
    """A run refused with Docker's 125 and one `rs-docker: ...` line."""
    assert proc.returncode == 125, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rs-docker: "), proc.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def inspect(rs, name: str) -> dict:
    return json.loads(ok(rs("inspect", name)))[0]


# -- boolean flags written with a value -----------------------------------------

def test_boolean_flags_take_pflag_values(rs, busybox):
    """--rm=true removes the container, -d=false runs in the foreground,
    -i=false keeps stdin closed, --privileged=false keeps the default caps."""
    before = set(ok(rs("ps", "-aq")).split())
    assert ok(rs("run", "--rm=true", "-d=false", "--privileged=false", busybox,
                 "sh", "-c", "grep CapEff /proc/self/status")).split() == \
        ["CapEff:", "00000000a80425fb"]
    assert set(ok(rs("ps", "-aq")).split()) == before  # --rm=true removed it
    # -it=false: both flags false; stdin is not passed (the input is not read).
    assert ok(rs("run", "--rm", "-i=false", busybox, "cat", input="secret\n")) == ""
    assert ok(rs("run", "--rm", "-i=true", busybox, "cat", input="secret\n")) == "secret\n"
    # The last one wins, as pflag sets them in order.
    assert ok(rs("run", "--rm", "-i", "--interactive=false", busybox, "cat",
                 input="x\n")) == ""
    assert ok(rs("run", "--rm=1", "--read-only=t", busybox, "sh", "-c",
                 "touch /x 2>&1; echo $?")).strip().endswith("1")


def test_a_bad_boolean_value_is_refused(rs, busybox):
    refused(rs("run", "--rm=yes", busybox, "true"),
            'invalid argument "yes" for "--rm" flag: strconv.ParseBool')


# -- labels, annotations, domainname, cidfile -------------------------------------

def test_labels_and_label_file_in_inspect(rs, busybox, tmp_path):
    labels = tmp_path / "labels"
    labels.write_text("# a comment\n\nteam=core\ntier=db\nempty\n")
    ok(rs("run", "--name", "labelled", "-l", "a=1", "--label", "tier=web",
          "--label-file", labels, "--annotation", "org.example/k=v",
          "--domainname", "example.org", busybox, "true"))
    record = inspect(rs, "labelled")
    assert record["Config"]["Labels"] == {"a": "1", "team": "core", "tier": "web", "empty": ""}
    assert record["Config"]["Domainname"] == "example.org"
    assert record["HostConfig"]["Annotations"] == {"org.example/k": "v"}
    assert ok(rs("inspect", "-f", "{{.Config.Labels.team}}", "labelled")).strip() == "core"


def test_domainname_is_the_container_s(rs, busybox):
    assert ok(rs("run", "--rm", "--domainname", "example.org", busybox,
                 "cat", "/proc/sys/kernel/domainname")) == "example.org\n"


def test_cidfile_holds_the_id_and_is_never_overwritten(rs, busybox, tmp_path):
    cidfile = tmp_path / "cid"
    ok(rs("run", "--name", "withcid", "--cidfile", cidfile, busybox, "true"))
    assert cidfile.read_text() == inspect(rs, "withcid")["Id"]
    refused(rs("run", "--rm", "--cidfile", cidfile, busybox, "true"),
            f"container ID file found, make sure the other container isn't running or "
            f"delete {cidfile}")
    assert cidfile.read_text() == inspect(rs, "withcid")["Id"]


# -- /dev/shm and sysctls -----------------------------------------------------------

def test_shm_size_is_the_size_of_dev_shm(rs, busybox):
    def shm_kib(*flags):
        out = ok(rs("run", "--rm", *flags, busybox, "df", "-k", "/dev/shm"))
        return int(out.splitlines()[1].split()[1])

    assert shm_kib("--shm-size", "1m") == 1024
    assert shm_kib("--shm-size=2g") == 2 * 1024 * 1024
    assert shm_kib() == 64 * 1024  # Docker's default


def test_shm_size_refused(rs, busybox):
    refused(rs("run", "--rm", "--shm-size", "lots", busybox, "true"),
            'invalid argument "lots" for "--shm-size" flag')


def test_sysctl_is_set_in_the_container_only(rs, busybox):
    host = open("/proc/sys/net/ipv4/ip_forward").read()
    flipped = "0" if host.strip() == "1" else "1"
    assert ok(rs("run", "--rm", "--sysctl", f"net.ipv4.ip_forward={flipped}",
                 "--sysctl", "kernel.shmmni=1234", busybox, "sh", "-c",
                 "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni")).split() == \
        [flipped, "1234"]
    assert open("/proc/sys/net/ipv4/ip_forward").read() == host


@pytest.mark.parametrize("sysctl", ["kernel.hostname=x", "vm.swappiness=1", "kernel.shm"])
def test_a_sysctl_outside_the_container_s_namespaces_is_refused(rs, busybox, sysctl):
    """kernel.hostname would rename the host's UTS namespace in a --uts host
    container, vm.* is not namespaced at all: Docker refuses both."""
    refused(rs("run", "--rm", "--sysctl", sysctl, busybox, "true"),
            f"sysctl '{sysctl}' is not allowed")


def test_a_sysctl_that_climbs_out_of_net_is_refused(rs, busybox):
    """Attack: a key that starts with net. but walks up the /proc/sys tree
    to kernel/hostname, in a container sharing the host's UTS namespace:
    the host's hostname would change. Refused before anything runs."""
    host = socket.gethostname()
    for key in ("net.ipv4/../../kernel/hostname", "net..kernel.hostname",
                "net/../kernel/hostname"):
        refused(rs("run", "--rm", "--uts", "host", "--sysctl", f"{key}=pwned", busybox, "true"),
                "is not allowed")
    assert socket.gethostname() == host


def test_net_sysctl_with_host_network_is_refused(rs, busybox):
    """It would change the host's own setting (runc refuses it too)."""
    refused(rs("run", "--rm", "--network", "host", "--sysctl", "net.ipv4.ip_forward=1",
               busybox, "true"), "not allowed in host network namespace")


# -- users and groups -----------------------------------------------------------------

def test_group_add_numbers_and_names(rs, busybox):
    out = ok(rs("run", "--rm", "--group-add", "1234", "--group-add", "audio", "-u", "app",
                busybox, "id"))
    groups = out.split("groups=")[1].split()[0].split(",")
    assert sorted(groups) == sorted(["1000(app)", "29(audio)", "44(video)", "1234"])
    refused(rs("run", "--rm", "--group-add", "nosuchgroup", busybox, "true"),
            "Unable to find group nosuchgroup")


# -- namespaces -------------------------------------------------------------------------

def test_pid_host_sees_host_processes(rs, busybox):
    out = ok(rs("run", "--rm", "--pid", "host", busybox, "sh", "-c",
                f"test -d /proc/{os.getpid()} && echo seen; echo $$"))
    lines = out.split()
    assert lines[0] == "seen"
    assert int(lines[1]) != 1  # not PID 1 of a namespace of its own


def test_pid_container_joins_its_processes(rs, busybox):
    ok(rs("run", "-d", "--name", "pidowner", busybox, "sleep", "300"))
    try:
        out = ok(rs("run", "--rm", "--pid", "container:pidowner", busybox, "ps", "-o", "args"))
        assert "sleep 300" in out
    finally:
        rs("rm", "-f", "pidowner")
    refused(rs("run", "--rm", "--pid", "container:pidowner", busybox, "true"))


def test_uts_host_has_the_host_s_hostname(rs, busybox):
    assert ok(rs("run", "--rm", "--uts", "host", busybox, "hostname")).strip() == \
        socket.gethostname()
    refused(rs("run", "--rm", "--uts", "host", "-h", "x", busybox, "true"),
            "conflicting options: hostname and the UTS mode")


def test_ipc_host_and_private(rs, busybox):
    host_ipc = os.readlink("/proc/self/ns/ipc")
    assert ok(rs("run", "--rm", "--ipc", "host", busybox, "readlink",
                 "/proc/self/ns/ipc")).strip() == host_ipc
    assert ok(rs("run", "--rm", "--ipc", "private", busybox, "readlink",
                 "/proc/self/ns/ipc")).strip() != host_ipc


def test_ipc_container_shares_dev_shm_and_the_namespace(rs, busybox):
    ok(rs("run", "-d", "--name", "ipcdonor", "--ipc", "shareable", busybox, "sh", "-c",
          "echo hello > /dev/shm/obj; sleep 300"))
    try:
        donor_ns = ok(rs("exec", "ipcdonor", "readlink", "/proc/self/ns/ipc")).strip()
        out = ok(rs("run", "--rm", "--ipc", "container:ipcdonor", busybox, "sh", "-c",
                    "readlink /proc/self/ns/ipc; cat /dev/shm/obj"))
        assert out.split() == [donor_ns, "hello"]
        ok(rs("run", "--rm", "--ipc", "container:ipcdonor", busybox, "sh", "-c",
              "echo back > /dev/shm/reply"))
        assert ok(rs("exec", "ipcdonor", "cat", "/dev/shm/reply")) == "back\n"
        donor = inspect(rs, "ipcdonor")["Id"]
        assert any(f"/{donor}/shm " in line for line in open("/proc/self/mountinfo"))
    finally:
        rs("rm", "-f", "ipcdonor")
    # rm unmounted the host-side /dev/shm it had.
    assert not any(f"/{donor}/shm " in line for line in open("/proc/self/mountinfo"))


def test_ipc_container_of_a_private_one_is_refused(rs, busybox):
    ok(rs("run", "-d", "--name", "ipcprivate", busybox, "sleep", "300"))
    try:
        refused(rs("run", "--rm", "--ipc", "container:ipcprivate", busybox, "true"),
                "non-shareable IPC")
    finally:
        rs("rm", "-f", "ipcprivate")


def test_cgroupns_host_sees_the_host_s_cgroup_tree(rs, busybox):
    private = ok(rs("run", "--rm", busybox, "cat", "/proc/self/cgroup"))
    host = ok(rs("run", "--rm", "--cgroupns", "host", busybox, "cat", "/proc/self/cgroup"))
    assert "/rs-docker/" not in private
    assert "/rs-docker/" in host


@pytest.mark.parametrize(("flag", "value", "what"), [
    ("--ipc", "bogus", "--ipc: invalid IPC mode"),
    ("--pid", "private", "--pid: invalid PID mode"),
    ("--uts", "x", "--uts: invalid UTS mode"),
    ("--userns", "private", "--userns: invalid USER mode"),
    ("--cgroupns", "x", "--cgroupns: invalid CGROUP mode"),
])
def test_bad_namespace_modes_are_refused(rs, busybox, flag, value, what):
    refused(rs("run", "--rm", flag, value, busybox, "true"), what)


def test_userns_host_is_the_default(rs, busybox):
    assert ok(rs("run", "--rm", "--userns", "host", busybox, "cat",
                 "/proc/self/uid_map")).split() == ["0", "0", "4294967295"]


# -- devices ----------------------------------------------------------------------------

def test_device_is_made_and_allowed(rs, busybox):
    out = ok(rs("run", "--rm", "--device", "/dev/null:/dev/mynull", busybox, "sh", "-c",
                "echo x > /dev/mynull && echo written; stat -c '%t:%T' /dev/mynull"))
    assert out.split() == ["written", "1:3"]


def test_device_permissions_are_the_cgroup_s(rs, busybox):
    """r only: the device cgroup lets the node be opened for reading and
    refuses an open for writing (/dev/loop-control: no default rule
    allows it)."""
    out = ok(rs("run", "--rm", "--device", "/dev/loop-control:/dev/mylc:r", busybox, "sh",
                "-c", "true < /dev/mylc && echo read; true > /dev/mylc || echo refused"))
    assert out.split() == ["read", "refused"]


def test_a_device_not_listed_is_refused(rs, busybox):
    """mknod works (CAP_MKNOD is Docker's default) but the cgroup refuses
    to open a node it does not allow: /dev/loop-control (10:237) is a host
    device no container gets by default."""
    out = ok(rs("run", "--rm", busybox, "sh", "-c",
                "mknod /tmp/lc c 10 237 && cat /tmp/lc; echo rc=$?"))
    assert "rc=1" in out
    out = ok(rs("run", "--rm", "--device-cgroup-rule", "c 10:237 rwm", busybox, "sh", "-c",
                "mknod /tmp/lc c 10 237 && : < /tmp/lc; echo rc=$?"))
    assert "rc=0" in out


@pytest.mark.parametrize(("flag", "value", "what"), [
    ("--device", "dev/null", "dev/null is not an absolute path"),
    ("--device", "/dev/null:/x:rwx", "bad mode specified: rwx"),
    ("--device", "/dev/null:/dev/../etc/null", "the container path must be under /dev"),
    ("--device", "/etc/passwd:/dev/passwd", "not a device node"),
    ("--device", "/dev/rs-docker-no-such-device", "no such file or directory"),
    ("--device-cgroup-rule", "c 1:3", "invalid device cgroup format 'c 1:3'"),
    ("--device-cgroup-rule", "x 1:3 rwm", "invalid device cgroup format"),
])
def test_bad_devices_are_refused(rs, busybox, flag, value, what):
    refused(rs("run", "--rm", flag, value, busybox, "true"), what)


# -- the cgroup knobs -----------------------------------------------------------------

def test_cpuset_cpus_limits_where_it_runs(rs, busybox):
    out = ok(rs("run", "--rm", "--cpuset-cpus", "0", "--cpuset-mems", "0", busybox, "grep",
                "Cpus_allowed_list", "/proc/self/status"))
    assert out.split() == ["Cpus_allowed_list:", "0"]
    refused(rs("run", "--rm", "--cpuset-cpus", "99", busybox, "true"),
            "Requested CPUs are not available - requested 99")
    refused(rs("run", "--rm", "--cpuset-cpus", "a-b", busybox, "true"), "Invalid value a-b")


def test_oom_score_adj(rs, busybox):
    assert ok(rs("run", "--rm", "--oom-score-adj", "500", busybox,
                 "cat", "/proc/self/oom_score_adj")) == "500\n"
    refused(rs("run", "--rm", "--oom-score-adj", "1001", busybox, "true"),
            "Invalid value 1001, range for oom score adj is [-1000, 1000]")


def cgroup_file(rs, busybox, flags, controller, name):
    """The value of the container's own cgroup file, read from inside
    (--cgroupns host shows the host's paths, /sys/fs/cgroup is mounted)."""
    return ok(rs("run", "--rm", *flags, busybox, "sh", "-c",
                 f"cat /sys/fs/cgroup/{controller}/{name}")).strip()


def test_cpu_period_and_quota(rs, busybox):
    flags = ["--cpu-period", "50000", "--cpu-quota", "25000"]
    assert cgroup_file(rs, busybox, flags, "cpu", "cpu.cfs_period_us") == "50000"
    assert cgroup_file(rs, busybox, flags, "cpu", "cpu.cfs_quota_us") == "25000"
    refused(rs("run", "--rm", "--cpu-period", "10", busybox, "true"),
            "CPU cfs period can not be less than 1ms")
    refused(rs("run", "--rm", "--cpu-quota", "10", busybox, "true"),
            "CPU cfs quota can not be less than 1ms")
    refused(rs("run", "--rm", "--cpus", "1", "--cpu-period", "50000", busybox, "true"),
            "Conflicting options: Nano CPUs and CPU Period cannot both be set")


def test_memory_reservation_and_oom_kill_disable(rs, busybox):
    flags = ["-m", "64m", "--memory-reservation", "32m", "--oom-kill-disable"]
    assert cgroup_file(rs, busybox, flags, "memory", "memory.soft_limit_in_bytes") == \
        str(32 << 20)
    assert "oom_kill_disable 1" in cgroup_file(rs, busybox, flags, "memory",
                                               "memory.oom_control")
    refused(rs("run", "--rm", "--memory-reservation", "1m", busybox, "true"),
            "Minimum memory reservation allowed is 6MB")
    refused(rs("run", "--rm", "-m", "16m", "--memory-reservation", "32m", busybox, "true"),
            "Minimum memory limit can not be less than memory reservation limit")


def test_blkio_weight_range(rs, busybox):
    ok(rs("run", "--rm", "--blkio-weight", "300", busybox, "true"))
    refused(rs("run", "--rm", "--blkio-weight", "5", busybox, "true"),
            "Range of blkio weight is from 10 to 1000")


def test_cgroup_parent(rs, busybox):
    out = ok(rs("run", "--rm", "--cgroupns", "host", "--cgroup-parent", "/rs-docker-test-parent",
                busybox, "cat", "/proc/self/cgroup"))
    assert "/rs-docker-test-parent/" in out
    refused(rs("run", "--rm", "--cgroup-parent", "../escape", busybox, "true"), "'..'")


# -- security options, runtime, gpus -----------------------------------------------------

def test_label_and_apparmor_options_are_accepted(rs, busybox):
    ok(rs("run", "--rm", "--security-opt", "label=disable", "--security-opt",
          "label=type:svirt_apache_t", busybox, "true"))
    refused(rs("run", "--rm", "--security-opt", "label=bogus", busybox, "true"),
            "invalid --security-opt")


def test_runtime(rs, busybox):
    ok(rs("run", "--rm", "--runtime", "rs-docker", busybox, "true"))
    refused(rs("run", "--rm", "--runtime", "runc", busybox, "true"),
            "unknown or invalid runtime name: runc")


def test_gpus_without_a_cdi_spec(rs, busybox, tmp_path):
    refused(rs("run", "--rm", "--gpus", "all", busybox, "true",
               env={"RS_DOCKER_CDI_SPEC_DIRS": str(tmp_path)}),
            'could not select device driver "" with capabilities: [[gpu]]')


def test_gpus_through_a_cdi_spec(rs, busybox, tmp_path):
    """A CDI spec naming /dev/null as the GPU node: the node, the env and
    the mount it lists are in the container."""
    (tmp_path / "share").mkdir()
    (tmp_path / "share" / "libgpu.so").write_text("fake\n")
    spec = {"cdiVersion": "0.5.0", "kind": "nvidia.com/gpu",
            "devices": [{"name": "0", "containerEdits": {
                "deviceNodes": [{"path": "/dev/nvidia0", "hostPath": "/dev/null"}]}}],
            "containerEdits": {"env": ["NVIDIA_VISIBLE_DEVICES=void"],
                               "mounts": [{"hostPath": str(tmp_path / "share"),
                                           "containerPath": "/usr/lib/gpu",
                                           "options": ["ro", "rbind"]}]}}
    specs = tmp_path / "cdi"
    specs.mkdir()
    (specs / "gpu.json").write_text(json.dumps(spec))
    out = ok(rs("run", "--rm", "--gpus", "all", busybox, "sh", "-c",
                "echo x > /dev/nvidia0 && echo written; echo $NVIDIA_VISIBLE_DEVICES; "
                "cat /usr/lib/gpu/libgpu.so", env={"RS_DOCKER_CDI_SPEC_DIRS": str(specs)}))
    assert out.split() == ["written", "void", "fake"]
    refused(rs("run", "--rm", "--gpus", "device=7", busybox, "true",
               env={"RS_DOCKER_CDI_SPEC_DIRS": str(specs)}), "nvidia.com/gpu=7")


def test_detached_container_with_flags_is_inspectable(rs, busybox):
    ok(rs("run", "-d", "--name", "knobs", "--shm-size", "8m", "--oom-score-adj", "100",
          busybox, "sleep", "300"))
    try:
        assert wait_for(lambda: inspect(rs, "knobs")["State"]["Running"])
        host = inspect(rs, "knobs")["HostConfig"]
        assert host["ShmSize"] == 8 << 20 and host["OomScoreAdj"] == 100
        assert ok(rs("exec", "knobs", "cat", "/proc/1/oom_score_adj")) == "100\n"
    finally:
        rs("rm", "-f", "knobs")


def test_create_takes_the_flags_and_boolean_values(rs, busybox):
    cid = ok(rs("create", "--name", "created", "--rm=false", "-t=false", "-l", "k=v",
                "--oom-score-adj", "300", busybox, "cat", "/proc/self/oom_score_adj")).strip()
    record = inspect(rs, "created")
    assert record["Id"] == cid and record["Config"]["Labels"] == {"k": "v"}
    assert record["HostConfig"]["AutoRemove"] is False and record["Config"]["Tty"] is False
    ok(rs("start", "created"))
    assert wait_for(lambda: not inspect(rs, "created")["State"]["Running"])
    assert ok(rs("logs", "created")) == "300\n"
