"""`rs-docker run` end to end, as a user types it: real registry, real
kernel namespaces and mounts, probes printed from inside the container.

The images are pulled once per module into a shared store (`rs`); tests
that look at the store itself use the per-test `rsd`/`store_root`.
"""

from __future__ import annotations

import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import module_rsd
from tests.fixtures.oci import DEFAULT_PATH

pytestmark = pytest.mark.root


@pytest.fixture(scope="module")
def rs(images, tmp_path_factory):
    """rs-docker on a module-wide store that already holds busybox and tooling."""
    return module_rsd(tmp_path_factory, "run", images.busybox.ref, images.tooling.ref)


@pytest.fixture(scope="module")
def tooling(images):
    return images.tooling.ref


def out(proc) -> str:
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def containers(root) -> list[str]:
    d = root / "containers"
    return sorted(os.listdir(d)) if d.exists() else []


# -- command, exit codes, PID 1 -------------------------------------------------

def test_echo_hello_world(rs, busybox):
    assert out(rs("run", "--rm", busybox, "echo", "hello world")) == "hello world\n"


def test_sh_c_passes_through_as_arguments(rs, busybox):
    assert out(rs("run", "--rm", busybox, "sh", "-c", "echo $((6*7)) -x")) == "42 -x\n"


@pytest.mark.parametrize("args,code", [
    (["sh", "-c", "exit 3"], 3),
    (["nosuchcommand"], 127),
    (["/etc"], 126),
    # Not PID 1: the kernel ignores signals PID 1 has no handler for
    # (pid_namespaces(7)), in Docker too; --init makes sh a child.
    (["--init", "sh", "-c", "kill -TERM $$"], 143),
])
def test_exit_codes(rs, busybox, args, code):
    flags = [a for a in args if a.startswith("--")]
    command = [a for a in args if not a.startswith("--")]
    assert rs("run", "--rm", *flags, busybox, *command).returncode == code


def test_missing_command_says_so(rs, busybox):
    proc = rs("run", "--rm", busybox, "nosuchcommand")
    assert "nosuchcommand" in proc.stderr and "Traceback" not in proc.stderr


def test_command_is_pid_1(rs, busybox):
    assert out(rs("run", "--rm", busybox, "sh", "-c", "echo $$")) == "1\n"


def test_init_is_pid_1_and_runs_the_command(rs, busybox):
    text = out(rs("run", "--rm", "--init", busybox, "sh", "-c",
                  "echo $$; cat /proc/1/cmdline | tr '\\0' ' '"))
    pid, cmdline = text.splitlines()
    assert pid != "1" and cmdline.startswith("/sbin/docker-init -- sh")


# -- hostname, env, workdir, user, entrypoint ---------------------------------

def test_hostname_flag_and_default_short_id(rs, busybox, tmp_path):
    assert out(rs("run", "--rm", "-h", "box1", busybox, "hostname")) == "box1\n"
    text = out(rs("run", "--rm", busybox, "sh", "-c", "hostname; cat /etc/hostname; "
                  "grep -c $(hostname) /etc/hosts; echo $HOSTNAME"))
    name, file_name, in_hosts, env_name = text.split()
    assert len(name) == 12 and all(c in "0123456789abcdef" for c in name)
    assert file_name == env_name == name and in_hosts == "1"


def test_entrypoint_and_cmd(rs, tooling):
    assert out(rs("run", "--rm", tooling)) == "ep cmd\n"
    assert out(rs("run", "--rm", tooling, "other", "args")) == "ep other args\n"
    assert out(rs("run", "--rm", "--entrypoint", "/bin/echo", tooling)) == "\n"
    assert out(rs("run", "--rm", "--entrypoint", "pwd", tooling)) == "/srv\n"


def test_env_image_flags_bare_and_file(rs, tooling, tmp_path):
    env_file = tmp_path / "env"
    env_file.write_text("# comment\nFROM_FILE=file value\nFOO=from-file\n")
    text = out(rs("run", "--rm", "--entrypoint", "env", "--env-file", env_file,
                  "-e", "FOO=override", "-e", "HOSTVAR", "-e", "UNSETVAR", tooling,
                  env={"HOSTVAR": "from host"}))
    env = dict(line.split("=", 1) for line in text.splitlines())
    assert env["FOO"] == "override"
    assert env["FROM_FILE"] == "file value"
    assert env["HOSTVAR"] == "from host"
    assert "UNSETVAR" not in env
    assert env["HOME"] == "/home/app"  # the image's User is app
    assert env["PATH"] == DEFAULT_PATH  # the image's own


def test_workdir_flag_creates_the_directory(rs, busybox):
    text = out(rs("run", "--rm", "-w", "/made/by/run", busybox, "sh", "-c",
                  "pwd; stat -c '%u:%g %a' ."))
    assert text == "/made/by/run\n0:0 755\n"


def test_user_name_gets_groups_and_uid_gid_form_does_not(rs, tooling, busybox):
    # setgroups(2) sorts the list: the kernel's order, as in Docker
    assert out(rs("run", "--rm", "--entrypoint", "id", tooling)) == \
        "uid=1000(app) gid=1000(app) groups=29(audio),44(video),1000(app)\n"
    assert out(rs("run", "--rm", "-u", "1000:1000", busybox, "id")) == \
        "uid=1000(app) gid=1000(app) groups=1000(app)\n"
    assert out(rs("run", "--rm", "-u", "0", "--entrypoint", "id", tooling)).startswith(
        "uid=0(root) gid=0(root)")


def test_unknown_user_is_125(rs, busybox):
    proc = rs("run", "--rm", "-u", "nosuch", busybox, "id")
    assert proc.returncode == 125
    assert "unable to find user nosuch: no matching entries in passwd file" in proc.stderr


# -- stdin ----------------------------------------------------------------------

def test_stdin_with_i(rs, busybox):
    assert out(rs("run", "--rm", "-i", busybox, "cat", input="hi\n")) == "hi\n"


def test_no_stdin_without_i(rs, busybox):
    assert out(rs("run", "--rm", busybox, "cat", input="hi\n")) == ""


# -- mounts ---------------------------------------------------------------------

def test_bind_mount_rw_and_ro(rs, busybox, tmp_path):
    rw, ro = tmp_path / "rw", tmp_path / "ro"
    ro.mkdir()
    (ro / "f").write_text("host file\n")
    text = rs("run", "--rm", "-v", f"{rw}:/rw", "-v", f"{ro}:/ro:ro", busybox, "sh", "-c",
              "echo written > /rw/new && cat /ro/f && touch /ro/x")
    assert (text.returncode, text.stdout, text.stderr) == \
        (1, "host file\n", "touch: /ro/x: Read-only file system\n")
    assert (rw / "new").read_text() == "written\n"  # -v created the missing host dir


def test_mount_flag_bind_readonly_and_missing_source(rs, busybox, tmp_path):
    proc = rs("run", "--rm", "--mount", f"type=bind,source={tmp_path},target=/m,readonly",
              busybox, "sh", "-c", "touch /m/x")
    assert proc.returncode == 1 and not (tmp_path / "x").exists()
    proc = rs("run", "--rm", "--mount", f"type=bind,source={tmp_path}/nope,target=/m",
              busybox, "true")
    assert proc.returncode == 125 and "bind source path does not exist" in proc.stderr


def test_read_only_root(rs, busybox):
    proc = rs("run", "--rm", "--read-only", busybox, "touch", "/x")
    assert proc.returncode == 1 and "Read-only file system" in proc.stderr


def test_tmpfs(rs, busybox):
    text = out(rs("run", "--rm", "--read-only", "--tmpfs", "/scratch:size=1m", busybox, "sh",
                  "-c", "echo ok > /scratch/f && cat /scratch/f && grep ' /scratch ' "
                  "/proc/mounts"))
    assert text.startswith("ok\ntmpfs /scratch tmpfs ")
    assert "size=1024k" in text and "noexec" in text


# -- network --------------------------------------------------------------------

def test_network_none_shows_only_lo(rs, busybox):
    text = out(rs("run", "--rm", "--network", "none", busybox, "cat", "/proc/net/dev"))
    interfaces = [line.split(":")[0].strip() for line in text.splitlines()[2:]]
    assert interfaces == ["lo"]


def test_resolv_conf_has_no_loopback_nameserver(rs, busybox):
    text = out(rs("run", "--rm", busybox, "cat", "/etc/resolv.conf"))
    assert "nameserver" in text and "nameserver 127." not in text


# -- the host is untouched ----------------------------------------------------

def _host_mounts() -> tuple[list[str], set[str]]:
    """The host's mount table, and apart from it the network namespace files
    (/run/rs-docker/netns: other containers' come and go meanwhile)."""
    lines = open("/proc/self/mountinfo").read().splitlines()
    netns = {line for line in lines if " /run/rs-docker/netns/" in line}
    return [line for line in lines if line not in netns], netns


def test_host_mount_table_unchanged(rs, busybox, tmp_path):
    before, netns_before = _host_mounts()
    out(rs("run", "--rm", "-v", f"{tmp_path}:/v", "--tmpfs", "/t", busybox, "true"))
    after, netns_after = _host_mounts()
    assert after == before
    assert netns_after <= netns_before  # the run's own namespace file is gone


def test_writes_do_not_reach_the_layers(rs, busybox):
    out(rs("run", "--rm", busybox, "sh", "-c", "echo changed > /etc/motd; rm /bin/ls"))
    assert out(rs("run", "--rm", busybox, "sh", "-c", "cat /etc/motd; ls /bin/ls")) == \
        "welcome to busybox\n/bin/ls\n"


# -- records and --rm -----------------------------------------------------------

def test_rm_leaves_nothing(rsd, store_root, busybox):
    out(rsd("run", "--rm", busybox, "true"))
    assert containers(store_root) == []


def test_rm_mounts_the_root_volatile_and_a_kept_container_starts_again(rsd, store_root,
                                                                        busybox):
    # --rm: overlayfs skips the sync at unmount (the upper dir is removed anyway).
    root = out(rsd("run", "--rm", busybox, "grep", " / ", "/proc/mounts"))
    assert "volatile" in root
    assert containers(store_root) == []
    # Without --rm the upper dir must survive: mounted plainly, mounted again by start.
    assert "volatile" not in out(rsd("run", "--name", "again", busybox, "grep", " / ",
                                     "/proc/mounts"))
    out(rsd("start", "again"))
    assert out(rsd("wait", "again")).strip() == "0"


def test_rm_after_a_failed_start_leaves_nothing(rs, busybox):
    assert rs("run", "--rm", "--name", "failed", busybox, "nosuchcommand").returncode == 127
    assert containers(rs.root) == []
    assert not (rs.root / "names" / "failed").exists()


def test_without_rm_the_container_stays_exited(rsd, store_root, busybox):
    assert rsd("run", "--name", "kept", busybox, "sh", "-c", "exit 7").returncode == 7
    [cid] = containers(store_root)
    record = json.loads((store_root / "containers" / cid / "container.json").read_text())
    assert record["Name"] == "/kept" and record["Id"] == cid
    assert record["State"]["Status"] == "exited" and record["State"]["ExitCode"] == 7
    assert record["Path"] == "sh" and record["Args"] == ["-c", "exit 7"]
    proc = rsd("run", "--name", "kept", busybox, "true")
    assert proc.returncode == 125
    assert 'Conflict. The container name "/kept" is already in use' in proc.stderr


def test_bad_name_is_refused(rs, busybox):
    proc = rs("run", "--rm", "--name", "-bad", busybox, "true")
    assert proc.returncode == 125 and "Invalid container name" in proc.stderr


def test_ten_concurrent_runs(rs, busybox):
    with ThreadPoolExecutor(10) as pool:
        procs = list(pool.map(lambda i: rs("run", "--rm", busybox, "echo", str(i)), range(10)))
    assert [p.stdout for p in procs] == [f"{i}\n" for i in range(10)]
    assert containers(rs.root) == []


# -- the image ------------------------------------------------------------------

def test_pull_on_run(rsd, busybox):
    proc = rsd("run", "--rm", busybox, "echo", "pulled")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "pulled\n"
    assert f"Unable to find image '{busybox}' locally" in proc.stderr


def test_unknown_image_is_125(rsd, registry):
    proc = rsd("run", "--rm", f"{registry.host}/no/such:image", "true")
    assert proc.returncode == 125
    assert f"Unable to find image '{registry.host}/no/such:image' locally" in proc.stderr


def test_pull_never_without_image(rsd, busybox):
    proc = rsd("run", "--rm", "--pull", "never", busybox, "true")
    assert proc.returncode == 125
    assert proc.stderr.splitlines()[0] == f"rs-docker: no such image: {busybox}"


def test_detach_with_a_terminal_needs_no_terminal_here(rs, busybox):
    # run -dit: the monitor keeps the pty (attach: tests/integration/test_attach.py);
    # Docker checks stdin for a terminal only when it attaches it.
    cid = rs("run", "-d", "-it", "--network", "none", busybox, "true").stdout.strip()
    assert rs("wait", cid).stdout == "0\n"
    assert rs("rm", cid).returncode == 0


def test_run_is_quick_and_does_not_import_requests(rs, busybox):
    code = ("import sys; from rs_docker.cli.main import main; sys.argv=['rs-docker','--root',"
            f"'{rs.root}','run','--rm','{busybox}','true']\n"
            "try:\n main()\nexcept SystemExit as e:\n"
            " print('requests' in sys.modules, 'rich' in sys.modules, e.code, file=sys.stderr)")
    proc = subprocess.run([str(rs.script.parent / "python"), "-c", code], capture_output=True,
                          text=True, timeout=30)
    assert proc.stderr.split()[-3:] == ["False", "False", "0"], proc.stderr


def test_unknown_run_flag_is_a_flag_error(rsd, images):
    proc = rsd("run", "--bogus=1", images.busybox.ref, "true")
    assert proc.returncode == 125
    assert proc.stderr.strip().splitlines() == ["rs-docker: unknown flag: --bogus",
                                                "See 'rs-docker run --help'."]


def test_only_dockers_devices_can_be_opened_and_privileged_opens_any(rs, busybox):
    # CAP_MKNOD lets the container's root make any device node; Docker's
    # device cgroup lets it open only null, zero, full, random, urandom,
    # tty, ptmx, pts/* and net/tun. 10:259 is /dev/cpu_dma_latency, which
    # root can read on the host.
    script = ("mknod /dev/cdl c 10 259 && head -c 4 /dev/cdl >/dev/null && echo opened; "
              "head -c 4 /dev/urandom | wc -c; echo x > /dev/null && echo null-ok")
    proc = rs("run", "--rm", busybox, "sh", "-c", script)
    assert proc.stdout.splitlines() == ["4", "null-ok"], proc.stderr
    assert proc.stderr == "head: /dev/cdl: Operation not permitted\n"
    proc = rs("run", "--rm", "--privileged", busybox, "sh", "-c", script)
    assert proc.stdout.splitlines() == ["opened", "4", "null-ok"], proc.stderr
