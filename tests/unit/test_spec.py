"""config.json from image config + flags (pure)."""

import pytest

from rs_docker.errors import UnsupportedManifest, UsageError
from rs_docker.models import security
from rs_docker.models.run_options import RunOptions
from rs_docker.models.spec import (
    INIT_PATH,
    Inputs,
    build_spec,
    image_defaults,
    process_args,
    working_dir,
)
from rs_docker.models.users import ExecUser

TOOLING = image_defaults({"Entrypoint": ["/bin/ep"], "Cmd": ["default", "cmd"],
                          "Env": ["PATH=/opt/bin:/bin", "GREETING=hi"], "WorkingDir": "/srv",
                          "User": "app"})
PLAIN = image_defaults({"Cmd": ["sh"]})


def opts(**kw):
    return RunOptions(image="img", **kw)


ROOT = ExecUser()


def spec_for(image=PLAIN, user=ROOT, **kw):
    inputs = Inputs(user=user, hostname="h0", rootfs="/c/rootfs",
                    root_mounts=({"destination": "/", "type": "overlay", "source": "overlay",
                                  "options": ["lowerdir=/l"]},),
                    etc_files=(("/etc/hosts", "/c/hosts"),), namespaces=({"type": "pid"},))
    return build_spec(image, opts(**kw), inputs)


def test_command_replaces_cmd_only():
    assert process_args(TOOLING, opts()) == ["/bin/ep", "default", "cmd"]
    assert process_args(TOOLING, opts(command=("x", "y"))) == ["/bin/ep", "x", "y"]


def test_entrypoint_flag_resets_cmd():
    assert process_args(TOOLING, opts(entrypoint="/bin/other")) == ["/bin/other"]
    assert process_args(TOOLING, opts(entrypoint="/bin/other", command=("a",))) == \
        ["/bin/other", "a"]
    assert process_args(TOOLING, opts(entrypoint="", command=("ls",))) == ["ls"]


def test_no_command_at_all_is_an_error():
    with pytest.raises(UsageError, match="no command specified"):
        process_args(image_defaults({}), opts())
    with pytest.raises(UsageError):
        process_args(TOOLING, opts(entrypoint=""))


def test_init_goes_first():
    assert process_args(PLAIN, opts(init=True)) == [INIT_PATH, "--", "sh"]


def test_workdir_flag_image_default_and_relative_refused():
    assert working_dir(TOOLING, opts()) == "/srv"
    assert working_dir(TOOLING, opts(workdir="/a/../b/")) == "/b"
    assert working_dir(PLAIN, opts()) == "/"
    with pytest.raises(UsageError, match="needs to be an absolute path"):
        working_dir(PLAIN, opts(workdir="rel"))


def test_hostile_image_config_is_refused():
    for bad in ({"Cmd": "sh"}, {"Env": [1]}, {"Entrypoint": ["a\0b"]}, {"WorkingDir": 5}):
        with pytest.raises(UnsupportedManifest):
            image_defaults(bad)


def test_process_user_env_and_caps():
    s = spec_for(TOOLING, user=ExecUser(1000, 1000, (29,), "/home/app"), tty=True)
    p = s["process"]
    assert p["user"] == {"uid": 1000, "gid": 1000, "additionalGids": [1000, 29]}
    assert p["terminal"] is True
    assert p["env"] == ["PATH=/opt/bin:/bin", "HOSTNAME=h0", "TERM=xterm", "GREETING=hi",
                        "HOME=/home/app"]
    assert p["cwd"] == "/srv"
    assert p["capabilities"]["bounding"] == list(security.DEFAULT_CAPS)
    assert p["capabilities"]["effective"] == []  # non-root: emptied like execve does


def test_root_mount_first_then_defaults_then_user_mounts_parents_first():
    s = spec_for(volumes=("/h/deep:/a/b:ro", "/h/top:/a"), tmpfs=("/dev/shm:size=1m",))
    dests = [m["destination"] for m in s["mounts"]]
    assert dests[0] == "/"
    assert dests.index("/a") < dests.index("/a/b")
    assert dests.count("/dev/shm") == 1  # replaces the runtime's default
    shm = next(m for m in s["mounts"] if m["destination"] == "/dev/shm")
    assert "size=1m" in shm["options"] and "noexec" in shm["options"]
    ro = next(m for m in s["mounts"] if m["destination"] == "/a/b")
    assert ro == {"destination": "/a/b", "type": "bind", "source": "/h/deep",
                  "options": ["rbind", "rprivate", "ro"]}
    assert s["root"] == {"path": "/c/rootfs", "readonly": False}
    assert s["hostname"] == "h0"


def test_read_only_root_and_etc_files():
    s = spec_for(read_only=True)
    assert s["root"]["readonly"] is True
    hosts = next(m for m in s["mounts"] if m["destination"] == "/etc/hosts")
    assert hosts["source"] == "/c/hosts" and "ro" in hosts["options"]


def test_privileged_drops_masks_and_seccomp():
    s = spec_for(privileged=True)
    assert s["linux"]["maskedPaths"] == [] and "seccomp" not in s["linux"]
    assert len(s["process"]["capabilities"]["bounding"]) == len(security.ALL_CAPS)
    sysfs = next(m for m in s["mounts"] if m["destination"] == "/sys")
    assert "ro" not in sysfs["options"]
    assert not any(m["destination"] == "/sys" for m in spec_for()["mounts"])


def test_default_has_seccomp_and_masks():
    s = spec_for()
    assert s["linux"]["seccomp"]["defaultAction"]
    assert "/proc/kcore" in s["linux"]["maskedPaths"]
    assert s["process"]["noNewPrivileges"] is False


def test_security_opts():
    assert spec_for(security_opt=("no-new-privileges",))["process"]["noNewPrivileges"]
    assert "seccomp" not in spec_for(security_opt=("seccomp=unconfined",))["linux"]
    with pytest.raises(UsageError):
        spec_for(security_opt=("bogus=1",))


def test_resources_and_ulimits():
    s = spec_for(memory="64m", cpus="1.5", cpu_shares=512, pids_limit=50,
                 ulimits=("nofile=1024:2048",))
    r = s["linux"]["resources"]
    assert r["memory"] == {"limit": 64 << 20, "swap": 128 << 20}
    assert r["cpu"] == {"quota": 150000, "period": 100000, "shares": 512}
    assert r["pids"] == {"limit": 50}
    assert s["process"]["rlimits"] == [{"type": "RLIMIT_NOFILE", "soft": 1024, "hard": 2048}]


def test_bad_mount_flags():
    # A bare name is a volume now (issue 13): a name the local driver refuses is bad.
    for kw in ({"volumes": ("bad$name:/x",)}, {"volumes": ("/h:/",)},
               {"volumes": ("/h:/x:bogus",)}, {"tmpfs": ("rel",)},
               {"mounts": ("type=volume,src=a,target=/x",)},
               {"mounts": ("type=bind,target=/x",)},
               {"volumes": ("/a:/x", "/b:/x")}):
        with pytest.raises(UsageError):
            spec_for(**kw)


def test_mount_flag_forms():
    s = spec_for(mounts=("type=bind,src=/h,dst=/m,readonly",
                         "type=tmpfs,target=/t,tmpfs-size=1m,tmpfs-mode=1770"))
    m = next(x for x in s["mounts"] if x["destination"] == "/m")
    assert m["options"] == ["rbind", "rprivate", "ro"]
    t = next(x for x in s["mounts"] if x["destination"] == "/t")
    assert t["options"] == ["noexec", "nosuid", "nodev", "size=1048576", "mode=1770"]
